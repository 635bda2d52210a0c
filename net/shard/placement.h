#pragma once
// Choosing farmers for a key through the DHT, and putting a set of shards on distinct
// farmers in parallel with spares (DESIGN.md section 3, write path).
//
// Selection: the DHT target of a key is PlacementTarget(key); the host's iterative FIND_NODE
// gives the k nodes closest to it (each from a verified contact record); candidates are
// asked STAT in parallel, closest first, and kept if they answer in time, are accepting and
// have room for `needed_bytes`. That direct STAT is both the liveness check and a fresher
// capacity figure than the signed capacity announcements in the DHT (those are what
// observers without a connection use). Results are distinct, closest first; farmers the
// client saw fail to answer recently (ShardClient::Unreachable) are asked only after all
// others.
//
// Thread-safety: thread-safe; callbacks run on a network thread (must not block); *Sync
// forms block (never from a network thread). Host and client must outlive the selector.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "net/kademlia/node_id.h"
#include "net/node/host.h"
#include "net/shard/shard_client.h"

namespace gnr::shard {

// First 20 bytes of SHA-256("gnr/placement" || key).
kademlia::NodeId PlacementTarget(ByteView key);

struct SelectorOptions {
  absl::Duration stat_timeout = absl::Seconds(3);
  // Candidates asked per round: count + extra (then the next ones if too few qualified).
  size_t extra_candidates = 4;
};

class FarmerSelector {
 public:
  FarmerSelector(node::Host& host, ShardClient& client, SelectorOptions options = {});

  // Up to `count` distinct live farmers accepting `needed_bytes`, none in `exclude`, closest
  // to PlacementTarget(key) first. Fewer if the network has no more; Unavailable if none.
  void Choose(ByteView key, size_t count, uint64_t needed_bytes, std::span<const NodeId> exclude,
              Callback<std::vector<FarmerAddress>> done);
  absl::StatusOr<std::vector<FarmerAddress>> ChooseSync(ByteView key, size_t count,
                                                        uint64_t needed_bytes,
                                                        std::span<const NodeId> exclude);

 private:
  node::Host& host_;
  ShardClient& client_;
  SelectorOptions options_;
};

// The outcome of one shard of PutAll.
struct PlacedShard {
  absl::StatusOr<FarmerAddress> farmer = absl::UnknownError("not placed");  // who acked
  PutShardAck ack = {};
  absl::Duration latency = absl::ZeroDuration();          // of the successful put
  std::vector<std::pair<NodeId, absl::Status>> failures;  // farmers tried before, and why
};

// Puts shards[i] on distinct farmers: the first shards.size() candidates get one shard each
// at once; a failed put moves that shard to the next unused candidate (a spare) until none
// is left (then that shard's `farmer` holds the last error). `done` gets one PlacedShard per
// shard, same order, when all are finished.
void PutAll(ShardClient& client, std::vector<PutShardArgs> shards,
            std::vector<FarmerAddress> candidates,
            absl::AnyInvocable<void(std::vector<PlacedShard>)> done);
std::vector<PlacedShard> PutAllSync(ShardClient& client, std::vector<PutShardArgs> shards,
                                    std::vector<FarmerAddress> candidates);

}  // namespace gnr::shard
