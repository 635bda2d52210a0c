#pragma once
// Volume: the drive as a POSIX file system over the catalog, the codec and the storage
// network (DESIGN.md section 3). The FUSE adapter (fs/fuse) and the tools (gnr-put, gnr-get,
// gnr-ls) both use it; each FUSE low-level operation maps to one method here.
//
// Inodes. Every node is named by its inode number (Ino); the root directory is kRootIno.
// Inode numbers are never reused (Attr::generation is the FUSE generation). The Volume keeps no
// lookup counts (that is the kernel's and the adapter's business): an inode whose last link
// is gone is freed when its last file handle is released; later calls on it fail with
// ENOENT.
//
// Permissions. The Volume does not check permissions: mount with `default_permissions` so
// the kernel does. It records the caller's uid/gid on every new node (and inherits the
// parent's gid under a set-gid directory, as Linux does).
//
// Data path. Writes land in a local staging file under <state_dir>/staging (write-back): at
// the first change (write or truncate) of a file with committed content, the staging file is
// filled with the whole committed version (up front, not lazily; opening for writing alone
// costs nothing). Reads of a file with a staging file come from it; other reads go
// through the read cache and the decoder (fetch from the fastest farmers, verify, rebuild,
// decrypt). A handle read sequentially fetches ahead (windows growing from 1 to 8 MiB,
// several fetched at once in the background by the upload workers): at most 32 MiB of
// memory per handle, freed at Release. A dirty file is uploaded when its last writable
// handle is released (after VolumeOptions::upload_delay), on Fsync, or when it has been
// dirty for VolumeOptions::max_dirty_time (doubling, up to an hour, with each version
// committed while its writers keep it open: each upload sends the whole file again); its
// new version is committed in one catalog transaction once every segment has k+1
// acknowledged shards, and shards keep going to k+m afterwards (the shards past k+1 are
// only sent once the version has committed, up to a memory bound:
// VolumeOptions::deferred_shard_bytes).
// Files below CodecParams::inline_threshold are stored as encrypted inline blobs in the
// catalog. Staging files and the pending-upload records survive a crash; Volume::Open
// resumes them, and deletes the shards an upload cut by the crash had already sent (they
// belong to no version; journaled in staging/<ino>.puts until the commit).
//
// Errors. Every failing call returns an absl::Status carrying a POSIX errno payload
// (fs/catalog/posix_error.h: PosixErrno(status) gives it; PosixError(errno, message) makes
// one), so the FUSE adapter replies with exactly that errno. A status without a payload
// maps by code (NotFound -> ENOENT, ...), but the Volume always sets one.
//   ENOENT  no such name / inode freed          EEXIST     name exists (O_EXCL, mkdir, link)
//   ENOTDIR parent or rename target not a dir   EISDIR     write-open / rename onto a dir
//   ENOTEMPTY rmdir / rename over non-empty dir EINVAL     rename of a dir into itself, bad flags
//   EBADF   unknown or wrong-mode handle        ENOSPC     bucket space (or expiry) exceeded
//   EPERM   device node by non-root, link to dir EIO        data unreadable (> m shards lost)
//   ENODATA missing xattr                       ENAMETOOLONG name > 255 bytes
//   EROFS   (never)                             ENOTSUP    unsupported rename flags
//
// Space accounting (decision). The bucket's bought size counts what farmers store: all k+m
// stored shards of every committed version (sentinels included) plus inline blobs. A write
// that would grow a file so that committed + estimated pending stored bytes exceed the
// bucket's size fails with ENOSPC, as does any write after the bucket expired. StatFs shows
// the space in plaintext terms (stored bytes * k / (k+m)), so `df` matches what fits.
//
// A write-only handle cannot Read (EBADF): a FUSE adapter that enables the kernel's
// writeback cache must open such files O_RDWR, as libfuse's passthrough_hp does.
//
// Thread-safety: every method may be called from any thread concurrently (the FUSE daemon
// is multi-threaded). Operations on one inode are serialized by a per-inode lock; namespace
// changes by the catalog's transactions. Uploads run on a small worker pool
// (VolumeOptions::upload_threads). Fsync and WaitForUploads block the calling thread.
//
//   VolumeOptions options;
//   options.state_dir = "/home/u/.local/share/gnr/volumes/b1";
//   options.bucket_id = bucket;
//   GNR_ASSIGN_OR_RETURN(std::unique_ptr<Volume> volume,
//                        Volume::Open(options, {&network, &chain, &clock, &random, key}));
//   GNR_ASSIGN_OR_RETURN(CreateResult f, volume->Create(caller, kRootIno, "a.txt", 0644,
//                                                       O_WRONLY));
//   GNR_RETURN_IF_ERROR(volume->Write(f.fh, 0, AsBytes("hello")).status());
//   GNR_RETURN_IF_ERROR(volume->Fsync(f.fh));  // committed: survives the loss of this disk
//   GNR_RETURN_IF_ERROR(volume->Release(f.fh));

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/random.h"
#include "fs/catalog/catalog.h"
#include "fs/codec/keys.h"
#include "fs/codec/params.h"
#include "fs/volume/chain.h"
#include "fs/volume/shard_network.h"

namespace gnr::volume {

using Ino = uint64_t;
using FileHandle = uint64_t;  // never 0
using DirHandle = uint64_t;   // never 0

inline constexpr Ino kRootIno = 1;
inline constexpr size_t kMaxNameLength = 255;

// Who is asking (FUSE's fuse_ctx): owner of the nodes it creates.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
};

// POSIX attributes of a node (struct stat). Times have nanosecond precision.
struct Attr {
  Ino ino = 0;
  uint32_t mode = 0;  // file type and permission bits, e.g. S_IFREG | 0644
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;        // device number of S_IFCHR / S_IFBLK nodes
  uint64_t size = 0;        // bytes (symlinks: length of the target)
  uint64_t blocks = 0;      // 512-byte blocks allocated (of the plaintext, sparse-aware locally)
  uint32_t blksize = 0;     // preferred I/O size
  uint64_t generation = 1;  // FUSE entry generation
  absl::Time atime;
  absl::Time mtime;
  absl::Time ctime;
};

// How SetAttr changes a timestamp (utimensat: UTIME_OMIT, UTIME_NOW, a value).
struct TimeChange {
  enum class Kind { kOmit, kNow, kSet };
  Kind kind = Kind::kOmit;
  absl::Time value;

  static TimeChange Omit() { return {}; }
  static TimeChange Now() { return {Kind::kNow, absl::Time()}; }
  static TimeChange At(absl::Time t) { return {Kind::kSet, t}; }
};

// The fields SetAttr changes; unset fields are left alone. ctime is set to now whenever
// anything changes (POSIX), and mtime too on a size change.
struct SetAttrRequest {
  std::optional<uint32_t> mode;  // permission bits (07777); the type bits are ignored
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;  // truncate (regular files only: EISDIR / EINVAL otherwise)
  TimeChange atime;
  TimeChange mtime;
};

struct CreateResult {
  Attr attr;
  FileHandle fh = 0;
};

struct DirEntry {
  std::string name;
  Ino ino = 0;
  uint32_t mode = 0;         // file type bits (S_IFDIR, ...); permission bits too when known
  uint64_t next_cookie = 0;  // pass to ReadDir to continue after this entry
  // Filled by ReadDir(..., plus=true) for every entry except "." and "..": a FUSE adapter
  // answering readdirplus counts a lookup for exactly these entries.
  std::optional<Attr> attr;
};

// statvfs(3) of the mounted bucket.
struct FsStats {
  uint32_t block_size = 4096;
  uint64_t blocks = 0;  // total, in block_size units (plaintext terms, see above)
  uint64_t blocks_free = 0;
  uint64_t blocks_avail = 0;
  uint64_t files = 0;  // inodes in use + free
  uint64_t files_free = 0;
  uint32_t name_max = kMaxNameLength;
};

// Rename flags (values of Linux RENAME_NOREPLACE / RENAME_EXCHANGE).
inline constexpr uint32_t kRenameNoReplace = 1;
inline constexpr uint32_t kRenameExchange = 2;
// SetXattr flags (values of XATTR_CREATE / XATTR_REPLACE).
inline constexpr int kXattrCreate = 1;
inline constexpr int kXattrReplace = 2;

// One file waiting to be (fully) uploaded, for `gnr status` and `gnr umount`.
struct PendingUpload {
  Ino ino = 0;
  std::string path;   // a path of the file ("" once unlinked)
  uint64_t size = 0;  // bytes staged
  absl::Time dirty_since;
  bool committed = false;  // false: not yet committed (the staging file is the truth);
                           // true: committed, still topping shards up to k+m
  std::string state;       // "waiting", "uploading", "retrying: <why>", "topping up"
};

struct VolumeStats {
  uint64_t pending_uploads = 0;
  uint64_t staged_bytes = 0;
  uint64_t cache_bytes = 0;
  uint64_t cache_limit_bytes = 0;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t used_stored_bytes = 0;  // counted against the bucket
  uint64_t bucket_size_bytes = 0;
  // Full segments put on farmers while their file was still being written, taken by the
  // upload that committed them / discarded because the file changed under them.
  uint64_t early_segments_adopted = 0;
  uint64_t early_segments_discarded = 0;
  // Shards held back until their version commits (VolumeOptions::deferred_shard_bytes).
  uint64_t deferred_shards = 0;
  uint64_t deferred_shard_bytes = 0;
};

struct VolumeOptions {
  // Holds catalog.db (the catalog), staging/<ino> (write-back staging files), cache/ (the
  // read cache, emptied at every Open) and lock (flock: one Volume per state dir, a second
  // Open fails with FailedPrecondition). Created if missing.
  std::string state_dir;
  // The bucket every shard is stored under (1..255 bytes).
  Bytes bucket_id;
  // Parameters of new versions (segment size, RS(k, m), inline threshold ...).
  codec::CodecParams params;
  // Read cache: decoded plaintext blocks of `cache_block_size` bytes (a multiple of 4 KiB),
  // LRU on disk, at most `read_cache_bytes` in total (0 disables it).
  uint64_t read_cache_bytes = uint64_t{1} << 30;
  uint32_t cache_block_size = 4u << 20;
  // Upload worker threads (two busy threads saturate these machines: DESIGN.md section 10).
  int upload_threads = 2;
  // Encode and put each full segment of a file while it is still being written (a big
  // sequential write is then mostly on the farmers when fsync or close comes); off, nothing
  // is sent before the upload starts.
  bool upload_while_writing = true;
  // A dirty file is uploaded this long after its last writable handle is released (so a
  // quick close/reopen does not upload twice), or once dirty for max_dirty_time while open
  // (doubled for each version committed while the same writers keep it open, up to an
  // hour: a file written for a long time is not uploaded whole every max_dirty_time).
  absl::Duration upload_delay = absl::Seconds(1);
  absl::Duration max_dirty_time = absl::Seconds(30);
  // Candidate farmers asked for per segment beyond k+m (tried when a put fails).
  int spare_farmers = 4;
  // Segments whose shards may be in flight at once per upload (bounds memory).
  int segments_in_flight = 2;
  // Shards beyond the k+1 that a segment needs to commit are put once its version has
  // committed, so fsync and close return when k+1 of every segment are stored: on an uplink
  // that is the bottleneck, after (k+1)/(k+m) of the bytes. Until then they wait in memory,
  // at most this many bytes across all uploads (the oldest go out early to make room; the
  // rest of a big file's shards then go out at once, as with 0: no shard waits).
  uint64_t deferred_shard_bytes = uint64_t{256} << 20;
  // Failed uploads are retried after this (doubling up to 32x).
  absl::Duration retry_delay = absl::Seconds(2);
  // Reads: a shard range that has not answered this long after the others of its batch
  // (and at least hedge_min after the request) is abandoned and fetched from another shard.
  absl::Duration hedge_min = absl::Milliseconds(200);
  absl::Duration read_timeout = absl::Seconds(30);
  // How long a chain answer about the bucket is trusted.
  absl::Duration bucket_refresh = absl::Minutes(5);
};

// What the Volume runs on. Everything must outlive the Volume.
struct VolumeEnv {
  ShardNetwork* network = nullptr;
  Chain* chain = nullptr;
  Clock* clock = nullptr;
  crypto::Random* random = nullptr;  // thread-safe (OsRandom in production)
  codec::BucketKey bucket_key{};     // codec::DeriveBucketKey(root, bucket_id)
};

class Volume {
 public:
  // Opens (creating if needed) the volume in options.state_dir: the catalog, the staging
  // and cache directories; frees inodes left unlinked by a crash; and resumes every pending
  // upload in the background. InvalidArgument on bad options; errors of the catalog.
  static absl::StatusOr<std::unique_ptr<Volume>> Open(const VolumeOptions& options,
                                                      const VolumeEnv& env);

  // Stops the workers. Dirty files that were not committed stay staged and are resumed by
  // the next Open; call WaitForUploads first for a clean unmount.
  virtual ~Volume() = default;

  // --- Namespace (FUSE lookup/getattr/setattr/mknod/mkdir/unlink/rmdir/rename/link/...) ---

  // ENOENT if `name` is not in directory `parent`; ENOTDIR if parent is not a directory.
  virtual absl::StatusOr<Attr> Lookup(Ino parent, std::string_view name) = 0;
  virtual absl::StatusOr<Attr> GetAttr(Ino ino) = 0;
  // chmod/chown/truncate/utimens. `fh` (ftruncate) is optional: a truncate without a handle
  // works the same (the staging file is prepared as for an open).
  virtual absl::StatusOr<Attr> SetAttr(const Caller& caller, Ino ino, const SetAttrRequest& req,
                                       std::optional<FileHandle> fh = std::nullopt) = 0;
  // S_IFREG, S_IFIFO and S_IFSOCK nodes for anyone; S_IFCHR / S_IFBLK only for uid 0 (EPERM
  // otherwise, as the kernel's CAP_MKNOD check); S_IFDIR/S_IFLNK -> EINVAL (use Mkdir/Symlink).
  // `mode` has the umask applied already.
  virtual absl::StatusOr<Attr> Mknod(const Caller& caller, Ino parent, std::string_view name,
                                     uint32_t mode, uint64_t rdev) = 0;
  virtual absl::StatusOr<Attr> Mkdir(const Caller& caller, Ino parent, std::string_view name,
                                     uint32_t mode) = 0;
  // EISDIR if `name` is a directory. The node lives on while handles are open.
  virtual absl::Status Unlink(Ino parent, std::string_view name) = 0;
  // ENOTDIR if not a directory, ENOTEMPTY if it has entries.
  virtual absl::Status Rmdir(Ino parent, std::string_view name) = 0;
  // Atomic rename(2)/renameat2(2) semantics: replacing an existing target (file over file,
  // empty dir over dir), kRenameNoReplace (EEXIST), kRenameExchange (ENOENT if the target is
  // missing); EINVAL when moving a directory under itself or for NOREPLACE|EXCHANGE together;
  // ENOTSUP for other flags (RENAME_WHITEOUT). A replaced node is unlinked (and freed when no
  // handle is open).
  virtual absl::Status Rename(Ino parent, std::string_view name, Ino new_parent,
                              std::string_view new_name, uint32_t flags = 0) = 0;
  // Hard link; EPERM for directories. Returns the node's attributes (nlink incremented).
  virtual absl::StatusOr<Attr> Link(Ino ino, Ino new_parent, std::string_view new_name) = 0;
  virtual absl::StatusOr<Attr> Symlink(const Caller& caller, std::string_view target, Ino parent,
                                       std::string_view name) = 0;
  // EINVAL if not a symlink.
  virtual absl::StatusOr<std::string> Readlink(Ino ino) = 0;

  // --- Files (FUSE create/open/read/write/flush/fsync/release) ---

  // Creates and opens `name` (open(2) with O_CREAT): with O_EXCL an existing name is EEXIST;
  // without, an existing regular file is opened as by Open (O_TRUNC applies). `flags` are
  // open(2) flags (O_ACCMODE, O_TRUNC, O_APPEND, O_EXCL ...).
  virtual absl::StatusOr<CreateResult> Create(const Caller& caller, Ino parent,
                                              std::string_view name, uint32_t mode, int flags) = 0;
  // Opens a regular file (EISDIR for a directory with write access, EINVAL for other types).
  // O_TRUNC empties the file; O_APPEND makes every Write append at the current end.
  virtual absl::StatusOr<FileHandle> Open(const Caller& caller, Ino ino, int flags) = 0;
  // Up to out.size() bytes at `offset` into `out`; fewer only at the end of the file (0 at
  // or past it). EBADF for a write-only handle; EIO if the data cannot be recovered.
  virtual absl::StatusOr<size_t> Read(FileHandle fh, uint64_t offset, MutableByteView out) = 0;
  absl::StatusOr<Bytes> Read(FileHandle fh, uint64_t offset, size_t size);
  // Writes all of `data` at `offset` (at the end of the file for an O_APPEND handle), growing
  // the file (sparse when past the end). Returns data.size(). EBADF for a read-only handle;
  // ENOSPC (see above); EFBIG past codec::kMaxFileSize.
  virtual absl::StatusOr<size_t> Write(FileHandle fh, uint64_t offset, ByteView data) = 0;
  // close(2) of one descriptor: records the staged size and times in the catalog; returns
  // at once (the upload of a dirty file starts upload_delay after its last Release).
  virtual absl::Status Flush(FileHandle fh) = 0;
  // Durable: returns only once the file's current content is committed in the catalog
  // (k+1 shards of every segment acknowledged, or the inline blob written). EIO (with the
  // cause logged) if the upload fails; the data stays staged and is retried.
  virtual absl::Status Fsync(FileHandle fh, bool datasync = false) = 0;
  // The last close of an open file description. Frees the handle (EBADF if unknown).
  virtual absl::Status Release(FileHandle fh) = 0;

  // --- Directories (FUSE opendir/readdir/readdirplus/releasedir) ---

  // ENOTDIR if not a directory.
  virtual absl::StatusOr<DirHandle> OpenDir(Ino ino) = 0;
  // At most `max_entries` entries after `cookie` (0: from the start, "." and ".." first
  // with cookies 1 and 2). Empty at the end. Cookies are stable: entries added or removed
  // between calls neither repeat nor hide other entries. With `plus`, attributes are
  // included (see DirEntry::attr). ENOENT if the directory was removed.
  virtual absl::StatusOr<std::vector<DirEntry>> ReadDir(DirHandle dh, uint64_t cookie,
                                                        size_t max_entries, bool plus) = 0;
  virtual absl::Status ReleaseDir(DirHandle dh) = 0;

  // --- File system (FUSE statfs, xattrs) ---

  virtual absl::StatusOr<FsStats> StatFs() = 0;
  // kXattrCreate: EEXIST if present; kXattrReplace: ENODATA if absent.
  virtual absl::Status SetXattr(Ino ino, std::string_view name, ByteView value, int flags) = 0;
  // ENODATA if absent.
  virtual absl::StatusOr<Bytes> GetXattr(Ino ino, std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListXattr(Ino ino) = 0;
  virtual absl::Status RemoveXattr(Ino ino, std::string_view name) = 0;

  // --- Tools and management ---

  // Resolves an absolute path ("/", "/a/b") without following symlinks in the last
  // component (lstat-like); intermediate components must be directories.
  virtual absl::StatusOr<Attr> LookupPath(std::string_view path) = 0;
  // Uploads every dirty file now and waits until all are committed (and, with
  // `full_redundancy`, until every background top-up to k+m is done), or `timeout`
  // passes: DeadlineExceeded listing what is still pending. For `gnr umount`.
  virtual absl::Status WaitForUploads(absl::Duration timeout, bool full_redundancy = false) = 0;
  virtual std::vector<PendingUpload> PendingUploads() = 0;
  virtual VolumeStats Stats() = 0;

  // The catalog this volume runs on, for parts of the same process that share it (the
  // mount daemon's auditor and repairer); null if the implementation has none. Thread-safe
  // as the Catalog is.
  virtual catalog::Catalog* catalog() { return nullptr; }
  // Forgets the cached contents of file versions (manifests, shard placements), so the next
  // read loads them from the catalog again: call after changing placements behind the
  // volume's back (a repair moved a shard). Thread-safe.
  virtual void DropCachedContent() {}
};

}  // namespace gnr::volume
