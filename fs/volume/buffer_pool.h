#pragma once
// Recycled shard buffers for the upload path. An encoded segment is k+m buffers of the
// stored shard size (16 MiB each with the default parameters), freed as farmers acknowledge
// them. Allocated anew for every segment, each one costs the kernel a fresh, zeroed page per
// 4 KiB and std::vector a memset: on the loopback devnet that was a tenth of the CPU of an
// upload. Buffers handed back (through the deleter of Share) are given out again by Take;
// at most `max_bytes` wait in the pool, the rest are freed. Thread-safe.

#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/bytes.h"

namespace gnr::volume::internal {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  explicit BufferPool(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // A buffer of exactly `size` bytes with unspecified contents (a recycled one when one of
  // that size waits, else a new zeroed one).
  Bytes Take(size_t size) {
    {
      absl::MutexLock lock(&mu_);
      for (auto it = free_.begin(); it != free_.end(); ++it) {
        if (it->size() != size) continue;
        Bytes out = std::move(*it);
        free_.erase(it);
        pooled_bytes_ -= size;
        return out;
      }
    }
    return Bytes(size);
  }

  // Shares `buffer`; when the last reference goes, it returns to the pool (if the pool still
  // exists and has room).
  std::shared_ptr<const Bytes> Share(Bytes buffer) {
    std::weak_ptr<BufferPool> pool = weak_from_this();
    return std::shared_ptr<const Bytes>(new Bytes(std::move(buffer)), [pool](const Bytes* b) {
      std::unique_ptr<Bytes> owned(const_cast<Bytes*>(b));
      if (std::shared_ptr<BufferPool> p = pool.lock()) p->Give(std::move(*owned));
    });
  }

  // Frees every waiting buffer (when uploads are over).
  void Clear() {
    std::vector<Bytes> gone;
    absl::MutexLock lock(&mu_);
    gone.swap(free_);
    pooled_bytes_ = 0;
  }

  uint64_t pooled_bytes() const {
    absl::MutexLock lock(&mu_);
    return pooled_bytes_;
  }

 private:
  void Give(Bytes buffer) {
    absl::MutexLock lock(&mu_);
    if (buffer.empty() || pooled_bytes_ + buffer.size() > max_bytes_) return;
    pooled_bytes_ += buffer.size();
    free_.push_back(std::move(buffer));
  }

  const uint64_t max_bytes_;
  mutable absl::Mutex mu_;
  std::vector<Bytes> free_ ABSL_GUARDED_BY(mu_);
  uint64_t pooled_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gnr::volume::internal
