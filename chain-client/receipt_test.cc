#include "chain-client/receipt.h"

#include "chain-client/rlp.h"
#include "chain-client/trie.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using nlohmann::json;

LogEntry SampleLog() {
  LogEntry log;
  log.address[19] = 0x42;
  Hash256 t{};
  t[0] = 0xaa;
  log.topics = {t};
  log.data = HexLiteral("0102");
  return log;
}

TEST(Receipt, EncodingLayout) {
  Receipt r;
  r.type = 2;
  r.status = true;
  r.cumulative_gas_used = 21000;
  r.logs = {SampleLog()};
  r.logs_bloom = ComputeLogsBloom(r.logs);
  Bytes enc = r.Encode();
  ASSERT_EQ(enc[0], 0x02);
  ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(ByteView(enc).subspan(1)));
  ASSERT_OK_AND_ASSIGN(auto f, item.AsList(4));
  EXPECT_EQ(HexEncode(f[0].encoded()), "01");
  EXPECT_EQ(HexEncode(f[1].encoded()), "825208");
  EXPECT_EQ(f[2].payload().size(), 256u);
  ASSERT_EQ(f[3].items().size(), 1u);
  ASSERT_OK_AND_ASSIGN(Receipt back, DecodeReceipt(enc));
  EXPECT_EQ(back, r);

  // A failed legacy receipt: status 0 is the empty string, no type byte.
  Receipt failed;
  failed.status = false;
  Bytes enc2 = failed.Encode();
  EXPECT_GE(enc2[0], 0xc0);
  ASSERT_OK_AND_ASSIGN(RlpItem item2, RlpDecode(enc2));
  EXPECT_EQ(HexEncode(item2.items()[0].encoded()), "80");
  ASSERT_OK_AND_ASSIGN(Receipt back2, DecodeReceipt(enc2));
  EXPECT_EQ(back2, failed);

  // Pre-byzantium: a 32-byte post-state root.
  Receipt old;
  old.post_state = Hash256{};
  ASSERT_OK_AND_ASSIGN(Receipt back3, DecodeReceipt(old.Encode()));
  EXPECT_EQ(back3, old);
}

TEST(Receipt, BloomHasThreeBitsPerItem) {
  LogEntry log = SampleLog();
  Bloom b = ComputeLogsBloom(std::vector{log});
  int bits = 0;
  for (uint8_t byte : b) bits += __builtin_popcount(byte);
  EXPECT_GE(bits, 2);
  EXPECT_LE(bits, 6);
  EXPECT_TRUE(BloomMayContain(b, log.address));
  EXPECT_TRUE(BloomMayContain(b, log.topics[0]));
  EXPECT_FALSE(BloomMayContain(Bloom{}, log.address));
}

TEST(Receipt, ReceiptsRootIsTheOrderedTrie) {
  Receipt a;
  a.status = true;
  a.cumulative_gas_used = 21000;
  Receipt b = a;
  b.cumulative_gas_used = 42000;
  b.type = 2;
  std::vector<Receipt> receipts = {a, b};
  std::vector<Bytes> encoded = {a.Encode(), b.Encode()};
  EXPECT_EQ(ComputeReceiptsRoot(receipts), ComputeOrderedTrieRoot(encoded));
  EXPECT_EQ(ComputeReceiptsRoot({}), EmptyTrieRoot());
}

json SampleReceiptJson() {
  return json{
      {"type", "0x2"},
      {"status", "0x1"},
      {"cumulativeGasUsed", "0x5208"},
      {"logsBloom", "0x" + std::string(512, '0')},
      {"logs", json::array()},
      {"transactionHash", "0x" + std::string(64, '1')},
      {"transactionIndex", "0x0"},
      {"blockHash", "0x" + std::string(64, '2')},
      {"blockNumber", "0x5"},
      {"from", "0x" + std::string(40, '3')},
      {"to", nullptr},
      {"contractAddress", "0x" + std::string(40, '4')},
      {"gasUsed", "0x5208"},
      {"effectiveGasPrice", "0x3b9aca00"},
  };
}

TEST(Receipt, ParsesRpcReceipts) {
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, ParseRpcReceipt(SampleReceiptJson()));
  EXPECT_EQ(r.receipt.type, 2);
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.block_number, 5u);
  EXPECT_FALSE(r.to.has_value());
  EXPECT_TRUE(r.contract_address.has_value());
  EXPECT_EQ(*r.effective_gas_price, U256(1000000000));

  json with_log = SampleReceiptJson();
  with_log["logs"] = json::array({json{{"address", "0x" + std::string(40, 'a')},
                                       {"topics", json::array({"0x" + std::string(64, 'b')})},
                                       {"data", "0x01"},
                                       {"logIndex", "0x0"},
                                       {"removed", false}}});
  ASSERT_OK_AND_ASSIGN(RpcReceipt r2, ParseRpcReceipt(with_log));
  ASSERT_EQ(r2.receipt.logs.size(), 1u);
  EXPECT_EQ(r2.logs[0].log_index, 0u);

  json bad = SampleReceiptJson();
  bad["logs"][0] = json{{"address", "0x12"}, {"topics", json::array()}, {"data", "0x"}};
  absl::StatusOr<RpcReceipt> e = ParseRpcReceipt(bad);
  EXPECT_STATUS(e, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(e.status().message()).find("logs[0]"), std::string::npos) << e.status();
  bad = SampleReceiptJson();
  bad.erase("status");
  EXPECT_STATUS(ParseRpcReceipt(bad), absl::StatusCode::kInvalidArgument);
  bad = SampleReceiptJson();
  bad["status"] = "0x2";
  EXPECT_STATUS(ParseRpcReceipt(bad), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseRpcReceipt(json(nullptr)), absl::StatusCode::kInvalidArgument);
}

TEST(Receipt, VerifyReceiptsRootDetectsTampering) {
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, ParseRpcReceipt(SampleReceiptJson()));
  BlockHeader header;
  header.number = 5;
  header.receipts_root = ComputeReceiptsRoot(std::vector{r.receipt});
  Hash256 block_hash = r.block_hash;
  std::vector<RpcReceipt> receipts = {r};
  EXPECT_OK(VerifyReceiptsRoot(header, block_hash, receipts));
  receipts[0].receipt.cumulative_gas_used += 1;
  absl::Status s = VerifyReceiptsRoot(header, block_hash, receipts);
  EXPECT_STATUS(s, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.message()).find("receipts root mismatch"), std::string::npos);
  receipts = {r};
  receipts[0].transaction_index = 1;
  EXPECT_STATUS(VerifyReceiptsRoot(header, block_hash, receipts), absl::StatusCode::kDataLoss);
}

TEST(Receipt, DecodeRejectsJunk) {
  EXPECT_STATUS(DecodeReceipt({}), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeReceipt(HexLiteral("02c0")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(
      DecodeReceipt(
          RlpListBuilder().AddUint(2).AddUint(0).AddBytes(Bloom{}).AddEmptyList().Build()),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::chain
