#include "net/kademlia/rate_limiter.h"

#include "gtest/gtest.h"

namespace gnr::kademlia {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

NodeId Peer(uint8_t b) {
  FixedBytes<20> bytes{};
  bytes[0] = b;
  return NodeId(bytes);
}

TEST(RateLimiter, AllowsBurstThenRefillsAtRate) {
  RateLimiter limiter(/*rate=*/10, /*burst=*/5, /*max_peers=*/100);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow(Peer(1), kT0));
  EXPECT_FALSE(limiter.Allow(Peer(1), kT0));
  // Another peer has its own bucket.
  EXPECT_TRUE(limiter.Allow(Peer(2), kT0));
  // 10/s: one token after 100 ms, not before.
  EXPECT_FALSE(limiter.Allow(Peer(1), kT0 + absl::Milliseconds(50)));
  EXPECT_TRUE(limiter.Allow(Peer(1), kT0 + absl::Milliseconds(150)));
  EXPECT_FALSE(limiter.Allow(Peer(1), kT0 + absl::Milliseconds(150)));
  // Never more than the burst, however long the peer was idle.
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += limiter.Allow(Peer(1), kT0 + absl::Hours(1));
  EXPECT_EQ(allowed, 5);
}

TEST(RateLimiter, SustainedFloodGetsOnlyTheRate) {
  RateLimiter limiter(/*rate=*/20, /*burst=*/10, /*max_peers=*/100);
  int allowed = 0;
  // 1000 requests per second for 10 seconds.
  for (int i = 0; i < 10'000; ++i) {
    allowed += limiter.Allow(Peer(9), kT0 + absl::Milliseconds(i));
  }
  EXPECT_GE(allowed, 200);
  EXPECT_LE(allowed, 10 + 200 + 1);
}

TEST(RateLimiter, BoundedNumberOfPeers) {
  RateLimiter limiter(/*rate=*/1, /*burst=*/2, /*max_peers=*/3);
  EXPECT_TRUE(limiter.Allow(Peer(1), kT0));
  EXPECT_TRUE(limiter.Allow(Peer(2), kT0));
  EXPECT_TRUE(limiter.Allow(Peer(3), kT0));
  // Full of active peers: a fourth one is refused ...
  EXPECT_FALSE(limiter.Allow(Peer(4), kT0));
  EXPECT_EQ(limiter.tracked_peers(), 3u);
  // ... until the others have been idle long enough to be forgotten.
  EXPECT_TRUE(limiter.Allow(Peer(4), kT0 + absl::Seconds(10)));
  EXPECT_LE(limiter.tracked_peers(), 3u);
}

}  // namespace
}  // namespace gnr::kademlia
