#include "common/large_buffers.h"

#include <cstdlib>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gnr {

void KeepLargeBuffersMapped() {
#if defined(__GLIBC__)
  constexpr int kMiB = 1 << 20;
  // Setting the threshold also stops glibc from adapting it (and the trim threshold).
  mallopt(M_MMAP_THRESHOLD, 32 * kMiB);
  mallopt(M_TRIM_THRESHOLD, 128 * kMiB);
#endif
}

}  // namespace gnr
