#include "fs/audit/detection.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gnr::audit {

double DetectionProbability(double missing_fraction, uint32_t group_size) {
  double e = std::clamp(missing_fraction, 0.0, 1.0);
  return 1.0 - std::pow(1.0 - e, static_cast<double>(group_size));
}

double CumulativeDetection(double per_challenge, uint64_t challenges) {
  double p = std::clamp(per_challenge, 0.0, 1.0);
  return 1.0 - std::pow(1.0 - p, static_cast<double>(challenges));
}

uint64_t ChallengesForConfidence(double per_challenge, double confidence) {
  double p = std::clamp(per_challenge, 0.0, 1.0);
  double c = std::clamp(confidence, 0.0, 1.0);
  if (c <= 0.0) return 0;
  if (p >= 1.0) return 1;
  if (p <= 0.0 || c >= 1.0) return std::numeric_limits<uint64_t>::max();
  uint64_t n = static_cast<uint64_t>(std::ceil(std::log(1.0 - c) / std::log(1.0 - p)));
  // Guard against rounding either way.
  while (n > 1 && CumulativeDetection(p, n - 1) >= c) --n;
  while (CumulativeDetection(p, n) < c) ++n;
  return n;
}

DetectionEstimate EstimateDetection(double missing_fraction, uint32_t group_size, double confidence,
                                    uint64_t period_blocks, double challenges_per_period,
                                    absl::Duration block_time) {
  DetectionEstimate out;
  out.per_challenge = DetectionProbability(missing_fraction, group_size);
  out.challenges = ChallengesForConfidence(out.per_challenge, confidence);
  if (out.challenges == std::numeric_limits<uint64_t>::max() || challenges_per_period <= 0) {
    out.blocks = std::numeric_limits<uint64_t>::max();
    out.time = absl::InfiniteDuration();
    return out;
  }
  double blocks = std::ceil(static_cast<double>(out.challenges) *
                            static_cast<double>(period_blocks) / challenges_per_period);
  out.blocks = static_cast<uint64_t>(blocks);
  out.time = block_time * static_cast<double>(out.blocks);
  return out;
}

}  // namespace gnr::audit
