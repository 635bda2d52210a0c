#pragma once
// Challenges made concrete and answers judged (DESIGN.md section 4). Pure functions.
//
// MakeChallenge turns a PlannedChallenge into what is sent (the stored offsets of the
// group's sentinels, or a leaf index) and what the auditor keeps secret (the expected
// sentinel values), from the file's manifest and key. Verify*Answer turn a farmer's answer
// (or the error that replaced it) into a Verdict:
//   - pass: every sentinel matches / the leaf and its proof check against the root;
//   - wrong: any mismatch, a malformed answer, or the farmer saying it has no such shard
//     (NotFound, OutOfRange, DataLoss, InvalidArgument, FailedPrecondition, ...);
//   - missed: DeadlineExceeded (no answer within the deadline);
//   - unreachable: Unavailable / Cancelled / Aborted (the farmer could not be asked, e.g.
//     it could not be resolved or the transport is down).
//
// Thread-safety: pure functions.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/merkle.h"
#include "fs/audit/types.h"
#include "fs/codec/manifest.h"
#include "fs/codec/spor.h"

namespace gnr::audit {

// A challenge ready to send, plus what is needed to judge the answer.
struct Challenge {
  Block block;
  ShardId shard_id{};
  FarmerId farmer{};
  uint64_t placement_id = 0;
  ChallengeKind kind = ChallengeKind::kSentinel;
  uint64_t index = 0;                 // group or leaf
  codec::SentinelChallenge sentinel;  // kSentinel: offsets (sent) and expected values (secret)
  // kMerkle: the shard's manifest entry (root, stored length) and tree parameters.
  codec::ShardManifest shard;
  uint64_t leaf_size = 0;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
};

// A farmer's answer to a Merkle challenge (untrusted).
struct MerkleAnswer {
  Bytes leaf;
  crypto::MerkleProof proof;
};

// Builds the challenge `planned` for `target` (shard target.shard_index of segment
// target.segment of the file `manifest`, whose key is `file_key`); sentinel positions and
// values come from the sentinel key of target.sentinel_generation. InvalidArgument if the
// target does not match the manifest (segment/index out of range, shard id or sentinel
// generation differs) or the group/leaf does not exist.
absl::StatusOr<Challenge> MakeChallenge(const Block& block, const AuditTarget& target,
                                        const PlannedChallenge& planned,
                                        const codec::FileManifest& manifest,
                                        const codec::FileKey& file_key);

// The result an error in place of an answer stands for (see the file comment).
VerdictResult ClassifyAnswerError(const absl::Status& status);

Verdict VerifySentinelAnswer(const Challenge& challenge,
                             const absl::StatusOr<std::vector<crypto::Hash256>>& answer,
                             absl::Duration latency);
Verdict VerifyMerkleAnswer(const Challenge& challenge, const absl::StatusOr<MerkleAnswer>& answer,
                           absl::Duration latency);

}  // namespace gnr::audit
