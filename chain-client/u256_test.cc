#include "chain-client/u256.h"

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

TEST(U256, DecimalRoundTrip) {
  ASSERT_OK_AND_ASSIGN(U256 one_ether, U256::FromDecimal("1000000000000000000"));
  EXPECT_EQ(one_ether, U256(1000000000000000000ull));
  EXPECT_EQ(one_ether.ToDecimal(), "1000000000000000000");
  EXPECT_EQ(U256().ToDecimal(), "0");
  const std::string max =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  ASSERT_OK_AND_ASSIGN(U256 m, U256::FromDecimal(max));
  EXPECT_EQ(m, U256::Max());
  EXPECT_EQ(m.ToDecimal(), max);
  ASSERT_OK_AND_ASSIGN(U256 big, U256::FromDecimal("100000000000000000000000000000"));  // 10^29
  EXPECT_EQ(big.ToDecimal(), "100000000000000000000000000000");
  EXPECT_STATUS(U256::FromDecimal(max.substr(0, max.size() - 1) + "6"),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(U256::FromDecimal(""), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(U256::FromDecimal("12a"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(U256::FromDecimal("-1"), absl::StatusCode::kInvalidArgument);
}

TEST(U256, HexAndQuantity) {
  ASSERT_OK_AND_ASSIGN(U256 v, U256::FromQuantity("0x1a"));
  EXPECT_EQ(v, U256(26));
  EXPECT_EQ(v.ToQuantity(), "0x1a");
  EXPECT_EQ(U256().ToQuantity(), "0x0");
  EXPECT_EQ(U256::Max().ToQuantity(), "0x" + std::string(64, 'f'));
  EXPECT_OK(U256::FromQuantity("0x0", true));
  EXPECT_STATUS(U256::FromQuantity("0x01", true), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(U256::FromQuantity("0x01"));
  EXPECT_STATUS(U256::FromQuantity("0x"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(U256::FromQuantity("12"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(U256::FromQuantity("0xg"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(U256::FromHex("0x1" + std::string(64, '0')), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(U256 padded, U256::FromHex("0x" + std::string(70, '0') + "5"));
  EXPECT_EQ(padded, U256(5));
}

TEST(U256, BigEndianForms) {
  U256 v = (U256(0x0102) << 128) | U256(0x0304);
  FixedBytes<32> be = v.ToBigEndian32();
  EXPECT_EQ(be[14], 0x01);
  EXPECT_EQ(be[15], 0x02);
  EXPECT_EQ(be[30], 0x03);
  EXPECT_EQ(U256::FromBigEndian32(be), v);
  EXPECT_EQ(v.ToMinimalBigEndian().size(), 18u);
  EXPECT_TRUE(U256().ToMinimalBigEndian().empty());
  ASSERT_OK_AND_ASSIGN(U256 w, U256::FromBigEndian(HexLiteral("0001ff")));
  EXPECT_EQ(w, U256(0x1ff));
  EXPECT_STATUS(U256::FromBigEndian(Bytes(33, 0)), absl::StatusCode::kInvalidArgument);
}

TEST(U256, Arithmetic) {
  U256 a = U256::Max();
  EXPECT_EQ(a + U256(1), U256());
  EXPECT_EQ(U256() - U256(1), U256::Max());
  EXPECT_FALSE(CheckedAdd(a, U256(1)).has_value());
  EXPECT_FALSE(CheckedSub(U256(1), U256(2)).has_value());
  EXPECT_EQ(*CheckedSub(U256(5), U256(2)), U256(3));
  U256 two64 = U256(1) << 64;
  EXPECT_EQ(two64 * two64, U256(1) << 128);
  EXPECT_FALSE(CheckedMul(U256(1) << 128, U256(1) << 128).has_value());
  EXPECT_EQ(*CheckedMul(U256(1) << 127, U256(2)), U256(1) << 128);
  EXPECT_EQ((U256(1) << 200) / (U256(1) << 100), U256(1) << 100);
  EXPECT_EQ(U256(1000) % U256(7), U256(6));
  EXPECT_EQ(U256(5) / U256(), U256());
  EXPECT_EQ((U256(1) << 255) >> 255, U256(1));
  EXPECT_EQ(U256(1) << 256, U256());
  EXPECT_LT(U256(1) << 64, U256(1) << 65);
  EXPECT_GT(U256(1) << 200, U256(~uint64_t{0}));
  EXPECT_EQ((U256(1) << 70).BitLength(), 71);
  EXPECT_EQ(*U256(42).ToUint64(), 42u);
  EXPECT_FALSE((U256(1) << 64).ToUint64().has_value());
}

TEST(U256, Units) {
  EXPECT_EQ(FormatUnits(U256(1500000000000000000ull)), "1.5");
  EXPECT_EQ(FormatUnits(U256()), "0");
  EXPECT_EQ(FormatUnits(U256(1)), "0.000000000000000001");
  EXPECT_EQ(FormatUnits(U256(20000000000ull), 9), "20");
  ASSERT_OK_AND_ASSIGN(U256 wei, ParseUnits("1.5"));
  EXPECT_EQ(wei, U256(1500000000000000000ull));
  ASSERT_OK_AND_ASSIGN(U256 gwei, ParseUnits("20", 9));
  EXPECT_EQ(gwei, U256(20000000000ull));
  ASSERT_OK_AND_ASSIGN(U256 frac, ParseUnits(".25", 2));
  EXPECT_EQ(frac, U256(25));
  EXPECT_STATUS(ParseUnits("1.0000000000000000001"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseUnits("abc"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseUnits("."), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseUnits("1.2.3"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::chain
