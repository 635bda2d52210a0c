#include "chain-client/abi.h"

#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

// Golden vectors: Solidity documentation, "Contract ABI Specification", section "Examples"
// and "Use of Dynamic Types" (docs.soliditylang.org/en/latest/abi-spec.html), and "Error
// handling: Assert, Require, Revert and Exceptions" for Error(string).

std::string Words(std::initializer_list<std::string_view> words) {
  std::string out;
  for (std::string_view w : words) out += w;
  return out;
}

TEST(AbiType, ParsesAndPrintsCanonicalNames) {
  for (std::string_view t :
       {"uint256", "int8", "address", "bool", "bytes32", "bytes", "string", "bytes20[]", "uint32[]",
        "uint256[2][]", "(uint256,bool)", "(uint256,(bytes,address[]))[3]", "()"}) {
    ASSERT_OK_AND_ASSIGN(AbiType type, AbiType::Parse(t));
    EXPECT_EQ(type.CanonicalName(), t);
  }
  ASSERT_OK_AND_ASSIGN(AbiType u, AbiType::Parse("uint"));
  EXPECT_EQ(u.CanonicalName(), "uint256");
  ASSERT_OK_AND_ASSIGN(AbiType nested, AbiType::Parse("uint8[2][]"));
  EXPECT_EQ(nested.kind(), AbiType::Kind::kArray);
  EXPECT_EQ(nested.element().kind(), AbiType::Kind::kFixedArray);
  EXPECT_EQ(nested.element().size(), 2u);
  for (std::string_view bad :
       {"uint7", "uint264", "bytes33", "bytes0", "uint256[", "(uint256", "foo", "uint256[0]",
        "uint256[01]", "(uint256,)", "uint256 ", "fixed128x18", ""}) {
    EXPECT_FALSE(AbiType::Parse(bad).ok()) << bad;
  }
  EXPECT_STATUS(AbiType::Parse(std::string(100, '(')), absl::StatusCode::kInvalidArgument);
}

TEST(AbiType, DynamicAndHeadSize) {
  EXPECT_FALSE(AbiType::Parse("uint256[3]")->IsDynamic());
  EXPECT_EQ(AbiType::Parse("uint256[3]")->HeadSize(), 96u);
  EXPECT_TRUE(AbiType::Parse("string[3]")->IsDynamic());
  EXPECT_TRUE(AbiType::Parse("(uint256,bytes)")->IsDynamic());
  EXPECT_EQ(AbiType::Parse("(uint256,bool)")->HeadSize(), 64u);
}

TEST(AbiSpec, BazUint32Bool) {
  ASSERT_OK_AND_ASSIGN(AbiFunction baz, AbiFunction::Parse("baz(uint32,bool)"));
  EXPECT_EQ(HexEncode(baz.Selector()), "cdcd77c0");
  ASSERT_OK_AND_ASSIGN(Bytes call, baz.EncodeCall({{AbiValue::Uint(69), AbiValue::Bool(true)}}));
  EXPECT_EQ(HexEncode(call),
            Words({"cdcd77c0", "0000000000000000000000000000000000000000000000000000000000000045",
                   "0000000000000000000000000000000000000000000000000000000000000001"}));
  ASSERT_OK_AND_ASSIGN(auto args, baz.DecodeCall(call));
  EXPECT_EQ(*args[0].AsUint64(), 69u);
  EXPECT_EQ(*args[1].AsBool(), true);
}

TEST(AbiSpec, BarBytes3FixedArray) {
  ASSERT_OK_AND_ASSIGN(AbiFunction bar, AbiFunction::Parse("bar(bytes3[2])"));
  EXPECT_EQ(HexEncode(bar.Selector()), "fce353f6");
  AbiValue arg =
      AbiValue::Array({AbiValue::FixedBytes(AsBytes("abc")), AbiValue::FixedBytes(AsBytes("def"))});
  ASSERT_OK_AND_ASSIGN(Bytes call, bar.EncodeCall({{arg}}));
  EXPECT_EQ(HexEncode(call),
            Words({"fce353f6", "6162630000000000000000000000000000000000000000000000000000000000",
                   "6465660000000000000000000000000000000000000000000000000000000000"}));
  ASSERT_OK_AND_ASSIGN(auto back, bar.DecodeCall(call));
  EXPECT_EQ(back[0], arg);
}

TEST(AbiSpec, SamBytesBoolUintArray) {
  ASSERT_OK_AND_ASSIGN(AbiFunction sam, AbiFunction::Parse("sam(bytes,bool,uint256[])"));
  EXPECT_EQ(HexEncode(sam.Selector()), "a5643bf2");
  std::vector<AbiValue> args = {
      AbiValue::Bytes(AsBytes("dave")), AbiValue::Bool(true),
      AbiValue::Array({AbiValue::Uint(1), AbiValue::Uint(2), AbiValue::Uint(3)})};
  ASSERT_OK_AND_ASSIGN(Bytes call, sam.EncodeCall(args));
  EXPECT_EQ(HexEncode(call),
            Words({"a5643bf2", "0000000000000000000000000000000000000000000000000000000000000060",
                   "0000000000000000000000000000000000000000000000000000000000000001",
                   "00000000000000000000000000000000000000000000000000000000000000a0",
                   "0000000000000000000000000000000000000000000000000000000000000004",
                   "6461766500000000000000000000000000000000000000000000000000000000",
                   "0000000000000000000000000000000000000000000000000000000000000003",
                   "0000000000000000000000000000000000000000000000000000000000000001",
                   "0000000000000000000000000000000000000000000000000000000000000002",
                   "0000000000000000000000000000000000000000000000000000000000000003"}));
  ASSERT_OK_AND_ASSIGN(auto back, sam.DecodeCall(call));
  EXPECT_EQ(back, args);
}

TEST(AbiSpec, FUintUint32ArrayBytes10Bytes) {
  ASSERT_OK_AND_ASSIGN(AbiFunction f, AbiFunction::Parse("f(uint256,uint32[],bytes10,bytes)"));
  EXPECT_EQ(HexEncode(f.Selector()), "8be65246");
  std::vector<AbiValue> args = {
      AbiValue::Uint(0x123), AbiValue::Array({AbiValue::Uint(0x456), AbiValue::Uint(0x789)}),
      AbiValue::FixedBytes(AsBytes("1234567890")), AbiValue::Bytes(AsBytes("Hello, world!"))};
  ASSERT_OK_AND_ASSIGN(Bytes call, f.EncodeCall(args));
  EXPECT_EQ(HexEncode(call),
            Words({"8be65246", "0000000000000000000000000000000000000000000000000000000000000123",
                   "0000000000000000000000000000000000000000000000000000000000000080",
                   "3132333435363738393000000000000000000000000000000000000000000000",
                   "00000000000000000000000000000000000000000000000000000000000000e0",
                   "0000000000000000000000000000000000000000000000000000000000000002",
                   "0000000000000000000000000000000000000000000000000000000000000456",
                   "0000000000000000000000000000000000000000000000000000000000000789",
                   "000000000000000000000000000000000000000000000000000000000000000d",
                   "48656c6c6f2c20776f726c642100000000000000000000000000000000000000"}));
  ASSERT_OK_AND_ASSIGN(auto back, f.DecodeCall(call));
  EXPECT_EQ(back, args);
}

TEST(AbiSpec, GNestedDynamicArraysAndStrings) {
  ASSERT_OK_AND_ASSIGN(AbiFunction g, AbiFunction::Parse("g(uint256[][],string[])"));
  EXPECT_EQ(HexEncode(g.Selector()), "2289b18c");
  std::vector<AbiValue> args = {
      AbiValue::Array({AbiValue::Array({AbiValue::Uint(1), AbiValue::Uint(2)}),
                       AbiValue::Array({AbiValue::Uint(3)})}),
      AbiValue::Array(
          {AbiValue::String("one"), AbiValue::String("two"), AbiValue::String("three")})};
  ASSERT_OK_AND_ASSIGN(Bytes call, g.EncodeCall(args));
  EXPECT_EQ(HexEncode(call),
            Words({"2289b18c",
                   "0000000000000000000000000000000000000000000000000000000000000040",
                   "0000000000000000000000000000000000000000000000000000000000000140",
                   "0000000000000000000000000000000000000000000000000000000000000002",
                   "0000000000000000000000000000000000000000000000000000000000000040",
                   "00000000000000000000000000000000000000000000000000000000000000a0",
                   "0000000000000000000000000000000000000000000000000000000000000002",
                   "0000000000000000000000000000000000000000000000000000000000000001",
                   "0000000000000000000000000000000000000000000000000000000000000002",
                   "0000000000000000000000000000000000000000000000000000000000000001",
                   "0000000000000000000000000000000000000000000000000000000000000003",
                   "0000000000000000000000000000000000000000000000000000000000000003",
                   "0000000000000000000000000000000000000000000000000000000000000060",
                   "00000000000000000000000000000000000000000000000000000000000000a0",
                   "00000000000000000000000000000000000000000000000000000000000000e0",
                   "0000000000000000000000000000000000000000000000000000000000000003",
                   "6f6e650000000000000000000000000000000000000000000000000000000000",
                   "0000000000000000000000000000000000000000000000000000000000000003",
                   "74776f0000000000000000000000000000000000000000000000000000000000",
                   "0000000000000000000000000000000000000000000000000000000000000005",
                   "7468726565000000000000000000000000000000000000000000000000000000"}));
  ASSERT_OK_AND_ASSIGN(auto back, g.DecodeCall(call));
  EXPECT_EQ(back, args);
}

TEST(Abi, SignedIntegersAndRanges) {
  std::array<AbiType, 2> types = {AbiType::Int(256), AbiType::Int(8)};
  ASSERT_OK_AND_ASSIGN(Bytes enc,
                       AbiEncode(types, std::vector{AbiValue::Int(-1), AbiValue::Int(-128)}));
  EXPECT_EQ(HexEncode(ByteView(enc).first(32)), std::string(64, 'f'));
  EXPECT_EQ(HexEncode(ByteView(enc).subspan(32)), std::string(62, 'f') + "80");
  ASSERT_OK_AND_ASSIGN(auto back, AbiDecode(types, enc));
  EXPECT_EQ(*back[0].AsInt64(), -1);
  EXPECT_EQ(*back[1].AsInt64(), -128);
  EXPECT_EQ(back[1].DebugString(), "-128");
  EXPECT_STATUS(AbiEncode(std::array{AbiType::Int(8)}, std::vector{AbiValue::Int(128)}),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(AbiEncode(std::array{AbiType::Uint(8)}, std::vector{AbiValue::Uint(256)}),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(AbiEncode(std::array{AbiType::Uint(8)}, std::vector{AbiValue::Bool(true)}),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(AbiEncode(std::array{AbiType::FixedBytes(20)},
                          std::vector{AbiValue::FixedBytes(Bytes(19, 1))}),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(AbiEncode(std::array{AbiType::Uint(8)}, std::vector<AbiValue>{}),
                absl::StatusCode::kInvalidArgument);
}

TEST(Abi, AddressesAndBytes20Arrays) {
  EthAddress a{};
  a[0] = 0xde;
  a[19] = 0xad;
  std::array<AbiType, 2> types = {AbiType::Address(), *AbiType::Parse("bytes20[]")};
  std::vector<AbiValue> values = {AbiValue::Address(a), AbiValue::Array({AbiValue::FixedBytes(a)})};
  ASSERT_OK_AND_ASSIGN(Bytes enc, AbiEncode(types, values));
  ASSERT_OK_AND_ASSIGN(auto back, AbiDecode(types, enc));
  EXPECT_EQ(*back[0].AsAddress(), a);
  EXPECT_EQ(*(*back[1].AsArray())[0].AsFixedBytes<20>(), a);
}

TEST(AbiDecode, RejectsMalformedData) {
  std::array<AbiType, 1> b = {AbiType::Bool()};
  EXPECT_STATUS(AbiDecode(b, HexLiteral(std::string(62, '0') + "02")),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(AbiDecode(b, Bytes(31, 0)), absl::StatusCode::kInvalidArgument);
  std::array<AbiType, 1> addr = {AbiType::Address()};
  EXPECT_STATUS(AbiDecode(addr, HexLiteral("01" + std::string(62, '0'))),
                absl::StatusCode::kInvalidArgument);
  std::array<AbiType, 1> u8 = {AbiType::Uint(8)};
  EXPECT_STATUS(AbiDecode(u8, HexLiteral(std::string(60, '0') + "0100")),
                absl::StatusCode::kInvalidArgument);
  std::array<AbiType, 1> b1 = {AbiType::FixedBytes(1)};
  EXPECT_STATUS(AbiDecode(b1, HexLiteral("0101" + std::string(60, '0'))),
                absl::StatusCode::kInvalidArgument);
  std::array<AbiType, 1> s = {AbiType::String()};
  // Offset past the end.
  EXPECT_STATUS(AbiDecode(s, HexLiteral(std::string(62, '0') + "40")),
                absl::StatusCode::kInvalidArgument);
  // Huge offset.
  EXPECT_STATUS(AbiDecode(s, HexLiteral(std::string(64, 'f'))), absl::StatusCode::kInvalidArgument);
  // Length past the end.
  EXPECT_STATUS(
      AbiDecode(s, HexLiteral(Words({std::string(62, '0') + "20", std::string(62, '0') + "21",
                                     std::string(64, '0')}))),
      absl::StatusCode::kInvalidArgument);
  // Array length larger than the data could hold.
  std::array<AbiType, 1> arr = {*AbiType::Parse("uint256[]")};
  EXPECT_STATUS(
      AbiDecode(
          arr, HexLiteral(Words({std::string(62, '0') + "20", std::string(56, '0') + "ffffffff"}))),
      absl::StatusCode::kInvalidArgument);
}

TEST(AbiDecode, AliasedOffsetsCannotBlowUpMemory) {
  // string[] of 1000 elements whose offsets all point at one 4 KiB string: a canonical
  // encoding would need ~4 MB, the input is ~36 KB.
  const size_t n = 1000;
  Bytes data;
  auto word = [&](uint64_t v) {
    FixedBytes<32> w = U256(v).ToBigEndian32();
    data.insert(data.end(), w.begin(), w.end());
  };
  word(0x20);                                   // offset of the array
  word(n);                                      // length
  for (size_t i = 0; i < n; ++i) word(n * 32);  // every element at the same place
  word(4096);
  data.resize(data.size() + 4096, 'x');
  std::array<AbiType, 1> types = {*AbiType::Parse("string[]")};
  absl::StatusOr<std::vector<AbiValue>> v = AbiDecode(types, data);
  EXPECT_STATUS(v, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(v.status().message()).find("aliased"), std::string::npos);
}

TEST(AbiEvent, TransferTopicAndDecoding) {
  AbiEvent transfer{"Transfer",
                    {{"from", AbiType::Address(), true},
                     {"to", AbiType::Address(), true},
                     {"value", AbiType::Uint(), false}},
                    false};
  EXPECT_EQ(HexEncode(transfer.Topic0()),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  Hash256 from{}, to{};
  from[31] = 1;
  to[31] = 2;
  std::vector<Hash256> topics = {transfer.Topic0(), from, to};
  Bytes data = U256(1000).ToMinimalBigEndian();
  data.insert(data.begin(), 32 - data.size(), 0);
  ASSERT_OK_AND_ASSIGN(auto values, transfer.DecodeLog(topics, data));
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ((*values[0].AsAddress())[19], 1);
  EXPECT_EQ((*values[1].AsAddress())[19], 2);
  EXPECT_EQ(*values[2].AsUint64(), 1000u);
  EXPECT_EQ(transfer.ParamIndex("value"), 2u);
  // Wrong topic count / topic0.
  EXPECT_STATUS(transfer.DecodeLog(std::span(topics).first(2), data),
                absl::StatusCode::kInvalidArgument);
  topics[0][0] ^= 1;
  EXPECT_STATUS(transfer.DecodeLog(topics, data), absl::StatusCode::kInvalidArgument);
}

TEST(AbiEvent, IndexedDynamicParamIsTheHash) {
  AbiEvent e{"Named", {{"name", AbiType::String(), true}, {"n", AbiType::Uint(), false}}, false};
  Hash256 h = crypto::Keccak256(AsBytes("alice"));
  Bytes data(32, 0);
  data[31] = 7;
  ASSERT_OK_AND_ASSIGN(auto values, e.DecodeLog(std::vector<Hash256>{e.Topic0(), h}, data));
  EXPECT_EQ(*values[0].AsFixedBytes<32>(), h);
  EXPECT_EQ(*values[1].AsUint64(), 7u);
}

TEST(Revert, DecodesErrorStringPanicAndCustomErrors) {
  Bytes error = HexLiteral(
      Words({"08c379a0", "0000000000000000000000000000000000000000000000000000000000000020",
             "000000000000000000000000000000000000000000000000000000000000001a",
             "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000"}));
  EXPECT_EQ(DecodeRevertReason(error), "execution reverted: Not enough Ether provided.");
  Bytes panic = HexLiteral(Words({"4e487b71", std::string(62, '0') + "11"}));
  EXPECT_EQ(DecodeRevertReason(panic),
            "execution reverted: panic 0x11 (arithmetic overflow or underflow)");
  EXPECT_EQ(DecodeRevertReason({}), "execution reverted (no reason given)");
  EXPECT_EQ(DecodeRevertReason(HexLiteral("deadbeef")),
            "execution reverted with unrecognized data 0xdeadbeef");
  AbiError custom{"BucketExpired", {{"bucket", AbiType::FixedBytes(32), false}}};
  FixedBytes<4> sel = custom.Selector();
  Bytes data(sel.begin(), sel.end());
  data.resize(36, 0);
  data[35] = 0x42;
  EXPECT_EQ(DecodeRevertReason(data, std::array{custom}),
            "execution reverted: BucketExpired(0x" + std::string(62, '0') + "42)");
  // A truncated Error(string) is not trusted as a reason.
  EXPECT_EQ(DecodeRevertReason(ByteView(error).first(40))
                .rfind("execution reverted with unrecognized data", 0),
            0u);
  // Control characters in the reason are neutralized.
  AbiFunction err = *AbiFunction::Parse("Error(string)");
  Bytes nasty = *err.EncodeCall(std::vector{AbiValue::String("a\nb\x1b[31m")});
  EXPECT_EQ(DecodeRevertReason(nasty), "execution reverted: a?b?[31m");
}

TEST(AbiContract, ReadsSolcJson) {
  const char* json = R"([
    {"type":"constructor","inputs":[{"name":"owner","type":"address"}],"stateMutability":"nonpayable"},
    {"type":"function","name":"stake","inputs":[],"outputs":[],"stateMutability":"payable"},
    {"type":"function","name":"bucket","inputs":[{"name":"id","type":"bytes32","internalType":"bytes32"}],
     "outputs":[{"name":"","type":"tuple","components":[{"name":"size","type":"uint64"},
                {"name":"owners","type":"address[]"}]}],"stateMutability":"view"},
    {"type":"event","name":"Staked","anonymous":false,"inputs":[
      {"name":"who","type":"address","indexed":true},{"name":"amount","type":"uint256","indexed":false}]},
    {"type":"error","name":"TooLittle","inputs":[{"name":"need","type":"uint256"}]},
    {"type":"receive","stateMutability":"payable"}
  ])";
  ASSERT_OK_AND_ASSIGN(AbiContract c, AbiContract::FromJson(json));
  ASSERT_NE(c.FindFunction("stake"), nullptr);
  EXPECT_EQ(c.FindFunction("stake")->state_mutability, "payable");
  const AbiFunction* bucket = c.FindFunction("bucket(bytes32)");
  ASSERT_NE(bucket, nullptr);
  EXPECT_TRUE(bucket->is_view());
  EXPECT_EQ(bucket->outputs[0].type.CanonicalName(), "(uint64,address[])");
  const AbiEvent* staked = c.FindEvent("Staked");
  ASSERT_NE(staked, nullptr);
  EXPECT_EQ(c.FindEventByTopic(staked->Topic0()), staked);
  EXPECT_EQ(c.errors().size(), 1u);
  EXPECT_EQ(c.constructor_inputs().size(), 1u);
  EXPECT_EQ(c.FindFunction("nope"), nullptr);

  EXPECT_STATUS(AbiContract::FromJson("{"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(AbiContract::FromJson("{}"), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<AbiContract> bad =
      AbiContract::FromJson(R"([{"type":"function","name":"f","inputs":[{"name":"x"}]}])");
  EXPECT_STATUS(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("\"type\""), std::string::npos);
  EXPECT_STATUS(
      AbiContract::FromJson(R"([{"type":"function","name":"f","inputs":[{"type":"tuple"}]}])"),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::chain
