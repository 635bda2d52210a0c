#include "fs/audit/types.h"

#include "absl/strings/str_cat.h"
#include "common/hex.h"

namespace gnr::audit {

std::string_view ChallengeKindName(ChallengeKind kind) {
  switch (kind) {
    case ChallengeKind::kSentinel:
      return "sentinel";
    case ChallengeKind::kMerkle:
      return "merkle";
  }
  return "unknown";
}

std::string_view VerdictResultName(VerdictResult result) {
  switch (result) {
    case VerdictResult::kPass:
      return "pass";
    case VerdictResult::kWrong:
      return "wrong";
    case VerdictResult::kMissed:
      return "missed";
    case VerdictResult::kUnreachable:
      return "unreachable";
  }
  return "unknown";
}

std::string DescribeVerdict(const Verdict& v) {
  std::string out = absl::StrCat(
      VerdictResultName(v.result).data(), " ", ChallengeKindName(v.kind).data(),
      v.kind == ChallengeKind::kSentinel ? " group " : " leaf ", v.challenge_index, " block ",
      v.block_number, " shard ", HexEncode(ByteView(v.shard_id)).substr(0, 12), " farmer ",
      HexEncode(ByteView(v.farmer)).substr(0, 12), " ", absl::ToInt64Milliseconds(v.latency), "ms");
  if (!v.details.empty()) absl::StrAppend(&out, ": ", v.details);
  return out;
}

}  // namespace gnr::audit
