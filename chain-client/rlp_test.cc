#include "chain-client/rlp.h"

#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

// Golden vectors from the RLP specification page (ethereum.org/developers/docs/data-structures-
// and-encoding/rlp, formerly the Ethereum wiki "RLP" page), "Examples" section.

TEST(RlpEncode, SpecExamples) {
  EXPECT_EQ(HexEncode(RlpEncodeString("dog")), "83646f67");
  EXPECT_EQ(HexEncode(RlpListBuilder().AddString("cat").AddString("dog").Build()),
            "c88363617483646f67");
  EXPECT_EQ(HexEncode(RlpEncodeString("")), "80");
  EXPECT_EQ(HexEncode(RlpListBuilder().Build()), "c0");
  EXPECT_EQ(HexEncode(RlpEncodeUint(0)), "80");
  EXPECT_EQ(HexEncode(RlpEncodeBytes(Bytes{0x00})), "00");
  EXPECT_EQ(HexEncode(RlpEncodeBytes(Bytes{0x0f})), "0f");
  EXPECT_EQ(HexEncode(RlpEncodeBytes(Bytes{0x04, 0x00})), "820400");
  EXPECT_EQ(HexEncode(RlpEncodeUint(15)), "0f");
  EXPECT_EQ(HexEncode(RlpEncodeUint(1024)), "820400");
}

TEST(RlpEncode, SetTheoreticRepresentationOfThree) {
  // [ [], [[]], [ [], [[]] ] ]
  Bytes empty = RlpListBuilder().Build();
  Bytes one = RlpListBuilder().AddRaw(empty).Build();
  Bytes two = RlpListBuilder().AddRaw(empty).AddRaw(one).Build();
  Bytes three = RlpListBuilder().AddRaw(empty).AddRaw(one).AddRaw(two).Build();
  EXPECT_EQ(HexEncode(three), "c7c0c1c0c3c0c1c0");
}

TEST(RlpEncode, LongStringUsesLongForm) {
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  ASSERT_EQ(lorem.size(), 56u);
  Bytes enc = RlpEncodeString(lorem);
  EXPECT_EQ(enc[0], 0xb8);
  EXPECT_EQ(enc[1], 0x38);
  EXPECT_EQ(Bytes(enc.begin() + 2, enc.end()), ToBytes(lorem));
  // 55 bytes is still the short form.
  EXPECT_EQ(RlpEncodeString(std::string(55, 'a'))[0], 0x80 + 55);
  // 1024-byte string: 0xb9 0x04 0x00.
  Bytes big = RlpEncodeBytes(Bytes(1024, 0xaa));
  EXPECT_EQ(HexEncode(ByteView(big).first(3)), "b90400");
}

TEST(RlpEncode, LongList) {
  RlpListBuilder b;
  for (int i = 0; i < 20; ++i) b.AddString("abc");  // 80-byte payload
  Bytes enc = b.Build();
  EXPECT_EQ(HexEncode(ByteView(enc).first(2)), "f850");
  EXPECT_EQ(enc.size(), 82u);
}

TEST(RlpEncode, IntegersStripLeadingZeros) {
  EXPECT_EQ(HexEncode(RlpEncodeUint(0x7f)), "7f");
  EXPECT_EQ(HexEncode(RlpEncodeUint(0x80)), "8180");
  EXPECT_EQ(HexEncode(RlpEncodeUint(0x0100)), "820100");
  EXPECT_EQ(HexEncode(RlpEncodeUint(~uint64_t{0})), "88ffffffffffffffff");
  // A 32-byte scalar with a leading zero byte (like a signature's s) loses it.
  FixedBytes<32> s{};
  s[1] = 0x12;
  s[31] = 0x34;
  Bytes enc = RlpEncodeU256(U256::FromBigEndian32(s));
  EXPECT_EQ(enc[0], 0x80 + 31);
  // Fixed-length fields are strings and keep their zeros.
  FixedBytes<32> hash{};
  EXPECT_EQ(RlpEncodeBytes(hash).size(), 33u);
}

TEST(RlpDecode, RoundTripsSpecExamples) {
  Bytes in = HexLiteral("c88363617483646f67");
  ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(in));
  ASSERT_OK_AND_ASSIGN(auto items, item.AsList(2));
  ASSERT_OK_AND_ASSIGN(ByteView cat, items[0].AsBytes());
  EXPECT_EQ(AsStringView(cat), "cat");
  EXPECT_EQ(HexEncode(items[1].encoded()), "83646f67");

  Bytes three = HexLiteral("c7c0c1c0c3c0c1c0");
  ASSERT_OK_AND_ASSIGN(RlpItem t, RlpDecode(three));
  ASSERT_EQ(t.items().size(), 3u);
  EXPECT_EQ(t.items()[2].items()[1].items().size(), 1u);

  Bytes n = HexLiteral("820400");
  ASSERT_OK_AND_ASSIGN(RlpItem i, RlpDecode(n));
  EXPECT_EQ(*i.AsUint64(), 1024u);
  Bytes zero = HexLiteral("80");
  ASSERT_OK_AND_ASSIGN(RlpItem z, RlpDecode(zero));
  EXPECT_EQ(*z.AsUint64(), 0u);
  Bytes single = HexLiteral("0f");
  ASSERT_OK_AND_ASSIGN(RlpItem s, RlpDecode(single));
  EXPECT_EQ(*s.AsUint64(), 15u);

  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  Bytes enc = RlpEncodeString(lorem);
  ASSERT_OK_AND_ASSIGN(RlpItem l, RlpDecode(enc));
  EXPECT_EQ(AsStringView(*l.AsBytes()), lorem);
}

void ExpectRejected(std::string_view hex, std::string_view fragment) {
  Bytes in = HexLiteral(hex);
  absl::StatusOr<RlpItem> item = RlpDecode(in);
  ASSERT_FALSE(item.ok()) << hex;
  EXPECT_EQ(item.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(item.status().message()).find(fragment), std::string::npos)
      << hex << ": " << item.status();
}

TEST(RlpDecode, RejectsNonCanonicalAndTruncatedInput) {
  ExpectRejected("", "end of input");
  ExpectRejected("8105", "non-canonical single byte 0x05");
  ExpectRejected("b80100", "non-canonical long-form length 1");
  ExpectRejected("f80100", "non-canonical long-form length 1");
  ExpectRejected("b9003800", "leading zero");
  ExpectRejected("83646f", "runs past the end");
  ExpectRejected("c583646f67", "runs past the end");
  ExpectRejected("b8", "run past the end");
  ExpectRejected("bf", "run past the end");
  ExpectRejected("83646f6700", "1 trailing bytes");
  ExpectRejected("c3c0c2c0", "at offset 2");  // child claims more than the parent holds
  // Lengths so large they would overflow when added to the offset.
  ExpectRejected("bfffffffffffffffff", "runs past the end");
  ExpectRejected("ffffffffffffffffff", "runs past the end");
}

TEST(RlpDecode, ChildMayNotRunPastItsList) {
  // c2 says 2 payload bytes, but the inner string 0x82 wants 2 more.
  ExpectRejected("c2820400", "runs past the end");
}

TEST(RlpDecode, IntegerAccessorsAreStrict) {
  Bytes leading_zero = HexLiteral("820001");
  ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(leading_zero));
  EXPECT_STATUS(item.AsUint64(), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(item.AsU256(), absl::StatusCode::kInvalidArgument);
  Bytes single_zero = HexLiteral("00");  // the byte 0x00 is not the canonical integer 0
  ASSERT_OK_AND_ASSIGN(RlpItem z, RlpDecode(single_zero));
  EXPECT_STATUS(z.AsUint64(), absl::StatusCode::kInvalidArgument);
  Bytes nine = HexLiteral("89010000000000000000");
  ASSERT_OK_AND_ASSIGN(RlpItem big, RlpDecode(nine));
  EXPECT_STATUS(big.AsUint64(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(U256 v, big.AsU256());
  EXPECT_EQ(v, U256(1) << 64);
  Bytes list = HexLiteral("c0");
  ASSERT_OK_AND_ASSIGN(RlpItem l, RlpDecode(list));
  EXPECT_STATUS(l.AsUint64(), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(l.AsBytes(), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(l.AsList(1), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(big.AsList(), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(big.AsFixed<8>(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto fixed, big.AsFixed<9>());
  EXPECT_EQ(fixed[0], 1);
}

TEST(RlpDecode, EnforcesDepthAndItemLimits) {
  Bytes nested = RlpListBuilder().Build();
  for (int i = 0; i < 100; ++i) nested = RlpListBuilder().AddRaw(nested).Build();
  absl::StatusOr<RlpItem> deep = RlpDecode(nested);
  EXPECT_STATUS(deep, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(deep.status().message()).find("nesting deeper"), std::string::npos);
  EXPECT_OK(RlpDecode(nested, RlpLimits{.max_depth = 200}));

  RlpListBuilder many;
  for (int i = 0; i < 100; ++i) many.AddUint(1);
  Bytes wide = many.Build();
  EXPECT_OK(RlpDecode(wide));
  EXPECT_STATUS(RlpDecode(wide, RlpLimits{.max_items = 50}), absl::StatusCode::kInvalidArgument);
}

TEST(RlpDecode, HeaderOnly) {
  Bytes in = HexLiteral("f85000");
  ASSERT_OK_AND_ASSIGN(RlpHeader h, RlpDecodeHeader(Concat({HexLiteral("b838"), Bytes(56, 'a')})));
  EXPECT_FALSE(h.is_list);
  EXPECT_EQ(h.header_size, 2u);
  EXPECT_EQ(h.payload_size, 56u);
  EXPECT_STATUS(RlpDecodeHeader(in), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::chain
