#include "fs/codec/layout.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "fs/codec/params.h"

namespace gnr::codec {

uint64_t SegmentCount(uint64_t file_size, uint64_t segment_size) {
  if (segment_size == 0) return 0;
  return file_size / segment_size + (file_size % segment_size != 0 ? 1 : 0);
}

uint64_t SegmentPlaintextLength(uint64_t file_size, uint64_t segment_size, uint64_t segment) {
  if (segment_size == 0 || segment >= SegmentCount(file_size, segment_size)) return 0;
  uint64_t begin = segment * segment_size;
  return std::min(segment_size, file_size - begin);
}

uint64_t ShardLength(uint64_t plaintext_length, uint64_t k) {
  if (k == 0) return 0;
  return plaintext_length / k + (plaintext_length % k != 0 ? 1 : 0);
}

std::vector<SegmentSlice> SplitFileRange(uint64_t file_size, uint64_t segment_size,
                                         ByteRange range) {
  std::vector<SegmentSlice> out;
  uint64_t end = std::min(range.end, file_size);
  if (segment_size == 0 || range.begin >= end) return out;
  for (uint64_t pos = range.begin; pos < end;) {
    uint64_t segment = pos / segment_size;
    uint64_t seg_begin = segment * segment_size;
    uint64_t slice_end = std::min(end, seg_begin + segment_size);
    out.push_back({segment, {pos, slice_end}, {pos - seg_begin, slice_end - seg_begin}});
    pos = slice_end;
  }
  return out;
}

std::vector<ShardSlice> SplitSegmentRange(uint64_t shard_length, uint32_t k, ByteRange local) {
  std::vector<ShardSlice> out;
  if (shard_length == 0 || local.empty()) return out;
  for (uint64_t pos = local.begin; pos < local.end;) {
    uint64_t shard = pos / shard_length;
    if (shard >= k) break;
    uint64_t shard_begin = shard * shard_length;
    uint64_t slice_end = std::min(local.end, shard_begin + shard_length);
    out.push_back(
        {static_cast<uint32_t>(shard), {pos - shard_begin, slice_end - shard_begin}, pos});
    pos = slice_end;
  }
  return out;
}

ByteRange LeavesCovering(ByteRange stored, uint64_t leaf_size) {
  if (stored.empty() || leaf_size == 0) return {};
  return {stored.begin / leaf_size, (stored.end - 1) / leaf_size + 1};
}

ByteRange LeafBytes(ByteRange leaves, uint64_t leaf_size, uint64_t stored_length) {
  if (leaves.empty()) return {};
  uint64_t begin = std::min(leaves.begin * leaf_size, stored_length);
  uint64_t end = std::min(leaves.end * leaf_size, stored_length);
  return {begin, end};
}

absl::StatusOr<SentinelMap> SentinelMap::Create(const crypto::SentinelKey& key,
                                                uint64_t shard_length, uint64_t sentinel_count) {
  if (sentinel_count > kMaxSentinelsPerShard) {
    return absl::InvalidArgumentError(absl::StrCat("sentinel count ", sentinel_count,
                                                   " exceeds the limit ", kMaxSentinelsPerShard));
  }
  if (shard_length > (uint64_t{1} << 48)) {
    return absl::InvalidArgumentError(absl::StrCat("shard length ", shard_length, " too large"));
  }
  std::vector<uint64_t> points;
  if (sentinel_count > 0) {
    absl::StatusOr<std::vector<uint64_t>> slots =
        crypto::SelectDistinctPositions(key, shard_length + sentinel_count, sentinel_count);
    if (!slots.ok()) return slots.status();
    points = std::move(*slots);
    for (uint64_t j = 0; j < points.size(); ++j) points[j] -= j;  // t_j - j
  }
  return SentinelMap(shard_length, std::move(points));
}

absl::StatusOr<SentinelMap> SentinelMap::FromInsertionPoints(uint64_t shard_length,
                                                             std::vector<uint64_t> points) {
  if (points.size() > kMaxSentinelsPerShard) {
    return absl::InvalidArgumentError("too many sentinels");
  }
  for (size_t j = 0; j < points.size(); ++j) {
    if (points[j] > shard_length || (j > 0 && points[j] < points[j - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("insertion point ", j, " is out of order or past the shard end"));
    }
  }
  return SentinelMap(shard_length, std::move(points));
}

uint64_t SentinelMap::SentinelsBefore(uint64_t x) const {
  return static_cast<uint64_t>(std::upper_bound(points_.begin(), points_.end(), x) -
                               points_.begin());
}

uint64_t SentinelMap::StoredOffsetOfData(uint64_t x) const {
  return x + crypto::kSentinelSize * SentinelsBefore(x);
}

uint64_t SentinelMap::SentinelOffset(uint64_t j) const {
  return points_[j] + crypto::kSentinelSize * j;
}

ByteRange SentinelMap::StoredRangeOfData(ByteRange data) const {
  if (data.empty()) return {};
  return {StoredOffsetOfData(data.begin), StoredOffsetOfData(data.end - 1) + 1};
}

absl::Status SentinelMap::ExtractData(ByteView window, uint64_t window_offset, ByteRange data,
                                      MutableByteView out) const {
  if (data.end > shard_length_ || out.size() != data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data range [", data.begin, ", ", data.end, ") does not fit a shard of ",
                     shard_length_, " bytes or an output of ", out.size(), " bytes"));
  }
  if (data.empty()) return absl::OkStatus();
  ByteRange stored = StoredRangeOfData(data);
  if (stored.begin < window_offset || stored.end - window_offset > window.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored window [", window_offset, ", ", window_offset + window.size(),
                     ") does not cover stored range [", stored.begin, ", ", stored.end, ")"));
  }
  // Walk runs of data between sentinel insertion points.
  auto next = std::upper_bound(points_.begin(), points_.end(), data.begin);
  uint64_t x = data.begin;
  uint64_t before = static_cast<uint64_t>(next - points_.begin());
  uint8_t* dst = out.data();
  while (x < data.end) {
    uint64_t run_end = next == points_.end() ? data.end : std::min(data.end, *next);
    uint64_t src = x + crypto::kSentinelSize * before - window_offset;
    std::memcpy(dst, window.data() + src, run_end - x);
    dst += run_end - x;
    x = run_end;
    // Skip every sentinel inserted at x (they precede data byte x).
    while (next != points_.end() && *next <= x) {
      ++next;
      ++before;
    }
  }
  return absl::OkStatus();
}

}  // namespace gnr::codec
