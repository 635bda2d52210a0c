#pragma once
// secp256k1 keys, recoverable ECDSA signatures, Ethereum addresses and node ids.
//
// Wallet keys, node keys and every signature in gnrfs (contact records, PUT_SHARD payer
// signatures, chain transactions) go through this header. It wraps libsecp256k1; no other
// module sees that library.
//
// Thread-safety: every function and const method is thread-safe. One process-wide
// libsecp256k1 context is created (and randomized against side channels) on first use.
//
//   PrivateKey key = PrivateKey::Generate(OsRandom());
//   RecoverableSignature sig = key.Sign(Keccak256(message));
//   absl::StatusOr<PublicKey> signer = RecoverPublicKey(Keccak256(message), sig);
//   EthAddress who = EthereumAddress(*signer);  // == EthereumAddress(key.GetPublicKey())

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace gnr::crypto {

// An ECDSA signature with its recovery id: enough to recover the signer's public key.
// A plain aggregate: values built by hand are validated where they are used
// (RecoverPublicKey, VerifySignature), values from FromBytes are validated there.
struct RecoverableSignature {
  FixedBytes<32> r{};
  FixedBytes<32> s{};
  uint8_t recovery_id = 0;  // 0 or 1 (y parity of R; ids 2/3 never occur in practice)

  // r || s || v, 65 bytes, with v = recovery_id (0/1). Ethereum's legacy v = 27/28 or the
  // EIP-155 value is the caller's business.
  FixedBytes<65> ToBytes() const;

  // Parses r || s || v. InvalidArgument unless the size is 65, v is 0, 1, 27 or 28 (27/28
  // are mapped to 0/1), and r and s are both in [1, n-1]. High s is accepted here (it is
  // recoverable), but VerifySignature rejects it.
  static absl::StatusOr<RecoverableSignature> FromBytes(ByteView b);

  friend bool operator==(const RecoverableSignature&, const RecoverableSignature&) = default;
};

// A point on secp256k1 (never the point at infinity). Immutable value type; cheap to copy.
class PublicKey {
 public:
  // Parses SEC1 encodings: 33-byte compressed (0x02/0x03 || X) or 65-byte uncompressed
  // (0x04 || X || Y). InvalidArgument on any other size, prefix, or a point not on the curve.
  static absl::StatusOr<PublicKey> Parse(ByteView sec1);

  FixedBytes<33> Compressed() const;
  // 0x04 || X || Y. Ethereum uses the 64 bytes after the 0x04 prefix.
  FixedBytes<65> Uncompressed() const { return uncompressed_; }

  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.uncompressed_ == b.uncompressed_;
  }

 private:
  explicit PublicKey(const FixedBytes<65>& uncompressed) : uncompressed_(uncompressed) {}
  friend class PrivateKey;
  friend absl::StatusOr<PublicKey> RecoverPublicKey(const Hash256& digest,
                                                    const RecoverableSignature& sig);

  FixedBytes<65> uncompressed_;
};

// A secret scalar in [1, n-1]. Copyable (each copy wipes its own secret on destruction).
class PrivateKey {
 public:
  // Draws a uniformly random valid scalar from `rng` (rejection sampling).
  static PrivateKey Generate(Random& rng);
  // 32 big-endian bytes. InvalidArgument on another size, zero, or a value >= n.
  static absl::StatusOr<PrivateKey> FromBytes(ByteView b);

  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  ~PrivateKey();

  // The secret itself; handle with care (do not log it).
  const FixedBytes<32>& bytes() const { return secret_; }
  PublicKey GetPublicKey() const;
  // Deterministic (RFC 6979) ECDSA over a 32-byte digest; always low-s (BIP 62 / EIP-2).
  // The caller chooses the hash (Keccak-256 for Ethereum, SHA-256 elsewhere).
  RecoverableSignature Sign(const Hash256& digest) const;

 private:
  explicit PrivateKey(const FixedBytes<32>& secret) : secret_(secret) {}
  FixedBytes<32> secret_;
};

// Recovers the public key that produced `sig` over `digest`. InvalidArgument when r or s is
// out of range or recovery_id is not 0/1; InvalidArgument when no key matches (the
// signature is invalid for any key). A different digest recovers a different key, so the
// caller must compare the result against the expected key/address.
absl::StatusOr<PublicKey> RecoverPublicKey(const Hash256& digest, const RecoverableSignature& sig);

// True iff `sig` is a valid low-s ECDSA signature of `digest` by `key`. The recovery id is
// not consulted. High-s signatures are rejected (malleability).
bool VerifySignature(const PublicKey& key, const Hash256& digest, const RecoverableSignature& sig);

// Ethereum account address: the last 20 bytes of keccak256(X || Y).
using EthAddress = FixedBytes<20>;
EthAddress EthereumAddress(const PublicKey& key);
// EIP-55 mixed-case checksum encoding, "0x" + 40 hex digits.
std::string EthAddressToChecksumHex(const EthAddress& address);
// Parses 40 hex digits with an optional "0x"/"0X" prefix. All-lower or all-upper digits are
// accepted as is; mixed case must match the EIP-55 checksum. InvalidArgument otherwise.
absl::StatusOr<EthAddress> ParseEthAddress(std::string_view text);

// Kademlia node id (160 bits, as Genaro / Storj v2): RIPEMD160(SHA256(compressed key)),
// i.e. Bitcoin's hash160 of the compressed key.
using NodeId = FixedBytes<20>;
NodeId NodeIdOf(const PublicKey& key);

}  // namespace gnr::crypto
