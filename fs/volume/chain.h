#pragma once
// Chain: the Volume's view of the chain (DESIGN.md section 6): how much space the mounted
// bucket bought and until when. The production implementation reads StorageMarket state
// through chain-client; tests use tests/fakes/fake_chain.h.
//
// Thread-safety: implementations must accept calls from any thread. Calls may block (an RPC);
// the Volume caches the answer (VolumeOptions::bucket_refresh) and never calls it while
// holding a lock that FUSE handlers wait on.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"

namespace gnr::volume {

// A bucket as bought on chain (BUY_BUCKET_SPACE / BUCKET_SUPPLEMENT).
struct BucketInfo {
  uint64_t size_bytes = 0;  // space bought: the stored bytes (all k+m shards) it may hold
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfiniteFuture();  // expiry; writes fail after it
  uint32_t backup_count = 0;

  bool ExpiredAt(absl::Time now) const { return now >= end; }
};

class Chain {
 public:
  virtual ~Chain() = default;
  // NotFound if the bucket does not exist; Unavailable if the chain cannot be reached.
  virtual absl::StatusOr<BucketInfo> GetBucket(ByteView bucket_id) = 0;
};

}  // namespace gnr::volume
