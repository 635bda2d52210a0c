#pragma once
// Ethereum transactions: legacy (with EIP-155 replay protection) and EIP-1559 (type 2).
// Building, signing-hash computation, signing, raw encoding, hashing, and decoding of raw
// signed transactions with sender recovery.
//
//   Eip1559Transaction tx{.chain_id = 31337, .nonce = 0, .max_priority_fee_per_gas = tip,
//                         .max_fee_per_gas = cap, .gas_limit = 21000, .to = bob,
//                         .value = one_ether};
//   SignedTransaction signed_tx = SignTransaction(tx, wallet_key);
//   rpc.SendRawTransaction(signed_tx.Encode());  // signed_tx.Hash() is the tx hash
//
// Formats: EIP-155 (legacy signing over [nonce, gasPrice, gas, to, value, data, chainId, 0, 0],
// v = chainId * 2 + 35 + yParity), EIP-2718 typed envelopes, EIP-1559 (type 2 payload
// [chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList,
// yParity, r, s]), EIP-2930 access lists. r and s are RLP integers: leading zeros stripped.
//
// All functions are pure and thread-safe. Decoding is for untrusted bytes.

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/u256.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"

namespace gnr::chain {

using crypto::EthAddress;
using crypto::Hash256;

struct AccessListEntry {
  EthAddress address{};
  std::vector<Hash256> storage_keys;
  friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};

// A pre-EIP-2718 transaction. With `chain_id` set it is signed per EIP-155; without, it is a
// replay-unprotected (v = 27/28) transaction, accepted for decoding but not recommended.
struct LegacyTransaction {
  uint64_t nonce = 0;
  U256 gas_price;
  uint64_t gas_limit = 0;
  std::optional<EthAddress> to;  // nullopt: contract creation
  U256 value;
  Bytes data;
  std::optional<uint64_t> chain_id;
  friend bool operator==(const LegacyTransaction&, const LegacyTransaction&) = default;
};

// EIP-1559 fee-market transaction (EIP-2718 type 0x02).
struct Eip1559Transaction {
  uint64_t chain_id = 0;
  uint64_t nonce = 0;
  U256 max_priority_fee_per_gas;
  U256 max_fee_per_gas;
  uint64_t gas_limit = 0;
  std::optional<EthAddress> to;  // nullopt: contract creation
  U256 value;
  Bytes data;
  std::vector<AccessListEntry> access_list;
  friend bool operator==(const Eip1559Transaction&, const Eip1559Transaction&) = default;
};

using UnsignedTransaction = std::variant<LegacyTransaction, Eip1559Transaction>;

inline constexpr uint8_t kEip1559TxType = 0x02;

// Common field accessors.
uint64_t TxNonce(const UnsignedTransaction& tx);
uint64_t TxGasLimit(const UnsignedTransaction& tx);
std::optional<uint64_t> TxChainId(const UnsignedTransaction& tx);
// The most the sender can pay: gas_limit * (gas_price or max_fee_per_gas) + value; nullopt
// on overflow.
std::optional<U256> TxMaxCost(const UnsignedTransaction& tx);

// The hash the sender signs.
Hash256 SigningHash(const UnsignedTransaction& tx);

// A transaction with its signature.
struct SignedTransaction {
  UnsignedTransaction tx;
  uint8_t y_parity = 0;  // 0/1
  U256 r;
  U256 s;

  // Legacy v: 27 + y_parity without a chain id, chain_id * 2 + 35 + y_parity with one.
  // For typed transactions, y_parity.
  U256 V() const;
  // The raw transaction as sent with eth_sendRawTransaction: RLP for legacy, type byte ||
  // RLP for typed transactions.
  Bytes Encode() const;
  // keccak256(Encode()), the transaction hash.
  Hash256 Hash() const;
  friend bool operator==(const SignedTransaction&, const SignedTransaction&) = default;
};

// Signs with RFC 6979 deterministic ECDSA (low s): the same inputs give the same bytes.
SignedTransaction SignTransaction(const UnsignedTransaction& tx, const crypto::PrivateKey& key);

// Decodes a raw signed transaction (legacy or type 2). InvalidArgument on malformed or
// non-canonical encodings (including a legacy v that is neither 27/28 nor >= 35, a `to`
// that is not 0 or 20 bytes, trailing bytes); Unimplemented for other transaction types
// (0x01, 0x03, ...), naming the type.
absl::StatusOr<SignedTransaction> DecodeSignedTransaction(ByteView raw);

// Recovers the sender's address from the signature. InvalidArgument if the signature is
// invalid: r or s zero or >= the curve order, or s > n/2 (EIP-2 forbids high s).
absl::StatusOr<EthAddress> RecoverSender(const SignedTransaction& signed_tx);

}  // namespace gnr::chain
