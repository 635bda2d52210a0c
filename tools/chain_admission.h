#pragma once
// ChainAdmission: the farmer's payment checks (net/farmer/admission.h) read from the
// StorageMarket contract (DESIGN.md section 7). It lives in tools/, the composition layer,
// so that net/ keeps not depending on chain-client (DESIGN.md section 1).
//
// PUT_SHARD is admitted only for a bucket that exists on chain, has started and has not
// expired, whose owner is the payer who signed the request, and whose bought size can hold
// the shard: used_bytes (as the contract records it) + size <= size_gb * 2^30. A farmer sees
// only its own shards, so "within its size" is checked against the chain's record, not
// against what other farmers hold.
// GET_SHARD is admitted while the shard's bucket exists and has not expired. Traffic
// (BuyTraffic) is not metered yet: reads are not refused for lack of traffic.
//
// Answers are cached per bucket (positive for `cache_ttl`, "no such bucket" for
// `negative_ttl`), so a burst of shards costs one eth_call. When the chain cannot be asked,
// requests are refused with Unavailable (the client tries another farmer).
//
// Thread-safety: thread-safe (the farmer's worker threads call it concurrently); calls may
// block on an RPC. `market` and `clock` must outlive it.

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain-client/storage_market.h"
#include "common/clock.h"
#include "net/farmer/admission.h"

namespace gnr::tools {

struct ChainAdmissionOptions {
  absl::Duration cache_ttl = absl::Seconds(30);
  absl::Duration negative_ttl = absl::Seconds(5);
};

class ChainAdmission final : public farmer::Admission {
 public:
  ChainAdmission(const chain::StorageMarket& market, Clock& clock,
                 ChainAdmissionOptions options = {});

  // FailedPrecondition: no such bucket, not started, expired, full; PermissionDenied: the
  // payer does not own the bucket; InvalidArgument: not a 32-byte bucket id; Unavailable:
  // the chain cannot be asked.
  absl::Status AdmitPut(ByteView bucket, ByteView payer, uint64_t size) override;
  absl::Status AdmitGet(ByteView bucket, ByteView payer, uint64_t bytes) override;

 private:
  struct Entry {
    absl::StatusOr<chain::BucketInfo> bucket;
    absl::Time fetched;
  };
  // The bucket's state (cached), or why it cannot be used at all.
  absl::StatusOr<chain::BucketInfo> Lookup(ByteView bucket);
  absl::Status CheckLive(ByteView bucket, const chain::BucketInfo& info);

  const chain::StorageMarket& market_;
  Clock& clock_;
  const ChainAdmissionOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<chain::BucketId, Entry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gnr::tools
