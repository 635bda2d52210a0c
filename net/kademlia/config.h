#pragma once
// Tunables of the DHT node. Defaults are the standard Kademlia values (DESIGN.md section 5).

#include <cstddef>

#include "absl/time/time.h"
#include "net/kademlia/record.h"

namespace gnr::kademlia {

struct Config {
  // Bucket size, replication factor and the number of contacts per reply.
  size_t k = 20;
  // Parallel queries per lookup.
  size_t alpha = 3;
  // Per-bucket cache of nodes that wanted in while the bucket was full.
  size_t replacement_cache_size = 8;
  // Consecutive timeouts after which a node leaves the routing table even when no
  // replacement is waiting (with a replacement waiting, one timeout is enough).
  int max_failures = 3;

  // A request not answered by then has failed (the node's failure count goes up).
  absl::Duration request_timeout = absl::Seconds(5);
  // A lookup stops waiting for a request after this long and uses the parallelism slot for
  // another node, but still takes the reply until request_timeout.
  absl::Duration soft_timeout = absl::Seconds(1);
  // A node that let a request time out is not queried again by lookups for this long (other
  // nodes keep listing it until their tables catch up); hearing from it clears the mark.
  absl::Duration unresponsive_ttl = absl::Seconds(30);

  // A bucket no lookup touched for this long is refreshed with a lookup for a random id in it.
  absl::Duration bucket_refresh_interval = absl::Hours(1);
  // Holders re-send each record to the k closest live nodes this often (skipped for a
  // period when another holder replicated it to us).
  absl::Duration replicate_interval = absl::Hours(1);
  // The original publisher re-signs and stores each published record this often.
  absl::Duration republish_interval = absl::Hours(24);
  // After Bootstrap, a node sends no records to the nodes it newly meets for this long: it
  // meets old members that already hold them (redistribution is for newcomers).
  absl::Duration join_quiet_period = absl::Minutes(1);
  // Copies cached along lookup paths are kept this long.
  absl::Duration cache_ttl = absl::Hours(1);

  // Record validity and size (record_limits.ttl > republish_interval leaves slack).
  RecordLimits record_limits;
  // Records this node holds (stored + cached); cached copies are evicted first.
  size_t max_records = 100'000;

  // Incoming requests per peer: token bucket refilled at `peer_request_rate` per second,
  // holding at most `peer_request_burst` tokens; requests beyond it are dropped.
  double peer_request_rate = 50;
  double peer_request_burst = 200;
  // Peers tracked by the rate limiter; when full of active peers, new peers are refused.
  size_t max_tracked_peers = 20'000;
};

}  // namespace gnr::kademlia
