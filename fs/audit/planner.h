#pragma once
// Challenge planning (DESIGN.md section 4): for one confirmed block, which shards get
// challenged and with what. Pure: the block hash is the only source of randomness, so a
// plan is reproducible from (block, targets, options).
//
// Which shards. A shard is *due* in block B when
//   - it was never audited, or its last audit is `period_blocks` or more blocks old
//     (every shard is audited at least once per period, give or take the per-farmer cap), or
//   - the lottery picks it: first 8 bytes of SHA-256("gnr audit due" || hash(B) || shard id)
//     mod period_blocks == 0, so on average each shard gets one extra, unpredictable
//     challenge per period (a farmer cannot know which blocks will ask about its shards).
// Due shards are taken most overdue first, at most `max_per_farmer` per farmer per block
// (busy farmers are not flooded; the rest wait for the next blocks), and at most
// `max_per_block` in all.
//
// Re-tagged shards need nothing special here: a re-tag gives the shard a new id (so new
// seeds) and an empty used set; the sentinel key of the target's recorded sentinel
// generation is applied when the challenge is made (verify.h MakeChallenge).
//
// What challenge. A sentinel challenge on the group codec::SelectSentinelGroup picks
// (first unused group at or after H(hash(B) || shard id) mod G), unless the sentinel budget
// is low (unused groups < low_budget_fraction * G) or exhausted, or the shard has no
// sentinels: then a Merkle challenge on codec::MerkleChallengeLeaf. With merkle_every = n > 0,
// one challenge in n (chosen by the block hash) is a Merkle challenge anyway.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "fs/audit/types.h"

namespace gnr::audit {

struct PlanOptions {
  // Every shard is challenged at least once per this many blocks (>= 1).
  uint64_t period_blocks = 240;
  // At most this many challenges to one farmer in one block (>= 1).
  uint32_t max_per_farmer = 4;
  // At most this many challenges in one block (0: no limit).
  uint32_t max_per_block = 0;
  // Below this fraction of unused groups a shard is challenged with Merkle challenges only
  // (its remaining groups are kept for after a re-tag decision). 0: use sentinels to the end.
  double low_budget_fraction = 0.0;
  // One challenge in `merkle_every` is a Merkle challenge (0: only when sentinels are out).
  uint32_t merkle_every = 4;
};

// InvalidArgument if period_blocks or max_per_farmer is 0, or the fraction is not in [0, 1].
absl::Status ValidatePlanOptions(const PlanOptions& options);

// First 8 bytes of SHA-256("gnr audit due" || block hash || shard id) (big-endian).
uint64_t DueLottery(const BlockHash& block_hash, const ShardId& shard_id);

// Whether target is due in `block` (see the file comment), and by how many blocks it is
// overdue (0 when only the lottery picked it).
bool IsDue(const PlanOptions& options, const Block& block, const AuditTarget& target);

// The challenges for `block`, in target order. Targets with neither groups nor leaves are
// skipped. InvalidArgument for bad options.
absl::StatusOr<std::vector<PlannedChallenge>> PlanBlock(const PlanOptions& options,
                                                        const Block& block,
                                                        std::span<const AuditTarget> targets);

// The challenge for one target in `block` regardless of whether it is due (what PlanBlock
// asks of a due target). FailedPrecondition if the shard has neither groups nor leaves.
absl::StatusOr<PlannedChallenge> ChooseChallenge(const PlanOptions& options, const Block& block,
                                                 const AuditTarget& target, size_t index = 0);

}  // namespace gnr::audit
