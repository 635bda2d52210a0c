#pragma once
// CurveZMQ key pairs (Curve25519, as used by the CURVE security mechanism of ZeroMQ).
//
// Every node has one CURVE key pair for transport encryption. The public key is published in
// the node's contact record, which is signed by its secp256k1 node key (DESIGN.md section 2);
// that signature, checked above this layer, is what binds a curve key to a node id. The
// transport only guarantees that a peer holds the secret of the curve key it presents.
//
// The secret key must stay in memory only (or be derived again from the node key); it is
// never logged.

#include <string>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/random.h"

namespace gnr::net_zmq {

// A raw 32-byte Curve25519 key (not Z85 text).
using CurveKey = FixedBytes<32>;

struct CurveKeyPair {
  CurveKey public_key{};
  CurveKey secret_key{};
};

// Derives the public key of `secret_key` (X25519 base-point multiplication; any 32 bytes are
// a valid secret). Deterministic, so a node can derive its transport key from its own secret
// material. Fails only if libzmq was built without CURVE support.
absl::StatusOr<CurveKeyPair> CurveKeyPairFromSecret(const CurveKey& secret_key);

// A fresh key pair whose secret comes from `random` (pass crypto::OsRandom() in production).
absl::StatusOr<CurveKeyPair> GenerateCurveKeyPair(crypto::Random& random);

// True if the linked libzmq supports the CURVE mechanism.
bool CurveSupported();

// Short printable form of a public key for logs: the first 8 hex digits.
std::string ShortKey(const CurveKey& public_key);

}  // namespace gnr::net_zmq
