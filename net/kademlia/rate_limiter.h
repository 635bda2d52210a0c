#pragma once
// Per-peer request rate limiting with injected time (no clock calls).
//
//   RateLimiter limiter(/*rate=*/50, /*burst=*/200, /*max_peers=*/20000);
//   if (!limiter.Allow(peer, now)) drop the request;
//
// Thread-compatible: the owner serializes calls.

#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "net/kademlia/node_id.h"

namespace gnr::kademlia {

// A token bucket: holds up to `burst` tokens, refilled continuously at `rate` per second.
// Starts full.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst, absl::Time now);
  // Takes one token if available.
  bool TryTake(double rate, double burst, absl::Time now);
  // True if the bucket would be full at `now` (the peer has been idle long enough).
  bool IsFull(double rate, double burst, absl::Time now) const;

 private:
  double Level(double rate, double burst, absl::Time now) const;

  double tokens_;
  absl::Time last_;
};

class RateLimiter {
 public:
  // `rate` tokens per second, `burst` tokens at most, per peer; at most `max_peers` peers
  // are tracked at once.
  RateLimiter(double rate, double burst, size_t max_peers);

  // Spends one token of `peer`'s bucket. False when the bucket is empty, or when `peer` is
  // new and `max_peers` active peers are already tracked (idle ones are forgotten first).
  bool Allow(const NodeId& peer, absl::Time now);

  // Forgets peers idle long enough for their buckets to be full again (bounded memory).
  void Prune(absl::Time now);

  size_t tracked_peers() const { return buckets_.size(); }

 private:
  double rate_;
  double burst_;
  size_t max_peers_;
  absl::flat_hash_map<NodeId, TokenBucket> buckets_;
  absl::Time last_sweep_ = absl::InfinitePast();
};

}  // namespace gnr::kademlia
