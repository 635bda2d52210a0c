#pragma once
// ShardStore: a farmer's shards on disk (DESIGN.md section 7).
//
// Layout under `dir` (docs/farmer.md):
//   LOCK                  held while a store is open (one store per directory)
//   index.sqlite          the ShardIndex (net/farmer/shard_index.h)
//   shards/ab/cd/<id>     one file per shard, named by the 64 hex digits of its id; ab and cd
//                         are the first two bytes of the id (fan-out: at most 256 entries
//                         per directory level)
//   shards/ab/cd/<id>.tmp a write in progress (never read; removed at start-up)
//
// Put() acknowledges (returns OK) only when the shard is durable and indexed, in this order:
//   1. reserve its size against the capacity (concurrent puts count: the bytes on disk never
//      exceed the capacity), refuse with ResourceExhausted when full;
//   2. write <id>.tmp in 1 MiB pieces, feeding the same pieces to a MerkleBuilder (each byte
//      is read once), fdatasync it and drop its pages from the page cache;
//   3. refuse with DataLoss if the root differs from the one claimed (the temp file goes);
//   4. rename <id>.tmp -> <id>, fsync the directory;
//   5. commit the index row (with the Merkle leaf hashes, kept so that range reads and
//      challenges need no pass over the shard).
// A crash at any point leaves either an acknowledged shard (row + complete file) or
// something Open() cleans up: temp files are deleted, a shard file without a row was never
// acknowledged and is deleted, a row without its file (lost by the disk) is dropped with an
// error log. Nothing half-written is ever read: reads serve only indexed shards.
//
// Reads. A range read or a challenge needs the shard's Merkle tree (for the proof): it is
// rebuilt from the indexed leaf hashes at the first read of a shard and kept in an LRU
// cache (ShardStoreOptions::tree_cache_bytes), dropped when the shard is deleted. Leaves
// are served as they are on disk: the client checks every leaf against the root it holds
// (and rebuilds a corrupt one from parity), and the auditor's Merkle challenges catch disk
// rot, so re-hashing them here (verify_reads) is off by default.
//
// Thread-safety: all methods are thread-safe and may block on disk I/O. Puts of different
// shards run concurrently; a second put of a shard being written gets Unavailable.
// Lock order: mu_ is never held while calling the index or the Env (they have their own).
//
//   GNR_ASSIGN_OR_RETURN(auto store, ShardStore::Open(PosixEnv(), SystemClockInstance(),
//                                                     {.dir = "/srv/gnr", .capacity_bytes = 1ull <<
//                                                     40}));
//   GNR_ASSIGN_OR_RETURN(PutResult r, store->Put(args, shard_bytes));
//   GNR_ASSIGN_OR_RETURN(LeafRange range, store->GetLeaves(id, 0, 4));

#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "net/farmer/byte_size.h"
#include "net/farmer/env.h"
#include "net/farmer/shard_index.h"

namespace gnr::farmer {

struct ShardStoreOptions {
  std::string dir;              // created if missing
  uint64_t capacity_bytes = 0;  // shard bytes this store may hold
  // Puts are also refused when the filesystem would have less than this much space left
  // (the configured capacity may be more than the disk has).
  uint64_t min_free_disk_bytes = 64ull << 20;
  // Largest shard accepted, and largest read answered.
  uint64_t max_shard_size = 64ull << 20;
  // Check every leaf read from disk against its indexed hash (DataLoss on mismatch) before
  // serving it. Off by default: readers verify every leaf against the shard's Merkle root
  // anyway; this costs one SHA-256 pass over everything served.
  bool verify_reads = false;
  // Merkle trees of recently read shards kept in memory (bytes of hashes, about 64 bytes per
  // leaf: 16 KiB for a 16 MiB shard of 64 KiB leaves). 0 disables the cache.
  uint64_t tree_cache_bytes = 16ull << 20;
};

struct PutArgs {
  ShardId id{};
  Bytes bucket;  // 1..255 bytes
  Bytes payer;   // 0..64 bytes: who may delete (checked by Delete)
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = crypto::kDefaultMerkleLeafSize;
  crypto::MerkleHashKind hash_kind = crypto::MerkleHashKind::kSha256;
};

struct PutResult {
  bool already_stored = false;  // the same shard (same root and size) was already here
};

// Leaves [first, first + count) of a shard: bytes concatenated, with their range proof.
struct LeafRange {
  Bytes leaves;
  crypto::MerkleRangeProof proof;
};

// One leaf with its proof (a Merkle challenge answer).
struct LeafProof {
  Bytes leaf;
  crypto::MerkleProof proof;
};

struct StoreUsage {
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;      // acknowledged shards
  uint64_t reserved_bytes = 0;  // puts in progress
  uint64_t shards = 0;
  uint64_t free_bytes() const {
    uint64_t taken = used_bytes + reserved_bytes;
    return taken >= capacity_bytes ? 0 : capacity_bytes - taken;
  }
};

// Counters since Open (monotonic).
struct StoreCounters {
  uint64_t puts = 0;                 // acknowledged new shards
  uint64_t puts_already_stored = 0;  // idempotent repeats
  uint64_t puts_refused = 0;         // any refusal (full, bad root, bad arguments, I/O)
  uint64_t puts_refused_full = 0;
  uint64_t puts_refused_bad_root = 0;
  uint64_t bytes_written = 0;
  uint64_t range_reads = 0;
  uint64_t bytes_read = 0;
  uint64_t sentinel_challenges = 0;
  uint64_t merkle_challenges = 0;
  uint64_t deletes = 0;
  uint64_t corrupt_reads = 0;  // leaves that did not match their hash (verify_reads)
  uint64_t tree_loads = 0;     // Merkle trees rebuilt from the index (tree cache misses)
};

// What Open() found and repaired.
struct RecoveryReport {
  uint64_t shards = 0;                   // acknowledged shards kept
  uint64_t temp_files_removed = 0;       // unfinished writes
  uint64_t unindexed_files_removed = 0;  // renamed but never acknowledged
  uint64_t missing_files = 0;            // indexed shards whose file is gone (data lost)
  uint64_t wrong_size_files = 0;         // indexed shards whose file has the wrong size
  uint64_t unknown_files = 0;            // other names under shards/ (left alone)
};

class ShardStore {
 public:
  // Opens (creating) the store in options.dir, takes its LOCK and recovers (see the file
  // comment). `env` and `clock` must outlive the store. FailedPrecondition if another store
  // holds the directory.
  static absl::StatusOr<std::unique_ptr<ShardStore>> Open(Env& env, Clock& clock,
                                                          ShardStoreOptions options);
  // Close()s.
  ~ShardStore();
  ShardStore(const ShardStore&) = delete;
  ShardStore& operator=(const ShardStore&) = delete;

  // Stores `data` as shard args.id and returns once it is durable (see the file comment).
  // Errors: InvalidArgument (bad sizes or leaf size), ResourceExhausted ("farmer full:
  // capacity ..., used ..., shard ... needs ..." or "disk full: ..."), DataLoss (data does
  // not hash to merkle_root), AlreadyExists (same id, different root or size), Unavailable
  // (the same shard is being written or deleted), FailedPrecondition (store closed),
  // Internal / ResourceExhausted for I/O failures (nothing is acknowledged then).
  absl::StatusOr<PutResult> Put(const PutArgs& args, ByteView data) ABSL_LOCKS_EXCLUDED(mu_);

  // The indexed metadata of a shard. NotFound if it is not stored.
  absl::StatusOr<ShardMeta> Stat(const ShardId& id) const ABSL_LOCKS_EXCLUDED(mu_);
  // Every stored shard (unordered).
  std::vector<ShardMeta> List() const ABSL_LOCKS_EXCLUDED(mu_);

  // Leaves [first_leaf, first_leaf + count). NotFound; OutOfRange if the leaves are not
  // inside the shard or count is 0; DataLoss if a leaf on disk does not match its hash.
  absl::StatusOr<LeafRange> GetLeaves(const ShardId& id, uint64_t first_leaf, uint64_t count)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The 32 bytes at each stored offset, in the order given. NotFound; OutOfRange if an
  // offset + 32 runs past the shard. Sentinels are not covered by leaf hashes here (the
  // auditor checks them), so no read verification.
  absl::StatusOr<std::vector<crypto::Hash256>> ReadSentinels(const ShardId& id,
                                                             std::span<const uint64_t> offsets)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Leaf `leaf_index` and its proof. NotFound; OutOfRange; DataLoss as GetLeaves.
  absl::StatusOr<LeafProof> ProveLeaf(const ShardId& id, uint64_t leaf_index)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Removes a shard if `payer` is the one that stored it. NotFound, PermissionDenied,
  // Unavailable (being written or deleted).
  absl::Status Delete(const ShardId& id, ByteView payer) ABSL_LOCKS_EXCLUDED(mu_);

  // Writes the access times recorded by reads to the index (the daemon calls it now and
  // then; Close() does it too).
  absl::Status FlushAccessTimes() ABSL_LOCKS_EXCLUDED(mu_);

  // Stops accepting puts, waits for the puts in progress, flushes access times and closes
  // the index. Reads after Close fail with FailedPrecondition. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  StoreUsage usage() const ABSL_LOCKS_EXCLUDED(mu_);
  StoreCounters counters() const ABSL_LOCKS_EXCLUDED(mu_);
  const RecoveryReport& recovery() const { return recovery_; }
  // Where a shard's bytes live (whether or not it is stored).
  std::string ShardPath(const ShardId& id) const;
  const ShardStoreOptions& options() const { return options_; }

 private:
  ShardStore(Env& env, Clock& clock, ShardStoreOptions options, std::unique_ptr<FileLock> lock,
             std::unique_ptr<ShardIndex> index);
  absl::Status Recover();
  absl::Status EnsureShardDir(const ShardId& id);
  // Writes, verifies and renames; on error removes what it wrote.
  absl::StatusOr<std::vector<crypto::Hash256>> WriteShardFile(const PutArgs& args, ByteView data);
  // Meta of a readable shard (and records the access). NotFound / FailedPrecondition.
  absl::StatusOr<ShardMeta> BeginRead(const ShardId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // The shard's Merkle tree: from the cache, else rebuilt from the index (and cached).
  absl::StatusOr<std::shared_ptr<const crypto::MerkleTree>> GetTree(const ShardMeta& meta)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<crypto::MerkleTree> LoadTree(const ShardMeta& meta);
  void EraseTreeLocked(const ShardId& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads leaves [first, first + count) of an open shard and checks them.
  absl::StatusOr<Bytes> ReadLeaves(const ShardMeta& meta, const crypto::MerkleTree& tree,
                                   uint64_t first, uint64_t count);

  Env& env_;
  Clock& clock_;
  const ShardStoreOptions options_;
  const std::string shards_dir_;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<ShardIndex> index_;  // null after Close
  RecoveryReport recovery_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<ShardId, ShardMeta> shards_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<ShardId> writing_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<ShardId> deleting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ShardId, absl::Time> dirty_access_ ABSL_GUARDED_BY(mu_);
  uint64_t used_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reserved_ ABSL_GUARDED_BY(mu_) = 0;
  int operations_in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // puts, reads and deletes
  StoreCounters counters_ ABSL_GUARDED_BY(mu_);
  // The tree cache: least recently used first in tree_lru_. Holds only trees of stored
  // shards (with their current root): entries go when a shard is deleted.
  struct CachedTree {
    std::shared_ptr<const crypto::MerkleTree> tree;
    std::list<ShardId>::iterator lru;
    uint64_t bytes = 0;
  };
  absl::flat_hash_map<ShardId, CachedTree> trees_ ABSL_GUARDED_BY(mu_);
  std::list<ShardId> tree_lru_ ABSL_GUARDED_BY(mu_);
  uint64_t tree_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gnr::farmer
