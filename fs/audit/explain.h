#pragma once
// `gnr audit --explain`: reproduce a recorded verdict from its block hash and the keys
// (DESIGN.md section 4). Pure.
//
// Sentinel verdicts: the start group is ChallengeSeed(block hash, shard id) mod G; the
// recorded group must be the start group or the first group after it (wrapping) that was
// unused at the time, so every group between the start and the recorded one must be in
// today's used set (groups never become unused again). The positions and the expected
// sentinel values of the recorded group are recomputed from the sentinel key of the
// challenged copy's sentinel generation (a re-tag changes them).
// Merkle verdicts: the leaf is recomputed as MerkleChallengeLeaf(block hash, shard id,
// leaves) and must equal the recorded one.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fs/audit/types.h"
#include "fs/codec/manifest.h"

namespace gnr::audit {

struct ExplainRequest {
  BlockHash block_hash{};
  ShardId shard_id{};
  uint64_t segment = 0;
  uint32_t shard_index = 0;
  ChallengeKind kind = ChallengeKind::kSentinel;
  uint64_t recorded_index = 0;        // group or leaf in the verdict
  std::vector<uint64_t> used_groups;  // the shard's used groups today
  // The sentinel generation of the challenged copy (its catalog placement). nullopt: the
  // one the manifest records today, which is wrong for a verdict on a copy that has been
  // re-tagged since (the verdict's shard id then differs from the manifest's).
  std::optional<uint32_t> sentinel_generation;
};

struct Explanation {
  ChallengeKind kind = ChallengeKind::kSentinel;
  uint64_t seed = 0;                      // ChallengeSeed(block hash, shard id)
  uint64_t domain = 0;                    // G (sentinel) or the leaf count (Merkle)
  uint64_t start = 0;                     // seed mod domain
  uint64_t index = 0;                     // the recorded group/leaf (recomputed for Merkle)
  uint64_t skipped = 0;                   // used groups skipped between start and index
  uint32_t sentinel_generation = 0;       // sentinel: whose key gave positions and values
  bool consistent = false;                // the record agrees with the recomputation
  std::string note;                       // why (not) consistent
  std::vector<uint64_t> positions;        // sentinel: stored offsets of the group
  std::vector<crypto::Hash256> expected;  // sentinel: values at those offsets
};

// InvalidArgument if the shard is not in the manifest or the group/leaf cannot exist.
absl::StatusOr<Explanation> ExplainVerdict(const ExplainRequest& request,
                                           const codec::FileManifest& manifest,
                                           const codec::FileKey& file_key);

}  // namespace gnr::audit
