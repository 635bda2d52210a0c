#pragma once
// FarmerService: the shard protocol's ShardService (net/shard/shard_service.h) over a
// farmer's ShardStore, with payment checks through an Admission.
//
// The ShardServer has already decoded the request, checked sizes and limits and verified
// the payer's signature; this class adds what a farmer decides:
//   PUT_SHARD    refused while paused (FailedPrecondition "farmer is paused ..."), then
//                Admission::AdmitPut(bucket, payer, size), then ShardStore::Put (capacity,
//                Merkle root, durability).
//   GET_SHARD    Admission::AdmitGet(shard's bucket, shard's payer, bytes) (reads are paid by
//                the bucket's payer), then the leaves and their proof.
//   challenges   answered from disk, no admission (auditors must always get an answer).
//   DELETE_SHARD only the payer that stored the shard, and only in its bucket.
//   STAT         shard metadata / capacity, usage and whether new shards are accepted.
// Every refusal is logged with its reason by the store or here.
//
// Thread-safety: thread-safe (called from the shard server's worker threads). The store and
// the admission must outlive the service.

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "net/farmer/admission.h"
#include "net/farmer/shard_store.h"
#include "net/shard/shard_service.h"

namespace gnr::farmer {

// Requests answered (successfully or with an error), by type.
struct ServiceCounters {
  uint64_t puts = 0;
  uint64_t gets = 0;
  uint64_t sentinel_challenges = 0;
  uint64_t merkle_challenges = 0;
  uint64_t deletes = 0;
  uint64_t stats = 0;
  uint64_t refused_admission = 0;  // refused by the Admission
  uint64_t errors = 0;             // any request answered with an error
  uint64_t total() const {
    return puts + gets + sentinel_challenges + merkle_challenges + deletes + stats;
  }
};

class FarmerService final : public shard::ShardService {
 public:
  // `software` is reported by STAT (e.g. "gnrfs 0.1.0").
  FarmerService(ShardStore& store, Admission& admission, std::string software);

  // Paused: new shards are refused (reads, challenges and deletes continue). Used while
  // draining before a shutdown, or when the operator pauses the farmer.
  void SetAccepting(bool accepting) { accepting_.store(accepting); }
  bool accepting() const { return accepting_.load(); }

  ServiceCounters counters() const ABSL_LOCKS_EXCLUDED(mu_);

  // shard::ShardService.
  absl::StatusOr<shard::PutShardAck> Put(const shard::Caller& caller,
                                         const shard::PutShardCall& call) override;
  absl::StatusOr<shard::GetRangeResult> GetRange(const shard::Caller& caller,
                                                 const shard::GetRangeCall& call) override;
  absl::StatusOr<std::vector<crypto::Hash256>> ChallengeSentinels(
      const shard::Caller& caller, const shard::SentinelChallengeCall& call) override;
  absl::StatusOr<shard::MerkleChallengeResult> ChallengeMerkle(
      const shard::Caller& caller, const shard::MerkleChallengeCall& call) override;
  absl::Status Delete(const shard::Caller& caller, const shard::DeleteShardCall& call) override;
  absl::StatusOr<shard::ShardInfo> StatShard(const shard::Caller& caller,
                                             const shard::ShardId& shard_id) override;
  absl::StatusOr<shard::NodeStatus> StatNode(const shard::Caller& caller) override;

 private:
  // Counts a finished request; returns `status` unchanged.
  template <typename T>
  T Count(uint64_t ServiceCounters::*field, T result);

  ShardStore& store_;
  Admission& admission_;
  const std::string software_;
  std::atomic<bool> accepting_{true};
  mutable absl::Mutex mu_;
  ServiceCounters counters_ ABSL_GUARDED_BY(mu_);
};

// The protocol's view of a stored shard.
shard::ShardInfo ToShardInfo(const ShardMeta& meta);

}  // namespace gnr::farmer
