#include "fs/volume/buffer_pool.h"

#include "gtest/gtest.h"

namespace gnr::volume::internal {
namespace {

TEST(BufferPool, SharedBuffersComeBackAndAreGivenOutAgain) {
  auto pool = std::make_shared<BufferPool>(3000);
  Bytes a = pool->Take(1000);
  ASSERT_EQ(a.size(), 1000u);
  const uint8_t* where = a.data();
  std::shared_ptr<const Bytes> shared = pool->Share(std::move(a));
  std::shared_ptr<const Bytes> copy = shared;
  shared.reset();
  EXPECT_EQ(pool->pooled_bytes(), 0u);  // still referenced
  copy.reset();
  EXPECT_EQ(pool->pooled_bytes(), 1000u);
  Bytes other_size = pool->Take(999);  // only an exact size is reused
  EXPECT_EQ(pool->pooled_bytes(), 1000u);
  Bytes again = pool->Take(1000);
  EXPECT_EQ(again.data(), where);
  EXPECT_EQ(pool->pooled_bytes(), 0u);
}

TEST(BufferPool, KeepsAtMostItsLimitAndOutlivesNothing) {
  auto pool = std::make_shared<BufferPool>(2500);
  std::vector<std::shared_ptr<const Bytes>> held;
  for (int i = 0; i < 4; ++i) held.push_back(pool->Share(pool->Take(1000)));
  held.clear();
  EXPECT_EQ(pool->pooled_bytes(), 2000u);  // the third would pass 2500
  pool->Clear();
  EXPECT_EQ(pool->pooled_bytes(), 0u);
  // A buffer released after its pool is gone is simply freed.
  std::shared_ptr<const Bytes> late = pool->Share(pool->Take(10));
  pool.reset();
  late.reset();
}

}  // namespace
}  // namespace gnr::volume::internal
