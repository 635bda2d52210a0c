#pragma once
// An in-memory storage network of N farmers for tests of fs/volume (and anything else above
// the ShardNetwork seam), with fault injection:
//   - down:    every request to the farmer fails at once with Unavailable;
//   - hold:    requests are parked until ReleaseHeld (a farmer that "acks slowly", under the
//              test's control);
//   - delay:   requests are answered after a real-time delay (a slow farmer);
//   - fail puts: the next n puts fail (dropped requests / refused shards);
//   - corrupt: range replies have a byte flipped (the reader must detect and rebuild);
//   - lose:    a stored shard disappears (LoseShard, WipeFarmer).
// Each farmer keeps the shards it acknowledged (bytes + Merkle tree) and answers range reads
// like GET_SHARD: the covering leaves and a MerkleRangeProof.
//
// ChooseFarmers returns farmers by XOR distance of their id to the placement key (down
// farmers included, as a DHT that has not noticed yet would), skipping excluded ones.
//
// Thread-safety: all methods are thread-safe. Callbacks run inline (immediate answers), on
// the fake's timer thread (delayed answers), or on the thread calling ReleaseHeld — never
// while the fake's mutex is held.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crypto/merkle.h"
#include "fs/volume/shard_network.h"

namespace gnr::fakes {

class FakeShardNetwork final : public volume::ShardNetwork {
 public:
  // `farmers` farmers with ids derived from `seed` (deterministic) and endpoints
  // "fake://farmer-<i>".
  explicit FakeShardNetwork(int farmers, uint64_t seed = 1);
  ~FakeShardNetwork() override;

  // --- volume::ShardNetwork ---
  absl::StatusOr<std::vector<volume::FarmerContact>> ChooseFarmers(
      ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
      std::span<const volume::FarmerId> exclude) override;
  void PutShard(const volume::FarmerContact& farmer, volume::PutShardRequest request,
                volume::PutShardCallback done) override;
  void GetShardRange(const volume::FarmerContact& farmer, ByteView bucket_id,
                     const codec::StoredRangeRequest& request,
                     volume::GetRangeCallback done) override;
  void DeleteShard(const volume::FarmerContact& farmer, ByteView bucket_id,
                   const codec::ShardId& shard_id, volume::DoneCallback done) override;
  void ReportFarmer(const volume::FarmerId& farmer, volume::FarmerOp op, absl::Duration latency,
                    const absl::Status& result) override;

  // --- inspection ---
  int farmer_count() const { return static_cast<int>(contacts_.size()); }
  const volume::FarmerContact& contact(int i) const { return contacts_[i]; }
  // Index of the farmer with this id, or -1.
  int IndexOf(const volume::FarmerId& id) const;
  // Shards currently stored on farmer i / on all farmers.
  size_t ShardCount(int i) const;
  size_t TotalShards() const;
  uint64_t TotalStoredBytes() const;
  bool HasShard(int i, const codec::ShardId& id) const;
  // A copy of a stored shard (for "no plaintext on farmers" checks).
  std::vector<Bytes> AllShardBytes() const;
  struct Counters {
    uint64_t puts = 0, put_failures = 0, gets = 0, get_failures = 0, deletes = 0;
    uint64_t reports = 0;
  };
  Counters counters() const;
  size_t HeldCount() const;

  // --- fault injection (farmer index i) ---
  void SetDown(int i, bool down);
  void SetHold(int i, bool hold);
  // Answers everything parked on farmer i (in order), then stops holding if `stop_holding`.
  void ReleaseHeld(int i, bool stop_holding = true);
  void SetDelay(int i, absl::Duration delay);
  void FailNextPuts(int i, int n);
  void SetCorrupt(int i, bool corrupt);
  void LoseShard(int i, const codec::ShardId& id);
  void WipeFarmer(int i);

 private:
  struct StoredShard {
    Bytes bytes;
    std::shared_ptr<const crypto::MerkleTree> tree;
    uint32_t leaf_size = 0;
  };
  struct Farmer {
    bool down = false;
    bool hold = false;
    bool corrupt = false;
    int fail_puts = 0;
    absl::Duration delay = absl::ZeroDuration();
    std::map<codec::ShardId, StoredShard> shards;
    std::vector<absl::AnyInvocable<void()>> held;  // parked requests (run to answer)
  };

  // Runs `op` now, after the farmer's delay, or parks it, according to the farmer's state.
  void Dispatch(int i, absl::AnyInvocable<void()> op) ABSL_LOCKS_EXCLUDED(mu_);
  void TimerLoop();

  std::vector<volume::FarmerContact> contacts_;  // immutable after construction
  mutable absl::Mutex mu_;
  std::vector<Farmer> farmers_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, absl::AnyInvocable<void()>> timers_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread timer_thread_;
};

}  // namespace gnr::fakes
