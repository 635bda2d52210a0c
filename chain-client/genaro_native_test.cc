// Golden tests of the Genaro-native special transactions: the exact JSON GenaroCore reads
// (field names and units from GenaroCore's SpecialTxInput and its checks), round trips, the
// text-based bind-node signature, and refusals of payloads GenaroCore would refuse.

#include "chain-client/genaro_native.h"

#include <string>

#include "common/hex.h"
#include "crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using ::testing::HasSubstr;

const EthAddress kWallet = *HexDecodeFixed<20>("90f8bf6a479f320ead074411a4b0e7944ea8c9c1");
const BucketId kBucket =
    *HexDecodeFixed<32>("a3f1c2e4b5d6978899aabbccddeeff00112233445566778899aabbccddeeff01");

// Encodes, checks the golden text, and checks that decoding gives the input back.
void ExpectGolden(const GenaroSpecialTxInput& in, std::string_view golden) {
  ASSERT_OK_AND_ASSIGN(std::string json, EncodeGenaroPayload(in));
  EXPECT_EQ(json, golden);
  ASSERT_OK_AND_ASSIGN(GenaroSpecialTxInput back, DecodeGenaroPayload(json));
  EXPECT_EQ(back, in);
}

TEST(GenaroNative, SpecialAddressesAreSettings) {
  EXPECT_EQ(HexEncode0x(GenaroSpecialAddress()), "0x6000000000000000000000000000000000000000");
  EXPECT_EQ(HexEncode0x(GenaroLegacySpecialAddress()),
            "0xc1b2e1fc9d2099f5930a669c9ad65509433550d6");
  TxRequest tx = GenaroSpecialTx(R"({"type":"0xb"})");
  EXPECT_EQ(tx.to, GenaroSpecialAddress());
  EXPECT_TRUE(tx.value.IsZero());
  EXPECT_EQ(tx.data, ToBytes(R"({"type":"0xb"})"));
  EXPECT_EQ(GenaroSpecialTx("{}", GenaroLegacySpecialAddress()).to, GenaroLegacySpecialAddress());
}

TEST(GenaroNative, Type1Stake) {
  ExpectGolden(GenaroStake(kWallet, 5000),
               R"({"type":"0x1","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
               R"("stake":5000})");
  EXPECT_EQ(*WeiToWholeGnx(*ParseUnits("5000")), 5000u);
  EXPECT_STATUS(WeiToWholeGnx(*ParseUnits("1.5")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(EncodeGenaroPayload(GenaroStake(kWallet, 0)), absl::StatusCode::kInvalidArgument);
}

TEST(GenaroNative, Type2HeftSync) {
  ExpectGolden(GenaroHeftSync(kWallet, 42),
               R"({"type":"0x2","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
               R"("heft":42})");
  EXPECT_STATUS(EncodeGenaroPayload(GenaroHeftSync(kWallet, 0)),
                absl::StatusCode::kInvalidArgument);
}

TEST(GenaroNative, Type3BuyBucket) {
  ExpectGolden(GenaroBuyBucket(kWallet, {{kBucket, 1700000000, 1702592000, 6, 10}}),
               R"({"type":"0x3","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1","buckets":[)"
               R"({"bucketId":"a3f1c2e4b5d6978899aabbccddeeff00112233445566778899aabbccddeeff01",)"
               R"("timeStart":1700000000,"timeEnd":1702592000,"backup":6,"size":10}]})");
  // GenaroCore's checks.
  auto bad = [](GenaroBucket b) {
    return EncodeGenaroPayload(GenaroBuyBucket(kWallet, {b})).status();
  };
  EXPECT_THAT(std::string(bad({kBucket, 0, 5, 1, 1}).message()),
              HasSubstr("timeStart and timeEnd must not be zero"));
  EXPECT_THAT(std::string(bad({kBucket, 5, 5, 1, 1}).message()),
              HasSubstr("timeEnd must be larger than timeStart"));
  EXPECT_THAT(std::string(bad({kBucket, 1, 5, 0, 1}).message()), HasSubstr("backup"));
  EXPECT_THAT(std::string(bad({kBucket, 1, 5, 1, 0}).message()), HasSubstr("size"));
  EXPECT_STATUS(EncodeGenaroPayload(GenaroBuyBucket(kWallet, {})),
                absl::StatusCode::kInvalidArgument);
}

TEST(GenaroNative, Type4BuyTraffic) {
  ExpectGolden(GenaroBuyTraffic(kWallet, 100),
               R"({"type":"0x4","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
               R"("traffic":100})");
  EXPECT_STATUS(EncodeGenaroPayload(GenaroBuyTraffic(kWallet, 0)),
                absl::StatusCode::kInvalidArgument);
}

TEST(GenaroNative, Type8BindNodeSignsTheTextOfNodeIdAndAddress) {
  crypto::PrivateKey node_key = *crypto::PrivateKey::FromBytes(
      HexLiteral("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"));
  NodeId id = crypto::NodeIdOf(node_key.GetPublicKey());
  GenaroSpecialTxInput in = GenaroBindNode(kWallet, node_key);
  ASSERT_OK_AND_ASSIGN(std::string json, EncodeGenaroPayload(in));
  std::string id_hex = HexEncode(id);
  EXPECT_EQ(json, R"({"type":"0x8","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
                  R"("nodeId":")" +
                      id_hex + R"(","sign":")" + HexEncode0x(*in.sign) + R"("})");

  // GenaroCore: keccak256 of the text nodeId + address, then SigToPub, then
  // RIPEMD160(SHA256(compressed key)) must give nodeId back. v is 0 or 1.
  Hash256 digest =
      crypto::Keccak256(AsBytes(id_hex + "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1"));
  EXPECT_EQ(digest, GenaroNodeBindingDigest(id, kWallet));
  EXPECT_LE((*in.sign)[64], 1);
  ASSERT_OK_AND_ASSIGN(crypto::RecoverableSignature sig,
                       crypto::RecoverableSignature::FromBytes(*in.sign));
  ASSERT_OK_AND_ASSIGN(crypto::PublicKey signer, crypto::RecoverPublicKey(digest, sig));
  EXPECT_EQ(crypto::NodeIdOf(signer), id);
  // Not the contract's binary form keccak256(nodeId || address).
  EXPECT_NE(digest, crypto::Keccak256({id, kWallet}));

  ASSERT_OK_AND_ASSIGN(GenaroSpecialTxInput back, DecodeGenaroPayload(json));
  EXPECT_EQ(back, in);

  // A signature for another staker does not pass GenaroCore's check.
  EthAddress other = kWallet;
  other[19] ^= 1;
  GenaroSpecialTxInput stolen = in;
  stolen.address = other;
  ASSERT_OK_AND_ASSIGN(std::string stolen_json, EncodeGenaroPayload(stolen));
  absl::StatusOr<GenaroSpecialTxInput> refused = DecodeGenaroPayload(stolen_json);
  EXPECT_STATUS(refused, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("param [sign]"));
}

TEST(GenaroNative, Type11Unstake) {
  ExpectGolden(GenaroUnstake(kWallet),
               R"({"type":"0xb","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1"})");
}

TEST(GenaroNative, Type12PriceRegulation) {
  ExpectGolden(GenaroSetPrices(U256(500000000000000ull), U256(50000000000000000ull), std::nullopt),
               R"({"type":"0xc","bucketPricePerGperDay":"0x1c6bf52634000",)"
               R"("trafficPricePerG":"0xb1a2bc2ec50000"})");
  EXPECT_STATUS(EncodeGenaroPayload(GenaroSetPrices(std::nullopt, std::nullopt, std::nullopt)),
                absl::StatusCode::kInvalidArgument);
}

TEST(GenaroNative, Type14UnbindNode) {
  NodeId id = *HexDecodeFixed<20>("0123456789abcdef0123456789abcdef01234567");
  ExpectGolden(GenaroUnbindNode(id),
               R"({"type":"0xe","nodeId":"0123456789abcdef0123456789abcdef01234567"})");
}

TEST(GenaroNative, Type41BucketSupplement) {
  ExpectGolden(GenaroBucketSupplement(kWallet, kBucket, 5, 30 * 86400, 1700000123),
               R"({"type":"0x29","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
               R"("bucketId":"a3f1c2e4b5d6978899aabbccddeeff00112233445566778899aabbccddeeff01",)"
               R"("size":5,"duration":2592000,"msg":"1700000123"})");
  // Only time added: at least one day.
  EXPECT_OK(EncodeGenaroPayload(GenaroBucketSupplement(kWallet, kBucket, 0, 86400, 1)).status());
  absl::StatusOr<std::string> r =
      EncodeGenaroPayload(GenaroBucketSupplement(kWallet, kBucket, 0, 3600, 1));
  EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("type 0x29"));
}

TEST(GenaroNative, DecodesPayloadsWrittenByOtherClients) {
  // The genaro-wallet's key order and a checksummed address; unknown fields are ignored.
  ASSERT_OK_AND_ASSIGN(
      GenaroSpecialTxInput in,
      DecodeGenaroPayload(R"({"address":"0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1",)"
                          R"("type":"0x4","traffic":7,"extra":true})"));
  EXPECT_EQ(in, GenaroBuyTraffic(kWallet, 7));
}

TEST(GenaroNative, RefusesMalformedPayloads) {
  for (const char* bad : {
           "",
           "[]",
           R"({"stake":1})",  // no type
           R"({"type":1,"address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1","stake":1})",
           R"({"type":"0x01","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1"})",
           R"({"type":"0x5"})",                               // not a gnrfs type
           R"({"type":"0x1","address":"0x1234","stake":1})",  // short address
           R"({"type":"0x1","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1","stake":-1})",
           R"({"type":"0x1","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1","stake":1.5})",
           R"({"type":"0x1","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1"})",
           R"({"type":"0x3","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
           R"("buckets":[{"bucketId":"0xab","timeStart":1,"timeEnd":2,"backup":1,"size":1}]})",
           R"({"type":"0xe","nodeId":"0123456789ABCDEF0123456789ABCDEF01234567"})",
           R"({"type":"0xe","nodeId":"0x23456789abcdef0123456789abcdef01234567"})",
           R"({"type":"0x29","address":"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",)"
           R"("bucketId":"a3f1c2e4b5d6978899aabbccddeeff00112233445566778899aabbccddeeff01",)"
           R"("size":1,"msg":"yesterday"})",
           R"({"type":"0xc","stakeValuePerNode":"1000"})",
       }) {
    SCOPED_TRACE(bad);
    EXPECT_STATUS(DecodeGenaroPayload(bad), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace gnr::chain
