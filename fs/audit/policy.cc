#include "fs/audit/policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gnr::audit {

PolicyDecision ApplyVerdict(const PolicyOptions& options, const ShardHealth& before,
                            VerdictResult result) {
  PolicyDecision d;
  d.health = before;
  if (before.bad) return d;
  const uint32_t threshold = std::max<uint32_t>(1, options.suspicion_threshold);
  switch (result) {
    case VerdictResult::kPass:
      d.health.suspicion = 0;
      return d;
    case VerdictResult::kWrong:
      d.health.bad = true;
      d.became_bad = true;
      d.reason = "wrong answer to a challenge";
      return d;
    case VerdictResult::kUnreachable:
      if (!options.unreachable_counts_as_missed) return d;
      [[fallthrough]];
    case VerdictResult::kMissed:
      ++d.health.suspicion;
      if (d.health.suspicion >= threshold) {
        d.health.bad = true;
        d.became_bad = true;
        d.reason = absl::StrCat(d.health.suspicion, " challenges in a row unanswered (threshold ",
                                threshold, ")");
      }
      return d;
  }
  return d;
}

bool NeedsRetag(const PolicyOptions& options, uint64_t group_count, uint64_t groups_used) {
  if (group_count == 0) return true;
  uint64_t unused = groups_used >= group_count ? 0 : group_count - groups_used;
  return static_cast<double>(unused) < options.retag_fraction * static_cast<double>(group_count);
}

}  // namespace gnr::audit
