#include "crypto/reed_solomon.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/hex.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

constexpr uint8_t kPoison = 0xA5;

// k+m shards of `size` bytes each, in one owned buffer per shard.
struct Shards {
  std::vector<Bytes> bufs;

  std::vector<ByteView> Data(int k) const {
    return std::vector<ByteView>(bufs.begin(), bufs.begin() + k);
  }
  std::vector<MutableByteView> Parity(int k) {
    return std::vector<MutableByteView>(bufs.begin() + k, bufs.end());
  }
  std::vector<MutableByteView> All() {
    return std::vector<MutableByteView>(bufs.begin(), bufs.end());
  }
};

// Random data shards, encoded.
Shards Encoded(const ReedSolomon& rs, size_t size, Random& rng) {
  Shards s;
  for (int i = 0; i < rs.k(); ++i) s.bufs.push_back(rng.Generate(size));
  for (int i = 0; i < rs.m(); ++i) s.bufs.push_back(Bytes(size, kPoison));
  EXPECT_OK(rs.Encode(s.Data(rs.k()), s.Parity(rs.k())));
  return s;
}

// Calls f(lost) for every subset `lost` of {0..n-1} with 1 <= |lost| <= max_lost.
template <typename F>
void ForEachErasurePattern(int n, int max_lost, F f) {
  std::vector<int> lost;
  auto rec = [&](auto& self, int start) -> void {
    if (!lost.empty()) f(lost);
    if (static_cast<int>(lost.size()) == max_lost) return;
    for (int i = start; i < n; ++i) {
      lost.push_back(i);
      self(self, i + 1);
      lost.pop_back();
    }
  };
  rec(rec, 0);
}

std::string PatternName(const std::vector<int>& lost) {
  std::string s;
  for (int i : lost) s += std::to_string(i) + " ";
  return s;
}

// Erases `lost` (fills them with poison), reconstructs and checks every shard byte-exact.
void ExpectRoundTrip(const ReedSolomon& rs, const Shards& original, const std::vector<int>& lost) {
  Shards s = original;
  std::vector<bool> present_vec(rs.k() + rs.m(), true);
  for (int i : lost) {
    present_vec[i] = false;
    std::fill(s.bufs[i].begin(), s.bufs[i].end(), kPoison);
  }
  std::unique_ptr<bool[]> present(new bool[present_vec.size()]);
  for (size_t i = 0; i < present_vec.size(); ++i) present[i] = present_vec[i];
  ASSERT_OK(rs.Reconstruct(s.All(), std::span<const bool>(present.get(), present_vec.size())));
  for (size_t i = 0; i < s.bufs.size(); ++i) {
    ASSERT_EQ(s.bufs[i], original.bufs[i])
        << "shard " << i << " size " << s.bufs[i].size() << " lost " << PatternName(lost);
  }
}

class ReedSolomonCodes : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ReedSolomonCodes, EveryErasurePatternUpToMRoundTrips) {
  const auto [k, m] = GetParam();
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(k, m));
  EXPECT_EQ(rs.k(), k);
  EXPECT_EQ(rs.m(), m);
  DeterministicRandom rng(static_cast<uint64_t>(k * 100 + m));
  for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{4096}, size_t{65537}}) {
    SCOPED_TRACE(::testing::Message() << "shard size " << size);
    const Shards original = Encoded(rs, size, rng);
    int patterns = 0;
    ForEachErasurePattern(k + m, m, [&](const std::vector<int>& lost) {
      ++patterns;
      ExpectRoundTrip(rs, original, lost);
    });
    EXPECT_GT(patterns, 0);
  }
}

TEST_P(ReedSolomonCodes, MoreThanMLossesIsDataLossAndWritesNothing) {
  const auto [k, m] = GetParam();
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(k, m));
  DeterministicRandom rng(7);
  const Shards original = Encoded(rs, 100, rng);
  for (int first = 0; first + m < k + m; ++first) {
    Shards s = original;
    bool present[ReedSolomon::kMaxDataShards + ReedSolomon::kMaxParityShards];
    for (int i = 0; i < k + m; ++i) present[i] = true;
    for (int i = first; i <= first + m; ++i) {  // m+1 losses
      present[i] = false;
      std::fill(s.bufs[i].begin(), s.bufs[i].end(), kPoison);
    }
    const Shards before = s;
    absl::Status status = rs.Reconstruct(s.All(), std::span<const bool>(present, k + m));
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    const std::string msg(status.message());
    EXPECT_NE(msg.find("need " + std::to_string(k) + " shards, have " + std::to_string(k - 1)),
              std::string::npos)
        << msg;
    EXPECT_EQ(s.bufs, before.bufs) << "nothing may be written on DataLoss";
  }
}

INSTANTIATE_TEST_SUITE_P(Small, ReedSolomonCodes,
                         ::testing::Values(std::make_tuple(4, 2), std::make_tuple(6, 3),
                                           std::make_tuple(10, 4)),
                         [](const auto& info) {
                           return "RS" + std::to_string(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(ReedSolomon, CreateRejectsOutOfRange) {
  for (auto [k, m] : {std::pair{0, 1}, std::pair{33, 1}, std::pair{4, 0}, std::pair{4, 17},
                      std::pair{-1, 2}, std::pair{1, -1}}) {
    auto rs = ReedSolomon::Create(k, m);
    EXPECT_STATUS(rs, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(rs.status().message()).find("1 <= k <= 32"), std::string::npos)
        << rs.status();
    EXPECT_NE(std::string(rs.status().message()).find("1 <= m <= 16"), std::string::npos)
        << rs.status();
  }
}

TEST(ReedSolomon, SmallestCodeIsReplication) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(1, 1));
  DeterministicRandom rng(3);
  const Shards original = Encoded(rs, 33, rng);
  EXPECT_EQ(original.bufs[1], original.bufs[0]);  // RS(1,1) parity is a copy
  ExpectRoundTrip(rs, original, {0});
  ExpectRoundTrip(rs, original, {1});
}

TEST(ReedSolomon, LargestCodeRoundTripsRandomPatterns) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(32, 16));
  DeterministicRandom rng(4);
  const Shards original = Encoded(rs, 1000, rng);
  for (int trial = 0; trial < 20; ++trial) {
    // 1..16 distinct lost shards, chosen at random; include the all-data-first-16 pattern.
    std::vector<int> ids(48);
    for (int i = 0; i < 48; ++i) ids[i] = i;
    for (int i = 47; i > 0; --i) std::swap(ids[i], ids[rng.NextU64() % (i + 1)]);
    const int lost_count = trial == 0 ? 16 : 1 + static_cast<int>(rng.NextU64() % 16);
    std::vector<int> lost(ids.begin(), ids.begin() + lost_count);
    if (trial == 1) lost = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    if (trial == 2) lost = {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
    std::sort(lost.begin(), lost.end());
    ExpectRoundTrip(rs, original, lost);
  }
}

// Every k-subset of the k+m shards must decode (the code is MDS). Exhaustive for all small
// codes; the large ones are covered by random patterns above.
TEST(ReedSolomon, AllSmallCodesAreMds) {
  DeterministicRandom rng(5);
  for (int k = 1; k <= 10; ++k) {
    for (int m = 1; m <= 6; ++m) {
      ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(k, m));
      const Shards original = Encoded(rs, 19, rng);
      ForEachErasurePattern(k + m, m, [&](const std::vector<int>& lost) {
        if (static_cast<int>(lost.size()) == m) ExpectRoundTrip(rs, original, lost);
      });
    }
  }
}

TEST(ReedSolomon, MismatchedCountsAndSizesAreInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(4, 2));
  DeterministicRandom rng(6);
  Shards s = Encoded(rs, 64, rng);
  const Shards before = s;
  std::vector<ByteView> data = s.Data(4);
  std::vector<MutableByteView> parity = s.Parity(4);

  // Encode: wrong counts.
  EXPECT_STATUS(rs.Encode(std::span(data).first(3), parity), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(rs.Encode(data, std::span(parity).first(1)), absl::StatusCode::kInvalidArgument);
  std::vector<MutableByteView> three_parity = {parity[0], parity[1], parity[1]};
  EXPECT_STATUS(rs.Encode(data, three_parity), absl::StatusCode::kInvalidArgument);
  // Encode: wrong sizes (data and parity).
  std::vector<ByteView> short_data = data;
  short_data[2] = short_data[2].first(63);
  EXPECT_STATUS(rs.Encode(short_data, parity), absl::StatusCode::kInvalidArgument);
  std::vector<MutableByteView> long_parity = parity;
  Bytes big(65);
  long_parity[1] = big;
  EXPECT_STATUS(rs.Encode(data, long_parity), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.bufs, before.bufs);

  // Reconstruct: wrong counts and sizes.
  bool present[6] = {false, true, true, true, true, true};
  std::vector<MutableByteView> all = s.All();
  EXPECT_STATUS(rs.Reconstruct(std::span(all).first(5), present),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(rs.Reconstruct(all, std::span<const bool>(present, 5)),
                absl::StatusCode::kInvalidArgument);
  std::vector<MutableByteView> uneven = all;
  uneven[4] = uneven[4].first(10);
  EXPECT_STATUS(rs.Reconstruct(uneven, present), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.bufs, before.bufs);
}

TEST(ReedSolomon, DataOnlyRebuildsOnlyDataShards) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(4, 2));
  DeterministicRandom rng(8);
  const Shards original = Encoded(rs, 4096 + 5, rng);
  Shards s = original;
  bool present[6] = {true, false, true, true, true, false};  // lose data 1 and parity 1
  std::fill(s.bufs[1].begin(), s.bufs[1].end(), kPoison);
  std::fill(s.bufs[5].begin(), s.bufs[5].end(), kPoison);
  ASSERT_OK(rs.Reconstruct(s.All(), present, /*data_only=*/true));
  EXPECT_EQ(s.bufs[1], original.bufs[1]);
  EXPECT_EQ(s.bufs[5], Bytes(4096 + 5, kPoison)) << "missing parity must be left untouched";
  // Without data_only, the parity comes back too.
  ASSERT_OK(rs.Reconstruct(s.All(), present));
  EXPECT_EQ(s.bufs, original.bufs);
}

TEST(ReedSolomon, AllPresentIsANoOp) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(3, 2));
  DeterministicRandom rng(9);
  Shards s = Encoded(rs, 50, rng);
  s.bufs[4][0] ^= 1;  // even a corrupt present shard is not touched
  const Shards before = s;
  bool present[5] = {true, true, true, true, true};
  EXPECT_OK(rs.Reconstruct(s.All(), present));
  EXPECT_EQ(s.bufs, before.bufs);
}

TEST(ReedSolomon, EncodingIsDeterministicAndZeroDataHasZeroParity) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(6, 3));
  DeterministicRandom rng(10);
  Shards a = Encoded(rs, 1000, rng);
  Shards b = a;
  for (int r = 6; r < 9; ++r) std::fill(b.bufs[r].begin(), b.bufs[r].end(), 0x11);
  ASSERT_OK(rs.Encode(b.Data(6), b.Parity(6)));
  EXPECT_EQ(a.bufs, b.bufs);
  // A second object for the same code produces the same parity.
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs2, ReedSolomon::Create(6, 3));
  ASSERT_OK(rs2.Encode(b.Data(6), b.Parity(6)));
  EXPECT_EQ(a.bufs, b.bufs);

  Shards zero;
  for (int i = 0; i < 9; ++i) zero.bufs.push_back(Bytes(1000, i < 6 ? 0 : kPoison));
  ASSERT_OK(rs.Encode(zero.Data(6), zero.Parity(6)));
  for (int r = 6; r < 9; ++r) EXPECT_EQ(zero.bufs[r], Bytes(1000, 0));
}

// GF(2^8) with Jerasure's / GF-Complete's default polynomial x^8+x^4+x^3+x^2+1.
uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  for (int i = 0; i < 8; ++i) {
    if (b & 1) p ^= a;
    const bool carry = a & 0x80;
    a = static_cast<uint8_t>(a << 1);
    if (carry) a ^= 0x1d;
    b >>= 1;
  }
  return p;
}

// The SIMD path agrees with a scalar reference: recover the coding matrix by encoding unit
// vectors, then check parity of random data byte by byte.
TEST(ReedSolomon, MatchesScalarReference) {
  constexpr int k = 5, m = 3;
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(k, m));
  uint8_t coef[m][k];
  for (int i = 0; i < k; ++i) {
    Shards unit;
    for (int j = 0; j < k + m; ++j) unit.bufs.push_back(Bytes(1, j == i ? 1 : 0));
    ASSERT_OK(rs.Encode(unit.Data(k), unit.Parity(k)));
    for (int r = 0; r < m; ++r) coef[r][i] = unit.bufs[k + r][0];
  }
  for (int i = 0; i < k; ++i) EXPECT_EQ(coef[0][i], 1) << "Jerasure's first parity row is XOR";
  DeterministicRandom rng(11);
  const Shards s = Encoded(rs, 3000, rng);
  for (int r = 0; r < m; ++r) {
    for (size_t b = 0; b < 3000; ++b) {
      uint8_t want = 0;
      for (int i = 0; i < k; ++i) want ^= GfMul(coef[r][i], s.bufs[i][b]);
      ASSERT_EQ(s.bufs[k + r][b], want) << "parity " << r << " byte " << b;
    }
  }
}

// Pins the on-disk parity bytes: a change of matrix or field would orphan stored shards.
// Coding matrix rows are {1,1,1,1} and {1,70,143,200}; the expected bytes were checked with
// an independent GF(2^8) (poly 0x11d) computation.
TEST(ReedSolomon, GoldenParity4Plus2) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(4, 2));
  Shards s;
  s.bufs = {HexLiteral("0123456789abcdef"), HexLiteral("fedcba9876543210"),
            HexLiteral("00ff00ff55aa55aa"), HexLiteral("deadbeefcafef00d")};
  s.bufs.push_back(Bytes(8));
  s.bufs.push_back(Bytes(8));
  ASSERT_OK(rs.Encode(s.Data(4), s.Parity(4)));
  EXPECT_EQ(HexEncode(s.bufs[4]), "21ad41ef60ab5a58");
  EXPECT_EQ(HexEncode(s.bufs[5]), "46df1f338e2538c5");
}

// Shards at arbitrary (mutually different) alignments give the same bytes as aligned ones.
TEST(ReedSolomon, AlignmentDoesNotMatter) {
  constexpr int k = 4, m = 3;
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(k, m));
  DeterministicRandom rng(12);
  for (size_t size : {size_t{5}, size_t{31}, size_t{100}, size_t{20000}, size_t{40000 + 3}}) {
    const Shards aligned = Encoded(rs, size, rng);
    // One buffer; shard i starts at offset i*(size+3)+i so every shard has its own alignment.
    Bytes arena((size + 4) * (k + m) + 64, kPoison);
    std::vector<MutableByteView> views;
    for (int i = 0; i < k + m; ++i) {
      views.push_back(MutableByteView(arena.data() + 1 + i * (size + 3) + i, size));
      if (i < k) std::copy(aligned.bufs[i].begin(), aligned.bufs[i].end(), views[i].begin());
    }
    std::vector<ByteView> data(views.begin(), views.begin() + k);
    ASSERT_OK(rs.Encode(data, std::span(views).subspan(k)));
    for (int i = 0; i < k + m; ++i) {
      ASSERT_TRUE(std::equal(views[i].begin(), views[i].end(), aligned.bufs[i].begin()))
          << "shard " << i << " size " << size;
    }
    // Lose shards 0, 2 and 5 and rebuild them in the unaligned arena.
    bool present[k + m] = {false, true, false, true, true, false, true};
    for (int i : {0, 2, 5}) std::fill(views[i].begin(), views[i].end(), kPoison);
    ASSERT_OK(rs.Reconstruct(views, present));
    for (int i = 0; i < k + m; ++i) {
      ASSERT_TRUE(std::equal(views[i].begin(), views[i].end(), aligned.bufs[i].begin()))
          << "shard " << i << " size " << size;
    }
    EXPECT_EQ(arena[0], kPoison) << "wrote before the first shard";
    EXPECT_EQ(arena[arena.size() - 1], kPoison) << "wrote after the last shard";
  }
}

TEST(ReedSolomon, ConcurrentUseOfOneCodec) {
  ASSERT_OK_AND_ASSIGN(ReedSolomon rs, ReedSolomon::Create(6, 3));
  DeterministicRandom rng(13);
  const Shards original = Encoded(rs, 100000, rng);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int iter = 0; iter < 5; ++iter) {
        Shards s = original;
        bool present[9] = {true, true, true, true, true, true, true, true, true};
        present[t] = false;
        present[6 + t % 3] = false;
        present[(t + 2) % 6] = false;
        std::fill(s.bufs[t].begin(), s.bufs[t].end(), 0);
        if (!rs.Reconstruct(s.All(), present).ok() || s.bufs != original.bufs) return;
      }
      ok[t] = 1;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

}  // namespace
}  // namespace gnr::crypto
