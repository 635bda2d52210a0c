#pragma once
// ShardService: what a shard store implements to be served over the network (net/farmer
// implements it on disk; net/shard/testing/memory_shard_service.h in memory).
//
// The ShardServer (net/shard/shard_server.h) does everything protocol-related before a call
// reaches the service: it decodes and validates the request (sizes, counts, limits), checks
// the payer's signature of PUT_SHARD / DELETE_SHARD (recovering the payer address), refuses
// requests signed for another farmer, too old / in the future, or replayed, and checks that a
// PUT's payload has exactly `size` bytes. It then calls the service on one of its worker
// threads and encodes the answer; an error Status goes back to the client with its code and
// message, so messages must say what is wrong, e.g.
//   ResourceExhausted "farmer full: capacity 1 GiB, used 1023 MiB, shard 16 MiB"
//   NotFound          "no shard 3f2a...: never stored or deleted"
//   PermissionDenied  "shard 3f2a... was stored by payer 0xAb..; delete signed by 0x12.."
//
// What the service itself must do:
//   - Put: verify that `data` hashes to `merkle_root` (MerkleTree over leaf_size leaves of
//     merkle_kind) before acknowledging (hash once, fused with the write), enforce capacity,
//     admit the bucket/payer (payment checks), make the shard durable, then return. Putting
//     a shard that is already stored with the same root is idempotent (already_stored).
//     The same shard id with a different root: AlreadyExists.
//   - Never serve half-written data; answer reads and challenges from what is durable.
//
// Threading: every method may block (disk I/O, fsync) and is called concurrently from the
// server's worker threads (never from the network event loop), so implementations must be
// thread-safe. The service must outlive the ShardServer.
//
// Errors the server maps itself (the service need not check): malformed requests
// (InvalidArgument), bad or replayed signatures (Unauthenticated), oversized frames.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "net/shard/types.h"
#include "net/zmq/shared_bytes.h"
#include "net/zmq/transport.h"

namespace gnr::shard {

// Who sent a request: the CURVE-authenticated client key and remote IP (net_zmq::PeerInfo).
// Informational for the service (logging, per-client accounting).
using Caller = net_zmq::PeerInfo;

// A PUT_SHARD whose payer signature has been verified.
struct PutShardCall {
  Bytes bucket_id = {};  // 1..kMaxBucketIdSize bytes
  ShardId shard_id{};
  uint64_t size = 0;  // == data.size(), 1..kMaxShardSize
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = 0;  // kMinLeafSize..kMaxLeafSize
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  // The verified signer and the signed evidence (keep it to prove who asked for storage).
  PayerAddress payer{};
  Bytes payer_signature = {};  // 65 bytes over PutShardDigest() (net/shard/signing.h)
  absl::Time signed_at = absl::UnixEpoch();
  FixedBytes<16> nonce{};
  // The stored shard bytes, received without copy (owned by the ZeroMQ message). Keep a
  // copy of the SharedBytes to hold on to them; do not modify.
  net_zmq::SharedBytes data = {};
};

struct PutShardAck {
  bool already_stored = false;  // the same shard (same root) was already here
  uint64_t free_bytes = 0;      // free capacity after this put
};

// GET_SHARD: the leaves [first_leaf, first_leaf + leaf_count) of a stored shard.
struct GetRangeCall {
  ShardId shard_id{};
  Bytes bucket_id = {};  // the bucket the reader pays traffic from (may be checked by the service)
  uint64_t first_leaf = 0;
  uint64_t leaf_count = 0;  // >= 1
};

struct GetRangeResult {
  // The leaf bytes, concatenated: every leaf is leaf_size bytes except the shard's last.
  // Sent zero-copy as the reply payload; at most kMaxShardSize bytes.
  net_zmq::SharedBytes leaves = {};
  // crypto::MerkleTree::ProveRange(first_leaf, leaf_count) of the shard's tree.
  crypto::MerkleRangeProof proof = {};
};

// CHALLENGE_SENTINELS: the 32 bytes at each stored offset (codec::AnswerSentinelChallenge).
struct SentinelChallengeCall {
  ShardId shard_id{};
  std::vector<uint64_t> offsets = {};  // 1..kMaxChallengeOffsets, any order
};

// CHALLENGE_MERKLE: one leaf and its proof (the Sia rule).
struct MerkleChallengeCall {
  ShardId shard_id{};
  uint64_t leaf_index = 0;
};
struct MerkleChallengeResult {
  Bytes leaf = {};  // leaf_size bytes (the last leaf may be shorter)
  crypto::MerkleProof proof = {};
};

// DELETE_SHARD whose signature has been verified: only the payer who stored the shard may
// delete it (PermissionDenied otherwise; NotFound if absent).
struct DeleteShardCall {
  ShardId shard_id{};
  Bytes bucket_id = {};
  PayerAddress payer{};
  Bytes payer_signature = {};
  absl::Time signed_at = absl::UnixEpoch();
  FixedBytes<16> nonce{};
};

class ShardService {
 public:
  virtual ~ShardService() = default;

  // Stores a shard durably, then acknowledges. Errors: ResourceExhausted when full (say
  // capacity, used and shard size), FailedPrecondition when not accepting (pausing) or the
  // bucket is not admitted, DataLoss when data does not hash to merkle_root, AlreadyExists
  // for the same id with another root, Internal/Unavailable for local I/O failures.
  virtual absl::StatusOr<PutShardAck> Put(const Caller& caller, const PutShardCall& call) = 0;

  // Reads leaves with their range proof. NotFound for an unknown shard; OutOfRange if the
  // leaves are not inside the shard.
  virtual absl::StatusOr<GetRangeResult> GetRange(const Caller& caller,
                                                  const GetRangeCall& call) = 0;

  // NotFound for an unknown shard; OutOfRange if an offset + 32 runs past the shard.
  virtual absl::StatusOr<std::vector<crypto::Hash256>> ChallengeSentinels(
      const Caller& caller, const SentinelChallengeCall& call) = 0;

  // NotFound for an unknown shard; OutOfRange if leaf_index >= leaf count.
  virtual absl::StatusOr<MerkleChallengeResult> ChallengeMerkle(
      const Caller& caller, const MerkleChallengeCall& call) = 0;

  // Removes a shard (see DeleteShardCall). Deleting frees its capacity.
  virtual absl::Status Delete(const Caller& caller, const DeleteShardCall& call) = 0;

  // What is known about one shard; NotFound if absent.
  virtual absl::StatusOr<ShardInfo> StatShard(const Caller& caller, const ShardId& shard_id) = 0;

  // Capacity, usage and whether new shards are accepted.
  virtual absl::StatusOr<NodeStatus> StatNode(const Caller& caller) = 0;
};

}  // namespace gnr::shard
