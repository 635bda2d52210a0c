#pragma once
// A token bucket: allows `rate` events per second on average with bursts of up to `burst`.
// Pure logic: time is passed in. Not thread-safe (the transport uses one per peer on its
// event-loop thread).

#include <algorithm>

#include "absl/time/time.h"

namespace gnr::net_zmq {

class TokenBucket {
 public:
  // Starts full. `rate` is in tokens per second; `burst` (>= 1) is the capacity.
  TokenBucket(double rate, double burst, absl::Time now)
      : rate_(std::max(rate, 0.0)), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

  // Takes one token if available at time `now`. Time going backwards adds nothing.
  bool TryTake(absl::Time now) {
    Refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // True if the bucket is full at `now` (the peer has been quiet for a while).
  bool Full(absl::Time now) {
    Refill(now);
    return tokens_ >= burst_;
  }

 private:
  void Refill(absl::Time now) {
    if (now <= last_) return;
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
    last_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  absl::Time last_;
};

}  // namespace gnr::net_zmq
