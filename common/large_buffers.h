#ifndef GNR_COMMON_LARGE_BUFFERS_H_
#define GNR_COMMON_LARGE_BUFFERS_H_

namespace gnr {

// Makes the allocator keep freed shard-sized buffers for the next one instead of handing
// them back to the kernel. Call once, first thing in main.
//
// Why: ZeroMQ allocates each received message itself, with malloc, and a stored shard is
// ~16 MiB. glibc serves that size from fresh mmap()s until its adaptive threshold happens to
// rise above it, and trims the heap again when a burst is freed, so a farmer receiving
// shards could take a page fault and zero a page for every 4 KiB it received. Measured on
// the 1 GiB drive bench: clear_page 10% of all CPU samples, kernel copies into those fresh
// pages 23%, and the write took twice the CPU it does with this policy (7.9 -> 4.0 CPU-s).
// Allocations up to 32 MiB (glibc's largest mmap threshold) now come from the heap, and up to
// 128 MiB of free heap stays mapped: the cost is that much resident memory after a burst.
// No effect where malloc is not glibc's (sanitizer builds).
void KeepLargeBuffersMapped();

}  // namespace gnr

#endif  // GNR_COMMON_LARGE_BUFFERS_H_
