#pragma once
// Vocabulary of the auditor (DESIGN.md section 4): blocks that seed challenges, the shards
// that can be challenged, challenges and their verdicts. Plain values; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "fs/codec/keys.h"
#include "fs/codec/spor.h"

namespace gnr::audit {

using BlockHash = codec::BlockHash;
using ShardId = codec::ShardId;
// A farmer's node id (RIPEMD160(SHA256(compressed node public key))).
using FarmerId = FixedBytes<20>;

// A confirmed block whose hash seeds the challenges of that block.
struct Block {
  uint64_t number = 0;
  BlockHash hash{};
  friend bool operator==(const Block&, const Block&) = default;
};

// One stored shard the auditor may challenge: a placement of a committed version, with what
// the planner needs from its manifest. Built from the catalog by the Auditor.
struct AuditTarget {
  uint64_t placement_id = 0;  // catalog placement (0: not in a catalog, e.g. tests)
  ShardId shard_id{};
  FarmerId farmer{};
  uint64_t segment = 0;
  uint32_t shard_index = 0;
  // Which sentinels the stored shard carries (catalog placement; must match the manifest):
  // challenges derive the sentinel key with it (codec::DeriveSentinelKey).
  uint32_t sentinel_generation = 0;
  uint64_t group_count = 0;  // G = floor(s / q) fingerprint groups
  uint64_t leaf_count = 0;   // Merkle leaves of the stored shard
  std::vector<uint64_t> used_groups;
  // Number of the last block this shard was challenged in; nullopt: never audited.
  std::optional<uint64_t> last_audit_block;
};

enum class ChallengeKind : uint8_t { kSentinel = 1, kMerkle = 2 };
std::string_view ChallengeKindName(ChallengeKind kind);  // "sentinel", "merkle"

// What the planner decided for one target in one block. `index` is the fingerprint group
// (kSentinel) or the leaf index (kMerkle).
struct PlannedChallenge {
  size_t target = 0;  // index into the targets given to the planner
  ChallengeKind kind = ChallengeKind::kSentinel;
  uint64_t index = 0;
  friend bool operator==(const PlannedChallenge&, const PlannedChallenge&) = default;
};

enum class VerdictResult : uint8_t {
  kPass = 1,
  kWrong = 2,        // an answer that does not match: the shard is bad
  kMissed = 3,       // no answer within the deadline
  kUnreachable = 4,  // the farmer could not be asked (resolve/transport failure)
};
std::string_view VerdictResultName(VerdictResult result);  // "pass", "wrong", ...

// One mismatching sentinel of a failed sentinel challenge.
struct SentinelMismatch {
  uint64_t offset = 0;  // stored offset asked
  crypto::Hash256 expected{};
  crypto::Hash256 received{};
  friend bool operator==(const SentinelMismatch&, const SentinelMismatch&) = default;
};

struct Verdict {
  uint64_t block_number = 0;
  BlockHash block_hash{};
  ShardId shard_id{};
  FarmerId farmer{};
  uint64_t placement_id = 0;
  ChallengeKind kind = ChallengeKind::kSentinel;
  uint64_t challenge_index = 0;     // group or leaf
  std::vector<uint64_t> positions;  // kSentinel: stored offsets asked
  VerdictResult result = VerdictResult::kPass;
  absl::Duration latency = absl::ZeroDuration();
  std::vector<SentinelMismatch> mismatches;  // kSentinel + kWrong: up to all q
  std::string details;                       // human-readable why (empty for a pass)
};

// One line, e.g. "pass sentinel group 17 shard 3fa1.. farmer 9c0e.. 12ms".
std::string DescribeVerdict(const Verdict& verdict);

}  // namespace gnr::audit
