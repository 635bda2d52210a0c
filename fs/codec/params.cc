#include "fs/codec/params.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/sentinel.h"

namespace gnr::codec {

absl::Status ValidateParams(const CodecParams& p) {
  if (p.segment_size < kSegmentAlignment || p.segment_size > kMaxSegmentSize ||
      p.segment_size % kSegmentAlignment != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment size must be a multiple of ", kSegmentAlignment, " in [",
                     kSegmentAlignment, ", ", kMaxSegmentSize, "], got ", p.segment_size));
  }
  if (p.data_shards < 1 || p.data_shards > kMaxDataShards) {
    return absl::InvalidArgumentError(absl::StrCat("data shard count k must be in [1, ",
                                                   kMaxDataShards, "], got ", p.data_shards));
  }
  if (p.parity_shards < 1 || p.parity_shards > kMaxParityShards) {
    return absl::InvalidArgumentError(absl::StrCat("parity shard count m must be in [1, ",
                                                   kMaxParityShards, "], got ", p.parity_shards));
  }
  if (p.leaf_size < kMinLeafSize || p.leaf_size > kMaxLeafSize ||
      (p.leaf_size & (p.leaf_size - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle leaf size must be a power of two in [",
                                                   kMinLeafSize, ", ", kMaxLeafSize, "], got ",
                                                   p.leaf_size));
  }
  if (p.merkle_kind != crypto::MerkleHashKind::kSha256 &&
      p.merkle_kind != crypto::MerkleHashKind::kBlake2b256) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown Merkle hash kind ", static_cast<int>(p.merkle_kind)));
  }
  if (p.group_size < 1 || p.group_size > kMaxGroupSize) {
    return absl::InvalidArgumentError(absl::StrCat("sentinel group size q must be in [1, ",
                                                   kMaxGroupSize, "], got ", p.group_size));
  }
  if (p.min_groups < 1 || p.min_groups > p.target_groups) {
    return absl::InvalidArgumentError(absl::StrCat("need 1 <= min_groups <= target_groups, got ",
                                                   p.min_groups, " and ", p.target_groups));
  }
  if (uint64_t{p.target_groups} * p.group_size > kMaxSentinelsPerShard) {
    return absl::InvalidArgumentError(absl::StrCat("target_groups * q must be at most ",
                                                   kMaxSentinelsPerShard, ", got ",
                                                   uint64_t{p.target_groups} * p.group_size));
  }
  if (p.sentinel_budget_ppm > 1'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("sentinel budget must be at most 1000000 ppm, got ", p.sentinel_budget_ppm));
  }
  if (p.inline_threshold > kMaxInlineThreshold) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inline threshold must be at most ", kMaxInlineThreshold, ", got ", p.inline_threshold));
  }
  return absl::OkStatus();
}

uint64_t SentinelCount(const CodecParams& p, uint64_t shard_length) {
  // shard_length <= 1 GiB and budget <= 10^6, so the product fits in 64 bits.
  const uint64_t per_group = uint64_t{crypto::kSentinelSize} * p.group_size;
  uint64_t groups = shard_length * p.sentinel_budget_ppm / (uint64_t{1'000'000} * per_group);
  groups = std::clamp<uint64_t>(groups, p.min_groups, p.target_groups);
  return groups * p.group_size;
}

uint64_t StoredShardLength(const CodecParams& p, uint64_t shard_length) {
  return shard_length + crypto::kSentinelSize * SentinelCount(p, shard_length);
}

}  // namespace gnr::codec
