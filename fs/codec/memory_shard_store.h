#pragma once
// An in-memory shard store that answers range requests like a farmer's GET_SHARD: the
// leaves covering a stored range plus a Merkle range proof. For tests of everything above
// the codec (and a model of what net/shard must do). Shards are keyed by shard id.
//
// Thread-safe (one mutex). Bytes put in are copied.

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "crypto/merkle.h"
#include "fs/codec/decoder.h"
#include "fs/codec/encoder.h"

namespace gnr::codec {

class MemoryShardStore final : public ShardSource {
 public:
  explicit MemoryShardStore(uint32_t leaf_size = crypto::kDefaultMerkleLeafSize,
                            crypto::MerkleHashKind kind = crypto::MerkleHashKind::kSha256)
      : leaf_size_(leaf_size), kind_(kind) {}

  // Stores `stored` under `id` (replacing any previous bytes) and builds its Merkle tree,
  // from which replies' proofs are made. InvalidArgument if the leaf size is 0.
  absl::Status Put(const ShardId& id, Bytes stored) ABSL_LOCKS_EXCLUDED(mu_);
  // Stores all shards of an encoded segment under their manifest ids.
  absl::Status PutSegment(const EncodedSegment& segment) ABSL_LOCKS_EXCLUDED(mu_);
  // Removes a shard (later requests for it fail with NotFound).
  void Erase(const ShardId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // A copy of the stored bytes, or NotFound.
  absl::StatusOr<Bytes> Get(const ShardId& id) const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // Answers each request with the requested leaves and a range proof; NotFound for an
  // unknown shard, OutOfRange for leaves past the shard's end.
  std::vector<absl::StatusOr<StoredRangeReply>> Fetch(
      std::span<const StoredRangeRequest> requests) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    Bytes bytes;
    crypto::MerkleTree tree;
  };

  const uint32_t leaf_size_;
  const crypto::MerkleHashKind kind_;
  mutable absl::Mutex mu_;
  std::map<ShardId, Entry> shards_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gnr::codec
