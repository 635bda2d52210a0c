#pragma once
// The kernel's references to inodes, as FUSE counts them.
//
// Every reply that hands the kernel an inode (lookup, create, mkdir, mknod, symlink, link,
// and each readdirplus entry other than "." and "..") adds one lookup; forget(ino, n) takes
// n away. The kernel may use an inode number until its count returns to zero, so this table
// is the adapter's record of which inodes are "live in the kernel". The root is implicitly
// referenced and never forgotten.
//
// The Volume frees an unlinked inode when its last handle closes, independently of these
// counts (fs/volume/volume.h); the table is kept for correctness checks (a forget for more
// than was looked up is a bug and is logged), for `gnr status`, and as the hook a future
// Volume::Forget would use.
//
// Thread-safe.

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace gnr::fuse {

class LookupCounts {
 public:
  // Adds `n` lookups of `ino`.
  void Add(uint64_t ino, uint64_t n = 1);
  // Removes `n` lookups of `ino`; returns the remaining count. Removing more than held
  // clamps at zero and counts a mismatch (see mismatches()).
  uint64_t Forget(uint64_t ino, uint64_t n);
  uint64_t Count(uint64_t ino) const;
  // Inodes with a non-zero count.
  size_t live_inodes() const;
  // Forgets that exceeded the count held (kernel/adapter disagreement: a bug).
  uint64_t mismatches() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, uint64_t> counts_ ABSL_GUARDED_BY(mu_);
  uint64_t mismatches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gnr::fuse
