#pragma once
// Layout math (docs/formats.md, "Layout"): file range -> segments -> data-shard ranges ->
// stored ranges (data with sentinels) -> Merkle leaves. Pure functions of sizes, plus the
// keyed sentinel positions of one stored shard (SentinelMap).
//
// Terms, for one segment of L plaintext bytes under RS(k, m):
//   - shard length S = ceil(L / k). Data shard i holds segment bytes [i*S, (i+1)*S) of the
//     ciphertext, zero-padded past L; parity shards are S bytes too. "Data offset" x is a
//     position in [0, S) of any of the k+m shards.
//   - a stored shard is the S data bytes with s sentinels of 32 bytes inserted: sentinel j
//     (j in stored order, 0 <= j < s) sits right before data byte p_j (p_j = S: after the
//     last byte), with p_0 <= p_1 <= ... The stored length is S + 32*s.
//   - stored offset of data byte x = x + 32 * #{j : p_j <= x}; of sentinel j = p_j + 32*j.
//     A data range [x, y) is therefore one contiguous stored range, which also contains
//     the sentinels that sit strictly inside it.
//
// Thread-safety: everything here is immutable or pure.

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/sentinel.h"

namespace gnr::codec {

// Half-open byte range [begin, end).
struct ByteRange {
  uint64_t begin = 0;
  uint64_t end = 0;

  uint64_t size() const { return end > begin ? end - begin : 0; }
  bool empty() const { return end <= begin; }
  bool Contains(const ByteRange& other) const {
    return other.empty() || (begin <= other.begin && other.end <= end);
  }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// Number of segments of a file: ceil(file_size / segment_size) (0 for an empty file).
uint64_t SegmentCount(uint64_t file_size, uint64_t segment_size);
// Plaintext length of segment `segment` (0 if it is past the end of the file).
uint64_t SegmentPlaintextLength(uint64_t file_size, uint64_t segment_size, uint64_t segment);
// S = ceil(plaintext_length / k).
uint64_t ShardLength(uint64_t plaintext_length, uint64_t k);

// The part of a file range that falls into one segment.
struct SegmentSlice {
  uint64_t segment = 0;
  ByteRange file;   // absolute file offsets
  ByteRange local;  // offsets inside the segment's plaintext
};
// Cuts [range.begin, min(range.end, file_size)) into per-segment slices, in file order.
std::vector<SegmentSlice> SplitFileRange(uint64_t file_size, uint64_t segment_size,
                                         ByteRange range);

// The part of a segment range that falls into one data shard.
struct ShardSlice {
  uint32_t shard_index = 0;
  ByteRange data;               // data offsets inside the shard
  uint64_t segment_offset = 0;  // where data.begin is in the segment
};
// Cuts a segment-local range into per-data-shard slices (shard i covers [i*S, (i+1)*S)).
std::vector<ShardSlice> SplitSegmentRange(uint64_t shard_length, uint32_t k, ByteRange local);

// Merkle leaves [first, end) covering the stored range (empty range -> empty result).
ByteRange LeavesCovering(ByteRange stored, uint64_t leaf_size);
// The stored bytes spanned by leaves [leaves.begin, leaves.end) of a shard of
// `stored_length` bytes (the last leaf may be short).
ByteRange LeafBytes(ByteRange leaves, uint64_t leaf_size, uint64_t stored_length);

// The keyed sentinel positions of one stored shard. Immutable; copyable (8 bytes per
// sentinel).
//
// Positions come from crypto::SelectDistinctPositions(key, S + s, s): s distinct sorted
// slots t_0 < ... < t_{s-1} among the S + s items (data bytes and sentinels) of the stored
// shard, in item order. Sentinel j is item t_j, so p_j = t_j - j. This works for any S,
// including S < s, and lets sentinels be adjacent.
class SentinelMap {
 public:
  // InvalidArgument if sentinel_count > kMaxSentinelsPerShard or the sizes overflow.
  static absl::StatusOr<SentinelMap> Create(const crypto::SentinelKey& key, uint64_t shard_length,
                                            uint64_t sentinel_count);
  // From explicit insertion points (sorted, each <= shard_length); InvalidArgument
  // otherwise. For tests and tools.
  static absl::StatusOr<SentinelMap> FromInsertionPoints(uint64_t shard_length,
                                                         std::vector<uint64_t> points);

  uint64_t shard_length() const { return shard_length_; }
  uint64_t sentinel_count() const { return points_.size(); }
  uint64_t stored_length() const { return shard_length_ + crypto::kSentinelSize * points_.size(); }
  // p_j for every sentinel j, non-decreasing.
  std::span<const uint64_t> insertion_points() const { return points_; }

  // Number of sentinels before data byte x: #{j : p_j <= x}.
  uint64_t SentinelsBefore(uint64_t x) const;
  // Stored offset of data byte x (x + 32 * SentinelsBefore(x)), for x in [0, shard_length];
  // x == shard_length gives stored_length().
  uint64_t StoredOffsetOfData(uint64_t x) const;
  // Stored offset of sentinel j (j < sentinel_count()).
  uint64_t SentinelOffset(uint64_t j) const;
  // The stored range holding data bytes [data.begin, data.end) (data.end <= shard_length);
  // empty for an empty range.
  ByteRange StoredRangeOfData(ByteRange data) const;

  // Copies data bytes `data` out of `window`, the stored bytes starting at stored offset
  // `window_offset`, into `out` (out.size() == data.size()), skipping sentinels.
  // InvalidArgument if data.end > shard_length, out has the wrong size, or the window does
  // not cover StoredRangeOfData(data).
  absl::Status ExtractData(ByteView window, uint64_t window_offset, ByteRange data,
                           MutableByteView out) const;

 private:
  SentinelMap(uint64_t shard_length, std::vector<uint64_t> points)
      : shard_length_(shard_length), points_(std::move(points)) {}

  uint64_t shard_length_ = 0;
  std::vector<uint64_t> points_;
};

}  // namespace gnr::codec
