#pragma once
// ShardIndex: the farmer's SQLite index (WAL, synchronous=FULL) of the shards it stores.
// The shard bytes live in files (net/farmer/shard_store.h); this index is what the store
// acknowledges against: a shard is stored once its row is committed. Schema (docs/farmer.md):
//   meta(key TEXT PRIMARY KEY, value BLOB)            -- "capacity" (8 bytes, big-endian)
//   shards(id BLOB PRIMARY KEY, bucket, payer, size, root, leaf_size, hash_kind,
//          created_ns, last_access_ns)
//   shard_leaves(id BLOB PRIMARY KEY, hashes BLOB)     -- 32 bytes per Merkle leaf hash
//   buckets(id BLOB PRIMARY KEY, shards, bytes)        -- per-bucket usage
//
// Thread-safe (one internal mutex; each call is one transaction). Another process may open
// the same file read-only (gnr farmer status) while the daemon writes: WAL allows it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"

namespace gnr::farmer {

namespace internal {
class Db;
}

// The placement key of a stored shard (codec::ShardId).
using ShardId = FixedBytes<32>;

// What the farmer knows about one stored shard.
struct ShardMeta {
  ShardId id{};
  Bytes bucket;  // bucket paying for the space
  Bytes payer;   // who may delete it (an address, as checked by the shard service)
  uint64_t size = 0;
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = crypto::kDefaultMerkleLeafSize;
  crypto::MerkleHashKind hash_kind = crypto::MerkleHashKind::kSha256;
  absl::Time created = absl::UnixEpoch();
  absl::Time last_access = absl::UnixEpoch();

  friend bool operator==(const ShardMeta&, const ShardMeta&) = default;
};

struct BucketUsage {
  Bytes bucket;
  uint64_t shards = 0;
  uint64_t bytes = 0;
};

// Totals of the index (for `gnr farmer status`).
struct IndexSummary {
  std::optional<uint64_t> capacity_bytes;  // as last recorded by the daemon
  uint64_t shards = 0;
  uint64_t bytes = 0;
  std::vector<BucketUsage> buckets;
};

class ShardIndex {
 public:
  // Opens or creates the index at `path` (read-write, schema created if missing).
  static absl::StatusOr<std::unique_ptr<ShardIndex>> Open(const std::string& path);
  // Opens an existing index read-only. NotFound if it does not exist.
  static absl::StatusOr<std::unique_ptr<ShardIndex>> OpenReadOnly(const std::string& path);
  ~ShardIndex();
  ShardIndex(const ShardIndex&) = delete;
  ShardIndex& operator=(const ShardIndex&) = delete;

  // Adds a shard with its leaf hashes and adds it to its bucket's usage, in one transaction.
  // AlreadyExists if the id is already indexed.
  absl::Status Insert(const ShardMeta& meta, std::span<const crypto::Hash256> leaf_hashes)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes a shard and subtracts it from its bucket, in one transaction. NotFound if absent.
  absl::Status Remove(const ShardId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Every indexed shard (without leaf hashes).
  absl::StatusOr<std::vector<ShardMeta>> LoadAll() ABSL_LOCKS_EXCLUDED(mu_);
  // The Merkle leaf hashes of a shard. NotFound if absent; DataLoss if the stored blob is
  // not a whole number of hashes.
  absl::StatusOr<std::vector<crypto::Hash256>> LeafHashes(const ShardId& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Records access times (one transaction; unknown ids are ignored).
  absl::Status TouchAccess(std::span<const std::pair<ShardId, absl::Time>> accesses)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SetCapacity(uint64_t capacity_bytes) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<IndexSummary> Summary() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit ShardIndex(std::unique_ptr<internal::Db> db);
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<internal::Db> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gnr::farmer
