// Re-tagging (fresh sentinels when a shard's budget runs low) over a real catalog and the
// fake storage network: a shard challenged until its budget is low is re-tagged onto a new
// farmer, challenges keep passing on the new sentinels, the revealed groups and replayed
// answers of the old generation are useless, a failed re-tag leaves the catalog as it was,
// and the file still decodes identically.

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "common/status.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "fs/audit/audit_loop.h"
#include "fs/audit/audit_test_util.h"
#include "fs/audit/auditor.h"
#include "fs/audit/explain.h"
#include "fs/audit/repairer.h"
#include "fs/audit/verify.h"
#include "fs/codec/decoder.h"
#include "fs/codec/spor.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_shard_network.h"
#include "tests/testing/status_matchers.h"

namespace gnr::audit {
namespace {

// An AuditNetwork whose farmers answer from the bytes they hold in the fake storage network
// (so a re-tagged shard put there answers with its new sentinels), all shards having
// `stored_length` bytes. ServeInstead(id, bytes) makes whoever is asked about `id` answer
// from `bytes` instead (a farmer that kept another copy).
class StorageBackedAuditNetwork final : public AuditNetwork {
 public:
  StorageBackedAuditNetwork(fakes::FakeShardNetwork& network, uint64_t stored_length,
                            uint32_t leaf_size)
      : network_(network), stored_length_(stored_length), leaf_size_(leaf_size) {}

  void ServeInstead(const ShardId& id, Bytes bytes) {
    absl::MutexLock lock(&mu_);
    instead_[id] = std::move(bytes);
  }

  void ChallengeSentinels(const FarmerRef& farmer, const ShardId& shard_id,
                          std::vector<uint64_t> offsets, absl::Duration timeout,
                          SentinelAnswerCallback done) override {
    (void)timeout;
    absl::StatusOr<Bytes> bytes = Fetch(farmer, shard_id);
    if (!bytes.ok()) {
      done(bytes.status());
      return;
    }
    done(codec::AnswerSentinelChallenge(*bytes, offsets));
  }

  void ChallengeMerkle(const FarmerRef& farmer, const ShardId& shard_id, uint64_t leaf_index,
                       absl::Duration timeout, MerkleAnswerCallback done) override {
    (void)timeout;
    absl::StatusOr<Bytes> bytes = Fetch(farmer, shard_id);
    if (!bytes.ok()) {
      done(bytes.status());
      return;
    }
    absl::StatusOr<crypto::MerkleTree> tree = crypto::MerkleTree::Build(*bytes, leaf_size_);
    if (!tree.ok()) {
      done(tree.status());
      return;
    }
    absl::StatusOr<crypto::MerkleProof> proof = tree->Prove(leaf_index);
    if (!proof.ok()) {
      done(proof.status());
      return;
    }
    MerkleAnswer a;
    const uint64_t begin = leaf_index * leaf_size_;
    const uint64_t end = std::min<uint64_t>(bytes->size(), begin + leaf_size_);
    a.leaf.assign(bytes->begin() + static_cast<ptrdiff_t>(begin),
                  bytes->begin() + static_cast<ptrdiff_t>(end));
    a.proof = std::move(*proof);
    done(std::move(a));
  }

  // The whole stored shard `shard_id` as `farmer` holds it.
  absl::StatusOr<Bytes> Fetch(const FarmerRef& farmer, const ShardId& shard_id) {
    {
      absl::MutexLock lock(&mu_);
      auto it = instead_.find(shard_id);
      if (it != instead_.end()) return it->second;
    }
    codec::StoredRangeRequest request;
    request.shard_id = shard_id;
    request.stored = {0, stored_length_};
    request.leaves = {0, crypto::MerkleLeafCount(stored_length_, leaf_size_)};
    absl::Notification got;
    absl::StatusOr<codec::StoredRangeReply> reply = absl::UnknownError("no reply");
    network_.GetShardRange(volume::FarmerContact{farmer.id, farmer.hint}, {}, request,
                           [&](absl::StatusOr<codec::StoredRangeReply> r) {
                             reply = std::move(r);
                             got.Notify();
                           });
    got.WaitForNotification();
    if (!reply.ok()) return reply.status();
    return std::move(reply->leaves);
  }

 private:
  fakes::FakeShardNetwork& network_;
  const uint64_t stored_length_;
  const uint32_t leaf_size_;
  absl::Mutex mu_;
  std::map<ShardId, Bytes> instead_ ABSL_GUARDED_BY(mu_);
};

Block BlockN(uint64_t n) {
  Block b;
  b.number = n;
  uint8_t be[8];
  PutBigEndian64(n, be);
  b.hash = crypto::Sha256({AsBytes("retag test block"), ByteView(be, 8)});
  return b;
}

class RetagTest : public ::testing::Test {
 protected:
  static constexpr int kFarmers = 20;
  static constexpr uint64_t kSegments = 4;

  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(catalog_, catalog::Catalog::Open(dir_.File("catalog.db"), clock_));
    for (int i = 0; i < 6; ++i) farmers_.push_back(network_.contact(i).id);
    // Whole segments only: every stored shard has the same length.
    file_ = testing::EncodeFile(kSegments * testing::SmallParams().segment_size, 21);
    version_ = testing::AddCommittedFile(*catalog_, clock_, file_, farmers_);
    std::vector<volume::FarmerContact> contacts;
    for (int i = 0; i < 6; ++i) contacts.push_back(network_.contact(i));
    testing::PutShards(network_, contacts, file_);
    keys_ = [this](const catalog::Version&) -> absl::StatusOr<codec::FileKey> { return file_.key; };
    repairer_ = std::make_unique<Repairer>(*catalog_, network_, keys_, clock_);
    audit_net_ = std::make_unique<StorageBackedAuditNetwork>(
        network_, file_.manifest.segments[0].shards[0].stored_length, file_.manifest.leaf_size);
    AuditorOptions ao;
    ao.plan.period_blocks = 1;
    ao.plan.max_per_farmer = 64;
    ao.plan.merkle_every = 0;  // sentinel challenges only: the budget drains fastest
    auditor_ = std::make_unique<Auditor>(*catalog_, *audit_net_, keys_, clock_, ao);
    groups_ = codec::SentinelGroupCount(file_.manifest, 0);
    ASSERT_GE(groups_, 10u);
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

  absl::StatusOr<codec::FileManifest> Manifest() {
    GNR_ASSIGN_OR_RETURN(catalog::Version v, catalog_->GetVersion(version_));
    return codec::DecodeFileManifest(v.manifest);
  }

  absl::StatusOr<Bytes> ReadBack(uint64_t* reconstructions = nullptr) {
    GNR_ASSIGN_OR_RETURN(catalog::Version v, catalog_->GetVersion(version_));
    GNR_ASSIGN_OR_RETURN(codec::FileManifest m, codec::DecodeFileManifest(v.manifest));
    GNR_ASSIGN_OR_RETURN(std::vector<catalog::Placement> placements,
                         catalog_->ListPlacementsByVersion(version_));
    PlacementShardSource source(network_, v.bucket_id, placements, absl::Seconds(10));
    codec::ReadReport report;
    absl::StatusOr<Bytes> out = codec::ReadRange(m, file_.key, 0, m.file_size, source, &report);
    if (reconstructions != nullptr) *reconstructions = report.reconstructions;
    return out;
  }

  // Challenges placement `id` once per block until the auditor flags its budget as low;
  // every verdict must pass. Returns the number of challenges it took.
  uint64_t DrainUntilFlagged(catalog::PlacementId id) {
    for (uint64_t n = 0; n < groups_ + 1; ++n) {
      absl::StatusOr<AuditRound> r = auditor_->AuditPlacements(BlockN(++block_), {&id, 1});
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok() || r->verdicts.size() != 1) return 0;
      EXPECT_EQ(r->verdicts[0].kind, ChallengeKind::kSentinel);
      EXPECT_EQ(r->verdicts[0].result, VerdictResult::kPass) << DescribeVerdict(r->verdicts[0]);
      if (!r->retag_needed.empty()) {
        EXPECT_EQ(r->retag_needed, std::vector<catalog::PlacementId>{id});
        return n + 1;
      }
    }
    ADD_FAILURE() << "never flagged for a re-tag";
    return 0;
  }

  // A snapshot of what the catalog says about the file, to compare after a failed re-tag.
  struct CatalogView {
    Bytes manifest;
    std::vector<std::tuple<catalog::PlacementId, int, ShardId, uint32_t>> placements;
    friend bool operator==(const CatalogView&, const CatalogView&) = default;
  };
  CatalogView View() {
    CatalogView v;
    absl::StatusOr<catalog::Version> version = catalog_->GetVersion(version_);
    EXPECT_TRUE(version.ok());
    if (version.ok()) v.manifest = version->manifest;
    absl::StatusOr<std::vector<catalog::Placement>> all =
        catalog_->ListPlacementsByVersion(version_);
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (const catalog::Placement& p : *all) {
        v.placements.emplace_back(p.id, static_cast<int>(p.state), p.shard_id,
                                  p.sentinel_generation);
      }
    }
    return v;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  fakes::FakeShardNetwork network_{kFarmers, 4};
  std::vector<FarmerId> farmers_;
  testing::EncodedFile file_;
  catalog::VersionId version_ = 0;
  FileKeyProvider keys_;
  std::unique_ptr<Repairer> repairer_;
  std::unique_ptr<StorageBackedAuditNetwork> audit_net_;
  std::unique_ptr<Auditor> auditor_;
  uint64_t groups_ = 0;
  uint64_t block_ = 0;
};

TEST_F(RetagTest, LowBudgetShardIsRetaggedAndKeepsPassing) {
  const catalog::Placement old = Current(2, 1);
  ASSERT_OK_AND_ASSIGN(const codec::FileManifest old_manifest, Manifest());
  const uint64_t challenges = DrainUntilFlagged(old.id);
  // Flagged exactly when fewer than 10% of the groups are left (PolicyOptions default).
  EXPECT_LT(static_cast<double>(groups_ - challenges), 0.10 * static_cast<double>(groups_));
  EXPECT_GE(static_cast<double>(groups_ - challenges + 1), 0.10 * static_cast<double>(groups_));
  ASSERT_OK_AND_ASSIGN(catalog::ShardAuditState st, catalog_->GetShardAuditState(old.id));
  EXPECT_TRUE(st.retag_needed);
  const size_t shards_before = network_.TotalShards();

  std::vector<absl::StatusOr<RepairResult>> all = repairer_->RetagAll();
  ASSERT_EQ(all.size(), 1u);
  ASSERT_OK(all[0].status());
  const RepairResult& r = *all[0];
  EXPECT_TRUE(r.retagged);
  EXPECT_EQ(r.sentinel_generation, 1u);
  EXPECT_EQ(r.generation, old.generation + 1);
  EXPECT_EQ(r.new_shard_id, codec::ComputeShardId(file_.manifest.nonce, 2, 1, r.generation));
  EXPECT_NE(r.merkle_root, old.merkle_root);
  // On a farmer that never held anything of the segment; the old copy is deleted.
  EXPECT_EQ(std::count(farmers_.begin(), farmers_.end(), r.new_farmer), 0);
  EXPECT_TRUE(network_.HasShard(network_.IndexOf(r.new_farmer), r.new_shard_id));
  EXPECT_FALSE(network_.HasShard(network_.IndexOf(old.farmer), old.shard_id));
  EXPECT_EQ(network_.TotalShards(), shards_before);

  // Catalog: new placement with the new generation, a fresh budget; old one replaced.
  const catalog::Placement now = Current(2, 1);
  EXPECT_EQ(now.id, r.new_placement);
  EXPECT_EQ(now.sentinel_generation, 1u);
  EXPECT_EQ(now.merkle_root, r.merkle_root);
  EXPECT_TRUE(now.groups_used.empty());
  ASSERT_OK_AND_ASSIGN(catalog::Placement old_now, catalog_->GetPlacement(old.id));
  EXPECT_EQ(old_now.state, catalog::PlacementState::kRepaired);
  ASSERT_OK_AND_ASSIGN(const codec::FileManifest m, Manifest());
  EXPECT_EQ(m.version, codec::kManifestVersionSentinelGenerations);
  EXPECT_EQ(m.segments[2].shards[1].sentinel_generation, 1u);
  EXPECT_EQ(m.segments[2].shards[1].id, r.new_shard_id);
  EXPECT_EQ(m.segments[2].shards[1].merkle_root, r.merkle_root);
  // Nothing else in the manifest changed.
  codec::FileManifest expected = old_manifest;
  expected.version = m.version;
  expected.segments[2].shards[1] = m.segments[2].shards[1];
  EXPECT_EQ(m, expected);
  // Nothing more to re-tag.
  EXPECT_TRUE(repairer_->RetagAll().empty());

  // Challenges keep passing, on every group of the new generation.
  std::set<uint64_t> groups_seen;
  std::vector<Verdict> fresh_verdicts;
  for (uint64_t n = 0; n < groups_; ++n) {
    catalog::PlacementId id = now.id;
    ASSERT_OK_AND_ASSIGN(AuditRound round, auditor_->AuditPlacements(BlockN(++block_), {&id, 1}));
    ASSERT_EQ(round.verdicts.size(), 1u);
    EXPECT_EQ(round.verdicts[0].kind, ChallengeKind::kSentinel);
    EXPECT_EQ(round.verdicts[0].result, VerdictResult::kPass) << DescribeVerdict(round.verdicts[0]);
    groups_seen.insert(round.verdicts[0].challenge_index);
    fresh_verdicts.push_back(round.verdicts[0]);
  }
  EXPECT_EQ(groups_seen.size(), groups_);

  // The old generation's groups (all revealed by now) are useless against the new bytes,
  // and replaying their answers fails every new challenge.
  ASSERT_OK_AND_ASSIGN(Bytes new_bytes, audit_net_->Fetch({r.new_farmer, ""}, r.new_shard_id));
  for (uint64_t g = 0; g < groups_; ++g) {
    ASSERT_OK_AND_ASSIGN(codec::SentinelChallenge old_c,
                         codec::MakeSentinelChallenge(old_manifest, file_.key, 2, 1, g));
    ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> a,
                         codec::AnswerSentinelChallenge(new_bytes, old_c.offsets));
    ASSERT_OK_AND_ASSIGN(std::vector<size_t> bad, codec::CheckSentinelAnswer(old_c, a));
    EXPECT_FALSE(bad.empty()) << "old group " << g << " still holds in the re-tagged shard";

    AuditTarget target;
    target.shard_id = r.new_shard_id;
    target.segment = 2;
    target.shard_index = 1;
    target.sentinel_generation = 1;
    ASSERT_OK_AND_ASSIGN(
        Challenge fresh,
        MakeChallenge(BlockN(1000 + g), target, {0, ChallengeKind::kSentinel, g}, m, file_.key));
    Verdict replayed = VerifySentinelAnswer(fresh, old_c.expected, absl::Milliseconds(1));
    EXPECT_EQ(replayed.result, VerdictResult::kWrong);
  }
  // A challenge made with the wrong generation is refused, not silently wrong.
  AuditTarget stale;
  stale.shard_id = r.new_shard_id;
  stale.segment = 2;
  stale.shard_index = 1;
  EXPECT_STATUS(MakeChallenge(BlockN(1), stale, {0, ChallengeKind::kSentinel, 0}, m, file_.key),
                absl::StatusCode::kInvalidArgument);

  // The file decodes identically, also when the re-tagged shard must be used.
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadBack());
  EXPECT_EQ(back, file_.plaintext);
  network_.LoseShard(network_.IndexOf(Current(2, 0).farmer), Current(2, 0).shard_id);
  network_.LoseShard(network_.IndexOf(Current(2, 2).farmer), Current(2, 2).shard_id);
  uint64_t reconstructions = 0;
  ASSERT_OK_AND_ASSIGN(back, ReadBack(&reconstructions));
  EXPECT_EQ(back, file_.plaintext);
  EXPECT_GT(reconstructions, 0u);
}

TEST_F(RetagTest, FarmerKeepingTheOldGenerationIsCaught) {
  const catalog::Placement old = Current(1, 4);
  DrainUntilFlagged(old.id);
  ASSERT_OK_AND_ASSIGN(RepairResult r, repairer_->RetagPlacement(old.id));
  // The new farmer answers from the old generation's bytes (e.g. obtained from the old
  // farmer instead of storing what it was sent): the first sentinel challenge fails.
  audit_net_->ServeInstead(r.new_shard_id, file_.shards[1][4]);
  catalog::PlacementId id = r.new_placement;
  ASSERT_OK_AND_ASSIGN(AuditRound round, auditor_->AuditPlacements(BlockN(++block_), {&id, 1}));
  ASSERT_EQ(round.verdicts.size(), 1u);
  EXPECT_EQ(round.verdicts[0].result, VerdictResult::kWrong);
  EXPECT_EQ(round.became_bad, std::vector<catalog::PlacementId>{id});
}

TEST_F(RetagTest, FailedRetagLeavesTheCatalogUnchanged) {
  const catalog::Placement old = Current(3, 0);
  DrainUntilFlagged(old.id);
  const CatalogView before = View();
  const size_t shards_before = network_.TotalShards();
  std::vector<int> spares;
  for (int i = 6; i < kFarmers; ++i) spares.push_back(i);

  // Every farmer outside the segment refuses the put.
  for (int i : spares) network_.FailNextPuts(i, 1);
  std::vector<absl::StatusOr<RepairResult>> all = repairer_->RetagAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_STATUS(all[0], absl::StatusCode::kUnavailable);
  EXPECT_EQ(View(), before);
  EXPECT_EQ(network_.TotalShards(), shards_before);
  EXPECT_TRUE(network_.HasShard(network_.IndexOf(old.farmer), old.shard_id));
  ASSERT_OK_AND_ASSIGN(catalog::ShardAuditState st, catalog_->GetShardAuditState(old.id));
  EXPECT_TRUE(st.retag_needed);  // still flagged: retried by the next sweep

  // Every farmer outside the segment is gone.
  for (int i : spares) network_.SetDown(i, true);
  EXPECT_FALSE(repairer_->RetagPlacement(old.id).ok());
  EXPECT_EQ(View(), before);

  // Too few other shards to rebuild from (3 of 6 lost, m = 2).
  for (int i : spares) network_.SetDown(i, false);
  const catalog::Placement victim = Current(0, 0);
  for (uint32_t i = 1; i <= 3; ++i) {
    network_.LoseShard(network_.IndexOf(Current(0, i).farmer), Current(0, i).shard_id);
  }
  EXPECT_STATUS(repairer_->RetagPlacement(victim.id), absl::StatusCode::kDataLoss);
  EXPECT_EQ(View(), before);
  // Only acked, current placements are re-tagged.
  ASSERT_OK(catalog_->SetPlacementState(victim.id, catalog::PlacementState::kBad));
  EXPECT_STATUS(repairer_->RetagPlacement(victim.id), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(catalog_->SetPlacementState(victim.id, catalog::PlacementState::kAcked));

  // Once farmers accept again, the next sweep succeeds and the file reads back.
  all = repairer_->RetagAll();
  ASSERT_EQ(all.size(), 1u);
  ASSERT_OK(all[0].status());
  EXPECT_TRUE(all[0]->retagged);
  EXPECT_EQ(Current(3, 0).sentinel_generation, 1u);
  // Segment 0 lost 3 shards (m = 2) so the whole file no longer decodes; segment 3 does.
  ASSERT_OK_AND_ASSIGN(codec::FileManifest m, Manifest());
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> placements,
                       catalog_->ListPlacementsByVersion(version_));
  const Bytes bucket = {'b', 'k'};
  PlacementShardSource source(network_, bucket, placements, absl::Seconds(10));
  const uint64_t seg = m.segment_size;
  ASSERT_OK_AND_ASSIGN(Bytes back, codec::ReadRange(m, file_.key, 3 * seg, 4 * seg, source));
  EXPECT_EQ(back, Bytes(file_.plaintext.begin() + 3 * seg, file_.plaintext.end()));
}

// The put succeeded but the commit fails (here: another repairer process replaced the
// placement meanwhile): the catalog keeps what the other writer committed, and the shard
// just put is deleted from its new farmer again.
TEST_F(RetagTest, CommitFailureAfterThePutDeletesTheOrphan) {
  const catalog::Placement old = Current(2, 3);
  const size_t shards_before = network_.TotalShards();
  for (int i = 6; i < kFarmers; ++i) network_.SetHold(i, true);
  absl::StatusOr<RepairResult> result = absl::UnknownError("not run");
  std::thread retag([&] { result = repairer_->RetagPlacement(old.id); });
  // Wait (bounded) until the put is parked at its farmer.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (network_.HeldCount() == 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(network_.HeldCount(), 1u);
  ASSERT_OK(catalog_->SetPlacementState(old.id, catalog::PlacementState::kRepaired));
  const CatalogView before = View();
  for (int i = 6; i < kFarmers; ++i) network_.ReleaseHeld(i);
  retag.join();
  EXPECT_STATUS(result, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(View(), before);
  EXPECT_EQ(network_.TotalShards(), shards_before);  // the orphan is gone again
}

TEST_F(RetagTest, RepairOfALowBudgetShardUsesFreshSentinels) {
  // Budget low, then the shard is lost: the repair re-tags.
  const catalog::Placement low = Current(1, 3);
  DrainUntilFlagged(low.id);
  network_.LoseShard(network_.IndexOf(low.farmer), low.shard_id);
  ASSERT_OK(catalog_->SetPlacementState(low.id, catalog::PlacementState::kBad));
  // A shard with its full budget, lost too: the repair keeps its sentinels.
  {
    catalog::PlacementId id = Current(0, 2).id;
    ASSERT_OK(auditor_->AuditPlacements(BlockN(++block_), {&id, 1}).status());
  }
  const catalog::Placement full = Current(0, 2);  // one group revealed
  ASSERT_EQ(catalog::CountGroupsUsed(full.groups_used), 1u);
  network_.LoseShard(network_.IndexOf(full.farmer), full.shard_id);
  ASSERT_OK(catalog_->SetPlacementState(full.id, catalog::PlacementState::kBad));

  ASSERT_OK_AND_ASSIGN(RepairResult r_low, repairer_->RepairPlacement(low.id));
  EXPECT_TRUE(r_low.retagged);
  EXPECT_EQ(r_low.sentinel_generation, 1u);
  EXPECT_NE(r_low.merkle_root, low.merkle_root);
  EXPECT_TRUE(Current(1, 3).groups_used.empty());

  ASSERT_OK_AND_ASSIGN(RepairResult r_full, repairer_->RepairPlacement(full.id));
  EXPECT_FALSE(r_full.retagged);
  EXPECT_EQ(r_full.sentinel_generation, 0u);
  EXPECT_EQ(r_full.merkle_root, full.merkle_root);
  EXPECT_EQ(Current(0, 2).groups_used, full.groups_used);  // same sentinels: still revealed

  // Both pass audits; the file reads back.
  for (catalog::PlacementId id : {r_low.new_placement, r_full.new_placement}) {
    ASSERT_OK_AND_ASSIGN(AuditRound round, auditor_->AuditPlacements(BlockN(++block_), {&id, 1}));
    ASSERT_EQ(round.verdicts.size(), 1u);
    EXPECT_EQ(round.verdicts[0].result, VerdictResult::kPass) << DescribeVerdict(round.verdicts[0]);
  }
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadBack());
  EXPECT_EQ(back, file_.plaintext);
}

// `gnr audit --explain` of a verdict recorded before the re-tag recomputes the positions
// with the challenged copy's sentinel generation (from its placement), not the manifest's.
TEST_F(RetagTest, ExplainUsesTheChallengedCopysSentinelGeneration) {
  const catalog::Placement old = Current(0, 5);
  catalog::PlacementId id = old.id;
  ASSERT_OK_AND_ASSIGN(AuditRound round, auditor_->AuditPlacements(BlockN(++block_), {&id, 1}));
  ASSERT_EQ(round.verdicts.size(), 1u);
  const Verdict v = round.verdicts[0];
  ASSERT_EQ(v.kind, ChallengeKind::kSentinel);
  ASSERT_OK(repairer_->RetagPlacement(old.id).status());
  ASSERT_OK_AND_ASSIGN(const catalog::Placement old_now, catalog_->GetPlacement(old.id));
  ASSERT_OK_AND_ASSIGN(const codec::FileManifest m, Manifest());
  ASSERT_EQ(m.segments[0].shards[5].sentinel_generation, 1u);

  ExplainRequest request;
  request.block_hash = v.block_hash;
  request.shard_id = v.shard_id;
  request.segment = 0;
  request.shard_index = 5;
  request.kind = ChallengeKind::kSentinel;
  request.recorded_index = v.challenge_index;
  request.used_groups = {v.challenge_index};
  request.sentinel_generation = old_now.sentinel_generation;
  ASSERT_OK_AND_ASSIGN(Explanation e, ExplainVerdict(request, m, file_.key));
  EXPECT_TRUE(e.consistent) << e.note;
  EXPECT_EQ(e.sentinel_generation, 0u);
  EXPECT_EQ(e.positions, v.positions);
  // Without it, the manifest's (re-tagged) generation gives other positions.
  request.sentinel_generation.reset();
  ASSERT_OK_AND_ASSIGN(e, ExplainVerdict(request, m, file_.key));
  EXPECT_EQ(e.sentinel_generation, 1u);
  EXPECT_NE(e.positions, v.positions);
}

// The background loop end to end: every shard is challenged each block until its budget is
// low, the loop re-tags them all, and the audits go on passing on the new sentinels.
TEST_F(RetagTest, LoopRetagsEveryShardAndAuditsKeepPassing) {
  uint64_t next = 0;
  AuditLoop loop(*auditor_, repairer_.get(), nullptr, [&]() -> absl::StatusOr<std::vector<Block>> {
    return std::vector<Block>{BlockN(++next)};
  });
  const size_t shards = kSegments * file_.manifest.total_shards();
  for (uint64_t n = 0; n < groups_ + 4; ++n) loop.Step();
  AuditLoopStats st = loop.stats();
  EXPECT_EQ(st.retags, shards);
  EXPECT_EQ(st.retag_failures, 0u);
  EXPECT_EQ(st.not_passed, 0u);
  EXPECT_EQ(st.repairs, 0u);
  EXPECT_EQ(st.errors, 0u);
  ASSERT_OK_AND_ASSIGN(codec::FileManifest m, Manifest());
  for (const codec::SegmentManifest& seg : m.segments) {
    for (const codec::ShardManifest& s : seg.shards) EXPECT_EQ(s.sentinel_generation, 1u);
  }
  const uint64_t verdicts_before = st.verdicts;
  for (int n = 0; n < 3; ++n) loop.Step();
  st = loop.stats();
  EXPECT_EQ(st.verdicts, verdicts_before + 3 * shards);
  EXPECT_EQ(st.not_passed, 0u);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadBack());
  EXPECT_EQ(back, file_.plaintext);
}

}  // namespace
}  // namespace gnr::audit
