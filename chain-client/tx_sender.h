#pragma once
// Sending transactions from one wallet: nonces for concurrent senders, gas estimation, fee
// selection (EIP-1559 when the chain has a base fee, legacy EIP-155 otherwise), signing,
// submission, and waiting for the receipt — with clear errors for people:
//   "estimating gas: execution reverted: StorageMarket: bucket expired"
//   "insufficient balance: 0x90F8…C1 has 0.5 ETH, the transaction may cost up to 1.2 ETH"
//   "transaction 0xab… reverted in block 12: execution reverted: StorageMarket: not owner"
//
// Pitfalls handled (DESIGN.md section 6): some chains answer eth_sendRawTransaction with an
// error although the transaction was accepted or even mined, so after any error the sender
// looks the transaction up by hash before reporting failure; "nonce too low" (another
// process used the wallet) triggers one resync from the chain and a re-signed retry.
//
// Thread-safety: TxSender and NonceManager are thread-safe; several threads may send from
// the same wallet at once (each gets its own nonce). Time is injected (Clock& and a sleep
// function) so the waiting logic is testable.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/transaction.h"
#include "chain-client/u256.h"
#include "common/clock.h"
#include "crypto/secp256k1.h"

namespace gnr::chain {

// Hands out nonces per sender address. The first request for an address (and the first
// after Resync) reads eth_getTransactionCount(address, "pending"); later ones count up
// locally, so concurrent senders never reuse a nonce. Thread-safe.
class NonceManager {
 public:
  explicit NonceManager(EthRpc& rpc) : rpc_(rpc) {}

  absl::StatusOr<uint64_t> Next(const EthAddress& address);
  // Gives back `nonce` when its transaction certainly did not reach the node. If it was the
  // last one handed out it is reused; otherwise the address is resynced on next use (a gap
  // would stall every later transaction).
  void Release(const EthAddress& address, uint64_t nonce);
  // Forgets the local count: the next Next() reads the chain again.
  void Resync(const EthAddress& address);

 private:
  EthRpc& rpc_;
  absl::Mutex mu_;
  std::map<EthAddress, uint64_t> next_ ABSL_GUARDED_BY(mu_);
};

struct TxSenderOptions {
  // Force legacy (gasPrice) transactions even on chains with a base fee.
  bool force_legacy = false;
  // Gas limit = estimate * (1 + gas_margin_percent / 100), at least 21000.
  uint64_t gas_margin_percent = 20;
  // EIP-1559: maxFeePerGas = base_fee_multiplier * baseFee + tip.
  uint64_t base_fee_multiplier = 2;
  // Tip when the node lacks eth_maxPriorityFeePerGas.
  U256 default_priority_fee = U256(1000000000);  // 1 gwei
  // Refuse to send if the fee per gas would exceed this (nullopt: no cap).
  std::optional<U256> max_fee_per_gas_cap;
  // Check the balance covers gas_limit * fee + value before sending.
  bool check_balance = true;
  // Receipt polling.
  absl::Duration poll_interval = absl::Milliseconds(200);
  absl::Duration receipt_timeout = absl::Minutes(2);
};

// What to send.
struct TxRequest {
  std::optional<EthAddress> to;  // nullopt: contract creation
  U256 value;
  Bytes data;
  // Skip estimation and use this gas limit.
  std::optional<uint64_t> gas_limit;
};

class TxSender {
 public:
  // Reads the chain id from the node. `rpc`, `nonces` and `clock` must outlive the sender;
  // `nonces` may be shared by several senders (of different or the same wallets).
  // `sleep` waits between receipt polls (default absl::SleepFor).
  static absl::StatusOr<std::unique_ptr<TxSender>> Create(
      EthRpc& rpc, NonceManager& nonces, const crypto::PrivateKey& key, Clock& clock,
      TxSenderOptions options = {}, std::function<void(absl::Duration)> sleep = {});

  const EthAddress& address() const { return address_; }
  uint64_t chain_id() const { return chain_id_; }

  // Builds and signs a transaction for `request` with the next nonce: estimates gas
  // (FailedPrecondition with the revert reason if the call would revert), picks fees,
  // checks the balance (FailedPrecondition "insufficient balance ..."). The nonce is taken;
  // call Send / SendAndWait rather than this unless you submit it yourself.
  absl::StatusOr<SignedTransaction> Prepare(const TxRequest& request);

  // Prepare + eth_sendRawTransaction. Returns the transaction hash once the node has it.
  absl::StatusOr<Hash256> Send(const TxRequest& request);

  // Send, then wait for the receipt. A transaction that is mined but reverted is
  // FailedPrecondition naming the hash, the block and (when it can be recovered by
  // replaying the call) the revert reason. DeadlineExceeded if no receipt arrives within
  // options.receipt_timeout.
  absl::StatusOr<RpcReceipt> SendAndWait(const TxRequest& request);

  // Polls for the receipt of `tx_hash` until `timeout`.
  absl::StatusOr<RpcReceipt> WaitForReceipt(const Hash256& tx_hash, absl::Duration timeout);

  // Submits an already-signed transaction, applying the look-up-by-hash rule on errors.
  absl::StatusOr<Hash256> SubmitSigned(const SignedTransaction& tx);

 private:
  TxSender(EthRpc& rpc, NonceManager& nonces, const crypto::PrivateKey& key, Clock& clock,
           TxSenderOptions options, std::function<void(absl::Duration)> sleep, uint64_t chain_id);

  absl::StatusOr<SignedTransaction> Build(const TxRequest& request, uint64_t nonce);
  absl::Status RevertError(const RpcReceipt& receipt, const TxRequest& request);

  EthRpc& rpc_;
  NonceManager& nonces_;
  const crypto::PrivateKey key_;
  const EthAddress address_;
  Clock& clock_;
  const TxSenderOptions options_;
  std::function<void(absl::Duration)> sleep_;
  const uint64_t chain_id_;
};

}  // namespace gnr::chain
