#include "net/kademlia/rate_limiter.h"

#include <algorithm>

namespace gnr::kademlia {

TokenBucket::TokenBucket(double /*rate*/, double burst, absl::Time now)
    : tokens_(burst), last_(now) {}

double TokenBucket::Level(double rate, double burst, absl::Time now) const {
  double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - last_));
  return std::min(burst, tokens_ + elapsed * rate);
}

bool TokenBucket::TryTake(double rate, double burst, absl::Time now) {
  tokens_ = Level(rate, burst, now);
  if (now > last_) last_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool TokenBucket::IsFull(double rate, double burst, absl::Time now) const {
  return Level(rate, burst, now) >= burst;
}

RateLimiter::RateLimiter(double rate, double burst, size_t max_peers)
    : rate_(rate), burst_(std::max(1.0, burst)), max_peers_(std::max<size_t>(1, max_peers)) {}

void RateLimiter::Prune(absl::Time now) {
  absl::erase_if(buckets_,
                 [&](const auto& entry) { return entry.second.IsFull(rate_, burst_, now); });
}

bool RateLimiter::Allow(const NodeId& peer, absl::Time now) {
  auto it = buckets_.find(peer);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_peers_ && now - last_sweep_ >= absl::Seconds(1)) {
      // Forget peers whose buckets have refilled: they are indistinguishable from new ones.
      // At most once a second, so that a flood of new peers costs O(1) each.
      last_sweep_ = now;
      absl::erase_if(buckets_,
                     [&](const auto& entry) { return entry.second.IsFull(rate_, burst_, now); });
    }
    if (buckets_.size() >= max_peers_) return false;
    it = buckets_.emplace(peer, TokenBucket(rate_, burst_, now)).first;
  }
  return it->second.TryTake(rate_, burst_, now);
}

}  // namespace gnr::kademlia
