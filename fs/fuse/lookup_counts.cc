#include "fs/fuse/lookup_counts.h"

#include "common/log.h"

namespace gnr::fuse {

void LookupCounts::Add(uint64_t ino, uint64_t n) {
  if (n == 0) return;
  absl::MutexLock lock(&mu_);
  counts_[ino] += n;
}

uint64_t LookupCounts::Forget(uint64_t ino, uint64_t n) {
  absl::MutexLock lock(&mu_);
  auto it = counts_.find(ino);
  uint64_t held = it == counts_.end() ? 0 : it->second;
  if (n > held) {
    ++mismatches_;
    GNR_LOG(kWarning) << "fuse: kernel forgot " << n << " lookups of inode " << ino << " but only "
                      << held << " were handed out";
    n = held;
  }
  if (it == counts_.end()) return 0;
  it->second -= n;
  if (it->second == 0) {
    counts_.erase(it);
    return 0;
  }
  return it->second;
}

uint64_t LookupCounts::Count(uint64_t ino) const {
  absl::MutexLock lock(&mu_);
  auto it = counts_.find(ino);
  return it == counts_.end() ? 0 : it->second;
}

size_t LookupCounts::live_inodes() const {
  absl::MutexLock lock(&mu_);
  return counts_.size();
}

uint64_t LookupCounts::mismatches() const {
  absl::MutexLock lock(&mu_);
  return mismatches_;
}

}  // namespace gnr::fuse
