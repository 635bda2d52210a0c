#pragma once
// MemoryShardService: a ShardService that keeps shards in memory. For tests, benchmarks and
// the fakes of upper layers; it follows every rule of the ShardService contract (Merkle root
// checked before acknowledging, capacity enforced with a clear error, idempotent puts, only
// the payer deletes). Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "crypto/merkle.h"
#include "net/shard/shard_service.h"

namespace gnr::shard {

class MemoryShardService final : public ShardService {
 public:
  struct Options {
    uint64_t capacity_bytes = 1ull << 30;
    bool accepting = true;
    // Skip the Merkle check on Put (benchmarks that measure the network only).
    bool verify_root = true;
    Clock* clock = nullptr;  // null: system clock (stored_at)
  };

  explicit MemoryShardService(Options options);
  MemoryShardService() : MemoryShardService(Options{}) {}

  absl::StatusOr<PutShardAck> Put(const Caller& caller, const PutShardCall& call) override;
  absl::StatusOr<GetRangeResult> GetRange(const Caller& caller, const GetRangeCall& call) override;
  absl::StatusOr<std::vector<crypto::Hash256>> ChallengeSentinels(
      const Caller& caller, const SentinelChallengeCall& call) override;
  absl::StatusOr<MerkleChallengeResult> ChallengeMerkle(const Caller& caller,
                                                        const MerkleChallengeCall& call) override;
  absl::Status Delete(const Caller& caller, const DeleteShardCall& call) override;
  absl::StatusOr<ShardInfo> StatShard(const Caller& caller, const ShardId& shard_id) override;
  absl::StatusOr<NodeStatus> StatNode(const Caller& caller) override;

  // Test hooks.
  void SetAccepting(bool accepting);
  // Flips one byte of a stored shard (to test that readers detect corruption). NotFound if
  // absent or the offset is past the end.
  absl::Status Corrupt(const ShardId& shard_id, uint64_t offset);
  size_t shard_count() const;

 private:
  struct Stored {
    ShardInfo info;
    net_zmq::SharedBytes data;
    std::shared_ptr<const crypto::MerkleTree> tree;
  };
  absl::StatusOr<std::shared_ptr<const Stored>> Find(const ShardId& id) const;

  Options options_;
  Clock& clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ShardId, std::shared_ptr<const Stored>> shards_ ABSL_GUARDED_BY(mu_);
  uint64_t used_ ABSL_GUARDED_BY(mu_) = 0;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
};

// "1 GiB", "1023 MiB", "16 KiB", "17 B": binary units, for error messages.
std::string FormatBytes(uint64_t bytes);

}  // namespace gnr::shard
