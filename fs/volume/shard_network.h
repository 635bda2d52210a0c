#pragma once
// ShardNetwork: the Volume's view of the storage network (DESIGN.md sections 1, 3 and 5).
// The production implementation speaks the shard protocol (net/shard: PUT_SHARD, GET_SHARD,
// DELETE_SHARD) to farmers found through the DHT; tests use the in-memory, fault-injecting
// tests/fakes/fake_shard_network.h.
//
// The Volume decides WHICH farmer gets which shard (it asks for candidates, keeps the k+m
// farmers of a segment distinct and retries failed puts on spares); the network only
// carries requests. Every operation is asynchronous: it returns at once and calls its
// callback exactly once, on any thread (possibly inline, before the call returns). Callbacks
// must not block for long; the Volume's callbacks only record the result and signal.
//
// Thread-safety: implementations must accept calls from any thread concurrently.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "fs/codec/decoder.h"
#include "fs/codec/keys.h"

namespace gnr::volume {

// A farmer's node id: RIPEMD160(SHA256(compressed node public key)) (DESIGN.md section 2).
using FarmerId = FixedBytes<20>;

// Where to reach a farmer: its id and a contact hint (e.g. "tcp://10.0.0.7:4100"), which the
// catalog keeps next to each placement so reads need no DHT lookup. The hint may be stale;
// the network may fall back to a lookup by id.
struct FarmerContact {
  FarmerId id{};
  std::string endpoint;

  friend bool operator==(const FarmerContact&, const FarmerContact&) = default;
};

// An immutable, shared buffer: shard bytes are handed to the network without copying and
// kept alive until the last put using them completes.
using SharedBuffer = std::shared_ptr<const Bytes>;

// One stored shard to put on a farmer.
struct PutShardRequest {
  Bytes bucket_id;                // the bucket paying for the space
  codec::ShardId shard_id{};      // placement key of the shard (codec::ComputeShardId)
  SharedBuffer data;              // the stored shard (data with sentinels), non-null
  crypto::Hash256 merkle_root{};  // root of the stored shard (the farmer checks it)
  uint64_t size = 0;              // data->size()
  // The tree the root is over (the farmer rebuilds it to answer range reads and Merkle
  // challenges).
  uint32_t leaf_size = 64 * 1024;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
};

using PutShardCallback = absl::AnyInvocable<void(absl::StatusOr<FarmerContact> acked_by)>;
using GetRangeCallback = absl::AnyInvocable<void(absl::StatusOr<codec::StoredRangeReply> reply)>;
using DoneCallback = absl::AnyInvocable<void(absl::Status status)>;

enum class FarmerOp { kPut, kGet, kDelete };

class ShardNetwork {
 public:
  virtual ~ShardNetwork() = default;

  // Up to `count` distinct live farmers that accept `bucket_id`, best first (closest to
  // `placement_key`, then fastest), none of them in `exclude`. Fewer than `count` when the
  // network knows no more; Unavailable when it knows none. May block (a DHT lookup); called
  // from worker threads only.
  virtual absl::StatusOr<std::vector<FarmerContact>> ChooseFarmers(
      ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
      std::span<const FarmerId> exclude) = 0;

  // Stores a shard on `farmer`. `done` receives the contact of the farmer that acknowledged
  // it (durably stored: the farmer fsynced before answering), or why not.
  virtual void PutShard(const FarmerContact& farmer, PutShardRequest request,
                        PutShardCallback done) = 0;

  // Asks `farmer` for the leaves request.leaves of shard request.shard_id (GET_SHARD with a
  // range). The reply is untrusted: the caller verifies it against the Merkle root.
  virtual void GetShardRange(const FarmerContact& farmer, ByteView bucket_id,
                             const codec::StoredRangeRequest& request, GetRangeCallback done) = 0;

  // Deletes a shard from `farmer` (owner-signed DELETE_SHARD). NotFound if it has no such
  // shard (callers treat that as done).
  virtual void DeleteShard(const FarmerContact& farmer, ByteView bucket_id,
                           const codec::ShardId& shard_id, DoneCallback done) = 0;

  // What the Volume observed about a farmer (time from request to answer, and whether it
  // succeeded): lets the network rank farmers for ChooseFarmers. Default: ignored.
  virtual void ReportFarmer(const FarmerId& farmer, FarmerOp op, absl::Duration latency,
                            const absl::Status& result) {
    (void)farmer;
    (void)op;
    (void)latency;
    (void)result;
  }
};

}  // namespace gnr::volume
