#pragma once
// Light verification on top of EthRpc: nothing an RPC says is used unless it can be checked
// against a block hash recomputed locally.
//
//  - Headers: keccak256(RLP(header)) must equal the hash the RPC claims (and the hash asked
//    for, when fetching by hash); ranges are checked for parent links.
//  - Transactions and receipts: a transaction's receipt is trusted only after the block's
//    transactions root (rebuilt from the block's transactions) and receipts root (rebuilt
//    from all of the block's receipts) match the verified header, and the transaction sits
//    at the receipt's index.
//  - State: balances, nonces and contract storage come from eth_getProof checked against the
//    verified header's state root.
// A lying RPC is detected and named: the error is DataLoss and says which check failed,
// which block, and which endpoint.
//
// Thread-safety: as EthRpc (stateless).
//
// Limits: blocks with transaction types this client cannot re-encode (EIP-2930, blob,
// set-code) fail transactions-root verification with Unimplemented. State proofs are asked
// for by block number (EIP-1898 block-hash arguments are not universally supported), so a
// reorg between fetching a header and its proof shows up as DataLoss: retry with a header
// deep enough to be final.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/block_header.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/receipt.h"
#include "chain-client/trie.h"

namespace gnr::chain {

// A receipt proven to belong to a verified block.
struct VerifiedReceipt {
  BlockHeader header;  // verified: header.Hash() is the block hash
  RpcReceipt receipt;  // its consensus fields are committed to by header.receipts_root
};

class LightClient {
 public:
  // `rpc` must outlive this object.
  explicit LightClient(EthRpc& rpc) : rpc_(rpc) {}

  // The header of block `number` (or a tag), with its hash verified.
  absl::StatusOr<BlockHeader> VerifiedHeader(const BlockRef& block);
  // The header with hash `hash` (DataLoss if the RPC returns another block).
  absl::StatusOr<BlockHeader> VerifiedHeaderByHash(const Hash256& hash);
  // Headers [first, last], each verified and linked to its parent. InvalidArgument if
  // last < first or the range exceeds 1024 blocks.
  absl::StatusOr<std::vector<BlockHeader>> VerifiedHeaderRange(uint64_t first, uint64_t last);

  // The receipt of `tx_hash`, verified as described in the header comment. NotFound while
  // the transaction is not mined.
  absl::StatusOr<VerifiedReceipt> VerifiedTransactionReceipt(const Hash256& tx_hash);

  // The account at `address` in the state of `header` (a verified header), via eth_getProof.
  // DataLoss if the proof is invalid or the RPC's claimed fields differ from the proven ones.
  absl::StatusOr<AccountState> VerifiedAccount(const BlockHeader& header,
                                               const EthAddress& address);
  // The values of `slots` in the storage of the contract at `address` in the state of
  // `header`, in the order given. DataLoss as above.
  absl::StatusOr<std::vector<U256>> VerifiedStorage(const BlockHeader& header,
                                                    const EthAddress& address,
                                                    std::span<const Hash256> slots);

  EthRpc& rpc() { return rpc_; }

 private:
  absl::Status Lie(std::string_view what) const;
  absl::StatusOr<std::vector<RpcReceipt>> BlockReceipts(const Hash256& block_hash,
                                                        const RpcBlock& block);

  EthRpc& rpc_;
};

// The transactions root of `transactions` (their raw encodings in the ordered trie).
// Unimplemented if one of them has a type that cannot be re-encoded; DataLoss if a
// re-encoded transaction's hash differs from the hash the RPC reported for it.
absl::StatusOr<Hash256> ComputeTransactionsRoot(std::span<const RpcTransaction> transactions);

}  // namespace gnr::chain
