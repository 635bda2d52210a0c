#pragma once
// Internal: the Volume implementation (fs/volume/volume.h has the contract). Split over
// volume.cc (open, namespace, handles), volume_io.cc (read/write, staging, read path) and
// volume_upload.cc (scheduler, uploads, top-ups, garbage collection).
//
// Locks, in the only order they may nest:
//   InodeState::mu  ->  VolumeImpl::mu_  ->  SegmentPut::mu
// VolumeImpl::versions_mu_ and the catalog's internal lock are leaves (nothing is acquired
// while holding them, except that catalog calls may be made with InodeState::mu or no lock
// held — never with mu_ or SegmentPut::mu held). Network calls are never made with mu_ or
// SegmentPut::mu held (put callbacks may run inline and take SegmentPut::mu, mu_ and the
// catalog); reads may run with InodeState::mu held (materializing a staging file), since
// range-read callbacks take no lock of ours.

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "fs/catalog/catalog.h"
#include "fs/codec/decoder.h"
#include "fs/codec/manifest.h"
#include "fs/volume/buffer_pool.h"
#include "fs/volume/read_cache.h"
#include "fs/volume/staging_file.h"
#include "fs/volume/volume.h"

namespace gnr::volume::internal {

struct SegmentPut;
class PutJournal;

// Full segments of a file being written, encoded and put on farmers while the writer goes on
// (VolumeImpl::MaybeStartEarlySegment), so that the upload at fsync/close only has the tail
// left. All of them use `nonce`, the nonce of the version the next upload commits; the
// upload adopts them (codec::FileEncoder::Adopt). A change of the staged bytes of an encoded
// segment (a write into it, a truncate below its end) voids all of them (their shards are
// deleted) and the next full segment starts over under a new nonce: re-encoding a segment
// under the same nonce would reuse its keystream. Guarded by InodeState::mu.
struct EarlySegments {
  codec::FileNonce nonce{};
  std::shared_ptr<PutJournal> journal;  // the put journal of the upload (may be null)
  // Segment i, encoded from staged bytes that have not changed since, for i < size().
  std::vector<std::shared_ptr<SegmentPut>> segments;
  std::vector<codec::SegmentManifest> manifests;  // parallel to `segments`
  // The worker task for segment segments.size(): queued (an upload or an invalidation may
  // still call it off: it then does nothing), or running (an upload waits for it).
  enum class Job { kNone, kQueued, kRunning };
  Job job = Job::kNone;
  uint64_t epoch = 0;  // bumped by every invalidation: a job of an older epoch is void
};

// What the Volume knows about an inode it is working on (open, staged or uploading).
struct InodeState {
  explicit InodeState(Ino i) : ino(i) {}
  const Ino ino;

  // Serializes changes of the staged content of this inode (writes, truncates, the switch
  // to staging) and guards the fields below.
  absl::Mutex mu;
  std::shared_ptr<StagingFile> staging ABSL_GUARDED_BY(mu);  // null: content is committed
  uint64_t size ABSL_GUARDED_BY(mu) = 0;  // staged size (meaningful with staging)
  // Times changed by writes and not yet written to the catalog.
  bool times_dirty ABSL_GUARDED_BY(mu) = false;
  absl::Time mtime ABSL_GUARDED_BY(mu);
  absl::Time ctime ABSL_GUARDED_BY(mu);
  // Bumped by every change of the staged content; committed_generation is the generation
  // the last committed version was read at. dirty = staging && generation != committed.
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  uint64_t committed_generation ABSL_GUARDED_BY(mu) = 0;
  std::optional<catalog::UploadId> upload_id ABSL_GUARDED_BY(mu);
  absl::Time dirty_since ABSL_GUARDED_BY(mu);
  uint64_t failures ABSL_GUARDED_BY(mu) = 0;  // failed upload attempts (Fsync watches it)
  absl::Status last_error ABSL_GUARDED_BY(mu);
  bool purged ABSL_GUARDED_BY(mu) = false;
  bool unlinked ABSL_GUARDED_BY(mu) = false;  // lost its last link (mirror of `orphan`)
  std::shared_ptr<EarlySegments> early ABSL_GUARDED_BY(mu);  // null: none encoded yet
  // Where the last write ended; a write elsewhere makes the file a random writer (a
  // database, say), whose segments are not sent ahead until its next commit.
  uint64_t write_end ABSL_GUARDED_BY(mu) = 0;
  bool random_writer ABSL_GUARDED_BY(mu) = false;

  bool dirty() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return staging != nullptr && generation != committed_generation;
  }

  // Guarded by VolumeImpl::mu_ (not expressible with annotations across objects).
  int open_handles = 0;
  int writers = 0;
  bool uploading = false;
  bool orphan = false;            // nlink 0: purge once unused
  uint64_t pending_estimate = 0;  // stored bytes counted in VolumeImpl::pending_stored_
  int retry_shift = 0;            // backoff exponent of failed uploads
  // Versions committed while a writer kept writing, since the writers last all closed:
  // spaces out the next timed upload (VolumeImpl::TimedUploadDelay).
  int open_commits = 0;
};

// Sequential read-ahead of one readable handle (committed content only). The kernel sends
// FUSE reads of 128 KiB (its readahead window); fetched one by one, each costs a network
// round trip and, with RS(4, 2), four 32 KiB shard ranges with their Merkle proofs. A handle
// read sequentially fetches windows instead (1 MiB doubling to kMaxWindow; with the read
// cache on, windows end on cache block boundaries) and answers the next reads from them.
// Several windows ahead of the reader are fetched at once by the Volume's workers, so the
// network and the farmers never wait for the reader: windows are planned up to twice as far
// ahead of the reader as it has read sequentially (at least kMinWindow; a lone pair of nearby
// random reads costs little), as many as fit in kMaxBytes (what is buffered, being fetched
// and queued, per handle; a window is freed once the reader is kMinWindow past its end).
// Each window is fetched exactly once, by whoever claims it first: a worker, or a reader
// that needs a window no worker has started (it fetches it itself) — a reader that needs a
// window being fetched waits for it. The fetches run without `mu`; concurrent reads of one
// handle (the kernel's async readahead) share the windows. Lock order: mu -> VolumeImpl::mu_.
struct ReadAhead {
  static constexpr uint64_t kMinWindow = uint64_t{1} << 20;
  static constexpr uint64_t kMaxWindow = uint64_t{8} << 20;
  static constexpr uint64_t kMaxBytes = uint64_t{32} << 20;

  // Plaintext [begin, begin + size) of `version`. Fields guarded by the ReadAhead's mu.
  struct Window {
    enum class State { kQueued, kRunning, kDone };
    uint64_t begin = 0;
    uint64_t size = 0;
    State state = State::kQueued;
    bool dropped = false;  // no longer in `windows`: a queued fetch is skipped
    Bytes data;            // kDone and status ok: the bytes
    absl::Status status;   // kDone: how the fetch went
    uint64_t end() const { return begin + size; }
  };

  absl::Mutex mu;
  catalog::VersionId version ABSL_GUARDED_BY(mu) = 0;  // of every window; 0: none
  // Consecutive windows, in file order.
  std::deque<std::shared_ptr<Window>> windows ABSL_GUARDED_BY(mu);
  uint64_t next ABSL_GUARDED_BY(mu) = 0;    // end of the last read: where a sequential one starts
  uint64_t window ABSL_GUARDED_BY(mu) = 0;  // size of the last window; 0: not sequential
  uint64_t run_start ABSL_GUARDED_BY(mu) = 0;  // where the current sequential run began

  uint64_t end() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return windows.empty() ? 0 : windows.back()->end();
  }
  uint64_t bytes() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return windows.empty() ? 0 : windows.back()->end() - windows.front()->begin;
  }
  void DropAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (const auto& w : windows) w->dropped = true;
    windows.clear();
  }
};

struct Handle {
  Ino ino = 0;
  int flags = 0;
  bool readable = false;
  bool writable = false;
  bool append = false;
  std::shared_ptr<InodeState> state;
  std::shared_ptr<ReadAhead> readahead;  // readable handles
};

// The committed content of a version, ready to read.
struct VersionContent {
  catalog::VersionId id = 0;
  catalog::VersionKind kind = catalog::VersionKind::kInline;
  uint64_t size = 0;
  codec::FileNonce nonce{};
  Bytes inline_plaintext;                     // kInline
  std::unique_ptr<codec::FileReader> reader;  // kSharded
  // kSharded: farmers holding (segment, shard index), acked placements only.
  std::map<std::pair<uint64_t, uint32_t>, std::vector<FarmerContact>> farmers;
};

class VolumeImpl;

// Lets network callbacks that run after the Volume is gone do nothing.
struct Liveness {
  absl::Mutex mu;
  VolumeImpl* volume ABSL_GUARDED_BY(mu) = nullptr;
};

// The shards of one encoded segment being put on farmers.
// The shards an upload sent before its version is committed, one line per put in
// <state_dir>/staging/<ino>.puts ("<farmer id hex> <shard id hex> <endpoint>"). Until the
// commit nothing else records them, and an upload resumed after a crash uses a new nonce,
// hence new shard ids: without the journal, shards that reached a farmer before the process
// died would stay there unreferenced (and uncharged) until the bucket expires. Volume::Open
// deletes every journaled shard the catalog does not place, then the journal. Removed once
// the version is committed or the upload gave up for good (its acked shards are deleted
// then); a cancelled upload (volume closing) keeps it for the next Open. Not synced: it
// covers a crash of the process, not of the machine. Thread-safe.
class PutJournal {
 public:
  struct Entry {
    FarmerContact farmer;
    codec::ShardId shard_id{};
  };
  // Opens (appending) the journal at `path`; null if it cannot be opened (logged: shards
  // of this upload may then leak after a crash).
  static std::shared_ptr<PutJournal> Open(std::string path);
  // The entries of a journal file (malformed lines are skipped).
  static std::vector<Entry> Read(const std::string& path);
  ~PutJournal();
  PutJournal(const PutJournal&) = delete;
  PutJournal& operator=(const PutJournal&) = delete;

  void Append(const FarmerContact& farmer, const codec::ShardId& shard_id);
  // Unlinks the file; later Appends do nothing.
  void Remove();

 private:
  PutJournal(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  const std::string path_;
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
};

struct SegmentPut {
  // Immutable after creation.
  std::shared_ptr<PutJournal> journal;  // may be null
  std::string label;                    // "/path segment 3" for logs
  uint64_t segment = 0;
  uint32_t k = 0;
  uint32_t n = 0;  // k + m
  Bytes bucket_id;
  uint32_t leaf_size = 0;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  crypto::Hash256 placement_key{};
  std::vector<codec::ShardManifest> manifests;

  absl::Mutex mu;
  // The n stored shards; each is released once a farmer acknowledged it (or it was given
  // up), so memory is held only for shards still to place.
  std::vector<SharedBuffer> shards ABSL_GUARDED_BY(mu);
  std::vector<FarmerContact> candidates ABSL_GUARDED_BY(mu);
  size_t next_candidate ABSL_GUARDED_BY(mu) = 0;
  bool asked_more ABSL_GUARDED_BY(mu) = false;  // a second ChooseFarmers was made
  std::vector<FarmerId> tried ABSL_GUARDED_BY(mu);
  std::vector<std::optional<FarmerContact>> acked ABSL_GUARDED_BY(mu);
  std::vector<bool> recorded ABSL_GUARDED_BY(mu);  // placement written to the catalog
  std::vector<bool> in_flight ABSL_GUARDED_BY(mu);
  // Held back until the version commits (see VolumeOptions::deferred_shard_bytes); such a
  // shard is also in VolumeImpl::deferred_.
  std::vector<bool> deferred ABSL_GUARDED_BY(mu);
  std::vector<bool> given_up ABSL_GUARDED_BY(mu);
  std::deque<uint32_t> failed ABSL_GUARDED_BY(mu);  // shard indexes to retry elsewhere
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);
  int outstanding ABSL_GUARDED_BY(mu) = 0;
  catalog::VersionId version ABSL_GUARDED_BY(mu) = 0;  // set once committed
  bool aborted ABSL_GUARDED_BY(mu) = false;            // upload abandoned: delete late acks

  size_t AckedCount() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    size_t c = 0;
    for (const auto& a : acked) c += a.has_value();
    return c;
  }
  // Nothing in flight, nothing held back and nothing left to retry.
  bool Settled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return outstanding == 0 && failed.empty() &&
           std::find(deferred.begin(), deferred.end(), true) == deferred.end();
  }
};

class VolumeImpl final : public Volume {
 public:
  VolumeImpl(const VolumeOptions& options, const VolumeEnv& env);
  ~VolumeImpl() override;

  absl::Status Init();

  // --- Volume ---
  using Volume::Read;
  absl::StatusOr<Attr> Lookup(Ino parent, std::string_view name) override;
  absl::StatusOr<Attr> GetAttr(Ino ino) override;
  absl::StatusOr<Attr> SetAttr(const Caller& caller, Ino ino, const SetAttrRequest& req,
                               std::optional<FileHandle> fh) override;
  absl::StatusOr<Attr> Mknod(const Caller& caller, Ino parent, std::string_view name, uint32_t mode,
                             uint64_t rdev) override;
  absl::StatusOr<Attr> Mkdir(const Caller& caller, Ino parent, std::string_view name,
                             uint32_t mode) override;
  absl::Status Unlink(Ino parent, std::string_view name) override;
  absl::Status Rmdir(Ino parent, std::string_view name) override;
  absl::Status Rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                      uint32_t flags) override;
  absl::StatusOr<Attr> Link(Ino ino, Ino new_parent, std::string_view new_name) override;
  absl::StatusOr<Attr> Symlink(const Caller& caller, std::string_view target, Ino parent,
                               std::string_view name) override;
  absl::StatusOr<std::string> Readlink(Ino ino) override;
  absl::StatusOr<CreateResult> Create(const Caller& caller, Ino parent, std::string_view name,
                                      uint32_t mode, int flags) override;
  absl::StatusOr<FileHandle> Open(const Caller& caller, Ino ino, int flags) override;
  absl::StatusOr<size_t> Read(FileHandle fh, uint64_t offset, MutableByteView out) override;
  absl::StatusOr<size_t> Write(FileHandle fh, uint64_t offset, ByteView data) override;
  absl::Status Flush(FileHandle fh) override;
  absl::Status Fsync(FileHandle fh, bool datasync) override;
  absl::Status Release(FileHandle fh) override;
  absl::StatusOr<DirHandle> OpenDir(Ino ino) override;
  absl::StatusOr<std::vector<DirEntry>> ReadDir(DirHandle dh, uint64_t cookie, size_t max_entries,
                                                bool plus) override;
  absl::Status ReleaseDir(DirHandle dh) override;
  absl::StatusOr<FsStats> StatFs() override;
  absl::Status SetXattr(Ino ino, std::string_view name, ByteView value, int flags) override;
  absl::StatusOr<Bytes> GetXattr(Ino ino, std::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListXattr(Ino ino) override;
  absl::Status RemoveXattr(Ino ino, std::string_view name) override;
  absl::StatusOr<Attr> LookupPath(std::string_view path) override;
  absl::Status WaitForUploads(absl::Duration timeout, bool full_redundancy) override;
  std::vector<PendingUpload> PendingUploads() override;
  VolumeStats Stats() override;
  catalog::Catalog* catalog() override { return catalog_.get(); }
  void DropCachedContent() override;

  // Network callbacks (through Liveness) after a version is committed.
  void RecordLateAck(const std::shared_ptr<SegmentPut>& seg, uint32_t shard_index);
  void ScheduleTopUp(const std::shared_ptr<SegmentPut>& seg) ABSL_LOCKS_EXCLUDED(mu_);
  void DeleteShardQuietly(const FarmerContact& farmer, const codec::ShardId& id);

 private:
  // --- volume.cc ---
  Attr ToAttr(const catalog::Attr& a);
  // The catalog attributes with what is staged in memory laid over them.
  absl::StatusOr<Attr> AttrWithOverlay(const catalog::Attr& a);
  std::shared_ptr<InodeState> FindState(Ino ino) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<InodeState> GetOrCreateState(Ino ino) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops the state if nothing uses it any more.
  void MaybeDropStateLocked(Ino ino) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Handle> GetHandle(FileHandle fh) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<FileHandle> OpenInode(const catalog::Attr& attr, int flags);
  // After an operation left `u.ino` without links: purge now, or once unused.
  void HandleUnlinked(const catalog::Unlinked& u) ABSL_LOCKS_EXCLUDED(mu_);
  void PurgeInode(Ino ino) ABSL_LOCKS_EXCLUDED(mu_);
  uint32_t NewNodeGid(const Caller& caller, Ino parent, bool* setgid_dir);
  std::string PathOf(Ino ino);
  absl::Status ResumeUploads();
  // Deletes the shards journaled by uploads a crash interrupted (see PutJournal).
  void CleanUpPutJournals();

  // --- volume_io.cc ---
  // Makes sure the inode has a staging file holding its current content (with
  // `truncate_to_zero`, an empty one), ready to modify. Requires st.mu held.
  absl::Status EnsureStaging(InodeState& st, bool truncate_to_zero)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  // Marks the staged content changed (generation, times, pending upload record).
  absl::Status MarkDirty(InodeState& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  // Adjusts the space accounting for a size change of a dirty inode; ENOSPC if it does
  // not fit (nothing changed then).
  absl::Status ReserveSpace(InodeState& st, uint64_t new_size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  absl::Status TruncateLocked(InodeState& st, uint64_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  // Writes staged size/times to the catalog.
  absl::Status PersistOverlay(InodeState& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  // Reads committed content of `version` (through the cache).
  absl::Status ReadCommitted(catalog::VersionId version, uint64_t offset, MutableByteView out);
  // ReadCommitted through the handle's read-ahead (see ReadAhead).
  absl::Status ReadCommittedAhead(const std::shared_ptr<ReadAhead>& ra, catalog::VersionId version,
                                  uint64_t file_size, uint64_t offset, MutableByteView out);
  // For a sequential read at `offset`: appends windows after ra's last one (from `offset` if
  // it has none), at least up to `need`, then as far ahead as the run allows (see ReadAhead)
  // and kMaxBytes; queues a worker task for each.
  void PlanWindows(const std::shared_ptr<ReadAhead>& ra, catalog::VersionId version,
                   uint64_t file_size, uint64_t offset, uint64_t need)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ra->mu);
  // Fetches window `w` (claimed: state kRunning) with ra->mu released, then marks it done.
  void FetchWindow(ReadAhead& ra, catalog::VersionId version, ReadAhead::Window& w)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ra.mu);
  absl::StatusOr<std::shared_ptr<VersionContent>> LoadVersion(catalog::VersionId id, bool refresh);
  absl::Status ReadFromNetwork(VersionContent& content, uint64_t offset, MutableByteView out);
  absl::Status RefreshBucket(bool force) ABSL_LOCKS_EXCLUDED(mu_);

  // --- volume_upload.cc ---
  void WorkerLoop();
  // After a write: if the staged file now holds a full segment past those already encoded
  // early, and fewer than segments_in_flight of them wait for their quorum, a worker encodes
  // and puts it (see EarlySegments). Requires st->mu held.
  void MaybeStartEarlySegment(const std::shared_ptr<InodeState>& st)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(st->mu);
  void EncodeEarlySegment(const std::shared_ptr<InodeState>& st,
                          const std::shared_ptr<EarlySegments>& early, uint64_t index,
                          uint64_t epoch);
  // The staged bytes from `offset` on are about to change: if an early segment holds any of
  // them, all early segments are voided and their shards deleted. Requires st.mu held.
  void InvalidateEarlySegments(InodeState& st, uint64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu);
  // How long a file open for writing may stay dirty before it is uploaded, after
  // `open_commits` versions were committed under the same writers: max_dirty_time, doubling
  // with each such version up to an hour (or max_dirty_time if longer). Every upload of a
  // file still being written sends all of it again under a new nonce, so a steady writer
  // (a long download) would otherwise upload T / max_dirty_time times its bytes over T; this
  // way the uploads of a file written for T sum to a few times its size.
  absl::Duration TimedUploadDelay(int open_commits) const;
  // A fresh file nonce (env_.random under random_mu_).
  codec::FileNonce NewNonce() ABSL_LOCKS_EXCLUDED(random_mu_);
  // The put journal of `ino`'s uploads, <state>/staging/<ino>.puts (see PutJournal).
  std::shared_ptr<PutJournal> OpenPutJournal(Ino ino);
  // Gives `es` recycled shard buffers of the size the encoder needs for a segment of
  // `plaintext_length` bytes (it then writes into them without allocating).
  void PrepareShardBuffers(uint64_t plaintext_length, codec::EncodedSegment& es);
  // A SegmentPut for the shards of `es` (moved from), ready for PutSegmentShards.
  std::shared_ptr<SegmentPut> NewSegmentPut(const std::string& label, codec::EncodedSegment& es,
                                            std::shared_ptr<PutJournal> journal);
  // Queues an upload of `ino` at `due` (earlier of an existing due time and `due`).
  void ScheduleUploadLocked(Ino ino, absl::Time due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An upload just committed, so the network takes uploads again: uploads waiting out the
  // backoff of a failure (farmers that were down, say) are due now, not in up to a minute.
  void RetryBackedOffUploadsNowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunUpload(const std::shared_ptr<InodeState>& st);
  void PruneTopUpsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits on `mu` (held) for `cond` until `deadline`, giving up early when the Volume is
  // closing. True if the condition holds.
  bool AwaitOrStop(absl::Mutex& mu, const absl::Condition& cond, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status UploadOnce(const std::shared_ptr<InodeState>& st);
  absl::Status PutSegmentShards(const std::shared_ptr<SegmentPut>& seg);
  void IssuePut(const std::shared_ptr<SegmentPut>& seg, uint32_t shard, const FarmerContact& f);
  // Waits until the segment has k+1 acks (retrying failures on spares), or fails.
  absl::Status AwaitQuorum(const std::shared_ptr<SegmentPut>& seg);
  // Holds shard `shard` of `seg` back (see VolumeOptions::deferred_shard_bytes), then puts
  // the oldest held-back shards while they take more than the bound.
  void DeferShard(const std::shared_ptr<SegmentPut>& seg, uint32_t shard);
  // Puts every shard of `seg` held back (its version committed).
  void ReleaseDeferredShards(const std::shared_ptr<SegmentPut>& seg);
  // Puts the held-back shards `shards` of `seg` (already taken off deferred_) on the next
  // candidates, or gives them up when none is left.
  void IssueDeferred(const std::shared_ptr<SegmentPut>& seg, const std::vector<uint32_t>& shards);
  // Takes the held-back shards of `segs` off deferred_ (for an abort: they are never sent).
  void ForgetDeferredShards(const std::vector<std::shared_ptr<SegmentPut>>& segs)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Retries failed shards of a committed segment on spares (no waiting).
  void TopUp(const std::shared_ptr<SegmentPut>& seg);
  // Takes the next candidate not yet tried (asking the network for more once). Requires
  // seg.mu NOT held (may call the network).
  std::optional<FarmerContact> NextCandidate(const std::shared_ptr<SegmentPut>& seg);
  void AbortSegments(const std::vector<std::shared_ptr<SegmentPut>>& segs);
  void RunGc();

  const VolumeOptions options_;
  const VolumeEnv env_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<ReadCache> cache_;
  std::string staging_dir_;
  int lock_fd_ = -1;
  std::shared_ptr<Liveness> live_;

  absl::Mutex mu_;
  absl::flat_hash_map<FileHandle, Handle> handles_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<DirHandle, Ino> dirs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Ino, std::shared_ptr<InodeState>> inodes_ ABSL_GUARDED_BY(mu_);
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Ino, absl::Time> upload_due_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool gc_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool gc_running_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_gc_ ABSL_GUARDED_BY(mu_);
  int busy_workers_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> stopping_{false};           // stop_, readable without mu_ (long waits poll it)
  uint64_t wake_seq_ ABSL_GUARDED_BY(mu_) = 0;  // bumped when workers have new work
  uint64_t pending_stored_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t used_stored_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<BufferPool> shard_buffers_;  // see BufferPool
  std::atomic<uint64_t> early_segments_adopted_{0};
  std::atomic<uint64_t> early_segments_discarded_{0};
  BucketInfo bucket_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> bucket_checked_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<SegmentPut>> topping_up_ ABSL_GUARDED_BY(mu_);
  // Shards held back until their version commits, oldest first, and their stored bytes.
  std::deque<std::pair<std::shared_ptr<SegmentPut>, uint32_t>> deferred_ ABSL_GUARDED_BY(mu_);
  uint64_t deferred_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<catalog::VersionId, int> gc_attempts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;

  absl::Mutex random_mu_;  // env_.random need not be thread-safe (DeterministicRandom)

  absl::Mutex versions_mu_;
  std::map<catalog::VersionId, std::shared_ptr<VersionContent>> versions_
      ABSL_GUARDED_BY(versions_mu_);
  std::deque<catalog::VersionId> version_order_ ABSL_GUARDED_BY(versions_mu_);
};

}  // namespace gnr::volume::internal
