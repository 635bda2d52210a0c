#pragma once
// AuditNetwork: the auditor's view of the storage network (STYLE.md rule 7): send a
// challenge to a farmer and get its answer, or why not, within a deadline. The production
// implementation (shard_audit_network.h) speaks CHALLENGE_SENTINELS / CHALLENGE_MERKLE
// through shard::ShardClient after resolving the farmer id with node::Host; unit tests use
// tests/fakes/fake_audit_network.h.
//
// Every call returns at once and calls `done` exactly once, on any thread (possibly inline).
// Errors follow verify.h: DeadlineExceeded when no answer came within `timeout`,
// Unavailable when the farmer could not be reached, NotFound when it says it has no such
// shard, anything else for malformed or refused answers. Answers are untrusted: the caller
// verifies them.
//
// Thread-safety: implementations accept calls from any thread concurrently.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fs/audit/types.h"
#include "fs/audit/verify.h"

namespace gnr::audit {

// Who to ask: the farmer's id and the contact hint the catalog keeps (may be empty/stale).
struct FarmerRef {
  FarmerId id{};
  std::string hint;
};

using SentinelAnswerCallback =
    absl::AnyInvocable<void(absl::StatusOr<std::vector<crypto::Hash256>>)>;
using MerkleAnswerCallback = absl::AnyInvocable<void(absl::StatusOr<MerkleAnswer>)>;

class AuditNetwork {
 public:
  virtual ~AuditNetwork() = default;

  // The 32 bytes at each stored offset of shard `shard_id`, in the same order.
  virtual void ChallengeSentinels(const FarmerRef& farmer, const ShardId& shard_id,
                                  std::vector<uint64_t> offsets, absl::Duration timeout,
                                  SentinelAnswerCallback done) = 0;
  // Leaf `leaf_index` of shard `shard_id` with its Merkle proof.
  virtual void ChallengeMerkle(const FarmerRef& farmer, const ShardId& shard_id,
                               uint64_t leaf_index, absl::Duration timeout,
                               MerkleAnswerCallback done) = 0;
};

}  // namespace gnr::audit
