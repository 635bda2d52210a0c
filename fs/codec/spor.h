#pragma once
// Sentinel proof-of-retrievability and Merkle challenges on one stored shard (DESIGN.md
// section 4; docs/formats.md, "Challenges"). Pure functions: fs/audit schedules challenges
// and keeps the set of used groups; net/farmer answers them.
//
// Sentinel challenge for block B on shard X:
//   seed  = first 8 bytes, big-endian, of SHA-256(blockHash(B) || shard id(X))
//   group = the first group not yet used at or after seed mod G, wrapping around
//           (G = floor(s / q) fingerprint groups of the shard)
//   the auditor sends the q stored offsets of that group's sentinels; the farmer returns the
//   32 bytes at each; a mismatch at any offset fails the challenge.
// Merkle challenge for block B on shard X:
//   leaf = seed mod leaf_count; the farmer returns that leaf and its proof; anyone holding
//   the root can check it (the Sia rule). Unlimited, unlike sentinel groups.
//
// Re-tagging: a shard whose groups run low is rewritten with the sentinels of the next
// sentinel generation (keys.h): the same data bytes, fresh sentinel positions and values, a
// new stored layout and Merkle root (RetagStoredShard). Challenges always use the sentinel
// generation the manifest records for the shard.
//
// All functions are thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/sentinel.h"
#include "fs/codec/keys.h"
#include "fs/codec/manifest.h"

namespace gnr::codec {

using BlockHash = crypto::Hash256;

// One fingerprint group of a stored shard: where its sentinels are and what they hold.
struct SentinelChallenge {
  uint64_t group = 0;
  std::vector<uint64_t> offsets;          // stored offsets, ascending: sent to the farmer
  std::vector<crypto::Hash256> expected;  // values at those offsets: kept by the auditor
};

// Positions and values of group `group` of a stored shard with these sizes.
// InvalidArgument if the group does not exist or the sizes are out of range.
absl::StatusOr<SentinelChallenge> MakeSentinelChallenge(const crypto::SentinelKey& key,
                                                        uint64_t shard_length,
                                                        uint64_t sentinel_count,
                                                        uint32_t group_size, uint64_t group);
// Same, for shard `shard_index` of segment `segment` of a file, with the sentinel key of
// the shard's recorded sentinel generation (ShardManifest::sentinel_generation), or of
// `sentinel_generation` when given (a verdict recorded on an older generation of the shard).
absl::StatusOr<SentinelChallenge> MakeSentinelChallenge(
    const FileManifest& manifest, const FileKey& file_key, uint64_t segment, uint32_t shard_index,
    uint64_t group, std::optional<uint32_t> sentinel_generation = std::nullopt);

// The sentinel key of a shard of `manifest` at its recorded sentinel generation.
// InvalidArgument if there is no such shard.
absl::StatusOr<crypto::SentinelKey> ShardSentinelKey(const FileManifest& manifest,
                                                     const FileKey& file_key, uint64_t segment,
                                                     uint32_t shard_index);

// A stored shard rewritten with the sentinels of another sentinel generation.
struct RetaggedShard {
  uint32_t sentinel_generation = 0;
  Bytes stored;                   // same length as before (same S and s)
  crypto::Hash256 merkle_root{};  // of `stored`, with the manifest's leaf size and hash
};

// Re-tags `stored`, the stored shard `shard_index` of `segment` carrying the sentinels of
// its recorded sentinel generation (e.g. FileReader::RebuildShard's result, already checked
// against the manifest root), with the sentinels of `new_sentinel_generation`: the data
// bytes are extracted and written again with the new generation's positions and values.
// The new Merkle root is computed over the result. InvalidArgument if the shard does not
// exist, `stored` has the wrong length, or the new generation equals the recorded one.
// Cost: a copy and a hash of the shard, plus two sentinel maps (~0.5 ms each at 16 MiB).
absl::StatusOr<RetaggedShard> RetagStoredShard(const FileManifest& manifest,
                                               const FileKey& file_key, uint64_t segment,
                                               uint32_t shard_index, ByteView stored,
                                               uint32_t new_sentinel_generation);

// Number of fingerprint groups G of a shard of `segment` (floor(s / q)).
uint64_t SentinelGroupCount(const FileManifest& manifest, uint64_t segment);

// First 8 bytes (big-endian) of SHA-256(block_hash || shard_id).
uint64_t ChallengeSeed(const BlockHash& block_hash, const ShardId& shard_id);

// The group to ask for: the first group not in `used` at or after
// ChallengeSeed(...) mod group_count, wrapping. `used` may be in any order and hold
// duplicates. InvalidArgument if group_count is 0; ResourceExhausted when every group is
// used (the shard must be re-tagged; Merkle challenges still work).
absl::StatusOr<uint64_t> SelectSentinelGroup(const BlockHash& block_hash, const ShardId& shard_id,
                                             uint64_t group_count, std::span<const uint64_t> used);

// Farmer side: the 32 bytes at each offset of `stored_shard`. OutOfRange if an offset runs
// past the shard.
absl::StatusOr<std::vector<crypto::Hash256>> AnswerSentinelChallenge(
    ByteView stored_shard, std::span<const uint64_t> offsets);

// Auditor side: indices (into challenge.offsets) whose answered value differs from the
// expected one; empty means the challenge passed. InvalidArgument if the answer has the
// wrong number of values (a malformed answer, which the caller should count as a failure).
absl::StatusOr<std::vector<size_t>> CheckSentinelAnswer(const SentinelChallenge& challenge,
                                                        std::span<const crypto::Hash256> answer);

// The leaf a Merkle challenge asks for: ChallengeSeed(...) mod leaf_count (0 if leaf_count
// is 0).
uint64_t MerkleChallengeLeaf(const BlockHash& block_hash, const ShardId& shard_id,
                             uint64_t leaf_count);

// Checks a Merkle challenge answer for `shard` (stored length and root from the manifest):
// the proof is for leaf MerkleChallengeLeaf(...) of a tree of the right size, the leaf has
// the right length, and the proof verifies. DataLoss describing the mismatch otherwise.
absl::Status VerifyMerkleChallenge(const ShardManifest& shard, uint64_t leaf_size,
                                   crypto::MerkleHashKind kind, const BlockHash& block_hash,
                                   ByteView leaf, const crypto::MerkleProof& proof);

}  // namespace gnr::codec
