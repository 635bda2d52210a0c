#pragma once
// What a verdict means for its shard (DESIGN.md section 4):
//   - wrong         -> the shard is bad at once (to be repaired);
//   - missed        -> suspicion + 1; at `suspicion_threshold` consecutive misses -> bad;
//   - unreachable   -> counts like a miss when unreachable_counts_as_missed (a farmer that
//                      cannot be resolved or connected to is as useless as a silent one);
//   - pass          -> suspicion back to 0.
// Independently, a shard whose unused sentinel groups fall below retag_fraction * G needs a
// re-tag (a fresh generation with new sentinels) before the budget runs out.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string>

#include "fs/audit/types.h"

namespace gnr::audit {

struct PolicyOptions {
  uint32_t suspicion_threshold = 3;  // consecutive misses that make a shard bad (>= 1)
  bool unreachable_counts_as_missed = true;
  double retag_fraction = 0.10;
};

// The per-shard state the policy keeps (in the catalog's placement row).
struct ShardHealth {
  uint32_t suspicion = 0;
  bool bad = false;
  friend bool operator==(const ShardHealth&, const ShardHealth&) = default;
};

struct PolicyDecision {
  ShardHealth health;
  bool became_bad = false;  // this verdict made the shard bad
  std::string reason;       // why it became bad (empty otherwise)
};

// The state after `result`. A shard already bad stays bad.
PolicyDecision ApplyVerdict(const PolicyOptions& options, const ShardHealth& before,
                            VerdictResult result);

// True when fewer than retag_fraction * group_count groups are unused (and always when
// group_count is 0: a shard without sentinels only has Merkle challenges).
bool NeedsRetag(const PolicyOptions& options, uint64_t group_count, uint64_t groups_used);

}  // namespace gnr::audit
