#include "chain-client/tx_sender.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

constexpr uint64_t kMinGasLimit = 21000;

bool MessageContains(const absl::Status& s, std::string_view needle) {
  return absl::StrContains(absl::AsciiStrToLower(s.message()), AbslView(needle));
}

bool IsTransient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

std::string Eth(const U256& wei) { return absl::StrCat(FormatUnits(wei, 18), " ETH"); }

}  // namespace

// ---- NonceManager ---------------------------------------------------------------------------

absl::StatusOr<uint64_t> NonceManager::Next(const EthAddress& address) {
  {
    absl::MutexLock lock(&mu_);
    auto it = next_.find(address);
    if (it != next_.end()) return it->second++;
  }
  // Not under the lock: an RPC may take long. Two threads may both read the chain; the
  // first to store wins and the other takes the next value.
  GNR_ASSIGN_OR_RETURN(uint64_t pending, rpc_.GetTransactionCount(address, BlockRef::Pending()));
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = next_.emplace(address, pending);
  return it->second++;
}

void NonceManager::Release(const EthAddress& address, uint64_t nonce) {
  absl::MutexLock lock(&mu_);
  auto it = next_.find(address);
  if (it == next_.end()) return;
  if (it->second == nonce + 1) {
    it->second = nonce;
  } else {
    next_.erase(it);  // a gap: read the chain again next time
  }
}

void NonceManager::Resync(const EthAddress& address) {
  absl::MutexLock lock(&mu_);
  next_.erase(address);
}

// ---- TxSender -------------------------------------------------------------------------------

TxSender::TxSender(EthRpc& rpc, NonceManager& nonces, const crypto::PrivateKey& key, Clock& clock,
                   TxSenderOptions options, std::function<void(absl::Duration)> sleep,
                   uint64_t chain_id)
    : rpc_(rpc),
      nonces_(nonces),
      key_(key),
      address_(crypto::EthereumAddress(key.GetPublicKey())),
      clock_(clock),
      options_(std::move(options)),
      sleep_(std::move(sleep)),
      chain_id_(chain_id) {
  if (!sleep_) sleep_ = [](absl::Duration d) { absl::SleepFor(d); };
}

absl::StatusOr<std::unique_ptr<TxSender>> TxSender::Create(
    EthRpc& rpc, NonceManager& nonces, const crypto::PrivateKey& key, Clock& clock,
    TxSenderOptions options, std::function<void(absl::Duration)> sleep) {
  GNR_ASSIGN_OR_RETURN(uint64_t chain_id, rpc.ChainId());
  return std::unique_ptr<TxSender>(
      new TxSender(rpc, nonces, key, clock, std::move(options), std::move(sleep), chain_id));
}

absl::StatusOr<SignedTransaction> TxSender::Build(const TxRequest& request, uint64_t nonce) {
  GNR_ASSIGN_OR_RETURN(RpcBlock latest, rpc_.GetBlockByNumber(BlockRef::Latest()));
  const BlockHeader& head = latest.header.header;
  const bool eip1559 = head.base_fee_per_gas.has_value() && !options_.force_legacy;

  // Fees.
  U256 fee_cap;  // the most paid per unit of gas
  U256 tip;
  if (eip1559) {
    absl::StatusOr<U256> suggested = rpc_.MaxPriorityFeePerGas();
    if (suggested.ok()) {
      tip = *suggested;
    } else if (IsTransient(suggested.status())) {
      return suggested.status();
    } else {
      tip = options_.default_priority_fee;  // the node lacks the method
    }
    std::optional<U256> scaled =
        CheckedMul(*head.base_fee_per_gas, U256(options_.base_fee_multiplier));
    std::optional<U256> cap = scaled ? CheckedAdd(*scaled, tip) : std::nullopt;
    if (!cap) return absl::OutOfRangeError("fee computation overflows");
    fee_cap = *cap;
  } else {
    GNR_ASSIGN_OR_RETURN(fee_cap, rpc_.GasPrice());
  }
  if (options_.max_fee_per_gas_cap && fee_cap > *options_.max_fee_per_gas_cap) {
    return absl::FailedPreconditionError(absl::StrCat(
        "fees too high: ", FormatUnits(fee_cap, 9), " gwei per gas exceeds the configured cap of ",
        FormatUnits(*options_.max_fee_per_gas_cap, 9), " gwei"));
  }

  // Gas.
  uint64_t gas_limit = 0;
  if (request.gas_limit) {
    gas_limit = *request.gas_limit;
  } else {
    CallRequest call;
    call.from = address_;
    call.to = request.to;
    call.value = request.value;
    call.data = request.data;
    absl::StatusOr<uint64_t> estimate = rpc_.EstimateGas(call);
    if (!estimate.ok()) {
      // Keep the revert reason up front: "estimating gas: execution reverted: ...".
      if (absl::IsFailedPrecondition(estimate.status())) {
        std::string_view m = StdView(estimate.status().message());
        size_t reason = m.find("execution reverted");
        absl::Status s(
            absl::StatusCode::kFailedPrecondition,
            absl::StrCat("estimating gas: ",
                         AbslView(reason == std::string_view::npos ? m : m.substr(reason))));
        estimate.status().ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
          s.SetPayload(url, payload);  // keeps the raw revert data (RevertDataOf)
        });
        return s;
      }
      return Annotate(estimate.status(), "estimating gas");
    }
    gas_limit = *estimate + *estimate * options_.gas_margin_percent / 100;
    gas_limit = std::max(gas_limit, kMinGasLimit);
    if (head.gas_limit != 0) gas_limit = std::min(gas_limit, head.gas_limit);
  }

  UnsignedTransaction tx;
  if (eip1559) {
    Eip1559Transaction t;
    t.chain_id = chain_id_;
    t.nonce = nonce;
    t.max_priority_fee_per_gas = tip;
    t.max_fee_per_gas = fee_cap;
    t.gas_limit = gas_limit;
    t.to = request.to;
    t.value = request.value;
    t.data = request.data;
    tx = std::move(t);
  } else {
    LegacyTransaction t;
    t.chain_id = chain_id_;
    t.nonce = nonce;
    t.gas_price = fee_cap;
    t.gas_limit = gas_limit;
    t.to = request.to;
    t.value = request.value;
    t.data = request.data;
    tx = std::move(t);
  }

  if (options_.check_balance) {
    std::optional<U256> max_cost = TxMaxCost(tx);
    if (!max_cost) return absl::OutOfRangeError("transaction cost overflows 256 bits");
    GNR_ASSIGN_OR_RETURN(U256 balance, rpc_.GetBalance(address_, BlockRef::Latest()));
    if (balance < *max_cost) {
      return absl::FailedPreconditionError(absl::StrCat(
          "insufficient balance: ", crypto::EthAddressToChecksumHex(address_), " has ",
          Eth(balance), ", the transaction may cost up to ", Eth(*max_cost), " (", gas_limit,
          " gas at ", FormatUnits(fee_cap, 9), " gwei plus a value of ", Eth(request.value), ")"));
    }
  }
  return SignTransaction(tx, key_);
}

absl::StatusOr<SignedTransaction> TxSender::Prepare(const TxRequest& request) {
  GNR_ASSIGN_OR_RETURN(uint64_t nonce, nonces_.Next(address_));
  absl::StatusOr<SignedTransaction> tx = Build(request, nonce);
  if (!tx.ok()) nonces_.Release(address_, nonce);
  return tx;
}

absl::StatusOr<Hash256> TxSender::SubmitSigned(const SignedTransaction& tx) {
  const Hash256 hash = tx.Hash();
  absl::StatusOr<Hash256> sent = rpc_.SendRawTransaction(tx.Encode());
  if (sent.ok()) {
    if (*sent != hash) {
      return absl::DataLossError(absl::StrCat(
          "eth_sendRawTransaction on ", rpc_.client().endpoint(), ": the node reports hash ",
          HexEncode0x(*sent), " for transaction ", HexEncode0x(hash)));
    }
    return hash;
  }
  // Some chains answer with an error although the transaction was accepted (or mined):
  // believe the chain, not the error.
  absl::StatusOr<std::optional<RpcTransaction>> known = rpc_.GetTransactionByHash(hash);
  if (known.ok() && known->has_value()) {
    GNR_LOG(kWarning) << "eth_sendRawTransaction reported an error for " << HexEncode0x(hash)
                      << " but the node knows the transaction: " << sent.status().message();
    return hash;
  }
  if (MessageContains(sent.status(), "already known")) return hash;
  return sent.status();
}

absl::StatusOr<Hash256> TxSender::Send(const TxRequest& request) {
  for (int attempt = 0;; ++attempt) {
    GNR_ASSIGN_OR_RETURN(uint64_t nonce, nonces_.Next(address_));
    absl::StatusOr<SignedTransaction> tx = Build(request, nonce);
    if (!tx.ok()) {
      nonces_.Release(address_, nonce);
      return tx.status();
    }
    absl::StatusOr<Hash256> hash = SubmitSigned(*tx);
    if (hash.ok()) return hash;
    if (IsTransient(hash.status())) {
      // The node may or may not have it: never reuse this nonce blindly.
      nonces_.Resync(address_);
      return hash.status();
    }
    if (attempt == 0 && (MessageContains(hash.status(), "nonce too low") ||
                         MessageContains(hash.status(), "nonce has already been used"))) {
      // Another process used this wallet: read the chain's count and try once more.
      nonces_.Resync(address_);
      continue;
    }
    nonces_.Release(address_, nonce);
    return hash.status();
  }
}

absl::StatusOr<RpcReceipt> TxSender::WaitForReceipt(const Hash256& tx_hash,
                                                    absl::Duration timeout) {
  const absl::Time deadline = clock_.Now() + timeout;
  while (true) {
    absl::StatusOr<std::optional<RpcReceipt>> r = rpc_.GetTransactionReceipt(tx_hash);
    if (r.ok() && r->has_value()) return **r;
    if (!r.ok() && !IsTransient(r.status())) return r.status();
    if (clock_.Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "transaction ", HexEncode0x(tx_hash), " not mined after ", absl::FormatDuration(timeout),
          " (is the chain producing blocks? is the fee too low?)"));
    }
    sleep_(options_.poll_interval);
  }
}

absl::Status TxSender::RevertError(const RpcReceipt& receipt, const TxRequest& request) {
  std::string reason = "execution reverted (reason unavailable)";
  if (receipt.block_number > 0) {
    // Replay the call on the state before the block: the usual way to recover the reason.
    CallRequest call;
    call.from = address_;
    call.to = request.to;
    call.value = request.value;
    call.data = request.data;
    call.gas = receipt.gas_used;
    absl::StatusOr<Bytes> replay = rpc_.Call(call, BlockRef::Number(receipt.block_number - 1));
    if (absl::IsFailedPrecondition(replay.status())) {
      std::string_view m = StdView(replay.status().message());
      size_t at = m.find("execution reverted");
      reason = std::string(at == std::string_view::npos ? m : m.substr(at));
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("transaction ", HexEncode0x(receipt.transaction_hash), " reverted in block ",
                   receipt.block_number, ": ", reason));
}

absl::StatusOr<RpcReceipt> TxSender::SendAndWait(const TxRequest& request) {
  GNR_ASSIGN_OR_RETURN(Hash256 hash, Send(request));
  GNR_ASSIGN_OR_RETURN(RpcReceipt receipt, WaitForReceipt(hash, options_.receipt_timeout));
  if (!receipt.succeeded()) return RevertError(receipt, request);
  return receipt;
}

}  // namespace gnr::chain
