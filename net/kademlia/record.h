#pragma once
// Signed DHT records: what STORE carries and FIND_VALUE returns.
//
// Three kinds, each owned by a secp256k1 key and signed with a recoverable signature:
//   - ContactRecord   a node's curve key and endpoints, signed by the node key;
//                     key = the node id itself.
//   - CapacityRecord  a farmer's announced capacity, signed by the node key;
//                     key = H("gnr/dht/capacity" || node id).
//   - MutableRecord   a value owned by a public key under a name, with a sequence number
//                     (e.g. the catalog backup pointer); key = H(public key || name).
// where H(x) is the first 20 bytes of SHA-256(x).
//
// Signature: the 65-byte recoverable secp256k1 signature (r || s || v, crypto/secp256k1.h)
// over SHA-256(CanonicalEncoding(record)). The verifier recovers the signer's public key
// and checks that its node id (RIPEMD160(SHA256(compressed key))) is the record's node id,
// or for a mutable record that it is the record's public key.
//
// Canonical encoding (all integers big-endian, time = signed 64-bit Unix microseconds):
//   "gnr/dht/record/v1" (17 ASCII bytes) || u8 kind || body
//   contact  (kind 1): node_id[20] || curve_key[32] || u32 version || i64 time
//                      || u8 n || n x (u8 len || endpoint bytes)
//   capacity (kind 2): node_id[20] || u64 capacity_bytes || u64 free_bytes || i64 time
//   mutable  (kind 3): public_key[33] || u8 len || name || u64 seq || i64 time
//                      || u32 len || value
// Wire codecs must carry `time` with microsecond precision (or coarser) so that the
// canonical bytes, and thus the signature, survive a round trip.
//
// Validity: a record is valid from its `time` (up to `max_clock_skew` in the future) until
// `time + ttl`; the original publisher re-signs and republishes it before then.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "net/kademlia/node_id.h"

namespace gnr::kademlia {

inline constexpr size_t kSignatureSize = 65;
inline constexpr size_t kPublicKeySize = 33;  // compressed SEC1
// Format limits of the canonical encoding (the configurable size limit is smaller).
inline constexpr size_t kMaxEndpoints = 8;
inline constexpr size_t kMaxEndpointLength = 255;
inline constexpr size_t kMaxNameLength = 255;

using PublicKeyBytes = FixedBytes<kPublicKeySize>;

enum class RecordKind : uint8_t { kContact = 1, kCapacity = 2, kMutable = 3 };

struct ContactRecord {
  NodeId node_id;
  FixedBytes<32> curve_key{};
  std::vector<std::string> endpoints;  // at most kMaxEndpoints, each <= 255 bytes
  uint32_t version = 0;                // protocol version the node speaks
  absl::Time time = absl::UnixEpoch();

  friend bool operator==(const ContactRecord&, const ContactRecord&) = default;
};

struct CapacityRecord {
  NodeId node_id;
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  absl::Time time = absl::UnixEpoch();

  friend bool operator==(const CapacityRecord&, const CapacityRecord&) = default;
};

struct MutableRecord {
  PublicKeyBytes public_key{};  // owner, compressed
  std::string name;             // at most kMaxNameLength bytes
  uint64_t seq = 0;             // higher replaces lower
  Bytes value;
  absl::Time time = absl::UnixEpoch();

  friend bool operator==(const MutableRecord&, const MutableRecord&) = default;
};

struct Record {
  std::variant<ContactRecord, CapacityRecord, MutableRecord> body;
  Bytes signature;  // kSignatureSize bytes; empty = unsigned

  RecordKind kind() const { return static_cast<RecordKind>(body.index() + 1); }
  absl::Time time() const;

  friend bool operator==(const Record&, const Record&) = default;
};

std::string_view RecordKindName(RecordKind kind);

// Key derivation (see the file comment).
Key ContactKey(const NodeId& node);
Key CapacityKey(const NodeId& node);
Key MutableKey(const PublicKeyBytes& public_key, std::string_view name);
// The key a record is stored under. Cheap: no signature work.
Key RecordKey(const Record& record);

// The node id of a compressed public key: RIPEMD160(SHA256(key)) (== crypto::NodeIdOf).
NodeId NodeIdOfPublicKey(const PublicKeyBytes& compressed);

// The signed bytes. InvalidArgument if a field exceeds the format limits above.
absl::StatusOr<Bytes> CanonicalEncoding(const Record& record);
// SHA-256 of the canonical encoding: what the owner signs.
absl::StatusOr<crypto::Hash256> RecordDigest(const Record& record);

// Recovers who signed a digest. A small seam so that the DHT simulation can use a cheap fake
// (net/kademlia/testing/fake_authenticator.h); production uses Secp256k1Authenticator.
// Implementations must be thread-safe for const calls.
class RecordAuthenticator {
 public:
  virtual ~RecordAuthenticator() = default;
  // Returns the compressed public key that produced `signature` over `digest`. Any error
  // (malformed or invalid signature) means the record is not authentic.
  virtual absl::StatusOr<PublicKeyBytes> RecoverSigner(const crypto::Hash256& digest,
                                                       ByteView signature) const = 0;
};

struct RecordLimits {
  size_t max_record_size = 2048;  // canonical encoding bytes
  absl::Duration ttl = absl::Hours(26);
  absl::Duration max_clock_skew = absl::Minutes(10);
};

// Checks everything that does not depend on what is already stored. Errors, each with a
// message saying what is wrong:
//   Unauthenticated   unsigned, malformed or invalid signature, or signed by a key that
//                     does not own the record ("forged");
//   InvalidArgument   a field over the format limits or the record over max_record_size;
//   OutOfRange        expired (now >= time + ttl) or time too far in the future.
absl::Status ValidateRecord(const Record& record, absl::Time now, const RecordLimits& limits,
                            const RecordAuthenticator& auth);

// When the record expires (time + ttl).
inline absl::Time RecordExpiry(const Record& record, const RecordLimits& limits) {
  return record.time() + limits.ttl;
}

// How `incoming` relates to `stored` (same key).
//   kNewer  replaces it: a later time (contact, capacity); a higher seq, or the same seq and
//           value re-signed with a later time (mutable).
//   kSame   the same record.
//   kStale  anything else (older, or a different value under an equal or lower seq).
enum class RecordOrder { kNewer, kSame, kStale };
RecordOrder CompareRecords(const Record& stored, const Record& incoming);

// A human-readable reason for a kStale comparison ("seq 3 <= stored seq 5").
std::string StaleReason(const Record& stored, const Record& incoming);

}  // namespace gnr::kademlia
