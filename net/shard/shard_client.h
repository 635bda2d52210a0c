#pragma once
// ShardClient: the client side of the shard protocol (DESIGN.md section 5) to one farmer at
// a time: PUT_SHARD, GET_SHARD (leaf range + Merkle range proof), CHALLENGE_SENTINELS,
// CHALLENGE_MERKLE, DELETE_SHARD, STAT. Farmer selection through the DHT and parallel puts
// with spares are in net/shard/placement.h.
//
// Every operation is asynchronous: it returns at once and calls `done` exactly once, on the
// transport's event-loop thread (so `done` must not block; hand work to another thread), or
// on the calling thread before returning when the request is refused before being sent
// (invalid arguments, signing failure, transport stopped). The *Sync variants block the
// calling thread (never call them from the loop thread: a handler or a callback).
//
// Replies are untrusted and are decoded and checked here (shapes, sizes, the proof matches
// the leaves asked for); checking the Merkle proofs against the root is the caller's call
// (VerifyRangeReply / VerifyMerkleChallengeReply below), because the root lives in the
// caller's catalog.
//
// Every finished operation is reported to the FarmerLatency table (and the optional
// observer) with its latency and status, for farmer ranking.
//
// Thread-safety: all methods are thread-safe. The transport, signer, clock and random
// passed in the options must outlive the client; the client may be destroyed with requests
// in flight (their callbacks still run, from the transport).
//
//   ShardClient client({.transport = &transport, .signer = &wallet_signer});
//   absl::StatusOr<PutShardAck> ack = client.PutSync(farmer, {.bucket_id = bucket,
//       .shard_id = id, .merkle_root = root, .leaf_size = 65536, .data = SharedBytes(shard)});

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "net/kademlia/contact.h"
#include "net/shard/shard_service.h"
#include "net/shard/signing.h"
#include "net/shard/types.h"
#include "net/zmq/shared_bytes.h"
#include "net/zmq/transport.h"

namespace gnr::shard {

// How to reach a farmer: node id, endpoint and CURVE server key, all from its signed contact
// record (net/node resolves a node id to one).
using FarmerAddress = kademlia::Contact;

template <typename T>
using Callback = absl::AnyInvocable<void(absl::StatusOr<T>)>;
using StatusCallback = absl::AnyInvocable<void(absl::Status)>;

enum class ShardOp : uint8_t { kPut, kGet, kSentinels, kMerkle, kDelete, kStat };
std::string_view ShardOpName(ShardOp op);

// Per-farmer record of finished operations (for ranking farmers and `gnr status`).
struct FarmerLatency {
  uint64_t ok = 0;
  uint64_t failed = 0;
  absl::Duration last = absl::ZeroDuration();
  absl::Duration ewma = absl::ZeroDuration();  // exponentially weighted (alpha 0.2), successes
  absl::Status last_error = absl::OkStatus();
  absl::Time last_seen = absl::InfinitePast();  // last success
  // Transport-level failures (no answer in time, unreachable) since the last answer of any
  // kind, and when the last one happened: what Unreachable() looks at.
  uint32_t unanswered_in_a_row = 0;
  absl::Time last_unanswered = absl::InfinitePast();
};

// True for a status that means "the farmer did not answer in time" (DeadlineExceeded: the
// transport's timeout; a farmer's own error answers carry other codes and mean it is there).
bool IsUnanswered(const absl::Status& status);

using LatencyObserver = std::function<void(const NodeId& farmer, ShardOp op, absl::Duration latency,
                                           const absl::Status& result)>;

struct ShardClientOptions {
  net_zmq::Transport* transport = nullptr;  // required
  const PayerSigner* signer = nullptr;      // required for Put and Delete
  Clock* clock = nullptr;                   // null: system clock (signing timestamps, latency)
  crypto::Random* random = nullptr;         // null: OsRandom() (nonces)
  // A farmer that did not answer (IsUnanswered) is considered unreachable for this long
  // after its last unanswered request: Unreachable() says so, farmer selection skips it
  // and readers go to another shard at once instead of waiting for a timeout per request.
  // Requests to it are still sent when asked (they are the probes that clear the mark).
  absl::Duration unreachable_for = absl::Seconds(30);
  // Small requests (STAT, challenges, DELETE).
  absl::Duration request_timeout = absl::Seconds(10);
  // PUT/GET: transfer_timeout + bytes / min_transfer_rate (bytes per second).
  absl::Duration transfer_timeout = absl::Seconds(10);
  double min_transfer_rate = 4 << 20;
  // Called after every finished operation (on the loop thread or the caller's; must not
  // block).
  LatencyObserver observer = nullptr;
};

struct PutShardArgs {
  Bytes bucket_id = {};
  ShardId shard_id{};
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = crypto::kDefaultMerkleLeafSize;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  net_zmq::SharedBytes data = {};  // the stored shard; sent zero-copy, kept alive until sent
};

struct GetRangeArgs {
  ShardId shard_id{};
  Bytes bucket_id = {};
  uint64_t first_leaf = 0;
  uint64_t leaf_count = 1;
};

// The leaves of a GET_SHARD (untrusted until VerifyRangeReply).
struct GetRangeReply {
  net_zmq::SharedBytes leaves = {};  // received without copy
  crypto::MerkleRangeProof proof = {};
};

class ShardClient {
 public:
  explicit ShardClient(ShardClientOptions options);
  ~ShardClient();
  ShardClient(const ShardClient&) = delete;
  ShardClient& operator=(const ShardClient&) = delete;

  // PUT_SHARD, signed by the payer for `farmer.id` with a fresh timestamp and nonce.
  void Put(const FarmerAddress& farmer, PutShardArgs args, Callback<PutShardAck> done);
  // GET_SHARD. The reply has exactly leaf_count leaves' worth of proof and at most
  // leaf_count * leaf_size bytes (checked here); InvalidArgument if leaf_count is 0.
  void GetRange(const FarmerAddress& farmer, GetRangeArgs args, Callback<GetRangeReply> done);
  // CHALLENGE_SENTINELS: one 32-byte value per offset, same order.
  void ChallengeSentinels(const FarmerAddress& farmer, const ShardId& shard_id,
                          std::vector<uint64_t> offsets,
                          Callback<std::vector<crypto::Hash256>> done);
  // CHALLENGE_MERKLE: the leaf and its proof (proof.leaf_index checked == leaf_index).
  void ChallengeMerkle(const FarmerAddress& farmer, const ShardId& shard_id, uint64_t leaf_index,
                       Callback<MerkleChallengeResult> done);
  // DELETE_SHARD, signed by the payer.
  void Delete(const FarmerAddress& farmer, const ShardId& shard_id, ByteView bucket_id,
              StatusCallback done);
  // STAT of one shard / of the farmer.
  void StatShard(const FarmerAddress& farmer, const ShardId& shard_id, Callback<ShardInfo> done);
  void StatNode(const FarmerAddress& farmer, Callback<NodeStatus> done);

  // Blocking forms (not from the loop thread).
  absl::StatusOr<PutShardAck> PutSync(const FarmerAddress& farmer, PutShardArgs args);
  absl::StatusOr<GetRangeReply> GetRangeSync(const FarmerAddress& farmer, GetRangeArgs args);
  absl::StatusOr<std::vector<crypto::Hash256>> ChallengeSentinelsSync(
      const FarmerAddress& farmer, const ShardId& shard_id, std::vector<uint64_t> offsets);
  absl::StatusOr<MerkleChallengeResult> ChallengeMerkleSync(const FarmerAddress& farmer,
                                                            const ShardId& shard_id,
                                                            uint64_t leaf_index);
  absl::Status DeleteSync(const FarmerAddress& farmer, const ShardId& shard_id, ByteView bucket_id);
  absl::StatusOr<ShardInfo> StatShardSync(const FarmerAddress& farmer, const ShardId& shard_id);
  absl::StatusOr<NodeStatus> StatNodeSync(const FarmerAddress& farmer);

  // Did `farmer` recently fail to answer (within options.unreachable_for of its last
  // unanswered request, with no answer since)? False for farmers never contacted.
  bool Unreachable(const NodeId& farmer) const;

  // What this client measured for a farmer (nullopt if never contacted).
  std::optional<FarmerLatency> Latency(const NodeId& farmer) const;
  absl::flat_hash_map<NodeId, FarmerLatency> AllLatencies() const;

  net_zmq::Transport& transport() const { return *options_.transport; }

 private:
  struct Pending;
  void Send(const FarmerAddress& farmer, ShardOp op, Bytes header, net_zmq::SharedBytes payload,
            absl::Duration timeout,
            absl::AnyInvocable<void(absl::StatusOr<net_zmq::Message>)> on_reply);
  absl::Duration TransferTimeout(uint64_t bytes) const;

  // Shared with in-flight callbacks, so that a reply arriving after the client is gone is
  // harmless.
  struct Stats {
    Clock* clock = nullptr;
    LatencyObserver observer = nullptr;
    absl::Mutex mu;
    absl::flat_hash_map<NodeId, FarmerLatency> latency ABSL_GUARDED_BY(mu);
    void Record(const NodeId& farmer, ShardOp op, absl::Duration latency,
                const absl::Status& status);
  };

  ShardClientOptions options_;
  Clock& clock_;
  crypto::Random& random_;
  std::shared_ptr<Stats> stats_;
};

// Checks a GET_SHARD reply for `args` against the shard's root: the proof covers exactly the
// requested leaves of a tree of MerkleLeafCount(shard_size, leaf_size) leaves, the leaf bytes
// have the right total length, and they hash to `root`. DataLoss naming the mismatch.
absl::Status VerifyRangeReply(const GetRangeArgs& args, const GetRangeReply& reply,
                              const crypto::Hash256& root, uint64_t shard_size, uint32_t leaf_size,
                              crypto::MerkleHashKind kind = crypto::MerkleHashKind::kSha256);

// Checks a CHALLENGE_MERKLE answer for leaf `leaf_index` against `root` (leaf length and
// proof). DataLoss naming the mismatch.
absl::Status VerifyMerkleChallengeReply(
    uint64_t leaf_index, const MerkleChallengeResult& reply, const crypto::Hash256& root,
    uint64_t shard_size, uint32_t leaf_size,
    crypto::MerkleHashKind kind = crypto::MerkleHashKind::kSha256);

// Leaves [first, first + count) covering stored bytes [offset, offset + length) of a shard
// with `leaf_size` leaves (length 0 -> count 0).
struct LeafSpan {
  uint64_t first = 0;
  uint64_t count = 0;
};
LeafSpan LeavesCovering(uint64_t offset, uint64_t length, uint32_t leaf_size);

}  // namespace gnr::shard
