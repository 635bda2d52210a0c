#pragma once
// Codec parameters: how a file is cut into segments and shards, how big Merkle leaves are,
// and how many sentinels each stored shard carries (docs/formats.md, "Parameters").
//
// The parameters that decoding needs (k, m, segment size, leaf size, q, Merkle hash kind)
// are recorded in every FileManifest, so a file is always decoded with the parameters it was
// written with; the sizing policy (target groups, budget, floor) and the inline threshold
// only matter when writing.

#include <cstdint>

#include "absl/status/status.h"
#include "crypto/merkle.h"

namespace gnr::codec {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;

// Segment sizes are multiples of this (a page, so segments can be read with O_DIRECT).
inline constexpr uint32_t kSegmentAlignment = 4096;
inline constexpr uint32_t kMaxSegmentSize = 1u << 30;  // 1 GiB
// Merkle leaf sizes are powers of two in [kMinLeafSize, kMaxLeafSize].
inline constexpr uint32_t kMinLeafSize = 64;
inline constexpr uint32_t kMaxLeafSize = 16u << 20;
// Reed-Solomon limits (those of crypto::ReedSolomon).
inline constexpr int kMaxDataShards = 32;
inline constexpr int kMaxParityShards = 16;
inline constexpr uint32_t kMaxGroupSize = 256;
// Upper bound on sentinels per stored shard (4 Mi sentinels = 128 MiB): bounds the work a
// manifest can ask for.
inline constexpr uint64_t kMaxSentinelsPerShard = uint64_t{1} << 22;
// Inline blobs never exceed this, whatever the configured threshold.
inline constexpr uint32_t kMaxInlineThreshold = 1u << 20;

struct CodecParams {
  // Plaintext bytes per segment: a multiple of kSegmentAlignment in [4 KiB, 1 GiB].
  uint32_t segment_size = 64 * kMiB;
  // Reed-Solomon RS(k, m): k data shards, m parity shards; 1 <= k <= 32, 1 <= m <= 16.
  int data_shards = 4;
  int parity_shards = 2;
  // Merkle tree over each stored shard.
  uint32_t leaf_size = 64 * kKiB;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  // Sentinels per fingerprint group (q): a challenge asks for one group.
  uint32_t group_size = 8;
  // Sentinel sizing (see SentinelCount): aim for `target_groups` groups per shard, but spend
  // at most `sentinel_budget_ppm` millionths of the shard length on sentinels, and never
  // fewer than `min_groups` groups.
  uint32_t target_groups = 1000;
  uint32_t sentinel_budget_ppm = 9000;  // 0.9 %
  uint32_t min_groups = 16;
  // Files strictly smaller than this are stored inline (AES-GCM blob in the catalog).
  uint32_t inline_threshold = 4096;

  int total_shards() const { return data_shards + parity_shards; }
};

// OK, or InvalidArgument naming the first field out of range.
absl::Status ValidateParams(const CodecParams& params);

// Number of sentinels in every stored shard of a segment whose shards hold `shard_length`
// data bytes:
//   groups = clamp(floor(shard_length * budget_ppm / (10^6 * 32 * q)), min_groups,
//                  target_groups)
//   sentinels = groups * q
// (min_groups wins over the budget on tiny shards; target_groups caps big ones.)
// Requires ValidateParams(params).ok().
uint64_t SentinelCount(const CodecParams& params, uint64_t shard_length);

// Bytes of every stored shard of such a segment: its data with the sentinels inserted,
// shard_length + 32 * SentinelCount(params, shard_length).
uint64_t StoredShardLength(const CodecParams& params, uint64_t shard_length);

// True when a file of `file_size` bytes is stored inline rather than sharded.
inline bool ShouldInline(const CodecParams& params, uint64_t file_size) {
  return file_size < params.inline_threshold;
}

}  // namespace gnr::codec
