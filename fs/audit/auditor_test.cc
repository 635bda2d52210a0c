// The Auditor over a real catalog and the fake audit network: honest farmers never fail,
// each misbehaviour is detected and recorded, and the catalog state follows the policy.

#include "fs/audit/auditor.h"

#include <map>
#include <memory>
#include <set>

#include "common/clock.h"
#include "crypto/hash.h"
#include "fs/audit/audit_test_util.h"
#include "fs/audit/chain_reporter.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_audit_network.h"
#include "tests/testing/status_matchers.h"

namespace gnr::audit {
namespace {

using fakes::FakeAuditNetwork;
using testing::EncodedFile;
using testing::FarmerN;

Block BlockN(uint64_t n) {
  Block b;
  b.number = n;
  uint8_t be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  b.hash = crypto::Sha256(ByteView(be, 8));
  return b;
}

catalog::VerdictQuery ByShard(const ShardId& id) {
  catalog::VerdictQuery q;
  q.shard_id = id;
  q.limit = 10;
  return q;
}

class AuditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(catalog_, catalog::Catalog::Open(dir_.File("catalog.db"), clock_));
    for (uint8_t i = 1; i <= 6; ++i) farmers_.push_back(FarmerN(i));
    file_ = testing::EncodeFile(200000, 3);
    version_ = testing::AddCommittedFile(*catalog_, clock_, file_, farmers_);
    for (uint64_t s = 0; s < file_.manifest.segments.size(); ++s) {
      for (uint32_t i = 0; i < file_.manifest.total_shards(); ++i) {
        network_.Store(FarmerOf(s, i), file_.manifest.segments[s].shards[i].id, file_.shards[s][i]);
      }
    }
    options_.plan.period_blocks = 4;
    options_.plan.max_per_farmer = 8;
    options_.deadline = absl::Seconds(5);
    auditor_ = std::make_unique<Auditor>(
        *catalog_, network_,
        [this](const catalog::Version&) -> absl::StatusOr<codec::FileKey> { return file_.key; },
        clock_, options_);
  }

  FarmerId FarmerOf(uint64_t segment, uint32_t index) const {
    return farmers_[(segment + index) % farmers_.size()];
  }
  const ShardId& ShardOf(uint64_t segment, uint32_t index) const {
    return file_.manifest.segments[segment].shards[index].id;
  }
  catalog::Placement PlacementOf(uint64_t segment, uint32_t index) {
    absl::StatusOr<std::vector<catalog::Placement>> all =
        catalog_->ListPlacementsByVersion(version_);
    EXPECT_TRUE(all.ok());
    if (!all.ok()) return {};
    for (const catalog::Placement& p : *all) {
      if (p.segment == segment && p.shard_index == index &&
          p.state != catalog::PlacementState::kRepaired) {
        return p;
      }
    }
    ADD_FAILURE() << "no placement";
    return {};
  }
  // Runs blocks until the placement is bad (or `max_blocks` pass); returns the rounds run.
  int RunUntilBad(uint64_t segment, uint32_t index, int max_blocks) {
    for (int n = 0; n < max_blocks; ++n) {
      absl::StatusOr<AuditRound> r = auditor_->RunOnce(BlockN(++block_));
      EXPECT_TRUE(r.ok()) << r.status();
      if (PlacementOf(segment, index).state == catalog::PlacementState::kBad) return n + 1;
    }
    return -1;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::vector<FarmerId> farmers_;
  EncodedFile file_;
  catalog::VersionId version_ = 0;
  FakeAuditNetwork network_{4096};
  AuditorOptions options_;
  std::unique_ptr<Auditor> auditor_;
  uint64_t block_ = 100;
};

TEST_F(AuditorTest, HonestFarmersNeverFailOverThousandsOfChallenges) {
  size_t verdicts = 0;
  std::set<std::pair<uint64_t, uint64_t>> seen_groups;  // (placement, group)
  while (verdicts < 3000) {
    ASSERT_OK_AND_ASSIGN(AuditRound r, auditor_->RunOnce(BlockN(++block_)));
    for (const Verdict& v : r.verdicts) {
      ASSERT_EQ(v.result, VerdictResult::kPass) << DescribeVerdict(v);
      if (v.kind == ChallengeKind::kSentinel) {
        // A group is never asked twice (until the budget is gone).
        EXPECT_TRUE(seen_groups.insert({v.placement_id, v.challenge_index}).second);
      }
    }
    EXPECT_TRUE(r.became_bad.empty());
    verdicts += r.verdicts.size();
  }
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> placements,
                       catalog_->ListPlacementsByVersion(version_));
  for (const catalog::Placement& p : placements) {
    EXPECT_EQ(p.state, catalog::PlacementState::kAcked);
  }
  ASSERT_OK_AND_ASSIGN(auto stats, catalog_->FarmerStats());
  uint64_t total = 0;
  for (const auto& s : stats) {
    EXPECT_EQ(s.fail + s.timeout + s.error, 0u);
    total += s.pass;
  }
  EXPECT_EQ(total, verdicts);
}

TEST_F(AuditorTest, EveryShardIsAuditedWithinThePeriod) {
  std::set<catalog::PlacementId> audited;
  for (int n = 0; n < 5; ++n) {
    ASSERT_OK_AND_ASSIGN(AuditRound r, auditor_->RunOnce(BlockN(++block_)));
    for (const Verdict& v : r.verdicts) audited.insert(v.placement_id);
  }
  EXPECT_EQ(audited.size(), file_.manifest.segments.size() * file_.manifest.total_shards());
}

TEST_F(AuditorTest, DeletedShardIsWrongAndBadAtOnce) {
  network_.Lose(FarmerOf(0, 1), ShardOf(0, 1));
  EXPECT_GT(RunUntilBad(0, 1, 6), 0);
  ASSERT_OK_AND_ASSIGN(auto verdicts, catalog_->ListVerdicts(ByShard(ShardOf(0, 1))));
  ASSERT_FALSE(verdicts.empty());
  EXPECT_EQ(verdicts.front().result, catalog::AuditResult::kFail);
  EXPECT_NE(verdicts.front().detail.find("NOT_FOUND"), std::string::npos)
      << verdicts.front().detail;
  ASSERT_OK_AND_ASSIGN(catalog::ShardAuditState st,
                       catalog_->GetShardAuditState(PlacementOf(0, 1).id));
  EXPECT_FALSE(st.bad_reason.empty());
}

TEST_F(AuditorTest, OnePercentZeroedIsDetected) {
  network_.ZeroFraction(FarmerOf(1, 2), ShardOf(1, 2), 0.01, 7);
  // p(detect) per sentinel challenge ~ 0.92 with byte damage: a few blocks suffice.
  EXPECT_GT(RunUntilBad(1, 2, 40), 0);
}

TEST_F(AuditorTest, FlippedBitsAreDetectedByMerkleOrSentinels) {
  // Flip one bit in the sentinel of group 0's first position and one in every leaf.
  const codec::ShardManifest& sm = file_.manifest.segments[0].shards[4];
  for (uint64_t off = 100; off < sm.stored_length; off += 4096) {
    network_.FlipBit(FarmerOf(0, 4), ShardOf(0, 4), off);
  }
  // Every Merkle challenge fails now; sentinel ones only if a flipped byte is a sentinel.
  EXPECT_GT(RunUntilBad(0, 4, 60), 0);
}

TEST_F(AuditorTest, SilentFarmerBecomesBadAfterThreshold) {
  network_.SetBehaviour(FarmerOf(0, 0), FakeAuditNetwork::Behaviour::kSilent);
  int rounds = RunUntilBad(0, 0, 40);
  EXPECT_GT(rounds, 0);
  ASSERT_OK_AND_ASSIGN(auto verdicts, catalog_->ListVerdicts(ByShard(ShardOf(0, 0))));
  // Exactly threshold timeouts recorded, newest first.
  int timeouts = 0;
  for (const catalog::Verdict& v : verdicts) timeouts += v.result == catalog::AuditResult::kTimeout;
  EXPECT_EQ(timeouts, static_cast<int>(options_.policy.suspicion_threshold));
}

TEST_F(AuditorTest, SuspectFarmerThatAnswersAgainIsActiveAgain) {
  const FarmerId silent = FarmerOf(0, 0);
  network_.SetBehaviour(silent, FakeAuditNetwork::Behaviour::kSilent);
  ASSERT_GT(RunUntilBad(0, 0, 40), 0);
  ASSERT_OK_AND_ASSIGN(catalog::Farmer before, catalog_->GetFarmer(silent));
  EXPECT_EQ(before.status, catalog::FarmerStatus::kSuspect);

  // Back from its outage: its other shards pass, and it is trusted with placements again.
  network_.SetBehaviour(silent, FakeAuditNetwork::Behaviour::kHonest);
  bool cleared = false;
  for (int n = 0; n < 40 && !cleared; ++n) {
    ASSERT_OK_AND_ASSIGN(AuditRound r, auditor_->RunOnce(BlockN(++block_)));
    for (const FarmerId& f : r.farmers_cleared) cleared |= f == silent;
  }
  ASSERT_TRUE(cleared);
  ASSERT_OK_AND_ASSIGN(catalog::Farmer after, catalog_->GetFarmer(silent));
  EXPECT_EQ(after.status, catalog::FarmerStatus::kActive);
  // The shard it failed to serve stays bad (the repairer replaces it).
  EXPECT_EQ(PlacementOf(0, 0).state, catalog::PlacementState::kBad);
}

TEST_F(AuditorTest, WrongAnswerKeepsTheFarmerBadEvenAfterPasses) {
  const FarmerId liar = FarmerOf(0, 0);
  network_.Lose(liar, ShardOf(0, 0));
  ASSERT_GT(RunUntilBad(0, 0, 40), 0);
  for (int n = 0; n < 20; ++n) ASSERT_OK(auditor_->RunOnce(BlockN(++block_)).status());
  ASSERT_OK_AND_ASSIGN(catalog::Farmer after, catalog_->GetFarmer(liar));
  EXPECT_EQ(after.status, catalog::FarmerStatus::kBad);
}

TEST_F(AuditorTest, LostCallbacksCountAsMissedAndLateOnesAreIgnored) {
  options_.deadline = absl::Milliseconds(20);
  Auditor auditor(
      *catalog_, network_,
      [this](const catalog::Version&) -> absl::StatusOr<codec::FileKey> { return file_.key; },
      clock_, options_);
  network_.SetBehaviour(FarmerOf(0, 0), FakeAuditNetwork::Behaviour::kBlackHole);
  ASSERT_OK_AND_ASSIGN(AuditRound r, auditor.RunOnce(BlockN(++block_)));
  int missed = 0;
  for (const Verdict& v : r.verdicts) {
    if (v.farmer == FarmerOf(0, 0)) {
      EXPECT_EQ(v.result, VerdictResult::kMissed) << DescribeVerdict(v);
      ++missed;
    } else {
      EXPECT_EQ(v.result, VerdictResult::kPass) << DescribeVerdict(v);
    }
  }
  EXPECT_GT(missed, 0);
  network_.ReleaseParked();  // late answers after the round: dropped, no crash
}

TEST_F(AuditorTest, ReplayingFarmerFails) {
  network_.SetBehaviour(FarmerOf(1, 3), FakeAuditNetwork::Behaviour::kReplay);
  EXPECT_GT(RunUntilBad(1, 3, 40), 0);
}

TEST_F(AuditorTest, ExplicitPlacementsAndReplayedBlocksAreHandled) {
  catalog::PlacementId id = PlacementOf(0, 2).id;
  ASSERT_OK_AND_ASSIGN(AuditRound r, auditor_->AuditPlacements(BlockN(5), {&id, 1}));
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0].result, VerdictResult::kPass);
  ASSERT_OK_AND_ASSIGN(r, auditor_->RunOnce(BlockN(200)));
  EXPECT_FALSE(r.verdicts.empty());
  ASSERT_OK_AND_ASSIGN(r, auditor_->RunOnce(BlockN(200)));  // same block again: nothing
  EXPECT_TRUE(r.verdicts.empty());
  // Verdict detail is JSON with the positions asked.
  ASSERT_OK_AND_ASSIGN(catalog::Verdict v, catalog_->GetVerdict(r.verdict_ids.empty() ? 1 : 1));
  EXPECT_EQ(v.detail.rfind("{\"why\":", 0), 0u) << v.detail;
}

class RecordingSink final : public AuditReportSink {
 public:
  absl::Status Record(std::span<const chain::AuditEntry> entries) override {
    ++calls;
    for (const chain::AuditEntry& e : entries) {
      passed[e.node_id] += e.passed;
      failed[e.node_id] += e.failed;
    }
    return fail_next ? absl::UnavailableError("rpc down") : absl::OkStatus();
  }
  int calls = 0;
  bool fail_next = false;
  std::map<chain::NodeId, uint64_t> passed, failed;
};

TEST_F(AuditorTest, VerdictsAreReportedOnChainInBatches) {
  network_.SetBehaviour(FarmerOf(0, 0), FakeAuditNetwork::Behaviour::kSilent);
  RecordingSink sink;
  ReporterOptions ro;
  ro.min_verdicts = 30;
  ro.max_blocks = 1000;
  ChainReporter reporter(*catalog_, sink, ro);
  size_t recorded = 0, reported = 0;
  for (int n = 0; n < 12; ++n) {
    ASSERT_OK_AND_ASSIGN(AuditRound r, auditor_->RunOnce(BlockN(++block_)));
    recorded += r.verdicts.size();
    ASSERT_OK_AND_ASSIGN(size_t k, reporter.MaybeReport(block_));
    reported += k;
  }
  EXPECT_GT(sink.calls, 0);
  EXPECT_LT(sink.calls, 12);  // batched, not one per block
  ASSERT_OK_AND_ASSIGN(size_t rest, reporter.ReportNow());
  reported += rest;
  EXPECT_EQ(reported, recorded);
  ASSERT_OK_AND_ASSIGN(auto waiting, catalog_->ListUnreportedVerdicts(10));
  EXPECT_TRUE(waiting.empty());
  // Sums match the catalog's per-farmer statistics.
  ASSERT_OK_AND_ASSIGN(auto stats, catalog_->FarmerStats());
  for (const auto& s : stats) {
    EXPECT_EQ(sink.passed[s.farmer], s.pass);
    EXPECT_EQ(sink.failed[s.farmer], s.fail + s.timeout);
  }
  EXPECT_GT(sink.failed[FarmerOf(0, 0)], 0u);
  // A failed transaction leaves the verdicts waiting.
  ASSERT_OK_AND_ASSIGN(AuditRound r, auditor_->RunOnce(BlockN(++block_)));
  ASSERT_FALSE(r.verdicts.empty());
  sink.fail_next = true;
  EXPECT_STATUS(reporter.ReportNow(), absl::StatusCode::kUnavailable);
  ASSERT_OK_AND_ASSIGN(waiting, catalog_->ListUnreportedVerdicts(1000));
  EXPECT_EQ(waiting.size(), r.verdicts.size());
}

}  // namespace
}  // namespace gnr::audit
