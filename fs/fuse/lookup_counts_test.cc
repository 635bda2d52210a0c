#include "fs/fuse/lookup_counts.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gnr::fuse {
namespace {

TEST(LookupCounts, AddAndForget) {
  LookupCounts counts;
  counts.Add(7);
  counts.Add(7, 2);
  counts.Add(9);
  EXPECT_EQ(counts.Count(7), 3u);
  EXPECT_EQ(counts.live_inodes(), 2u);
  EXPECT_EQ(counts.Forget(7, 2), 1u);
  EXPECT_EQ(counts.Forget(7, 1), 0u);
  EXPECT_EQ(counts.Count(7), 0u);
  EXPECT_EQ(counts.live_inodes(), 1u);
  EXPECT_EQ(counts.mismatches(), 0u);
}

TEST(LookupCounts, OverForgetClampsAndIsCounted) {
  LookupCounts counts;
  counts.Add(5);
  EXPECT_EQ(counts.Forget(5, 3), 0u);
  EXPECT_EQ(counts.Forget(6, 1), 0u);
  EXPECT_EQ(counts.mismatches(), 2u);
  EXPECT_EQ(counts.live_inodes(), 0u);
}

TEST(LookupCounts, ConcurrentUse) {
  LookupCounts counts;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counts] {
      for (int i = 0; i < 1000; ++i) {
        counts.Add(static_cast<uint64_t>(i % 10));
        counts.Forget(static_cast<uint64_t>(i % 10), 1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counts.live_inodes(), 0u);
  EXPECT_EQ(counts.mismatches(), 0u);
}

}  // namespace
}  // namespace gnr::fuse
