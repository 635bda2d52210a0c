#include "fs/codec/layout.h"

#include <random>

#include "crypto/merkle.h"
#include "fs/codec/encoder.h"
#include "fs/codec/manifest.h"
#include "fs/codec/params.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::codec {
namespace {

TEST(Layout, SegmentCountAndLengths) {
  EXPECT_EQ(SegmentCount(0, 4096), 0u);
  EXPECT_EQ(SegmentCount(1, 4096), 1u);
  EXPECT_EQ(SegmentCount(4096, 4096), 1u);
  EXPECT_EQ(SegmentCount(4097, 4096), 2u);
  EXPECT_EQ(SegmentPlaintextLength(10000, 4096, 0), 4096u);
  EXPECT_EQ(SegmentPlaintextLength(10000, 4096, 2), 10000u - 8192u);
  EXPECT_EQ(SegmentPlaintextLength(10000, 4096, 3), 0u);
  EXPECT_EQ(ShardLength(0, 4), 0u);
  EXPECT_EQ(ShardLength(1, 4), 1u);
  EXPECT_EQ(ShardLength(8, 4), 2u);
  EXPECT_EQ(ShardLength(9, 4), 3u);
}

TEST(Layout, SplitFileRange) {
  std::vector<SegmentSlice> s = SplitFileRange(10000, 4096, {100, 9000});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].segment, 0u);
  EXPECT_EQ(s[0].file, (ByteRange{100, 4096}));
  EXPECT_EQ(s[0].local, (ByteRange{100, 4096}));
  EXPECT_EQ(s[1].local, (ByteRange{0, 4096}));
  EXPECT_EQ(s[2].segment, 2u);
  EXPECT_EQ(s[2].file, (ByteRange{8192, 9000}));
  EXPECT_EQ(s[2].local, (ByteRange{0, 808}));
  // Clipped at the end of the file; empty ranges give nothing.
  s = SplitFileRange(10000, 4096, {9999, 20000});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].file, (ByteRange{9999, 10000}));
  EXPECT_TRUE(SplitFileRange(10000, 4096, {5, 5}).empty());
  EXPECT_TRUE(SplitFileRange(10000, 4096, {10000, 10001}).empty());
}

TEST(Layout, SplitSegmentRange) {
  // S = 25: shards cover [0,25) [25,50) [50,75) [75,100).
  std::vector<ShardSlice> s = SplitSegmentRange(25, 4, {20, 80});
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].shard_index, 0u);
  EXPECT_EQ(s[0].data, (ByteRange{20, 25}));
  EXPECT_EQ(s[0].segment_offset, 20u);
  EXPECT_EQ(s[1].data, (ByteRange{0, 25}));
  EXPECT_EQ(s[1].segment_offset, 25u);
  EXPECT_EQ(s[3].shard_index, 3u);
  EXPECT_EQ(s[3].data, (ByteRange{0, 5}));
  s = SplitSegmentRange(25, 4, {30, 31});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].shard_index, 1u);
  EXPECT_EQ(s[0].data, (ByteRange{5, 6}));
}

TEST(Layout, Leaves) {
  EXPECT_EQ(LeavesCovering({0, 1}, 64), (ByteRange{0, 1}));
  EXPECT_EQ(LeavesCovering({63, 65}, 64), (ByteRange{0, 2}));
  EXPECT_EQ(LeavesCovering({64, 128}, 64), (ByteRange{1, 2}));
  EXPECT_TRUE(LeavesCovering({5, 5}, 64).empty());
  EXPECT_EQ(LeafBytes({1, 3}, 64, 150), (ByteRange{64, 150}));
  EXPECT_EQ(LeafBytes({0, 1}, 64, 150), (ByteRange{0, 64}));
}

TEST(SentinelMap, HandExample) {
  // S = 10; sentinels before data byte 0, two before byte 4, one at the end.
  ASSERT_OK_AND_ASSIGN(SentinelMap map, SentinelMap::FromInsertionPoints(10, {0, 4, 4, 10}));
  EXPECT_EQ(map.stored_length(), 10u + 4 * 32);
  EXPECT_EQ(map.SentinelOffset(0), 0u);
  EXPECT_EQ(map.StoredOffsetOfData(0), 32u);
  EXPECT_EQ(map.StoredOffsetOfData(3), 35u);
  EXPECT_EQ(map.SentinelOffset(1), 36u);
  EXPECT_EQ(map.SentinelOffset(2), 68u);
  EXPECT_EQ(map.StoredOffsetOfData(4), 100u);
  EXPECT_EQ(map.StoredOffsetOfData(9), 105u);
  EXPECT_EQ(map.SentinelOffset(3), 106u);
  EXPECT_EQ(map.StoredOffsetOfData(10), map.stored_length());
  // [3, 5) spans the two sentinels at 4.
  EXPECT_EQ(map.StoredRangeOfData({3, 5}), (ByteRange{35, 101}));
  EXPECT_EQ(map.StoredRangeOfData({4, 10}), (ByteRange{100, 106}));
  EXPECT_TRUE(map.StoredRangeOfData({4, 4}).empty());

  EXPECT_STATUS(SentinelMap::FromInsertionPoints(10, {4, 3}), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(SentinelMap::FromInsertionPoints(10, {11}), absl::StatusCode::kInvalidArgument);
}

TEST(SentinelMap, KeyedPositionsAreDeterministicAndDependOnKey) {
  crypto::SentinelKey a{}, b{};
  b[0] = 1;
  ASSERT_OK_AND_ASSIGN(SentinelMap m1, SentinelMap::Create(a, 100000, 800));
  ASSERT_OK_AND_ASSIGN(SentinelMap m2, SentinelMap::Create(a, 100000, 800));
  ASSERT_OK_AND_ASSIGN(SentinelMap m3, SentinelMap::Create(b, 100000, 800));
  EXPECT_TRUE(std::ranges::equal(m1.insertion_points(), m2.insertion_points()));
  EXPECT_FALSE(std::ranges::equal(m1.insertion_points(), m3.insertion_points()));
  EXPECT_EQ(m1.sentinel_count(), 800u);
  EXPECT_TRUE(std::ranges::is_sorted(m1.insertion_points()));
  EXPECT_LE(m1.insertion_points().back(), 100000u);
  // More sentinels than data bytes works (tiny shards).
  ASSERT_OK_AND_ASSIGN(SentinelMap tiny, SentinelMap::Create(a, 3, 128));
  EXPECT_EQ(tiny.stored_length(), 3u + 128 * 32);
  ASSERT_OK_AND_ASSIGN(SentinelMap empty, SentinelMap::Create(a, 0, 16));
  EXPECT_EQ(empty.stored_length(), 16u * 32);
  EXPECT_STATUS(SentinelMap::Create(a, 10, kMaxSentinelsPerShard + 1),
                absl::StatusCode::kInvalidArgument);
}

// Builds a stored shard whose data bytes are their own positions (mod 251) and checks every
// offset computation and extraction against a byte-by-byte model.
TEST(SentinelMap, MatchesByteModel) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 60; ++iter) {
    const uint64_t shard_len = rng() % 3000;
    const uint64_t sentinels = rng() % 40;
    crypto::SentinelKey key{};
    key[0] = static_cast<uint8_t>(iter);
    ASSERT_OK_AND_ASSIGN(SentinelMap map, SentinelMap::Create(key, shard_len, sentinels));
    Bytes data(shard_len);
    for (uint64_t i = 0; i < shard_len; ++i) data[i] = static_cast<uint8_t>(i % 251);
    Bytes stored(map.stored_length());
    ASSERT_OK(WriteStoredShard(key, map, data, stored));

    // Model: which stored bytes are data, and which data byte each is.
    std::vector<int64_t> model(stored.size(), -1);
    for (uint64_t x = 0; x < shard_len; ++x)
      model[map.StoredOffsetOfData(x)] = static_cast<int64_t>(x);
    uint64_t data_bytes = 0;
    for (uint64_t o = 0; o < stored.size(); ++o) {
      if (model[o] >= 0) {
        ++data_bytes;
        EXPECT_EQ(stored[o], data[model[o]]);
      }
    }
    EXPECT_EQ(data_bytes, shard_len);
    for (uint64_t j = 0; j < sentinels; ++j) {
      uint64_t off = map.SentinelOffset(j);
      crypto::Hash256 v = crypto::SentinelValue(key, j);
      ASSERT_LE(off + 32, stored.size());
      EXPECT_TRUE(std::equal(v.begin(), v.end(), stored.begin() + off));
      for (int b = 0; b < 32; ++b) EXPECT_EQ(model[off + b], -1);
    }
    // Random ranges: stored range is contiguous and extraction gives the data back.
    for (int r = 0; r < 20 && shard_len > 0; ++r) {
      uint64_t x = rng() % shard_len;
      uint64_t y = x + 1 + rng() % (shard_len - x);
      ByteRange sr = map.StoredRangeOfData({x, y});
      EXPECT_EQ(sr.begin, map.StoredOffsetOfData(x));
      EXPECT_EQ(model[sr.begin], static_cast<int64_t>(x));
      EXPECT_EQ(model[sr.end - 1], static_cast<int64_t>(y - 1));
      // Extract from a window that starts before the range.
      uint64_t window_begin = sr.begin - std::min<uint64_t>(sr.begin, rng() % 50);
      Bytes out(y - x);
      ASSERT_OK(map.ExtractData(ByteView(stored).subspan(window_begin, sr.end - window_begin),
                                window_begin, {x, y}, out));
      EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + x));
      // A window one byte short is refused.
      EXPECT_STATUS(
          map.ExtractData(ByteView(stored).subspan(window_begin, sr.end - window_begin - 1),
                          window_begin, {x, y}, out),
          absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(Params, ValidationNamesTheField) {
  CodecParams p;
  EXPECT_OK(ValidateParams(p));
  p.segment_size = 5000;
  EXPECT_STATUS(ValidateParams(p), absl::StatusCode::kInvalidArgument);
  p = {};
  p.data_shards = 0;
  EXPECT_STATUS(ValidateParams(p), absl::StatusCode::kInvalidArgument);
  p = {};
  p.parity_shards = 17;
  EXPECT_STATUS(ValidateParams(p), absl::StatusCode::kInvalidArgument);
  p = {};
  p.leaf_size = 3000;
  absl::Status s = ValidateParams(p);
  EXPECT_NE(std::string(s.message()).find("leaf size"), std::string::npos) << s;
  p = {};
  p.min_groups = 2000;
  EXPECT_STATUS(ValidateParams(p), absl::StatusCode::kInvalidArgument);
}

TEST(Params, SentinelSizingRule) {
  CodecParams p;  // defaults: q = 8, 1000 groups target, 0.9 % budget, 16 groups floor
  // 64 MiB segments under 4+2: 16 MiB shards -> floor(16 MiB * 0.009 / 256) = 589 groups.
  EXPECT_EQ(SentinelCount(p, 16 * kMiB), 589u * 8);
  // Big shards are capped at the target.
  EXPECT_EQ(SentinelCount(p, 1024 * kMiB), 1000u * 8);
  // Tiny shards get the floor.
  EXPECT_EQ(SentinelCount(p, 0), 16u * 8);
  EXPECT_EQ(SentinelCount(p, 100000), 16u * 8);
}

// The requirement: sentinels + manifest below 1 % of the shard size at defaults.
TEST(Params, OverheadBelowOnePercentAtDefaults) {
  CodecParams p;
  const uint64_t shard_len = ShardLength(p.segment_size, p.data_shards);
  ASSERT_EQ(shard_len, 16 * kMiB);
  const uint64_t sentinel_bytes = SentinelCount(p, shard_len) * 32;
  // Manifest bytes per shard: its record plus its share of the segment record header and of
  // the file header (charged entirely to a one-segment file, the worst case).
  const double manifest_per_shard =
      kShardRecordSize +
      (kSegmentRecordHeaderSize + kManifestHeaderSize) / static_cast<double>(p.total_shards());
  const double overhead = (sentinel_bytes + manifest_per_shard) / static_cast<double>(shard_len);
  EXPECT_LT(overhead, 0.01);
  std::printf(
      "overhead at defaults: %llu sentinel bytes + %.1f manifest bytes per 16 MiB "
      "shard = %.4f %%\n",
      static_cast<unsigned long long>(sentinel_bytes), manifest_per_shard, overhead * 100);
}

}  // namespace
}  // namespace gnr::codec
