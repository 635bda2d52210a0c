#pragma once
// NetShardNetwork: the Volume's ShardNetwork (fs/volume/shard_network.h) on the real storage
// network: farmers are chosen through the DHT (shard::FarmerSelector over a node::Host) and
// spoken to with the shard protocol (shard::ShardClient).
//
// Farmer contacts: a volume::FarmerContact is {node id, hint}. The hint this class hands out
// (and the catalog keeps next to each placement) is "<endpoint>#<64 hex CURVE key>", the
// form `gnr farmer run --bootstrap` accepts, so a read after a restart reaches the farmer
// without a DHT lookup. To turn a contact into a shard::FarmerAddress the network uses, in
// order: the contacts it learned from ChooseFarmers (and earlier resolutions), a hint that
// carries a CURVE key, and finally Host::Resolve(id) (the farmer's signed contact record in
// the DHT). A stale hint (a farmer that moved) fails like a dead farmer; the Volume then
// reads other shards or places on other farmers.
//
// Payload handling: PutShard hands the Volume's SharedBuffer to the transport without
// copying (net_zmq::SharedBytes shares ownership). GetShardRange copies the received leaves
// once into codec::StoredRangeReply::leaves (a Bytes; the codec's reply type owns its
// bytes).
//
// Thread-safety: all methods are thread-safe. Callbacks run on the transport's loop thread
// or the DHT thread (or inline, when a request is refused before it is sent). ChooseFarmers
// blocks (DHT lookup + STAT round trips): call it from worker threads only. The host, client
// and selector must outlive this object; destroy it after the Volume (a request whose
// contact is still being resolved through the DHT would use it).
//
// Robustness (see NetShardNetworkOptions): farmers that time out are skipped for a while;
// on a network smaller than the DHT's k one lookup serves all placements for a few
// seconds; a host whose routing table emptied joins again through the seeds.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fs/volume/shard_network.h"
#include "net/node/host.h"
#include "net/shard/placement.h"
#include "net/shard/shard_client.h"

namespace gnr::remote {

struct NetShardNetworkOptions {
  // Free space a chosen farmer must report (FarmerSelector's needed_bytes): the size of one
  // stored shard of a full segment (segment_size / k plus sentinels) is a good estimate.
  uint64_t shard_size_estimate = 0;
  // A farmer whose request failed with DeadlineExceeded or Unavailable (dead, unreachable)
  // is skipped for this long: requests to it fail at once with Unavailable instead of each
  // waiting for the client's timeout (a read that needs one shard range from a dead farmer
  // would otherwise wait that long every time). A success (or the farmer answering the STAT
  // of ChooseFarmers) clears the mark. Zero disables it.
  absl::Duration dead_farmer_backoff = absl::Seconds(20);
  // Seeds to join again through when the DHT knows nobody any more (a client-only host
  // whose every contact timed out, e.g. on an overloaded machine, would otherwise never
  // find a farmer again): ChooseFarmers then bootstraps again, at most once per
  // `rejoin_interval`, and retries. Empty: never rejoins.
  std::vector<node::BootstrapSeed> rejoin_seeds = {};
  absl::Duration rejoin_interval = absl::Seconds(10);
  // Small networks: every DHT lookup returns every farmer when the network has fewer than
  // `dht_k` of them, so ChooseFarmers keeps the live farmers of one lookup (plus STAT) for
  // `live_set_ttl` and ranks them by XOR distance to each placement key, instead of running a
  // lookup per segment (thousands of small files would otherwise exceed the farmers'
  // per-peer DHT request limits, get the client's requests dropped and its routing table
  // emptied). With `dht_k` or more live farmers every call does its own lookup.
  size_t dht_k = 20;
  absl::Duration live_set_ttl = absl::Seconds(10);
};

// What `gnr status` shows about a farmer the drive has used.
struct FarmerInUse {
  volume::FarmerId id{};
  std::string endpoint;  // empty if never resolved in this run
  shard::FarmerLatency latency;
};

class NetShardNetwork final : public volume::ShardNetwork {
 public:
  NetShardNetwork(node::Host& host, shard::ShardClient& client, shard::FarmerSelector& selector,
                  NetShardNetworkOptions options = {});

  // --- volume::ShardNetwork ---
  absl::StatusOr<std::vector<volume::FarmerContact>> ChooseFarmers(
      ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
      std::span<const volume::FarmerId> exclude) override;
  void PutShard(const volume::FarmerContact& farmer, volume::PutShardRequest request,
                volume::PutShardCallback done) override;
  void GetShardRange(const volume::FarmerContact& farmer, ByteView bucket_id,
                     const codec::StoredRangeRequest& request,
                     volume::GetRangeCallback done) override;
  void DeleteShard(const volume::FarmerContact& farmer, ByteView bucket_id,
                   const codec::ShardId& shard_id, volume::DoneCallback done) override;
  // No-op: the ShardClient already records every request's latency and result (its
  // FarmerLatency table is what KnownFarmers reports).

  // Every farmer this network contacted or learned about, with what the client measured.
  std::vector<FarmerInUse> KnownFarmers() const;

 private:
  // What callbacks still in flight may touch after this object is gone (the client and the
  // host run callbacks of requests made before destruction): shared with them.
  struct State {
    absl::Duration dead_farmer_backoff;
    absl::Mutex mu;
    absl::flat_hash_map<kademlia::NodeId, shard::FarmerAddress> contacts ABSL_GUARDED_BY(mu);
    // Farmers that recently failed to answer: until when they are skipped, and why.
    struct DeadMark {
      absl::Time until;
      absl::Status why;
    };
    absl::flat_hash_map<kademlia::NodeId, DeadMark> dead ABSL_GUARDED_BY(mu);
    absl::Time last_rejoin ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    // The live farmers of the last whole-network lookup (see NetShardNetworkOptions::dht_k).
    std::vector<shard::FarmerAddress> live ABSL_GUARDED_BY(mu);
    absl::Time live_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();

    void Remember(const shard::FarmerAddress& address);
    // Unavailable if `id` is marked dead (see dead_farmer_backoff), else OK.
    absl::Status CheckAlive(const kademlia::NodeId& id);
    // Records the outcome of a request to `id` (marks or clears the dead mark).
    void Observe(const kademlia::NodeId& id, const absl::Status& result);
  };

  // Calls `then` with the address of `farmer` (see the file comment), inline or on the DHT
  // thread.
  void Resolve(const volume::FarmerContact& farmer,
               absl::AnyInvocable<void(absl::StatusOr<shard::FarmerAddress>)> then);
  // Bootstraps again through options_.rejoin_seeds if the host's routing table is empty
  // (and the last rejoin is older than rejoin_interval). True if it rejoined.
  bool MaybeRejoin();
  // The live set when the whole network is known and it is fresh (refreshing it when
  // stale), or nullopt when the network is too large for it or nothing answered.
  std::optional<std::vector<shard::FarmerAddress>> LiveSet();
  // One refresh at a time (callers that find it busy use the previous live set).
  absl::Mutex refresh_mu_;

  node::Host& host_;
  shard::ShardClient& client_;
  shard::FarmerSelector& selector_;
  const NetShardNetworkOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace gnr::remote
