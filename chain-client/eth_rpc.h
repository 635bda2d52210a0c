#pragma once
// Typed Ethereum JSON-RPC calls over a JsonRpcClient. Every answer is parsed as untrusted
// input into plain structs; malformed answers become InvalidArgument naming the method and
// field. Nothing here verifies what the RPC says beyond its form: light verification (block
// hashes, receipts roots, state proofs) is in light_client.h, built on these calls.
//
// Thread-safety: as thread-safe as the JsonRpcClient (which is); EthRpc holds no state.
//
//   EthRpc eth(client);
//   GNR_ASSIGN_OR_RETURN(uint64_t chain_id, eth.ChainId());
//   GNR_ASSIGN_OR_RETURN(Hash256 tx_hash, eth.SendRawTransaction(signed_tx.Encode()));

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/block_header.h"
#include "chain-client/json_rpc.h"
#include "chain-client/receipt.h"
#include "chain-client/transaction.h"
#include "chain-client/u256.h"

namespace gnr::chain {

// Which block a query refers to: a tag or a number.
class BlockRef {
 public:
  static BlockRef Latest() { return BlockRef("latest", 0); }
  static BlockRef Pending() { return BlockRef("pending", 0); }
  static BlockRef Earliest() { return BlockRef("earliest", 0); }
  static BlockRef Safe() { return BlockRef("safe", 0); }
  static BlockRef Finalized() { return BlockRef("finalized", 0); }
  static BlockRef Number(uint64_t n) { return BlockRef("", n); }

  // "latest", or a QUANTITY such as "0x1a".
  Json ToParam() const;
  std::optional<uint64_t> number() const {
    return tag_.empty() ? std::optional<uint64_t>(number_) : std::nullopt;
  }

 private:
  BlockRef(std::string tag, uint64_t number) : tag_(std::move(tag)), number_(number) {}
  std::string tag_;
  uint64_t number_;
};

// Arguments of eth_call / eth_estimateGas.
struct CallRequest {
  std::optional<EthAddress> from;
  std::optional<EthAddress> to;  // nullopt: contract creation
  std::optional<uint64_t> gas;
  std::optional<U256> gas_price;
  std::optional<U256> max_fee_per_gas;
  std::optional<U256> max_priority_fee_per_gas;
  U256 value;
  Bytes data;
  Json ToJson() const;
};

// A transaction as eth_getTransactionByHash / full blocks report it.
struct RpcTransaction {
  Hash256 hash{};
  uint8_t type = 0;
  uint64_t nonce = 0;
  EthAddress from{};
  std::optional<EthAddress> to;
  U256 value;
  Bytes input;
  uint64_t gas = 0;
  std::optional<U256> gas_price;
  std::optional<U256> max_fee_per_gas;
  std::optional<U256> max_priority_fee_per_gas;
  std::optional<uint64_t> chain_id;
  std::vector<AccessListEntry> access_list;
  U256 v, r, s;
  std::optional<Hash256> block_hash;  // null while pending
  std::optional<uint64_t> block_number;
  std::optional<uint64_t> transaction_index;

  // Rebuilds the signed transaction from the fields (legacy and type 2 only; Unimplemented
  // for other types). Its Hash() equals `hash` iff the RPC reported the fields faithfully.
  absl::StatusOr<SignedTransaction> ToSignedTransaction() const;
};

absl::StatusOr<RpcTransaction> ParseRpcTransaction(const Json& tx);

// A block: its header (unverified), the hash the RPC claims, and its transactions (hashes
// only, or full objects when requested).
struct RpcBlock {
  RpcBlockHeader header;
  std::vector<Hash256> transaction_hashes;
  std::vector<RpcTransaction> transactions;  // filled when fetched with full transactions
};

absl::StatusOr<RpcBlock> ParseRpcBlock(const Json& block, bool full_transactions);

struct FeeHistory {
  uint64_t oldest_block = 0;
  std::vector<U256> base_fee_per_gas;  // one more entry than blocks: the next block's
  std::vector<double> gas_used_ratio;
  std::vector<std::vector<U256>> reward;  // per block, per requested percentile
};

struct RpcStorageProof {
  Hash256 key{};
  U256 value;
  std::vector<Bytes> proof;
};

// An eth_getProof answer (EIP-1186).
struct RpcAccountProof {
  EthAddress address{};
  U256 balance;
  Hash256 code_hash{};
  uint64_t nonce = 0;
  Hash256 storage_hash{};
  std::vector<Bytes> account_proof;
  std::vector<RpcStorageProof> storage_proofs;
};

absl::StatusOr<RpcAccountProof> ParseRpcAccountProof(const Json& proof);

struct LogFilter {
  std::optional<BlockRef> from_block;
  std::optional<BlockRef> to_block;
  std::optional<Hash256> block_hash;  // exclusive with from/to
  std::vector<EthAddress> addresses;
  // Per position: nullopt = any; otherwise one of the listed topics.
  std::vector<std::optional<std::vector<Hash256>>> topics;
  Json ToJson() const;
};

class EthRpc {
 public:
  // `client` must outlive this object.
  explicit EthRpc(JsonRpcClient& client) : client_(client) {}

  absl::StatusOr<uint64_t> ChainId();
  absl::StatusOr<uint64_t> BlockNumber();
  // NotFound if the node does not have the block.
  absl::StatusOr<RpcBlock> GetBlockByNumber(const BlockRef& block, bool full_transactions = false);
  absl::StatusOr<RpcBlock> GetBlockByHash(const Hash256& hash, bool full_transactions = false);
  absl::StatusOr<uint64_t> GetTransactionCount(const EthAddress& address,
                                               const BlockRef& block = BlockRef::Pending());
  absl::StatusOr<U256> GetBalance(const EthAddress& address,
                                  const BlockRef& block = BlockRef::Latest());
  absl::StatusOr<Bytes> GetCode(const EthAddress& address,
                                const BlockRef& block = BlockRef::Latest());
  absl::StatusOr<U256> GasPrice();
  absl::StatusOr<U256> MaxPriorityFeePerGas();
  absl::StatusOr<FeeHistory> GetFeeHistory(uint64_t block_count, const BlockRef& newest,
                                           std::span<const double> reward_percentiles = {});
  // FailedPrecondition with the decoded revert reason if the call would revert.
  absl::StatusOr<uint64_t> EstimateGas(const CallRequest& request);
  absl::StatusOr<Bytes> Call(const CallRequest& request,
                             const BlockRef& block = BlockRef::Latest());
  // Returns the hash the node reports; callers compare it with SignedTransaction::Hash().
  absl::StatusOr<Hash256> SendRawTransaction(ByteView raw);
  // nullopt while the transaction is unknown or pending.
  absl::StatusOr<std::optional<RpcReceipt>> GetTransactionReceipt(const Hash256& tx_hash);
  absl::StatusOr<std::optional<RpcTransaction>> GetTransactionByHash(const Hash256& tx_hash);
  // eth_getBlockReceipts; Unimplemented when the node lacks it.
  absl::StatusOr<std::vector<RpcReceipt>> GetBlockReceipts(const BlockRef& block);
  absl::StatusOr<std::vector<RpcReceipt>> GetBlockReceiptsByHash(const Hash256& block_hash);
  absl::StatusOr<std::vector<RpcLog>> GetLogs(const LogFilter& filter);
  absl::StatusOr<RpcAccountProof> GetProof(const EthAddress& address,
                                           std::span<const Hash256> storage_keys,
                                           const BlockRef& block);

  JsonRpcClient& client() { return client_; }

 private:
  absl::StatusOr<Json> Raw(std::string_view method, const Json& params);
  // Wraps a parse error of `method`'s answer: "<method> on <endpoint>: malformed answer: ...".
  absl::Status Malformed(std::string_view method, const absl::Status& status) const;

  JsonRpcClient& client_;
};

}  // namespace gnr::chain
