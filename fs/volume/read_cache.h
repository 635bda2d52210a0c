#pragma once
// The read cache (DESIGN.md section 3): decoded plaintext blocks of committed file versions,
// one file per block under a directory, least recently used evicted first once the total
// exceeds a byte limit. Blocks are keyed by (version nonce, block index), so a key never
// names different content (the nonce is random per version).
//
// The directory is emptied when the cache is created: after a restart (remount) reads are
// cold and come from the farmers, never from stale local data.
//
// Thread-safety: all methods are thread-safe; disk I/O happens outside the index lock (a
// block evicted while being read is a miss, not an error).

#include <cstdint>
#include <list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "fs/codec/keys.h"

namespace gnr::volume {

class ReadCache {
 public:
  // `dir` is created if missing and emptied. limit_bytes == 0 disables the cache.
  ReadCache(std::string dir, uint64_t limit_bytes);

  bool enabled() const { return limit_bytes_ > 0; }

  // Copies bytes [offset, offset + out.size()) of the cached block into `out`. False on a
  // miss (or a block shorter than asked).
  bool Get(const codec::FileNonce& nonce, uint64_t block, uint64_t offset, MutableByteView out)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Stores a block (replacing any), evicting old blocks to stay within the limit. Blocks
  // larger than the limit are not kept. Failures (disk full) only log.
  void Put(const codec::FileNonce& nonce, uint64_t block, ByteView data) ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t limit_bytes() const { return limit_bytes_; }
  uint64_t hits() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t misses() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string name;
    uint64_t size = 0;
  };
  std::string FileName(const codec::FileNonce& nonce, uint64_t block) const;
  void EvictLocked(std::vector<std::string>& doomed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const uint64_t limit_bytes_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // front = most recently used
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;  // makes temporary file names unique
};

}  // namespace gnr::volume
