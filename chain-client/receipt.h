#pragma once
// Transaction receipts: their consensus encoding (the leaves of a block's receipts trie),
// the logs bloom, the receipts root, and parsing of eth_getTransactionReceipt /
// eth_getBlockReceipts answers.
//
// Encoding (yellow paper 4.3.1, EIP-658, EIP-2718): RLP([status-or-postState,
// cumulativeGasUsed, logsBloom, logs]) with logs = [[address, [topics...], data], ...];
// status is the integer 1 (success) or 0 (the empty string); typed receipts are
// type || RLP(...). The receipts root is the ordered trie of those encodings.
//
// Value types; pure functions, thread-safe. Parsing is for untrusted input.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/abi.h"
#include "chain-client/block_header.h"
#include "chain-client/u256.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {

struct Receipt {
  uint8_t type = 0;                   // 0 legacy; 1, 2, 3, 4 typed (EIP-2718)
  std::optional<bool> status;         // EIP-658 (byzantium and later)
  std::optional<Hash256> post_state;  // pre-byzantium intermediate state root
  uint64_t cumulative_gas_used = 0;
  Bloom logs_bloom{};
  std::vector<LogEntry> logs;

  // The consensus encoding (what the receipts trie stores). Uses `status` when set, else
  // `post_state`, else status 0.
  Bytes Encode() const;
  friend bool operator==(const Receipt&, const Receipt&) = default;
};

// Decodes a consensus-encoded receipt (legacy RLP or type || RLP). InvalidArgument if bad.
absl::StatusOr<Receipt> DecodeReceipt(ByteView encoded);

// The 2048-bit bloom of `logs` (yellow paper 4.3.1: for the address and each topic, three
// 11-bit indexes from keccak256 set bits in the 256-byte filter).
Bloom ComputeLogsBloom(std::span<const LogEntry> logs);
// Whether `bloom` may contain `item` (an address or topic); false means definitely not.
bool BloomMayContain(const Bloom& bloom, ByteView item);

// The receipts root of a block whose receipts are `receipts`, in transaction order.
Hash256 ComputeReceiptsRoot(std::span<const Receipt> receipts);

// A log as RPCs report it, with its position.
struct RpcLog {
  LogEntry entry;
  std::optional<uint64_t> block_number;
  std::optional<Hash256> block_hash;
  std::optional<Hash256> transaction_hash;
  std::optional<uint64_t> transaction_index;
  std::optional<uint64_t> log_index;
  bool removed = false;  // true when a reorg removed it (eth_getLogs / filters)
};

// An eth_getTransactionReceipt answer.
struct RpcReceipt {
  Receipt receipt;  // the consensus fields
  Hash256 transaction_hash{};
  uint64_t transaction_index = 0;
  Hash256 block_hash{};
  uint64_t block_number = 0;
  EthAddress from{};
  std::optional<EthAddress> to;                // null for contract creation
  std::optional<EthAddress> contract_address;  // set for contract creation
  uint64_t gas_used = 0;
  std::optional<U256> effective_gas_price;
  std::vector<RpcLog> logs;  // the same logs as receipt.logs, with positions

  bool succeeded() const { return receipt.status.value_or(true); }
};

// Parses one log object. InvalidArgument naming the field on malformed input.
absl::StatusOr<RpcLog> ParseRpcLog(const nlohmann::json& log);
// Parses a receipt object. InvalidArgument naming the field on malformed input (a JSON null
// is an error here: callers handle "not found" before).
absl::StatusOr<RpcReceipt> ParseRpcReceipt(const nlohmann::json& receipt);

// DataLoss unless the receipts root of `receipts` equals `header.receipts_root`, naming the
// block and both roots. Also checks that the receipts belong to this block (block hash and
// consecutive transaction indexes).
absl::Status VerifyReceiptsRoot(const BlockHeader& header, const Hash256& block_hash,
                                std::span<const RpcReceipt> receipts);

}  // namespace gnr::chain
