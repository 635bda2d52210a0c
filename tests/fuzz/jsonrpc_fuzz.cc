// Fuzzes the JSON-RPC response handling and the typed parsers of RPC answers (blocks,
// receipts, transactions, proofs, logs): every byte an RPC endpoint sends is untrusted.
// Nothing may crash or throw; errors are Status values.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "chain-client/block_header.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/json_rpc.h"
#include "chain-client/receipt.h"

namespace {

using namespace gnr;
using namespace gnr::chain;

class FixedTransport : public RpcTransport {
 public:
  explicit FixedTransport(std::string body) : body_(std::move(body)) {}
  absl::StatusOr<std::string> Send(std::string_view) override { return body_; }
  std::string endpoint() const override { return "fuzz"; }

 private:
  std::string body_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  // A fresh client per input: its first request id is 1, which seeds can match.
  JsonRpcClient client(std::make_unique<FixedTransport>(body), RetryPolicy{.max_attempts = 1});
  EthRpc eth(client);
  (void)eth.ChainId();
  JsonRpcClient client2(std::make_unique<FixedTransport>(body), RetryPolicy{.max_attempts = 1});
  EthRpc eth2(client2);
  (void)eth2.GetBlockByNumber(BlockRef::Latest(), true);
  JsonRpcClient client3(std::make_unique<FixedTransport>(body), RetryPolicy{.max_attempts = 1});
  EthRpc eth3(client3);
  (void)eth3.GetBlockReceipts(BlockRef::Latest());

  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  const Json* result = &json;
  if (json.is_object() && json.contains("result")) result = &json["result"];
  (void)ParseRpcBlock(*result, false);
  (void)ParseRpcBlock(*result, true);
  (void)VerifiedHeaderFromRpc(*result);
  (void)ParseRpcReceipt(*result);
  (void)ParseRpcLog(*result);
  if (absl::StatusOr<RpcTransaction> tx = ParseRpcTransaction(*result); tx.ok()) {
    (void)tx->ToSignedTransaction();
  }
  (void)ParseRpcAccountProof(*result);
  return 0;
}
