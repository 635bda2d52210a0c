#include "fs/audit/planner.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crypto/hash.h"

namespace gnr::audit {
namespace {

uint64_t BigEndian64(const crypto::Hash256& h) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
  return v;
}

constexpr std::string_view kDueLabel = "gnr audit due";
constexpr std::string_view kMerkleLabel = "gnr audit merkle";

ByteView Label(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

uint64_t Overdue(const PlanOptions& options, const Block& block, const AuditTarget& target) {
  if (!target.last_audit_block) return options.period_blocks;  // never audited: a full period
  if (block.number < *target.last_audit_block) return 0;
  uint64_t age = block.number - *target.last_audit_block;
  return age >= options.period_blocks ? age - options.period_blocks + 1 : 0;
}

}  // namespace

absl::Status ValidatePlanOptions(const PlanOptions& options) {
  if (options.period_blocks == 0) {
    return absl::InvalidArgumentError("audit period must be at least 1 block");
  }
  if (options.max_per_farmer == 0) {
    return absl::InvalidArgumentError("max challenges per farmer per block must be at least 1");
  }
  if (!(options.low_budget_fraction >= 0.0 && options.low_budget_fraction <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "low sentinel budget fraction must be in [0, 1], got ", options.low_budget_fraction));
  }
  return absl::OkStatus();
}

uint64_t DueLottery(const BlockHash& block_hash, const ShardId& shard_id) {
  return BigEndian64(crypto::Sha256({Label(kDueLabel), ByteView(block_hash), ByteView(shard_id)}));
}

bool IsDue(const PlanOptions& options, const Block& block, const AuditTarget& target) {
  if (options.period_blocks == 0) return false;
  if (target.last_audit_block && *target.last_audit_block >= block.number) return false;
  if (Overdue(options, block, target) > 0) return true;
  return DueLottery(block.hash, target.shard_id) % options.period_blocks == 0;
}

absl::StatusOr<PlannedChallenge> ChooseChallenge(const PlanOptions& options, const Block& block,
                                                 const AuditTarget& target, size_t index) {
  PlannedChallenge out;
  out.target = index;
  bool merkle_turn = false;
  if (options.merkle_every > 0 && target.leaf_count > 0) {
    uint64_t draw = BigEndian64(
        crypto::Sha256({Label(kMerkleLabel), ByteView(block.hash), ByteView(target.shard_id)}));
    merkle_turn = draw % options.merkle_every == 0;
  }
  if (!merkle_turn && target.group_count > 0) {
    // Count distinct used groups below G to judge the remaining budget.
    std::vector<uint64_t> used(target.used_groups.begin(), target.used_groups.end());
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    uint64_t used_count = static_cast<uint64_t>(std::count_if(
        used.begin(), used.end(), [&](uint64_t g) { return g < target.group_count; }));
    uint64_t unused = target.group_count - used_count;
    bool low = static_cast<double>(unused) <
               options.low_budget_fraction * static_cast<double>(target.group_count);
    if (unused > 0 && (!low || target.leaf_count == 0)) {
      absl::StatusOr<uint64_t> group = codec::SelectSentinelGroup(
          block.hash, target.shard_id, target.group_count, target.used_groups);
      if (group.ok()) {
        out.kind = ChallengeKind::kSentinel;
        out.index = *group;
        return out;
      }
    }
  }
  if (target.leaf_count == 0) {
    return absl::FailedPreconditionError(
        "shard has no unused sentinel group and no Merkle leaves to challenge");
  }
  out.kind = ChallengeKind::kMerkle;
  out.index = codec::MerkleChallengeLeaf(block.hash, target.shard_id, target.leaf_count);
  return out;
}

absl::StatusOr<std::vector<PlannedChallenge>> PlanBlock(const PlanOptions& options,
                                                        const Block& block,
                                                        std::span<const AuditTarget> targets) {
  absl::Status valid = ValidatePlanOptions(options);
  if (!valid.ok()) return valid;
  struct Candidate {
    size_t index;
    uint64_t overdue;
    uint64_t lottery;
  };
  std::vector<Candidate> due;
  for (size_t i = 0; i < targets.size(); ++i) {
    const AuditTarget& t = targets[i];
    if (t.group_count == 0 && t.leaf_count == 0) continue;
    if (!IsDue(options, block, t)) continue;
    due.push_back({i, Overdue(options, block, t), DueLottery(block.hash, t.shard_id)});
  }
  // Most overdue first; ties broken by the block's lottery so no shard is always last.
  std::sort(due.begin(), due.end(), [](const Candidate& a, const Candidate& b) {
    if (a.overdue != b.overdue) return a.overdue > b.overdue;
    if (a.lottery != b.lottery) return a.lottery < b.lottery;
    return a.index < b.index;
  });
  std::map<FarmerId, uint32_t> per_farmer;
  std::vector<PlannedChallenge> plan;
  for (const Candidate& c : due) {
    if (options.max_per_block > 0 && plan.size() >= options.max_per_block) break;
    uint32_t& n = per_farmer[targets[c.index].farmer];
    if (n >= options.max_per_farmer) continue;
    absl::StatusOr<PlannedChallenge> challenge =
        ChooseChallenge(options, block, targets[c.index], c.index);
    if (!challenge.ok()) continue;
    ++n;
    plan.push_back(*challenge);
  }
  std::sort(plan.begin(), plan.end(), [](const PlannedChallenge& a, const PlannedChallenge& b) {
    return a.target < b.target;
  });
  return plan;
}

}  // namespace gnr::audit
