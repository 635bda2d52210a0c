#include "common/large_buffers.h"

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gnr {
namespace {

// A shard-sized buffer comes from the heap, not from an mmap() of its own, and the memory a
// freed one leaves behind serves the next one (the farmer's receive pattern).
TEST(LargeBuffers, ShardSizedBuffersComeFromTheHeapAndStay) {
#if !defined(__GLIBC__) || defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "only glibc's own allocator follows mallopt";
#else
  KeepLargeBuffersMapped();
  constexpr size_t kShard = 17 << 20;
  const size_t mmapped_before = mallinfo2().hblks;
  for (int i = 0; i < 4; ++i) {
    void* p = std::malloc(kShard);
    ASSERT_NE(p, nullptr);
    std::memset(p, i, kShard);
    EXPECT_EQ(mallinfo2().hblks, mmapped_before) << "buffer " << i << " was mmap()ed";
    std::free(p);
    // Not trimmed: the free heap still holds at least one shard's worth.
    EXPECT_GE(mallinfo2().fordblks, kShard) << "buffer " << i << " went back to the kernel";
  }
#endif
}

}  // namespace
}  // namespace gnr
