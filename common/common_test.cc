#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr {
namespace {

TEST(Hex, EncodesLowerCase) {
  Bytes b = {0x00, 0xab, 0xFF, 0x10};
  EXPECT_EQ(HexEncode(b), "00abff10");
  EXPECT_EQ(HexEncode0x(b), "0x00abff10");
  EXPECT_EQ(HexEncode({}), "");
}

TEST(Hex, DecodesBothCasesAndPrefix) {
  ASSERT_OK_AND_ASSIGN(Bytes b, HexDecode("0xABcd01"));
  EXPECT_EQ(b, (Bytes{0xab, 0xcd, 0x01}));
  ASSERT_OK_AND_ASSIGN(Bytes empty, HexDecode("0x"));
  EXPECT_TRUE(empty.empty());
}

TEST(Hex, RejectsMalformedInputWithPosition) {
  absl::StatusOr<Bytes> odd = HexDecode("abc");
  EXPECT_STATUS(odd, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(odd.status().message().find("odd"), std::string::npos);
  absl::StatusOr<Bytes> bad = HexDecode("00zz");
  EXPECT_STATUS(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("position 2"), std::string::npos);
}

TEST(Hex, FixedSizeDecodeChecksLength) {
  ASSERT_OK_AND_ASSIGN(auto two, HexDecodeFixed<2>("beef"));
  EXPECT_EQ(two[0], 0xbe);
  EXPECT_STATUS(HexDecodeFixed<3>("beef"), absl::StatusCode::kInvalidArgument);
}

TEST(Bytes, BigEndianRoundTrips) {
  FixedBytes<8> buf;
  PutBigEndian64(0x0102030405060708ull, buf);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[7], 8);
  EXPECT_EQ(GetBigEndian64(buf), 0x0102030405060708ull);
  FixedBytes<4> b4;
  PutBigEndian32(0xdeadbeef, b4);
  EXPECT_EQ(GetBigEndian32(b4), 0xdeadbeefu);
}

TEST(Bytes, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("ab")));
}

absl::StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return absl::InvalidArgumentError("not positive");
  return v;
}

absl::StatusOr<int> DoubleIt(int v) {
  GNR_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

absl::Status Check(int v) {
  GNR_RETURN_IF_ERROR(ParsePositive(v).status());
  return absl::OkStatus();
}

TEST(StatusMacros, PropagateErrorsAndValues) {
  ASSERT_OK_AND_ASSIGN(int d, DoubleIt(21));
  EXPECT_EQ(d, 42);
  EXPECT_STATUS(DoubleIt(-1), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(Check(1));
  EXPECT_STATUS(Check(0), absl::StatusCode::kInvalidArgument);
}

TEST(StatusMacros, AnnotateKeepsCode) {
  absl::Status s = Annotate(absl::NotFoundError("no shard"), "farmer 3");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "farmer 3: no shard");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
  absl::Status with_payload = absl::NotFoundError("gone");
  with_payload.SetPayload("gnr/errno", absl::Cord("2"));
  absl::Status annotated = Annotate(with_payload, "lookup");
  ASSERT_TRUE(annotated.GetPayload("gnr/errno").has_value());
  EXPECT_EQ(std::string(*annotated.GetPayload("gnr/errno")), "2");
}

TEST(Clock, FakeClockMovesOnlyWhenTold) {
  FakeClock clock;
  absl::Time t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now() - t0, absl::Seconds(5));
  clock.Set(absl::UnixEpoch());
  EXPECT_EQ(clock.Now(), absl::UnixEpoch());
}

TEST(Clock, SystemClockIsNearRealTime) {
  absl::Duration diff = SystemClockInstance().Now() - absl::Now();
  EXPECT_LT(absl::AbsDuration(diff), absl::Seconds(5));
}

TEST(Log, FiltersByLevelAndCapturesLines) {
  std::vector<std::string> lines;
  SetLogSink([&](LogLevel, std::string_view line) { lines.emplace_back(line); });
  LogLevel saved = GetLogLevel();
  SetLogLevel(LogLevel::kWarning);
  GNR_LOG(kInfo) << "hidden";
  GNR_LOG(kError) << "shown " << 42;
  SetLogLevel(saved);
  SetLogSink(nullptr);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("shown 42"), std::string::npos);
  EXPECT_NE(lines[0].find(" E common_test.cc:"), std::string::npos);
}

TEST(Log, ParsesLevelNames) {
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
}

}  // namespace
}  // namespace gnr
