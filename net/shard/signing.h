#pragma once
// Payer signatures of PUT_SHARD and DELETE_SHARD (DESIGN.md section 5) and their replay
// protection.
//
// The payer (the wallet that owns the bucket) signs, with its secp256k1 key, SHA-256 of a
// canonical encoding that binds the request to one farmer, one moment and one nonce:
//
//   put:    "gnr/shard/put/v1" (16 bytes) || farmer node id[20] || u8 len || bucket id
//           || shard id[32] || be64 size || merkle root[32] || be32 leaf_size
//           || u8 merkle kind || be64 signed_at (Unix microseconds) || nonce[16]
//   delete: "gnr/shard/del/v1" (16 bytes) || farmer node id[20] || u8 len || bucket id
//           || shard id[32] || be64 signed_at || nonce[16]
//
// The signature is the 65-byte recoverable form (r || s || v); the farmer recovers the
// payer's address from it. A request is accepted only if
//   - it is signed for this farmer's node id (a request captured at one farmer cannot be
//     replayed at another),
//   - |now - signed_at| <= window (default 10 minutes), and
//   - its (payer, nonce) was not seen within the window (ReplayGuard).
// So a captured DELETE cannot be replayed later (say, after the shard was stored again).
//
// Thread-safety: free functions are thread-safe; ReplayGuard is thread-safe;
// PrivateKeySigner is immutable.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/secp256k1.h"
#include "net/shard/types.h"

namespace gnr::shard {

inline constexpr size_t kNonceSize = wire::kNonceSize;
using Nonce = wire::Nonce;

// The fields of a PUT_SHARD the payer signs.
struct PutShardSigned {
  NodeId farmer;
  ByteView bucket_id;
  ShardId shard_id{};
  uint64_t size = 0;
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = 0;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  absl::Time signed_at = absl::UnixEpoch();
  Nonce nonce{};
};
struct DeleteShardSigned {
  NodeId farmer;
  ByteView bucket_id;
  ShardId shard_id{};
  absl::Time signed_at = absl::UnixEpoch();
  Nonce nonce{};
};

// The digests above. InvalidArgument if the bucket id is empty or longer than 255 bytes.
absl::StatusOr<crypto::Hash256> PutShardDigest(const PutShardSigned& fields);
absl::StatusOr<crypto::Hash256> DeleteShardDigest(const DeleteShardSigned& fields);

// Recovers the payer address from a 65-byte signature over `digest`. Unauthenticated with
// the reason if the signature is malformed or invalid.
absl::StatusOr<PayerAddress> RecoverPayer(const crypto::Hash256& digest, ByteView signature);

// Signs request digests with the payer's wallet key. Implementations must be thread-safe.
class PayerSigner {
 public:
  virtual ~PayerSigner() = default;
  virtual PayerAddress address() const = 0;
  // The 65-byte recoverable signature (r || s || v, v in {0, 1}) over `digest`.
  virtual absl::StatusOr<Bytes> Sign(const crypto::Hash256& digest) const = 0;
};

// A PayerSigner holding the private key in memory.
class PrivateKeySigner final : public PayerSigner {
 public:
  explicit PrivateKeySigner(crypto::PrivateKey key);
  PayerAddress address() const override { return address_; }
  absl::StatusOr<Bytes> Sign(const crypto::Hash256& digest) const override;

 private:
  crypto::PrivateKey key_;
  PayerAddress address_;
};

// Remembers the (payer, nonce) pairs of accepted signed requests for as long as their
// timestamp is inside the window, and refuses requests outside the window or seen before.
class ReplayGuard {
 public:
  // window: how far signed_at may be from now, either way. max_entries bounds memory; when
  // full, requests are refused with ResourceExhausted until old entries expire.
  explicit ReplayGuard(absl::Duration window = absl::Minutes(10), size_t max_entries = 1 << 20);

  // OK and remembers the pair, or: OutOfRange "request signed at ... is outside the
  // +-10m window (now ...)", Unauthenticated "replayed request: nonce ... of payer 0x..
  // already seen", ResourceExhausted when full.
  absl::Status Check(const PayerAddress& payer, const Nonce& nonce, absl::Time signed_at,
                     absl::Time now);

  absl::Duration window() const { return window_; }
  size_t size() const;

 private:
  struct KeyHash;
  void ExpireLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration window_;
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  // (payer || nonce) -> when the entry may be forgotten (signed_at + window).
  absl::flat_hash_map<FixedBytes<20 + kNonceSize>, absl::Time> seen_ ABSL_GUARDED_BY(mu_);
  absl::Time next_expiry_scan_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace gnr::shard
