#pragma once
// The client's local metadata: one SQLite file (schema in docs/catalog.md) holding inodes,
// directory entries, xattrs, file versions, shard placements, pending uploads, buckets,
// audit verdicts and farmer records.
//
// Concurrency. Every method is thread-safe and runs as one short transaction, so each call
// is atomic. A Catalog owns two SQLite connections, each guarded by its own mutex: writes
// run on the write connection (BEGIN IMMEDIATE), reads on the read connection (a deferred
// read transaction: a consistent snapshot of the last commit), so readers never wait for
// writers. Several Catalog objects, in one process or several (the FUSE daemon and
// `gnr-put`), may open the same file at once: the database is in WAL mode and writers wait
// for each other up to Options::busy_timeout (then kUnavailable).
//
// Transactions. To make several calls atomic, open a Transaction on the calling thread:
//
//   GNR_ASSIGN_OR_RETURN(catalog::Transaction txn, catalog.Begin(Durability::kDurable));
//   GNR_RETURN_IF_ERROR(catalog.CommitVersion(version));
//   GNR_RETURN_IF_ERROR(catalog.ChargeBucket(bucket, bytes, /*enforce_limit=*/true));
//   GNR_RETURN_IF_ERROR(txn.Commit());   // without Commit, the destructor rolls back
//
// While a Transaction is open, calls from the *same thread* join it (each call still runs
// under a SAVEPOINT, so a call that fails leaves no partial change behind and the caller
// may continue or roll back). Writes from other threads wait until it ends; their reads
// do not wait and see the last committed state. Keep transactions short: other processes
// are locked out of writing meanwhile. A second Begin on the same thread fails with
// kFailedPrecondition.
//
// Durability. Commits are atomic and survive a crash of the process (kill -9) at any
// point. By default (Durability::kNormal, SQLite synchronous=NORMAL in WAL mode) the last
// commits may be lost on a power failure or OS crash, but the database stays consistent.
// Durability::kDurable (used when a user was told the data is safe: fsync, a committed
// version) fsyncs the WAL before Commit returns, which also makes every earlier commit
// durable; Sync() does the same without a transaction.
//
// Errors. Operations that mirror POSIX calls return statuses carrying an errno payload
// (fs/catalog/posix_error.h): ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL,
// ENAMETOOLONG, ENODATA, E2BIG, ERANGE, EPERM, EMLINK, EBUSY, EFBIG, ENOSPC, as listed per
// method (and EIO / ENOSPC / EROFS when SQLite itself hits those on the local disk).
// Non-POSIX failures: kNotFound (unknown version/placement/upload/bucket/verdict),
// kInvalidArgument (malformed records), kFailedPrecondition (wrong state),
// kUnavailable (database busy past the timeout), kDataLoss (corrupt database file),
// kInternal (other SQLite errors).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "fs/catalog/posix_error.h"
#include "fs/catalog/types.h"

namespace gnr::catalog {

namespace internal {
class Db;
}  // namespace internal

// Schema versions this build knows; Open migrates older files up to kLatestSchemaVersion.
//   1: inodes, dirents, xattrs, versions, placements, uploads, buckets, meta
//   2: audits (verdicts) and farmers
//   3: shard_audit_state (the auditor's per-shard suspicion, last audited block, re-tag flag,
//      and repair links)
//   4: placements.sentinel_generation (re-tagged shards; 0 for every older placement)
inline constexpr int kLatestSchemaVersion = 4;

enum class Durability : uint8_t {
  kNormal = 0,   // atomic and crash-safe; may be lost on power failure
  kDurable = 1,  // fsynced before Commit returns
};

class Catalog;

// RAII transaction (BEGIN IMMEDIATE ... COMMIT / ROLLBACK). Movable, not copyable. Must be
// used, committed and destroyed on the thread that called Catalog::Begin, and must not
// outlive the Catalog.
class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back if neither Commit nor Rollback was called.
  ~Transaction();

  // Commits (fsyncing first for Durability::kDurable). On error the transaction is rolled
  // back. Calling it twice is kFailedPrecondition.
  absl::Status Commit();
  // Rolls back now. Idempotent.
  void Rollback();

 private:
  friend class Catalog;
  explicit Transaction(Catalog* catalog) : catalog_(catalog) {}
  Catalog* catalog_;  // null once finished or moved from
};

class Catalog {
 public:
  struct Options {
    // How long a writer waits for another connection's write transaction.
    absl::Duration busy_timeout = absl::Seconds(10);
    // Create the file (and the root directory) if it does not exist.
    bool create_if_missing = true;
    // Attributes of the root directory when the catalog is created.
    uint32_t root_mode = 0755;
    uint32_t root_uid = 0;
    uint32_t root_gid = 0;
    // Migrate up to this schema version only (tests and tools; 1..kLatestSchemaVersion). A
    // file newer than this is refused. Methods that need newer tables fail with
    // kFailedPrecondition.
    int schema_version = kLatestSchemaVersion;
  };

  // Opens (creating if allowed) the catalog at `path` and migrates its schema. The clock
  // stamps every time the catalog records and must outlive the Catalog.
  // Errors: kNotFound (missing and !create_if_missing), kFailedPrecondition (an SQLite
  // file that is not a gnrfs catalog, or a schema newer than this build), kDataLoss (not an
  // SQLite file, or corrupt), kUnavailable (busy), kInvalidArgument (bad options).
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path, Clock& clock,
                                                       const Options& options);
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path, Clock& clock);

  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const std::string& path() const { return path_; }
  int schema_version() const { return schema_version_; }

  // ---- Transactions and maintenance ----------------------------------------------------

  // Starts a write transaction owned by the calling thread (see the file comment).
  absl::StatusOr<Transaction> Begin(Durability durability = Durability::kNormal);
  // Makes every commit so far durable (fsyncs the WAL). Not inside a Transaction.
  absl::Status Sync();
  // Copies the WAL into the main file and truncates the WAL (PRAGMA wal_checkpoint(TRUNCATE));
  // kUnavailable if other connections' readers prevent it. Not inside a Transaction.
  absl::Status Checkpoint();
  // Writes a consistent, compacted copy of the catalog to `dest_path` (VACUUM INTO), e.g.
  // for the encrypted catalog backup. `dest_path` must not exist. Not inside a Transaction.
  absl::Status SnapshotTo(const std::string& dest_path);
  // PRAGMA integrity_check and foreign_key_check: OK or kDataLoss listing the problems.
  absl::Status CheckIntegrity();

  // Small key/value settings for the layers above (e.g. "volume.default_bucket").
  // GetMeta: kNotFound when unset. Keys starting with "catalog." are reserved.
  absl::StatusOr<std::string> GetMeta(std::string_view key);
  absl::Status SetMeta(std::string_view key, std::string_view value);

  // ---- Namespace (POSIX) -----------------------------------------------------------------

  // The entry `name` of directory `parent`. "." and ".." are resolved (".." of the root is
  // the root). ENOENT (parent or entry missing), ENOTDIR (parent not a directory),
  // ENAMETOOLONG.
  absl::StatusOr<Attr> Lookup(Ino parent, std::string_view name);
  // ENOENT if no such inode.
  absl::StatusOr<Attr> GetAttr(Ino ino);
  // The directory containing directory `dir` (the root for the root). ENOENT, ENOTDIR;
  // ENOENT too for a removed (orphan) directory.
  absl::StatusOr<Ino> Parent(Ino dir);

  // Creates a node of spec.type named `name` in `parent` with nlink 1 (2 for a directory,
  // whose parent gains a link), all times = now, and updates the parent's mtime/ctime.
  // ENOENT (parent missing or removed), ENOTDIR, EEXIST, EINVAL (bad name or spec),
  // ENAMETOOLONG.
  absl::StatusOr<Attr> CreateNode(Ino parent, std::string_view name, const NodeSpec& spec);
  // A symlink's target. ENOENT, EINVAL (not a symlink).
  absl::StatusOr<std::string> ReadLink(Ino ino);

  // Removes a non-directory entry: the inode loses a link (ctime = now); the parent's
  // mtime/ctime = now. An inode left with nlink 0 is an orphan, kept until PurgeInode.
  // ENOENT, ENOTDIR (parent), EISDIR (entry is a directory), EINVAL ("." / "..").
  absl::StatusOr<Unlinked> Unlink(Ino parent, std::string_view name);
  // Removes an empty directory entry: the directory becomes an orphan (nlink 0), the parent
  // loses a link. ENOENT, ENOTDIR (parent or entry not a directory), ENOTEMPTY,
  // EINVAL ("." or ".." as name).
  absl::StatusOr<Unlinked> Rmdir(Ino parent, std::string_view name);
  // rename(2)/renameat2(2). Default mode replaces an existing target atomically (the target
  // loses a link and gets ctime = now; a replaced directory must be empty); renaming an entry
  // onto another link of the same inode does nothing. The moved inode's ctime and both
  // parents' mtime/ctime become now; moving a directory moves a link between the parents.
  // Errors: ENOENT (source, or target in kExchange, or a parent missing), ENOTDIR (a parent
  // is not a directory, or a directory would replace a non-directory), EISDIR (a
  // non-directory would replace a directory), ENOTEMPTY (replaced directory not empty, or
  // target is an ancestor of the source), EEXIST (kNoReplace and the target exists), EINVAL
  // (a directory would move under itself, "." / ".." names).
  absl::StatusOr<RenameResult> Rename(Ino old_parent, std::string_view old_name, Ino new_parent,
                                      std::string_view new_name,
                                      RenameMode mode = RenameMode::kDefault);
  // A new hard link `new_name` in `new_parent` to `ino` (nlink + 1, ctime = now).
  // ENOENT (ino or parent missing, or ino is an orphan), ENOTDIR, EEXIST, EPERM (ino is a
  // directory), EMLINK (too many links), EINVAL/ENAMETOOLONG (name).
  absl::StatusOr<Attr> Link(Ino ino, Ino new_parent, std::string_view new_name);
  // chmod/chown/truncate/utimens. Returns the new attributes. ENOENT, EISDIR/EINVAL (size on
  // a directory / other non-file), EFBIG (size beyond codec::kMaxFileSize), EINVAL (mode
  // with other type bits).
  absl::StatusOr<Attr> SetAttr(Ino ino, const AttrUpdate& update);
  // Up to `max_entries` entries of `dir` whose cookie is > after_cookie, in cookie order
  // (entry creation/rename order). Cookies are stable: an entry keeps its cookie until it is
  // removed or renamed (a renamed entry gets a new, larger cookie), so concurrent changes
  // never make a listing skip or repeat an unchanged entry. "." and ".." are not returned.
  // ENOENT, ENOTDIR.
  absl::StatusOr<std::vector<DirEntry>> ReadDir(Ino dir, uint64_t after_cookie, size_t max_entries);
  // Number of entries in `dir` (without "." and ".."). ENOENT, ENOTDIR.
  absl::StatusOr<uint64_t> CountEntries(Ino dir);

  // Extended attributes (names are bytes, 1..kMaxXattrNameLength; values up to
  // kMaxXattrValueSize). Get/Remove: ENODATA if absent. Set: EEXIST (kCreate, present),
  // ENODATA (kReplace, absent), ERANGE (name length), E2BIG (value size); sets ctime.
  // All: ENOENT for a missing inode.
  absl::StatusOr<Bytes> GetXattr(Ino ino, std::string_view name);
  absl::Status SetXattr(Ino ino, std::string_view name, ByteView value,
                        XattrSetMode mode = XattrSetMode::kAny);
  absl::StatusOr<std::vector<std::string>> ListXattrs(Ino ino);  // sorted by name
  absl::Status RemoveXattr(Ino ino, std::string_view name);

  absl::StatusOr<FsTotals> Totals();

  // Orphans: inodes with nlink 0, in inode order.
  absl::StatusOr<std::vector<Ino>> ListOrphans();
  // Deletes an orphan inode once nothing uses it any more (last open handle released /
  // kernel forgot it, or at mount for orphans left by a crash): its xattrs and pending
  // uploads are deleted and all its versions become obsolete (to be collected). Returns the
  // uploads it removed, so the caller can delete their staging files.
  // ENOENT (no such inode), EBUSY (nlink > 0: not an orphan).
  absl::StatusOr<std::vector<Upload>> PurgeInode(Ino ino);

  // ---- Versions ------------------------------------------------------------------------

  // Records a pending version of regular file `ino`. kSharded: the manifest is decoded and
  // checked (its file size and nonce must equal `size` and `nonce`), k, m and the segment
  // count are taken from it. kInline: the blob must be non-empty. kInvalidArgument for a bad
  // record, kNotFound for an unknown bucket, ENOENT/EISDIR/EINVAL for a missing/non-file
  // inode.
  absl::StatusOr<VersionId> AddVersion(const NewVersion& version);
  // kNotFound if unknown.
  absl::StatusOr<Version> GetVersion(VersionId id);
  // All versions of `ino` (any state), oldest first.
  absl::StatusOr<std::vector<Version>> ListVersions(Ino ino);
  // Versions in `state`, oldest first (e.g. kPending at startup to resume uploads).
  absl::StatusOr<std::vector<Version>> ListVersionsByState(VersionState state, size_t limit = 1000);
  // Marks a pending version committed (committed time = now) and, if make_current, makes
  // it the inode's current version (the previous current version becomes obsolete). The
  // inode's size and times are not changed (use SetAttr in the same Transaction).
  // For kSharded, every segment must have at least `min_acked_shards` distinct shard indexes
  // with an acked placement (0 = the default k+1, capped at k+m); otherwise
  // kFailedPrecondition naming the first short segment. kFailedPrecondition if the version
  // is not pending; ENOENT if its inode is gone.
  absl::Status CommitVersion(VersionId id, bool make_current = true, uint32_t min_acked_shards = 0);
  // Makes a committed version the current one (e.g. restore an older version); the
  // previous current becomes obsolete. kFailedPrecondition unless committed (an obsolete
  // version may be brought back while its shards have not been collected).
  absl::Status SetCurrentVersion(Ino ino, VersionId id);
  // Marks a pending or committed, non-current version obsolete (e.g. an abandoned upload).
  // kFailedPrecondition if it is the current version.
  absl::Status ObsoleteVersion(VersionId id);
  // Obsolete versions that became obsolete at or before `obsoleted_before`, oldest first:
  // their shards should get DELETE_SHARD, then DeleteVersion.
  absl::StatusOr<std::vector<Version>> ListObsoleteVersions(absl::Time obsoleted_before,
                                                            size_t limit = 1000);
  // Deletes an obsolete version and its placements (verdicts keep their history).
  // kFailedPrecondition unless obsolete.
  absl::Status DeleteVersion(VersionId id);
  // Replaces a sharded version's manifest after a repair (new shard generation, Merkle root,
  // stored length). The new manifest must describe the same content: same size, nonce, k, m,
  // segment size and segment count. kInvalidArgument otherwise.
  absl::Status UpdateManifest(VersionId id, ByteView manifest);

  // ---- Placements ----------------------------------------------------------------------

  // kNotFound (version), kInvalidArgument (shard index >= k+m or segment >= segment count).
  absl::StatusOr<PlacementId> AddPlacement(const NewPlacement& placement);
  absl::StatusOr<Placement> GetPlacement(PlacementId id);
  // Updates the state (and `updated`). kNotFound if unknown.
  absl::Status SetPlacementState(PlacementId id, PlacementState state);
  // Moves a pending placement to another farmer (a spare after a failed put).
  absl::Status SetPlacementFarmer(PlacementId id, const FarmerId& farmer, std::string_view hint);
  // Marks a sentinel group as revealed (idempotent).
  absl::Status MarkGroupUsed(PlacementId id, uint32_t group);
  absl::Status DeletePlacement(PlacementId id);
  // By version: ordered by (segment, shard index, id).
  absl::StatusOr<std::vector<Placement>> ListPlacementsByVersion(VersionId version);
  absl::StatusOr<std::vector<Placement>> ListPlacementsByFarmer(const FarmerId& farmer,
                                                                size_t limit = 100000);
  absl::StatusOr<std::vector<Placement>> ListPlacementsByState(PlacementState state,
                                                               size_t limit = 1000);
  absl::StatusOr<std::vector<Placement>> ListPlacementsByShard(const ShardId& shard_id);
  // Acked placements of committed versions, least recently audited first (never-audited
  // first), whose last audit is before `audited_before`: the auditor's work queue.
  absl::StatusOr<std::vector<Placement>> ListPlacementsDueForAudit(absl::Time audited_before,
                                                                   size_t limit);
  // Per segment of `version`, the number of distinct shard indexes with an acked placement
  // (vector of segment_count entries). kNotFound if the version is unknown.
  absl::StatusOr<std::vector<uint32_t>> AckedShardsPerSegment(VersionId version);
  // Committed sharded versions where some shard index of some segment has no acked
  // placement (fewer than k+m copies): the background top-up and the repairer's work list.
  // Oldest first. Cost: one indexed count per committed version.
  absl::StatusOr<std::vector<Version>> ListUnderReplicatedVersions(size_t limit = 1000);

  // ---- Pending uploads -----------------------------------------------------------------

  // ENOENT if the inode is missing.
  absl::StatusOr<UploadId> AddUpload(const NewUpload& upload);
  absl::StatusOr<Upload> GetUpload(UploadId id);
  absl::Status UpdateUpload(UploadId id, const UploadUpdate& update);
  absl::Status RemoveUpload(UploadId id);
  // All uploads (oldest first), or those of one inode.
  absl::StatusOr<std::vector<Upload>> ListUploads();
  absl::StatusOr<std::vector<Upload>> ListUploadsForInode(Ino ino);

  // ---- Buckets -------------------------------------------------------------------------

  // Inserts or replaces a bucket record (used_bytes is kept for an existing bucket).
  // kInvalidArgument for an id outside 1..255 bytes.
  absl::Status PutBucket(const Bucket& bucket);
  absl::StatusOr<Bucket> GetBucket(ByteView id);
  absl::StatusOr<std::vector<Bucket>> ListBuckets();
  // used_bytes += delta (clamped at 0 for negative deltas). With enforce_limit and delta > 0,
  // ENOSPC (no change) if used + delta would exceed size_bytes. kNotFound if unknown.
  // Returns the new used_bytes.
  absl::StatusOr<uint64_t> ChargeBucket(ByteView id, int64_t delta, bool enforce_limit);

  // ---- Audits and farmers (schema version >= 2) ---------------------------------------

  // Records a verdict; if it names a placement, that placement's audit count and last audit
  // time are updated in the same transaction, and the verdict remembers its version and
  // inode. The farmer record is created if missing (last_seen = now when it answered).
  absl::StatusOr<VerdictId> RecordVerdict(const NewVerdict& verdict);
  absl::StatusOr<Verdict> GetVerdict(VerdictId id);
  absl::StatusOr<std::vector<Verdict>> ListVerdicts(const VerdictQuery& query);
  // Verdicts not yet reported on chain, oldest first; MarkVerdictsReported stamps them.
  absl::StatusOr<std::vector<Verdict>> ListUnreportedVerdicts(size_t limit);
  absl::Status MarkVerdictsReported(const std::vector<VerdictId>& ids);
  // Per-farmer counts over all verdicts (or those since `since`), by farmer id.
  absl::StatusOr<std::vector<FarmerAuditStats>> FarmerStats(
      std::optional<absl::Time> since = std::nullopt);
  absl::StatusOr<FarmerAuditStats> FarmerStatsFor(const FarmerId& farmer);

  // Inserts or replaces a farmer record (first_seen is kept for an existing farmer).
  absl::Status PutFarmer(const Farmer& farmer);
  absl::StatusOr<Farmer> GetFarmer(const FarmerId& id);  // kNotFound if unknown
  absl::StatusOr<std::vector<Farmer>> ListFarmers();
  absl::Status SetFarmerStatus(const FarmerId& id, FarmerStatus status, uint32_t suspicion);

  // ---- Auditor state (schema version >= 3) --------------------------------------------

  // The auditor's state of a placement; defaults (no suspicion, never audited) when none was
  // stored. kNotFound if the placement is unknown.
  absl::StatusOr<ShardAuditState> GetShardAuditState(PlacementId id);
  // Stores it (state.placement names the row; `updated` becomes now). kNotFound if the
  // placement is unknown.
  absl::Status SetShardAuditState(const ShardAuditState& state);
  // Every stored state (placements never touched by the auditor have none), by placement.
  absl::StatusOr<std::vector<ShardAuditState>> ListShardAuditStates();
  // After a repair: inserts `replacement` (same version, segment and shard index as
  // `old_id`, normally the next generation on another farmer), marks the old placement
  // kRepaired and links it to the new one, in one savepoint. Combine with UpdateManifest in
  // a Transaction so the manifest and the placements change together. kNotFound (old
  // placement), kInvalidArgument (replacement for another shard position),
  // kFailedPrecondition (old placement already repaired).
  absl::StatusOr<PlacementId> ReplacePlacement(PlacementId old_id, const NewPlacement& replacement);

 private:
  friend class Transaction;
  class Scope;

  Catalog(std::string path, Clock& clock, std::unique_ptr<internal::Db> db, const Options& options);
  absl::Status Migrate(int target_version);
  absl::Status RequireSchema(int version, std::string_view what) const;
  // INSERTs a placement row (the sentinel generation column from schema version 4 on;
  // FailedPrecondition for a nonzero one below it).
  absl::Status InsertPlacement(internal::Db& db, const NewPlacement& p, absl::Time now);

  // Transaction plumbing (catalog.cc).
  absl::Status EndTransaction(bool commit);
  bool OwnedByThisThread() const;

  const std::string path_;
  Clock& clock_;
  const Options options_;
  int schema_version_ = 0;

  // Guards the write connection. Held by a write Scope for one call, or by a Transaction
  // for its whole life; txn_owner_ is then the holding thread, whose further calls (reads
  // too) join the open transaction instead of locking again. Lock order: mu_ before
  // read_mu_ (never both today).
  absl::Mutex mu_;
  std::unique_ptr<internal::Db> db_;  // used only by the thread holding mu_
  absl::Mutex read_mu_;
  std::unique_ptr<internal::Db> read_db_;  // used only by the thread holding read_mu_
  std::atomic<std::thread::id> txn_owner_{};
  Durability txn_durability_ = Durability::kNormal;  // of the open Transaction
  uint64_t generation_ = 1;                          // for new inodes (meta)
};

}  // namespace gnr::catalog
