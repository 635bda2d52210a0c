// The repairer over a real catalog and the fake storage network (tests/fakes): a bad shard
// is rebuilt from k others, lands on a farmer holding nothing of its segment, the manifest
// and placements change atomically, and the file reads back identically.

#include "fs/audit/repairer.h"

#include <memory>
#include <set>

#include "common/clock.h"
#include "common/status.h"
#include "fs/audit/audit_loop.h"
#include "fs/audit/audit_test_util.h"
#include "fs/audit/auditor.h"
#include "fs/audit/chain_reporter.h"
#include "fs/codec/decoder.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_audit_network.h"
#include "tests/fakes/fake_shard_network.h"
#include "tests/testing/status_matchers.h"

namespace gnr::audit {
namespace {

class RepairerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(catalog_, catalog::Catalog::Open(dir_.File("catalog.db"), clock_));
    for (int i = 0; i < 6; ++i) farmers_.push_back(network_.contact(i).id);
    file_ = testing::EncodeFile(300000, 9);
    version_ = testing::AddCommittedFile(*catalog_, clock_, file_, farmers_);
    std::vector<volume::FarmerContact> contacts;
    for (int i = 0; i < 6; ++i) contacts.push_back(network_.contact(i));
    testing::PutShards(network_, contacts, file_);
    keys_ = [this](const catalog::Version&) -> absl::StatusOr<codec::FileKey> { return file_.key; };
    repairer_ = std::make_unique<Repairer>(*catalog_, network_, keys_, clock_);
  }

  catalog::Placement Current(uint64_t segment, uint32_t index) {
    absl::StatusOr<std::vector<catalog::Placement>> all =
        catalog_->ListPlacementsByVersion(version_);
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (const catalog::Placement& p : *all) {
        if (p.segment == segment && p.shard_index == index &&
            p.state != catalog::PlacementState::kRepaired) {
          return p;
        }
      }
    }
    ADD_FAILURE() << "no current placement";
    return {};
  }

  absl::StatusOr<Bytes> ReadBack() {
    GNR_ASSIGN_OR_RETURN(catalog::Version v, catalog_->GetVersion(version_));
    GNR_ASSIGN_OR_RETURN(codec::FileManifest m, codec::DecodeFileManifest(v.manifest));
    GNR_ASSIGN_OR_RETURN(std::vector<catalog::Placement> placements,
                         catalog_->ListPlacementsByVersion(version_));
    PlacementShardSource source(network_, v.bucket_id, placements, absl::Seconds(10));
    codec::ReadReport report;
    absl::StatusOr<Bytes> out = codec::ReadRange(m, file_.key, 0, m.file_size, source, &report);
    last_reconstructions_ = report.reconstructions;
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  fakes::FakeShardNetwork network_{9, 4};
  std::vector<FarmerId> farmers_;
  testing::EncodedFile file_;
  catalog::VersionId version_ = 0;
  FileKeyProvider keys_;
  std::unique_ptr<Repairer> repairer_;
  uint64_t last_reconstructions_ = 0;
};

TEST_F(RepairerTest, RebuildsOntoAFreshFarmerAndTheFileReadsBack) {
  catalog::Placement bad = Current(1, 2);
  int old_index = network_.IndexOf(bad.farmer);
  network_.LoseShard(old_index, bad.shard_id);
  ASSERT_OK(catalog_->SetPlacementState(bad.id, catalog::PlacementState::kBad));

  ASSERT_OK_AND_ASSIGN(RepairResult r, repairer_->RepairPlacement(bad.id));
  EXPECT_EQ(r.old_placement, bad.id);
  EXPECT_EQ(r.generation, bad.generation + 1);
  EXPECT_NE(r.new_shard_id, bad.shard_id);
  EXPECT_EQ(r.new_shard_id, codec::ComputeShardId(file_.manifest.nonce, 1, 2, r.generation));
  // The new farmer holds no other shard of segment 1.
  std::set<FarmerId> segment_farmers;
  for (uint32_t i = 0; i < 6; ++i) segment_farmers.insert(farmers_[(1 + i) % 6]);
  EXPECT_FALSE(segment_farmers.contains(r.new_farmer));
  EXPECT_TRUE(network_.HasShard(network_.IndexOf(r.new_farmer), r.new_shard_id));

  // Catalog: old placement repaired and linked, new one acked, manifest names the new id.
  ASSERT_OK_AND_ASSIGN(catalog::Placement old_now, catalog_->GetPlacement(bad.id));
  EXPECT_EQ(old_now.state, catalog::PlacementState::kRepaired);
  ASSERT_OK_AND_ASSIGN(catalog::ShardAuditState st, catalog_->GetShardAuditState(bad.id));
  EXPECT_EQ(st.replaced_by, r.new_placement);
  catalog::Placement now = Current(1, 2);
  EXPECT_EQ(now.id, r.new_placement);
  EXPECT_EQ(now.state, catalog::PlacementState::kAcked);
  EXPECT_EQ(now.merkle_root, bad.merkle_root);  // same bytes, same sentinels
  ASSERT_OK_AND_ASSIGN(catalog::Version v, catalog_->GetVersion(version_));
  ASSERT_OK_AND_ASSIGN(codec::FileManifest m, codec::DecodeFileManifest(v.manifest));
  EXPECT_EQ(m.segments[1].shards[2].id, r.new_shard_id);
  EXPECT_EQ(m.segments[1].shards[2].generation, r.generation);

  // Two more losses in the same segment: still readable only because of the repair
  // (m = 2: three losses without it would be fatal).
  network_.LoseShard(network_.IndexOf(Current(1, 0).farmer), Current(1, 0).shard_id);
  network_.LoseShard(network_.IndexOf(Current(1, 1).farmer), Current(1, 1).shard_id);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadBack());
  EXPECT_EQ(back, file_.plaintext);
  EXPECT_GT(last_reconstructions_, 0u);
}

TEST_F(RepairerTest, RepairedShardPassesAudits) {
  catalog::Placement bad = Current(0, 5);
  network_.LoseShard(network_.IndexOf(bad.farmer), bad.shard_id);
  ASSERT_OK(catalog_->SetPlacementState(bad.id, catalog::PlacementState::kBad));
  std::vector<absl::StatusOr<RepairResult>> all = repairer_->RepairAll();
  ASSERT_EQ(all.size(), 1u);
  ASSERT_OK(all[0].status());
  // Audit the new placement on a fake audit network holding the rebuilt bytes.
  fakes::FakeAuditNetwork audit_net(file_.manifest.leaf_size);
  audit_net.Store(all[0]->new_farmer, all[0]->new_shard_id, file_.shards[0][5]);
  Auditor auditor(*catalog_, audit_net, keys_, clock_);
  for (uint64_t n = 1; n <= 20; ++n) {
    Block b;
    b.number = n;
    b.hash[0] = static_cast<uint8_t>(n);
    catalog::PlacementId id = all[0]->new_placement;
    ASSERT_OK_AND_ASSIGN(AuditRound r, auditor.AuditPlacements(b, {&id, 1}));
    ASSERT_EQ(r.verdicts.size(), 1u);
    EXPECT_EQ(r.verdicts[0].result, VerdictResult::kPass) << DescribeVerdict(r.verdicts[0]);
  }
}

TEST_F(RepairerTest, NeverPlacesOnFarmersTheAuditorMarked) {
  // The file is on farmers 0..5; 6, 7 and 8 hold nothing of it. Of these, the auditor caught
  // the two the repair would try first: one with a wrong answer (kBad), one not answering
  // (kSuspect). The third receives the rebuilt shard.
  catalog::Placement bad = Current(0, 1);
  const ShardId new_id = codec::ComputeShardId(file_.manifest.nonce, 0, 1, bad.generation + 1);
  ASSERT_OK_AND_ASSIGN(std::vector<volume::FarmerContact> order,
                       network_.ChooseFarmers(Bytes{'b', 'k'}, new_id, 3, farmers_));
  ASSERT_EQ(order.size(), 3u);
  for (int i : {0, 1}) {
    catalog::Farmer f;
    f.id = order[i].id;
    f.status = i == 0 ? catalog::FarmerStatus::kBad : catalog::FarmerStatus::kSuspect;
    ASSERT_OK(catalog_->PutFarmer(f));
  }
  network_.LoseShard(network_.IndexOf(bad.farmer), bad.shard_id);
  ASSERT_OK(catalog_->SetPlacementState(bad.id, catalog::PlacementState::kBad));
  ASSERT_OK_AND_ASSIGN(RepairResult r, repairer_->RepairPlacement(bad.id));
  EXPECT_EQ(r.new_shard_id, new_id);
  EXPECT_EQ(r.new_farmer, order[2].id);
  // The next repair in the segment has only the suspect left: asked rather than nobody (a
  // suspect may have recovered); the caught farmer never.
  catalog::Placement bad2 = Current(0, 2);
  network_.LoseShard(network_.IndexOf(bad2.farmer), bad2.shard_id);
  ASSERT_OK(catalog_->SetPlacementState(bad2.id, catalog::PlacementState::kBad));
  ASSERT_OK_AND_ASSIGN(RepairResult r2, repairer_->RepairPlacement(bad2.id));
  EXPECT_EQ(r2.new_farmer, order[1].id);
}

TEST_F(RepairerTest, PlacesShardsNoFarmerAcknowledged) {
  // The client committed with k+1 shards of segment 1 and died before its top-up: the
  // catalog names no farmer for shard 5 (the Volume records only acked placements).
  catalog::Placement unplaced = Current(1, 5);
  network_.LoseShard(network_.IndexOf(unplaced.farmer), unplaced.shard_id);
  ASSERT_OK(catalog_->DeletePlacement(unplaced.id));
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Version> under,
                       catalog_->ListUnderReplicatedVersions());
  ASSERT_EQ(under.size(), 1u);

  // Too recent: the Volume's own top-up may still be on its way.
  EXPECT_TRUE(repairer_->FillMissingShards(absl::Minutes(10)).empty());
  clock_.Advance(absl::Minutes(11));
  std::vector<absl::StatusOr<RepairResult>> filled =
      repairer_->FillMissingShards(absl::Minutes(10));
  ASSERT_EQ(filled.size(), 1u);
  ASSERT_OK(filled[0].status());
  const RepairResult& r = *filled[0];
  EXPECT_EQ(r.old_placement, 0u);
  EXPECT_EQ(r.generation, unplaced.generation + 1);
  EXPECT_EQ(r.new_shard_id, codec::ComputeShardId(file_.manifest.nonce, 1, 5, r.generation));
  // On a farmer holding none of the segment's other shards.
  std::set<FarmerId> segment_farmers;
  for (uint32_t i = 0; i < 5; ++i) segment_farmers.insert(farmers_[(1 + i) % 6]);
  EXPECT_FALSE(segment_farmers.contains(r.new_farmer));
  EXPECT_TRUE(network_.HasShard(network_.IndexOf(r.new_farmer), r.new_shard_id));
  catalog::Placement now = Current(1, 5);
  EXPECT_EQ(now.id, r.new_placement);
  EXPECT_EQ(now.state, catalog::PlacementState::kAcked);
  EXPECT_EQ(now.merkle_root, unplaced.merkle_root);
  ASSERT_OK_AND_ASSIGN(catalog::Version v, catalog_->GetVersion(version_));
  ASSERT_OK_AND_ASSIGN(codec::FileManifest m, codec::DecodeFileManifest(v.manifest));
  EXPECT_EQ(m.segments[1].shards[5].id, r.new_shard_id);
  ASSERT_OK_AND_ASSIGN(under, catalog_->ListUnderReplicatedVersions());
  EXPECT_TRUE(under.empty());
  EXPECT_TRUE(repairer_->FillMissingShards(absl::Minutes(10)).empty());  // nothing left

  // Two more losses in segment 1 are survivable only because of it.
  network_.LoseShard(network_.IndexOf(Current(1, 0).farmer), Current(1, 0).shard_id);
  network_.LoseShard(network_.IndexOf(Current(1, 1).farmer), Current(1, 1).shard_id);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadBack());
  EXPECT_EQ(back, file_.plaintext);
}

TEST_F(RepairerTest, LoopPlacesMissingShardsOnItsSweeps) {
  catalog::Placement unplaced = Current(2, 4);
  network_.LoseShard(network_.IndexOf(unplaced.farmer), unplaced.shard_id);
  ASSERT_OK(catalog_->DeletePlacement(unplaced.id));
  fakes::FakeAuditNetwork audit_net(file_.manifest.leaf_size);  // every other shard, intact
  for (uint64_t s = 0; s < file_.manifest.segments.size(); ++s) {
    for (uint32_t i = 0; i < 6; ++i) {
      audit_net.Store(farmers_[(s + i) % 6], file_.manifest.segments[s].shards[i].id,
                      file_.shards[s][i]);
    }
  }
  Auditor auditor(*catalog_, audit_net, keys_, clock_);
  uint64_t next = 1;
  AuditLoop loop(auditor, repairer_.get(), nullptr,
                 [&]() -> absl::StatusOr<std::vector<Block>> {
                   Block b;
                   b.number = next++;
                   b.hash[0] = static_cast<uint8_t>(b.number);
                   return std::vector<Block>{b};
                 },
                 {.repair_every = 2, .fill_missing_after = absl::Minutes(10)});
  clock_.Advance(absl::Minutes(11));
  loop.Step();  // not a sweep yet
  EXPECT_EQ(loop.stats().repairs, 0u);
  loop.Step();
  EXPECT_EQ(loop.stats().repairs, 1u);
  EXPECT_EQ(Current(2, 4).state, catalog::PlacementState::kAcked);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadBack());
  EXPECT_EQ(back, file_.plaintext);
}

TEST_F(RepairerTest, ASweepWithNoFarmerFreeStopsAtTheFirstMissingShard) {
  std::vector<FarmerId> caught;  // the farmers outside the file, and those that lost a shard
  for (int i = 6; i < 9; ++i) caught.push_back(network_.contact(i).id);
  for (uint64_t seg : {0, 1, 2}) {
    caught.push_back(Current(seg, 3).farmer);
    ASSERT_OK(catalog_->DeletePlacement(Current(seg, 3).id));
  }
  for (const FarmerId& id : caught) {
    catalog::Farmer f;
    f.id = id;
    f.status = catalog::FarmerStatus::kBad;
    ASSERT_OK(catalog_->PutFarmer(f));
  }
  clock_.Advance(absl::Minutes(11));
  std::vector<absl::StatusOr<RepairResult>> tried = repairer_->FillMissingShards(absl::Minutes(10));
  ASSERT_EQ(tried.size(), 1u);
  EXPECT_STATUS(tried[0].status(), absl::StatusCode::kUnavailable);
}

TEST_F(RepairerTest, MissingShardsWithBadOrLostPlacementsAreLeftToRepairAll) {
  clock_.Advance(absl::Minutes(11));
  ASSERT_OK(catalog_->SetPlacementState(Current(0, 4).id, catalog::PlacementState::kLost));
  EXPECT_TRUE(repairer_->FillMissingShards(absl::Minutes(10)).empty());
}

TEST_F(RepairerTest, WithNoFarmerToTakeItNothingIsFetched) {
  // Every farmer of the network holds a shard of segment 0 or is marked bad: a repair there
  // must fail before it downloads k shards (a drive short of farmers sweeps every few blocks).
  for (int i = 6; i < 9; ++i) {
    catalog::Farmer f;
    f.id = network_.contact(i).id;
    f.status = catalog::FarmerStatus::kBad;
    ASSERT_OK(catalog_->PutFarmer(f));
  }
  catalog::Placement lost = Current(0, 2);
  ASSERT_OK(catalog_->SetPlacementState(lost.id, catalog::PlacementState::kLost));
  const uint64_t before = network_.counters().gets;
  EXPECT_STATUS(repairer_->RepairPlacement(lost.id), absl::StatusCode::kUnavailable);
  EXPECT_EQ(network_.counters().gets, before);
}

TEST_F(RepairerTest, RefusesHealthyPlacementsAndTooManyLosses) {
  catalog::Placement ok = Current(0, 0);
  EXPECT_STATUS(repairer_->RepairPlacement(ok.id), absl::StatusCode::kFailedPrecondition);
  // Lose three shards of segment 0 (m = 2): the third cannot be rebuilt.
  for (uint32_t i = 0; i < 3; ++i) {
    catalog::Placement p = Current(0, i);
    network_.LoseShard(network_.IndexOf(p.farmer), p.shard_id);
  }
  ASSERT_OK(catalog_->SetPlacementState(Current(0, 0).id, catalog::PlacementState::kBad));
  EXPECT_STATUS(repairer_->RepairPlacement(Current(0, 0).id), absl::StatusCode::kDataLoss);
}

TEST_F(RepairerTest, LoopAuditsRepairsAndReports) {
  // The audit network mirrors the storage network's farmers (same ids, same bytes).
  fakes::FakeAuditNetwork audit_net(file_.manifest.leaf_size);
  for (uint64_t s = 0; s < file_.manifest.segments.size(); ++s) {
    for (uint32_t i = 0; i < 6; ++i) {
      audit_net.Store(farmers_[(s + i) % 6], file_.manifest.segments[s].shards[i].id,
                      file_.shards[s][i]);
    }
  }
  catalog::Placement victim = Current(0, 3);
  audit_net.Lose(victim.farmer, victim.shard_id);
  network_.LoseShard(network_.IndexOf(victim.farmer), victim.shard_id);

  AuditorOptions ao;
  ao.plan.period_blocks = 1;
  ao.plan.max_per_farmer = 16;  // all 30 shards in every block
  Auditor auditor(*catalog_, audit_net, keys_, clock_, ao);
  struct Sink final : AuditReportSink {
    absl::Status Record(std::span<const chain::AuditEntry> entries) override {
      n += entries.size();
      return absl::OkStatus();
    }
    size_t n = 0;
  } sink;
  ChainReporter reporter(*catalog_, sink, {.min_verdicts = 1, .max_blocks = 1});
  uint64_t next = 1;
  AuditLoop loop(auditor, repairer_.get(), &reporter, [&]() -> absl::StatusOr<std::vector<Block>> {
    Block b;
    b.number = next++;
    b.hash[0] = static_cast<uint8_t>(b.number);
    b.hash[1] = 0x5a;
    return std::vector<Block>{b};
  });
  loop.Step();  // block 1: every shard is due; the victim fails and is repaired at once
  AuditLoopStats st = loop.stats();
  EXPECT_EQ(st.repairs, 1u);
  // The repaired copy answers audits from now on (the fake audit network learns it).
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> all,
                       catalog_->ListPlacementsByVersion(version_));
  for (const catalog::Placement& p : all) {
    if (p.segment == 0 && p.shard_index == 3 && p.state == catalog::PlacementState::kAcked) {
      audit_net.Store(p.farmer, p.shard_id, file_.shards[0][3]);
    }
  }
  loop.Step();
  loop.Step();
  st = loop.stats();
  EXPECT_EQ(st.blocks, 3u);
  EXPECT_GE(st.not_passed, 1u);
  EXPECT_EQ(st.repairs, 1u);
  EXPECT_EQ(st.errors, 0u);
  EXPECT_GT(sink.n, 0u);
  ASSERT_OK_AND_ASSIGN(catalog::Placement old_now, catalog_->GetPlacement(victim.id));
  EXPECT_EQ(old_now.state, catalog::PlacementState::kRepaired);
  ASSERT_OK_AND_ASSIGN(catalog::Farmer f, catalog_->GetFarmer(victim.farmer));
  EXPECT_EQ(f.status, catalog::FarmerStatus::kBad);
  // The thread form starts and stops cleanly.
  loop.Start();
  loop.Stop();
}

}  // namespace
}  // namespace gnr::audit
