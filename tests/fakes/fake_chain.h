#pragma once
// A chain that knows the buckets a test tells it about. Thread-safe.

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "fs/volume/chain.h"

namespace gnr::fakes {

class FakeChain final : public volume::Chain {
 public:
  void SetBucket(ByteView bucket_id, const volume::BucketInfo& info) ABSL_LOCKS_EXCLUDED(mu_);
  // Every GetBucket fails with `status` while it is not OK (chain unreachable).
  void SetFailure(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  int calls() const ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<volume::BucketInfo> GetBucket(ByteView bucket_id) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<Bytes, volume::BucketInfo> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gnr::fakes
