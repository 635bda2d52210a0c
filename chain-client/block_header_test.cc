#include "chain-client/block_header.h"

#include "chain-client/rlp.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using nlohmann::json;

// The Ethereum mainnet genesis block (block 0), as eth_getBlockByNumber("0x0") returns it.
// Its hash d4e56740...8fa3 is the well-known mainnet genesis hash; the 8-byte nonce
// 0x0000000000000042 checks that fixed-length fields keep their leading zeros.
json MainnetGenesis() {
  return json{
      {"hash", "0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"},
      {"parentHash", "0x" + std::string(64, '0')},
      {"sha3Uncles", "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"},
      {"miner", "0x" + std::string(40, '0')},
      {"stateRoot", "0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544"},
      {"transactionsRoot", "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"},
      {"receiptsRoot", "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"},
      {"logsBloom", "0x" + std::string(512, '0')},
      {"difficulty", "0x400000000"},
      {"number", "0x0"},
      {"gasLimit", "0x1388"},
      {"gasUsed", "0x0"},
      {"timestamp", "0x0"},
      {"extraData", "0x11bbe8db4e347b4e8c937c1c8370e4b5ed33adb3db69cbdb7a38e1e50b1b82fa"},
      {"mixHash", "0x" + std::string(64, '0')},
      {"nonce", "0x0000000000000042"},
      {"size", "0x21c"},
      {"transactions", json::array()},
      {"uncles", json::array()},
  };
}

TEST(BlockHeader, MainnetGenesisHash) {
  ASSERT_OK_AND_ASSIGN(RpcBlockHeader parsed, ParseRpcBlockHeader(MainnetGenesis()));
  EXPECT_EQ(parsed.header.FieldCount(), 15u);
  EXPECT_EQ(HexEncode(parsed.header.Hash()),
            "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");
  EXPECT_OK(VerifyHeaderHash(parsed.header, parsed.claimed_hash));
  ASSERT_OK_AND_ASSIGN(BlockHeader verified, VerifiedHeaderFromRpc(MainnetGenesis()));
  EXPECT_EQ(verified.nonce[7], 0x42);
  // RLP round trip.
  Bytes rlp = verified.Encode();
  ASSERT_OK_AND_ASSIGN(BlockHeader decoded, DecodeBlockHeader(rlp));
  EXPECT_EQ(decoded, verified);
}

TEST(BlockHeader, FieldsAfterAGapAreEncodedAsPresent) {
  // anvil --hardfork berlin reports blobGasUsed/excessBlobGas on berlin headers and hashes
  // them: the encoding follows presence.
  json b = MainnetGenesis();
  b["blobGasUsed"] = "0x0";
  b["excessBlobGas"] = "0x0";
  ASSERT_OK_AND_ASSIGN(RpcBlockHeader parsed, ParseRpcBlockHeader(b));
  EXPECT_EQ(parsed.header.FieldCount(), 17u);
  EXPECT_STATUS(parsed.header.Validate(), absl::StatusCode::kInvalidArgument);
  Bytes encoded = parsed.header.Encode();
  ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(encoded));
  EXPECT_EQ(item.items().size(), 17u);
  EXPECT_EQ(HexEncode(item.items()[15].encoded()), "80");
}

TEST(BlockHeader, TamperedFieldIsDetected) {
  for (const char* field :
       {"stateRoot", "receiptsRoot", "timestamp", "nonce", "extraData", "difficulty", "hash"}) {
    json block = MainnetGenesis();
    std::string v = block[field];
    // Flip the last hex digit.
    v.back() = v.back() == '1' ? '2' : '1';
    block[field] = v;
    absl::StatusOr<BlockHeader> h = VerifiedHeaderFromRpc(block);
    EXPECT_STATUS(h, absl::StatusCode::kDataLoss);
    EXPECT_NE(std::string(h.status().message()).find("header hash mismatch"), std::string::npos)
        << field << ": " << h.status();
  }
}

TEST(BlockHeader, MalformedRpcFieldsAreNamed) {
  auto expect_invalid = [](json block, const std::string& fragment) {
    absl::StatusOr<RpcBlockHeader> h = ParseRpcBlockHeader(block);
    EXPECT_STATUS(h, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(h.status().message()).find(fragment), std::string::npos) << h.status();
  };
  json b = MainnetGenesis();
  b.erase("stateRoot");
  expect_invalid(b, "\"stateRoot\": missing");
  b = MainnetGenesis();
  b["nonce"] = "0x42";
  expect_invalid(b, "\"nonce\": expected 8 bytes, got 1");
  b = MainnetGenesis();
  b["number"] = 5;
  expect_invalid(b, "\"number\"");
  b = MainnetGenesis();
  b["gasLimit"] = "0x1" + std::string(20, '0');
  expect_invalid(b, "\"gasLimit\"");
  b = MainnetGenesis();
  b["logsBloom"] = "0xzz";
  expect_invalid(b, "\"logsBloom\"");
  expect_invalid(json(nullptr), "not found");
  expect_invalid(json::array(), "not a JSON object");
}

BlockHeader CancunLike() {
  BlockHeader h;
  h.number = 7;
  h.gas_limit = 30000000;
  h.timestamp = 1700000000;
  h.base_fee_per_gas = U256(7);
  h.withdrawals_root = Hash256{};
  h.blob_gas_used = 0;
  h.excess_blob_gas = 0;
  h.parent_beacon_block_root = Hash256{};
  return h;
}

TEST(BlockHeader, OptionalFieldsFollowForkOrder) {
  BlockHeader h = CancunLike();
  EXPECT_EQ(h.FieldCount(), 20u);
  EXPECT_OK(h.Validate());
  Bytes encoded = h.Encode();
  ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(encoded));
  EXPECT_EQ(item.items().size(), 20u);
  // Zero-valued scalars are RLP integers (0x80), zero hashes stay 32 bytes.
  EXPECT_EQ(HexEncode(item.items()[17].encoded()), "80");
  EXPECT_EQ(item.items()[19].payload().size(), 32u);
  ASSERT_OK_AND_ASSIGN(BlockHeader decoded, DecodeBlockHeader(h.Encode()));
  EXPECT_EQ(decoded, h);

  h.requests_hash = Hash256{};
  EXPECT_EQ(h.FieldCount(), 21u);
  ASSERT_OK_AND_ASSIGN(BlockHeader prague, DecodeBlockHeader(h.Encode()));
  EXPECT_EQ(prague, h);

  BlockHeader london;
  london.base_fee_per_gas = U256(1000000000);
  EXPECT_EQ(london.FieldCount(), 16u);
  BlockHeader gap = CancunLike();
  gap.withdrawals_root.reset();
  EXPECT_STATUS(gap.Validate(), absl::StatusCode::kInvalidArgument);
}

TEST(BlockHeader, DecodeRejectsWrongShapes) {
  EXPECT_STATUS(DecodeBlockHeader(RlpListBuilder().AddUint(1).Build()),
                absl::StatusCode::kInvalidArgument);
  BlockHeader h = CancunLike();
  h.requests_hash = Hash256{};
  RlpListBuilder too_many;
  Bytes enc = h.Encode();
  ASSERT_OK_AND_ASSIGN(RlpItem again, RlpDecode(enc));
  for (const RlpItem& f : again.items()) too_many.AddRaw(f.encoded());
  too_many.AddUint(1);
  EXPECT_STATUS(DecodeBlockHeader(too_many.Build()), absl::StatusCode::kInvalidArgument);
  // A 7-byte nonce is refused.
  RlpListBuilder short_nonce;
  for (size_t i = 0; i < 15; ++i) {
    if (i == 14) {
      short_nonce.AddBytes(Bytes(7, 0));
    } else {
      short_nonce.AddRaw(again.items()[i].encoded());
    }
  }
  EXPECT_STATUS(DecodeBlockHeader(short_nonce.Build()), absl::StatusCode::kInvalidArgument);
}

TEST(BlockHeader, ParentLinks) {
  ASSERT_OK_AND_ASSIGN(BlockHeader genesis, VerifiedHeaderFromRpc(MainnetGenesis()));
  BlockHeader child;
  child.number = 1;
  child.parent_hash = genesis.Hash();
  EXPECT_OK(VerifyParentLink(genesis, child));
  BlockHeader grandchild;
  grandchild.number = 2;
  grandchild.parent_hash = child.Hash();
  std::vector<BlockHeader> chain = {genesis, child, grandchild};
  EXPECT_OK(VerifyChainLinks(chain));
  chain[1].timestamp = 1;  // changes child's hash, breaking grandchild's link
  absl::Status broken = VerifyChainLinks(chain);
  EXPECT_STATUS(broken, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(broken.message()).find("block 2: parentHash"), std::string::npos);
  child.number = 3;
  EXPECT_STATUS(VerifyParentLink(genesis, child), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gnr::chain
