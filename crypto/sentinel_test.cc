#include "crypto/sentinel.h"

#include <algorithm>
#include <set>
#include <vector>

#include "common/hex.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

// 00 01 02 ... 1f
SentinelKey CountingKey() {
  SentinelKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}

SentinelKey RandomKey(uint64_t seed) {
  DeterministicRandom rng(seed);
  return rng.Generate<32>();
}

// Chi-square statistic of observed counts against a uniform expectation.
double ChiSquare(const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  const double expected = static_cast<double>(total) / static_cast<double>(counts.size());
  double chi = 0;
  for (uint64_t c : counts) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

// The golden values below come from an independent Python implementation of the algorithms
// documented in sentinel.h (hmac, hashlib, cryptography's AES-CTR). They pin the stored
// format: changing them orphans every sentinel already written.

TEST(SentinelValue, GoldenAesCtrValues) {
  // K' = HMAC-SHA256(key, "gnr keyed stream" 0x00 "sentinel values"); value j =
  // AES-256-CTR(K', counter block be128(2j)) over 32 zero bytes.
  EXPECT_EQ(HexEncode(SentinelValue(CountingKey(), 0)),
            "3102982a5ff3675539453e170ecae2fa9e38796c950273e872038023ed108891");
  EXPECT_EQ(HexEncode(SentinelValue(CountingKey(), 1)),
            "e93c51018939eea1b3009b98363d0ab96ccf264fea608ee8f2a95a3988494c73");
  EXPECT_EQ(HexEncode(SentinelValue(CountingKey(), 12345)),
            "2ebd438eb90e2aa77b42c7b2f38ff8ac39801dcf6c0c9a6898b27891d273c888");
  // The counter block of the last index needs 65 bits.
  EXPECT_EQ(HexEncode(SentinelValue(CountingKey(), UINT64_MAX)),
            "84a2d15c12a58423e7e7c2cc4675a799b01933955c5e78780683e522e727b84a");
}

TEST(SentinelValue, IsTheSentinelValuesKeyedStream) {
  SentinelKey key = RandomKey(9);
  KeyedStream stream(key, "sentinel values");
  Bytes expected(300 * kSentinelSize);
  stream.Fill(expected);
  for (uint64_t j = 0; j < 300; ++j) {
    Hash256 v = SentinelValue(key, j);
    ASSERT_TRUE(std::equal(v.begin(), v.end(), expected.begin() + 32 * j)) << j;
  }
}

TEST(SentinelValueGenerator, BulkEqualsSingleValues) {
  SentinelKey key = RandomKey(10);
  SentinelValueGenerator gen(key);
  // Random access in any order and any batch size, including a size that is not a multiple
  // of 32 (it ends with a prefix of the next value).
  for (uint64_t first : {uint64_t{0}, uint64_t{7}, uint64_t{1000}, uint64_t{3}, UINT64_MAX - 64}) {
    for (size_t size : {size_t{0}, size_t{32}, size_t{100}, size_t{64 * 32}}) {
      Bytes bulk(size);
      gen.Fill(first, bulk);
      for (size_t off = 0; off < size; off += 32) {
        Hash256 v = SentinelValue(key, first + off / 32);
        const size_t n = std::min<size_t>(32, size - off);
        ASSERT_TRUE(std::equal(bulk.begin() + off, bulk.begin() + off + n, v.begin()))
            << first << " " << size << " " << off;
      }
    }
  }
  EXPECT_EQ(gen.Value(12345), SentinelValue(key, 12345));
  // Movable.
  SentinelValueGenerator moved = std::move(gen);
  EXPECT_EQ(moved.Value(5), SentinelValue(key, 5));
}

TEST(SentinelValue, DependsOnKeyAndIndex) {
  SentinelKey a = RandomKey(1), b = RandomKey(2);
  std::set<Hash256> seen;
  for (uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(SentinelValue(a, i), SentinelValue(a, i));
    EXPECT_TRUE(seen.insert(SentinelValue(a, i)).second);
    EXPECT_TRUE(seen.insert(SentinelValue(b, i)).second);
  }
  // Output bits look balanced.
  uint64_t ones = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    for (uint8_t byte : SentinelValue(a, i))
      ones += static_cast<uint64_t>(__builtin_popcount(byte));
  }
  EXPECT_NEAR(static_cast<double>(ones) / (1000.0 * 256.0), 0.5, 0.01);
}

TEST(KeyedStream, GoldenFirstWord) {
  KeyedStream s(CountingKey(), "positions");
  EXPECT_EQ(s.Next64(), 0x67cd45ae5801da24u);
}

TEST(KeyedStream, DeterministicAndDomainSeparated) {
  KeyedStream a(RandomKey(1), "x"), b(RandomKey(1), "x"), c(RandomKey(1), "y"),
      d(RandomKey(2), "x");
  // Fill and Next64 read the same sequence, whatever the chunking.
  Bytes from_fill(3000);
  a.Fill(MutableByteView(from_fill).first(5));
  a.Fill(MutableByteView(from_fill).subspan(5, 2000));
  a.Fill(MutableByteView(from_fill).subspan(2005));
  for (size_t i = 0; i + 8 <= 3000; i += 8) {
    EXPECT_EQ(b.Next64(), GetBigEndian64(ByteView(from_fill).subspan(i, 8)));
  }
  KeyedStream fresh(RandomKey(1), "x");
  uint64_t first = fresh.Next64();
  EXPECT_NE(first, c.Next64());
  EXPECT_NE(first, d.Next64());
}

TEST(KeyedStream, UniformIsInRangeAndUnbiased) {
  KeyedStream s(RandomKey(3), "dice");
  EXPECT_EQ(s.Uniform(0), 0u);
  EXPECT_EQ(s.Uniform(1), 0u);
  std::vector<uint64_t> counts(6, 0);
  for (int i = 0; i < 60000; ++i) {
    uint64_t v = s.Uniform(6);
    ASSERT_LT(v, 6u);
    ++counts[v];
  }
  EXPECT_LT(ChiSquare(counts), 20.5);  // 5 dof, p ~ 0.001
  // A bound just above 2^63 rejects almost half of the draws; still in range.
  const uint64_t big = (uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(s.Uniform(big), big);
}

TEST(SelectDistinctPositions, GoldenVectors) {
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> small,
                       SelectDistinctPositions(CountingKey(), 1000, 10));
  EXPECT_EQ(small, (std::vector<uint64_t>{71, 352, 378, 388, 392, 409, 442, 709, 717, 720}));
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> big,
                       SelectDistinctPositions(CountingKey(), 100'000'000, 8));
  EXPECT_EQ(big, (std::vector<uint64_t>{5249622, 15222960, 50992952, 63349338, 79663563, 82510580,
                                        86920336, 89212047}));
}

void CheckPositions(const SentinelKey& key, uint64_t domain, uint64_t count) {
  SCOPED_TRACE(::testing::Message() << domain << " " << count);
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> pos, SelectDistinctPositions(key, domain, count));
  ASSERT_EQ(pos.size(), count);
  EXPECT_TRUE(std::is_sorted(pos.begin(), pos.end()));
  EXPECT_EQ(std::adjacent_find(pos.begin(), pos.end()), pos.end());  // distinct
  if (!pos.empty()) {
    EXPECT_LT(pos.back(), domain);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> again, SelectDistinctPositions(key, domain, count));
  EXPECT_EQ(pos, again);
}

TEST(SelectDistinctPositions, DistinctSortedDeterministic) {
  SentinelKey key = RandomKey(4);
  for (auto [domain, count] : std::vector<std::pair<uint64_t, uint64_t>>{{0, 0},
                                                                         {1, 0},
                                                                         {1, 1},
                                                                         {2, 2},
                                                                         {10, 10},
                                                                         {10, 3},
                                                                         {1000, 999},
                                                                         {1000, 100},
                                                                         {1 << 20, 5000},
                                                                         {100'000'000, 10'000},
                                                                         {UINT64_MAX, 100}}) {
    CheckPositions(key, domain, count);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> all, SelectDistinctPositions(key, 50, 50));
  for (uint64_t i = 0; i < 50; ++i) EXPECT_EQ(all[i], i);
}

TEST(SelectDistinctPositions, DifferentKeysDifferentPositions) {
  ASSERT_OK_AND_ASSIGN(auto a, SelectDistinctPositions(RandomKey(1), 100'000'000, 100));
  ASSERT_OK_AND_ASSIGN(auto b, SelectDistinctPositions(RandomKey(2), 100'000'000, 100));
  std::vector<uint64_t> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  EXPECT_LT(common.size(), 3u);
}

TEST(SelectDistinctPositions, RoughlyUniform) {
  // 4000 keys x 10 positions out of 100: each position is chosen ~400 times.
  std::vector<uint64_t> counts(100, 0);
  for (uint64_t k = 0; k < 4000; ++k) {
    ASSERT_OK_AND_ASSIGN(auto pos, SelectDistinctPositions(RandomKey(1000 + k), 100, 10));
    for (uint64_t p : pos) ++counts[p];
  }
  EXPECT_LT(ChiSquare(counts), 149.0);  // 99 dof, p ~ 0.001
  // Large domain, hash-set path: buckets of 10^6.
  std::vector<uint64_t> buckets(100, 0);
  ASSERT_OK_AND_ASSIGN(auto big, SelectDistinctPositions(RandomKey(5), 100'000'000, 20'000));
  for (uint64_t p : big) ++buckets[p / 1'000'000];
  EXPECT_LT(ChiSquare(buckets), 149.0);
}

TEST(SelectDistinctPositions, BadArguments) {
  EXPECT_STATUS(SelectDistinctPositions(RandomKey(1), 10, 11), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(SelectDistinctPositions(RandomKey(1), 0, 1), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(SelectDistinctPositions(RandomKey(1), UINT64_MAX, kMaxSentinelPositions + 1),
                absl::StatusCode::kInvalidArgument);
}

TEST(FingerprintGroups, GoldenVector) {
  ASSERT_OK_AND_ASSIGN(auto groups, FingerprintGroups(CountingKey(), 20, 4));
  std::vector<std::vector<uint64_t>> expected = {
      {1, 4, 6, 17}, {2, 7, 8, 14}, {5, 16, 18, 19}, {3, 9, 11, 15}, {0, 10, 12, 13}};
  EXPECT_EQ(groups, expected);
}

TEST(FingerprintGroups, PartitionCoversEveryIndexOnce) {
  SentinelKey key = RandomKey(6);
  for (auto [n, q] : std::vector<std::pair<uint64_t, uint32_t>>{
           {8, 8}, {16, 8}, {8000, 8}, {1000, 1}, {999, 3}, {12, 12}}) {
    SCOPED_TRACE(::testing::Message() << n << " " << q);
    const uint64_t g = FingerprintGroupCount(n, q);
    ASSERT_EQ(g, n / q);
    ASSERT_OK_AND_ASSIGN(auto groups, FingerprintGroups(key, n, q));
    ASSERT_EQ(groups.size(), g);
    std::vector<int> seen(n, 0);
    for (const auto& group : groups) {
      ASSERT_EQ(group.size(), q);
      EXPECT_TRUE(std::is_sorted(group.begin(), group.end()));
      for (uint64_t i : group) ++seen[i];
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
    for (uint64_t i : {uint64_t{0}, g / 2, g - 1}) {
      ASSERT_OK_AND_ASSIGN(auto members, FingerprintGroupMembers(key, n, q, i));
      EXPECT_EQ(members, groups[i]);
    }
  }
}

TEST(FingerprintGroups, LeftoverIndicesBelongToNoGroup) {
  ASSERT_OK_AND_ASSIGN(auto groups, FingerprintGroups(RandomKey(7), 103, 10));
  ASSERT_EQ(groups.size(), 10u);
  std::set<uint64_t> all;
  for (const auto& group : groups) all.insert(group.begin(), group.end());
  EXPECT_EQ(all.size(), 100u);
  EXPECT_LT(*all.rbegin(), 103u);
}

TEST(FingerprintGroups, KeyedAndNotTrivial) {
  ASSERT_OK_AND_ASSIGN(auto a, FingerprintGroupMembers(RandomKey(1), 8000, 8, 0));
  ASSERT_OK_AND_ASSIGN(auto b, FingerprintGroupMembers(RandomKey(2), 8000, 8, 0));
  EXPECT_NE(a, b);
  // Not the identity partition: group 0 is not {0..7}.
  EXPECT_NE(a, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(FingerprintGroups, BadArguments) {
  SentinelKey key = RandomKey(1);
  EXPECT_EQ(FingerprintGroupCount(10, 0), 0u);
  EXPECT_EQ(FingerprintGroupCount(7, 8), 0u);
  EXPECT_STATUS(FingerprintGroupMembers(key, 16, 0, 0), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(FingerprintGroupMembers(key, 16, 8, 2), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(FingerprintGroupMembers(key, 7, 8, 0), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(FingerprintGroupMembers(key, kMaxFingerprintSentinels + 1, 8, 0),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(FingerprintGroups(key, 16, 0), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto none, FingerprintGroups(key, 0, 8));
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace gnr::crypto
