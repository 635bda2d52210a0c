// Unit tests of the pure auditor core: planning, verification, policy, explain, statistics.

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "common/status.h"
#include "crypto/hash.h"
#include "fs/audit/audit_test_util.h"
#include "fs/audit/detection.h"
#include "fs/audit/explain.h"
#include "fs/audit/planner.h"
#include "fs/audit/policy.h"
#include "fs/audit/verify.h"
#include "fs/codec/spor.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::audit {
namespace {

using testing::EncodedFile;
using testing::EncodeFile;
using testing::FarmerN;

Block BlockN(uint64_t n) {
  Block b;
  b.number = n;
  uint8_t be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  b.hash = crypto::Sha256(ByteView(be, 8));
  return b;
}

ShardId ShardN(uint64_t n) {
  uint8_t be[9] = {'s'};
  for (int i = 0; i < 8; ++i) be[1 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  return crypto::Sha256(ByteView(be, 9));
}

AuditTarget TargetFor(const EncodedFile& f, uint64_t segment, uint32_t index,
                      const FarmerId& farmer) {
  AuditTarget t;
  t.shard_id = f.manifest.segments[segment].shards[index].id;
  t.farmer = farmer;
  t.segment = segment;
  t.shard_index = index;
  t.group_count = codec::SentinelGroupCount(f.manifest, segment);
  t.leaf_count = crypto::MerkleLeafCount(f.manifest.segments[segment].shards[index].stored_length,
                                         f.manifest.leaf_size);
  return t;
}

// ---- Planning ---------------------------------------------------------------------------

TEST(Planner, EveryShardAtLeastOncePerPeriodAndFarmersCapped) {
  PlanOptions o;
  o.period_blocks = 20;
  o.max_per_farmer = 3;
  std::vector<AuditTarget> targets;
  for (uint64_t i = 0; i < 120; ++i) {
    AuditTarget t;
    t.shard_id = ShardN(i);
    t.farmer = FarmerN(static_cast<uint8_t>(i % 6));
    t.group_count = 100;
    t.leaf_count = 10;
    t.last_audit_block = 0;
    targets.push_back(t);
  }
  std::map<size_t, uint64_t> last;  // target -> last block challenged
  for (uint64_t b = 1; b <= 400; ++b) {
    ASSERT_OK_AND_ASSIGN(std::vector<PlannedChallenge> plan, PlanBlock(o, BlockN(b), targets));
    std::map<FarmerId, int> per_farmer;
    for (const PlannedChallenge& c : plan) {
      EXPECT_LE(++per_farmer[targets[c.target].farmer], 3);
      targets[c.target].last_audit_block = b;
      if (c.kind == ChallengeKind::kSentinel) targets[c.target].used_groups.push_back(c.index);
    }
  }
  // 120 shards / 6 farmers = 20 per farmer at 3 per block: all fit within the period with
  // room to spare, so no shard may go longer than period + a few blocks unaudited.
  for (const AuditTarget& t : targets) {
    ASSERT_TRUE(t.last_audit_block.has_value());
    EXPECT_GE(*t.last_audit_block, 400u - o.period_blocks - 3);
  }
}

TEST(Planner, LotteryAddsUnpredictableExtraChallenges) {
  PlanOptions o;
  o.period_blocks = 50;
  AuditTarget t;
  t.shard_id = ShardN(1);
  t.group_count = 1000;
  t.leaf_count = 4;
  int picked = 0;
  for (uint64_t b = 1; b <= 5000; ++b) {
    t.last_audit_block = b - 1;  // never overdue: only the lottery can pick it
    if (IsDue(o, BlockN(b), t)) ++picked;
  }
  EXPECT_NEAR(picked, 100, 35);  // ~ 5000 / 50
}

TEST(Planner, SentinelGroupFollowsTheSporRuleAndMerkleWhenExhausted) {
  EncodedFile f = EncodeFile(100000, 1);
  AuditTarget t = TargetFor(f, 0, 2, FarmerN(1));
  PlanOptions o;
  o.merkle_every = 0;
  Block b = BlockN(77);
  ASSERT_OK_AND_ASSIGN(PlannedChallenge c, ChooseChallenge(o, b, t));
  EXPECT_EQ(c.kind, ChallengeKind::kSentinel);
  EXPECT_EQ(c.index, codec::ChallengeSeed(b.hash, t.shard_id) % t.group_count);
  // Every group used -> Merkle on the Sia leaf.
  for (uint64_t g = 0; g < t.group_count; ++g) t.used_groups.push_back(g);
  ASSERT_OK_AND_ASSIGN(c, ChooseChallenge(o, b, t));
  EXPECT_EQ(c.kind, ChallengeKind::kMerkle);
  EXPECT_EQ(c.index, codec::MerkleChallengeLeaf(b.hash, t.shard_id, t.leaf_count));
  // Low budget -> Merkle as well.
  t.used_groups.resize(t.group_count - 1);
  o.low_budget_fraction = 0.1;
  ASSERT_OK_AND_ASSIGN(c, ChooseChallenge(o, b, t));
  EXPECT_EQ(c.kind, ChallengeKind::kMerkle);
  o.low_budget_fraction = 0;
  ASSERT_OK_AND_ASSIGN(c, ChooseChallenge(o, b, t));
  EXPECT_EQ(c.kind, ChallengeKind::kSentinel);
  EXPECT_EQ(c.index, t.group_count - 1);
}

TEST(Planner, RejectsBadOptions) {
  PlanOptions o;
  o.period_blocks = 0;
  EXPECT_STATUS(PlanBlock(o, BlockN(1), {}), absl::StatusCode::kInvalidArgument);
  o = {};
  o.low_budget_fraction = 2;
  EXPECT_STATUS(PlanBlock(o, BlockN(1), {}), absl::StatusCode::kInvalidArgument);
}

// ---- Verification -----------------------------------------------------------------------

class VerifyTest : public ::testing::Test {
 protected:
  VerifyTest() : file_(EncodeFile(150000, 5)) {}

  Challenge Make(const Block& b, uint32_t index, ChallengeKind kind) {
    AuditTarget t = TargetFor(file_, 0, index, FarmerN(1));
    PlannedChallenge pc;
    pc.kind = kind;
    pc.index = kind == ChallengeKind::kSentinel
                   ? *codec::SelectSentinelGroup(b.hash, t.shard_id, t.group_count, {})
                   : codec::MerkleChallengeLeaf(b.hash, t.shard_id, t.leaf_count);
    absl::StatusOr<Challenge> c = MakeChallenge(b, t, pc, file_.manifest, file_.key);
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }

  absl::StatusOr<MerkleAnswer> AnswerMerkle(const Bytes& shard, uint64_t leaf) {
    GNR_ASSIGN_OR_RETURN(crypto::MerkleTree tree,
                         crypto::MerkleTree::Build(shard, file_.manifest.leaf_size));
    MerkleAnswer a;
    GNR_ASSIGN_OR_RETURN(a.proof, tree.Prove(leaf));
    uint64_t begin = leaf * file_.manifest.leaf_size;
    uint64_t end = std::min<uint64_t>(shard.size(), begin + file_.manifest.leaf_size);
    a.leaf.assign(shard.begin() + begin, shard.begin() + end);
    return a;
  }

  EncodedFile file_;
};

TEST_F(VerifyTest, HonestAnswersPassAndCorruptionIsNamed) {
  Block b = BlockN(9);
  Challenge c = Make(b, 1, ChallengeKind::kSentinel);
  Bytes shard = file_.shards[0][1];
  Verdict v = VerifySentinelAnswer(c, codec::AnswerSentinelChallenge(shard, c.sentinel.offsets),
                                   absl::Milliseconds(3));
  EXPECT_EQ(v.result, VerdictResult::kPass);
  EXPECT_EQ(v.positions, c.sentinel.offsets);
  EXPECT_EQ(v.block_number, 9u);
  // Flip one bit inside the third sentinel of the group.
  shard[c.sentinel.offsets[2] + 5] ^= 0x10;
  v = VerifySentinelAnswer(c, codec::AnswerSentinelChallenge(shard, c.sentinel.offsets),
                           absl::Milliseconds(3));
  EXPECT_EQ(v.result, VerdictResult::kWrong);
  ASSERT_EQ(v.mismatches.size(), 1u);
  EXPECT_EQ(v.mismatches[0].offset, c.sentinel.offsets[2]);
  EXPECT_EQ(v.mismatches[0].expected, c.sentinel.expected[2]);
  EXPECT_NE(v.mismatches[0].received, c.sentinel.expected[2]);
  EXPECT_NE(v.details.find("1 of 8 sentinels differ"), std::string::npos) << v.details;
}

TEST_F(VerifyTest, ErrorsMapToResults) {
  Challenge c = Make(BlockN(3), 0, ChallengeKind::kSentinel);
  EXPECT_EQ(VerifySentinelAnswer(c, absl::DeadlineExceededError("slow"), absl::Seconds(10)).result,
            VerdictResult::kMissed);
  EXPECT_EQ(VerifySentinelAnswer(c, absl::UnavailableError("down"), absl::ZeroDuration()).result,
            VerdictResult::kUnreachable);
  EXPECT_EQ(VerifySentinelAnswer(c, absl::NotFoundError("no shard"), absl::ZeroDuration()).result,
            VerdictResult::kWrong);
  // Wrong number of values: malformed, so wrong.
  std::vector<crypto::Hash256> short_answer(3);
  EXPECT_EQ(VerifySentinelAnswer(c, short_answer, absl::ZeroDuration()).result,
            VerdictResult::kWrong);
}

TEST_F(VerifyTest, ReplayedAnswerFailsANewChallenge) {
  // A farmer that answered block 10 honestly, kept the answer and dropped the data.
  Challenge old_c = Make(BlockN(10), 3, ChallengeKind::kSentinel);
  absl::StatusOr<std::vector<crypto::Hash256>> old_answer =
      codec::AnswerSentinelChallenge(file_.shards[0][3], old_c.sentinel.offsets);
  ASSERT_OK(old_answer.status());
  EXPECT_EQ(VerifySentinelAnswer(old_c, old_answer, absl::ZeroDuration()).result,
            VerdictResult::kPass);
  int fails = 0;
  for (uint64_t n = 11; n < 111; ++n) {
    Challenge c = Make(BlockN(n), 3, ChallengeKind::kSentinel);
    if (c.index == old_c.index) continue;  // same group by chance (it would be skipped as used)
    if (VerifySentinelAnswer(c, old_answer, absl::ZeroDuration()).result == VerdictResult::kWrong) {
      ++fails;
    } else {
      ADD_FAILURE() << "replayed answer passed block " << n;
    }
  }
  EXPECT_GT(fails, 90);
  // Merkle: the old leaf and proof do not answer a new block's leaf.
  Challenge m_old = Make(BlockN(10), 3, ChallengeKind::kMerkle);
  absl::StatusOr<MerkleAnswer> m_answer = AnswerMerkle(file_.shards[0][3], m_old.index);
  ASSERT_OK(m_answer.status());
  EXPECT_EQ(VerifyMerkleAnswer(m_old, m_answer, absl::ZeroDuration()).result, VerdictResult::kPass);
  for (uint64_t n = 11; n < 40; ++n) {
    Challenge c = Make(BlockN(n), 3, ChallengeKind::kMerkle);
    if (c.index == m_old.index) continue;
    EXPECT_EQ(VerifyMerkleAnswer(c, m_answer, absl::ZeroDuration()).result, VerdictResult::kWrong);
  }
}

TEST_F(VerifyTest, MerkleAnswersAreCheckedAgainstTheRoot) {
  Challenge c = Make(BlockN(21), 4, ChallengeKind::kMerkle);
  Bytes shard = file_.shards[0][4];
  absl::StatusOr<MerkleAnswer> a = AnswerMerkle(shard, c.index);
  EXPECT_EQ(VerifyMerkleAnswer(c, a, absl::ZeroDuration()).result, VerdictResult::kPass);
  a->leaf[0] ^= 1;
  Verdict v = VerifyMerkleAnswer(c, a, absl::ZeroDuration());
  EXPECT_EQ(v.result, VerdictResult::kWrong);
  EXPECT_FALSE(v.details.empty());
}

TEST_F(VerifyTest, MakeChallengeRejectsAMismatchedTarget) {
  AuditTarget t = TargetFor(file_, 0, 1, FarmerN(1));
  t.shard_id[0] ^= 1;
  EXPECT_STATUS(
      MakeChallenge(BlockN(1), t, {0, ChallengeKind::kSentinel, 0}, file_.manifest, file_.key),
      absl::StatusCode::kInvalidArgument);
  t = TargetFor(file_, 0, 1, FarmerN(1));
  t.segment = 99;
  EXPECT_STATUS(
      MakeChallenge(BlockN(1), t, {0, ChallengeKind::kSentinel, 0}, file_.manifest, file_.key),
      absl::StatusCode::kInvalidArgument);
}

// ---- Policy -----------------------------------------------------------------------------

TEST(Policy, WrongIsBadAtOnceMissesAccumulateAndPassResets) {
  PolicyOptions o;
  o.suspicion_threshold = 3;
  ShardHealth h;
  PolicyDecision d = ApplyVerdict(o, h, VerdictResult::kMissed);
  EXPECT_EQ(d.health.suspicion, 1u);
  d = ApplyVerdict(o, d.health, VerdictResult::kMissed);
  EXPECT_EQ(d.health.suspicion, 2u);
  d = ApplyVerdict(o, d.health, VerdictResult::kPass);
  EXPECT_EQ(d.health, ShardHealth{});
  for (int i = 0; i < 2; ++i) d = ApplyVerdict(o, d.health, VerdictResult::kUnreachable);
  EXPECT_FALSE(d.health.bad);
  d = ApplyVerdict(o, d.health, VerdictResult::kMissed);
  EXPECT_TRUE(d.health.bad);
  EXPECT_TRUE(d.became_bad);
  EXPECT_FALSE(d.reason.empty());
  // Stays bad; a later pass does not clear it.
  d = ApplyVerdict(o, d.health, VerdictResult::kPass);
  EXPECT_TRUE(d.health.bad);
  EXPECT_FALSE(d.became_bad);
  d = ApplyVerdict(o, ShardHealth{}, VerdictResult::kWrong);
  EXPECT_TRUE(d.health.bad && d.became_bad);
  o.unreachable_counts_as_missed = false;
  d = ApplyVerdict(o, ShardHealth{2, false}, VerdictResult::kUnreachable);
  EXPECT_EQ(d.health.suspicion, 2u);
}

TEST(Policy, RetagWhenBudgetLow) {
  PolicyOptions o;
  o.retag_fraction = 0.1;
  EXPECT_FALSE(NeedsRetag(o, 100, 90));
  EXPECT_TRUE(NeedsRetag(o, 100, 91));
  EXPECT_TRUE(NeedsRetag(o, 100, 100));
  EXPECT_TRUE(NeedsRetag(o, 0, 0));
}

// ---- Explain ----------------------------------------------------------------------------

TEST(Explain, RecomputesGroupAndPositionsFromTheBlockHash) {
  EncodedFile f = EncodeFile(90000, 11);
  AuditTarget t = TargetFor(f, 0, 5, FarmerN(2));
  Block b = BlockN(1234);
  uint64_t start = codec::ChallengeSeed(b.hash, t.shard_id) % t.group_count;
  // Two groups at the start already used: the challenge went to start + 2.
  t.used_groups = {start, (start + 1) % t.group_count};
  ASSERT_OK_AND_ASSIGN(PlannedChallenge pc, ChooseChallenge(PlanOptions{.merkle_every = 0}, b, t));
  ASSERT_OK_AND_ASSIGN(Challenge c, MakeChallenge(b, t, pc, f.manifest, f.key));
  ExplainRequest r;
  r.block_hash = b.hash;
  r.shard_id = t.shard_id;
  r.segment = 0;
  r.shard_index = 5;
  r.recorded_index = pc.index;
  r.used_groups = t.used_groups;
  r.used_groups.push_back(pc.index);
  ASSERT_OK_AND_ASSIGN(Explanation e, ExplainVerdict(r, f.manifest, f.key));
  EXPECT_TRUE(e.consistent) << e.note;
  EXPECT_EQ(e.start, start);
  EXPECT_EQ(e.skipped, 2u);
  EXPECT_EQ(e.positions, c.sentinel.offsets);
  EXPECT_EQ(e.expected, c.sentinel.expected);
  // A record naming a group the rule could not have chosen is flagged.
  r.recorded_index = (start + 5) % t.group_count;
  ASSERT_OK_AND_ASSIGN(e, ExplainVerdict(r, f.manifest, f.key));
  EXPECT_FALSE(e.consistent);
  // Merkle.
  r.kind = ChallengeKind::kMerkle;
  r.recorded_index = codec::MerkleChallengeLeaf(b.hash, t.shard_id, t.leaf_count);
  ASSERT_OK_AND_ASSIGN(e, ExplainVerdict(r, f.manifest, f.key));
  EXPECT_TRUE(e.consistent);
  r.recorded_index += 1;
  ASSERT_OK_AND_ASSIGN(e, ExplainVerdict(r, f.manifest, f.key));
  EXPECT_EQ(e.consistent, t.leaf_count == 1);
}

// ---- Statistics -------------------------------------------------------------------------

TEST(Detection, Formulas) {
  EXPECT_NEAR(DetectionProbability(0.01, 8), 1 - std::pow(0.99, 8), 1e-12);
  EXPECT_DOUBLE_EQ(DetectionProbability(0, 8), 0);
  EXPECT_DOUBLE_EQ(DetectionProbability(1, 8), 1);
  EXPECT_NEAR(CumulativeDetection(0.5, 3), 0.875, 1e-12);
  const double p = DetectionProbability(0.01, 8);
  uint64_t n = ChallengesForConfidence(p, 0.999);
  EXPECT_GE(CumulativeDetection(p, n), 0.999);
  EXPECT_LT(CumulativeDetection(p, n - 1), 0.999);
  EXPECT_EQ(ChallengesForConfidence(0, 0.5), UINT64_MAX);
  EXPECT_EQ(ChallengesForConfidence(1, 0.999), 1u);
}

// Measures, over many sentinel challenges of real encoded shards with 1% of their bytes
// zeroed, how often a challenge fails; compares with 1-(1-e)^q and prints the time to 99.9%
// confidence at the default settings.
TEST(Detection, MeasuredRateMatchesTheoryForOnePercentMissing) {
  codec::CodecParams p = testing::SmallParams();
  p.segment_size = 256 * 1024;
  EncodedFile f = EncodeFile(4 * 256 * 1024, 21, p);
  const double e = 0.01;
  const uint32_t q = f.manifest.group_size;
  std::mt19937_64 rng(99);
  // Two damage models, both through real encoded shards and real challenges, 20 fresh
  // damage patterns per shard:
  //  (a) bytes: each stored byte damaged with probability e; a 32-byte sentinel is then
  //      damaged with probability e' = 1-(1-e)^32 and a group fails with 1-(1-e')^q;
  //  (b) sentinel units (the Juels-Kaliski model the formula states): each 32-byte sentinel
  //      unit damaged with probability e; a group fails with 1-(1-e)^q.
  auto measure = [&](bool units) {
    uint64_t trials = 0, detected = 0;
    for (uint64_t seg = 0; seg < f.manifest.segments.size(); ++seg) {
      for (uint32_t idx = 0; idx < f.manifest.total_shards(); ++idx) {
        AuditTarget t = TargetFor(f, seg, idx, FarmerN(1));
        std::vector<codec::SentinelChallenge> groups;
        for (uint64_t g = 0; g < t.group_count; ++g) {
          groups.push_back(*codec::MakeSentinelChallenge(f.manifest, f.key, seg, idx, g));
        }
        for (int rep = 0; rep < 20; ++rep) {
          Bytes shard = f.shards[seg][idx];
          if (units) {
            for (const codec::SentinelChallenge& c : groups) {
              for (uint64_t off : c.offsets) {
                if (std::uniform_real_distribution<double>(0, 1)(rng) < e) shard[off + 7] ^= 0xff;
              }
            }
          } else {
            for (uint8_t& byte : shard) {
              if (std::uniform_real_distribution<double>(0, 1)(rng) < e) byte ^= 0xff;
            }
          }
          for (const codec::SentinelChallenge& c : groups) {
            absl::StatusOr<std::vector<crypto::Hash256>> answer =
                codec::AnswerSentinelChallenge(shard, c.offsets);
            EXPECT_TRUE(answer.ok());
            ++trials;
            if (!codec::CheckSentinelAnswer(c, *answer)->empty()) ++detected;
          }
        }
      }
    }
    return std::make_pair(trials, detected);
  };
  auto [trials_b, detected_b] = measure(false);
  const double expected_b = DetectionProbability(1 - std::pow(1 - e, 32), q);
  const double measured_b = double(detected_b) / double(trials_b);
  const double sigma_b = std::sqrt(expected_b * (1 - expected_b) / double(trials_b));
  std::printf("byte damage e = 1%%: measured %.4f over %llu challenges, expected %.4f\n",
              measured_b, (unsigned long long)trials_b, expected_b);
  EXPECT_NEAR(measured_b, expected_b, 4 * sigma_b);

  auto [trials, detected] = measure(true);
  const double expected = DetectionProbability(e, q);
  const double measured2 = double(detected) / double(trials);
  const double sigma2 = std::sqrt(expected * (1 - expected) / double(trials));
  EXPECT_NEAR(measured2, expected, 4 * sigma2);
  PlanOptions defaults;
  // Per period a shard gets one scheduled and on average one lottery challenge, of which
  // one in merkle_every is a Merkle challenge (not counted here).
  const double sentinel_per_period = 2.0 * (1.0 - 1.0 / defaults.merkle_every);
  DetectionEstimate est = EstimateDetection(e, q, 0.999, defaults.period_blocks,
                                            sentinel_per_period, absl::Seconds(15));
  std::printf(
      "e = 1%%, q = %u: per-challenge detection %.4f (measured %.4f over %llu); 99.9%% "
      "confidence after %llu challenges = %llu blocks = %s at %.1f sentinel "
      "challenges per %llu-block period and 15 s blocks\n",
      q, expected, measured2, (unsigned long long)trials, (unsigned long long)est.challenges,
      (unsigned long long)est.blocks, absl::FormatDuration(est.time).c_str(), sentinel_per_period,
      (unsigned long long)defaults.period_blocks);
  EXPECT_EQ(est.challenges, ChallengesForConfidence(expected, 0.999));
}

}  // namespace
}  // namespace gnr::audit
