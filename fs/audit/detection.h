#pragma once
// Detection statistics of sentinel challenges (DESIGN.md section 4; Juels-Kaliski).
// A farmer missing (or corrupting) a fraction e of a shard, independently at random, fails
// a challenge of q sentinels with probability p = 1 - (1 - e)^q; after n challenges it has
// been caught with probability 1 - (1 - p)^n.
//
// Thread-safety: pure functions.

#include <cstdint>

#include "absl/time/time.h"

namespace gnr::audit {

// p = 1 - (1 - e)^q. e is clamped to [0, 1].
double DetectionProbability(double missing_fraction, uint32_t group_size);
// 1 - (1 - p)^n.
double CumulativeDetection(double per_challenge, uint64_t challenges);
// The least n with CumulativeDetection(p, n) >= confidence; UINT64_MAX if p == 0 and
// confidence > 0.
uint64_t ChallengesForConfidence(double per_challenge, double confidence);

// How long a shard takes to be caught with `confidence`, when each shard is challenged
// `challenges_per_period` times every `period_blocks` blocks of `block_time`.
struct DetectionEstimate {
  double per_challenge = 0;
  uint64_t challenges = 0;
  uint64_t blocks = 0;
  absl::Duration time = absl::ZeroDuration();
};
DetectionEstimate EstimateDetection(double missing_fraction, uint32_t group_size, double confidence,
                                    uint64_t period_blocks, double challenges_per_period,
                                    absl::Duration block_time);

}  // namespace gnr::audit
