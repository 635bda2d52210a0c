// Volume: opening, the namespace operations and file handles (see volume_impl.h for the
// split and the lock order).

#include "fs/volume/volume.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"
#include "fs/volume/space.h"
#include "fs/volume/volume_impl.h"

namespace gnr::volume {

using catalog::PosixError;

absl::StatusOr<Bytes> Volume::Read(FileHandle fh, uint64_t offset, size_t size) {
  Bytes out(size);
  GNR_ASSIGN_OR_RETURN(size_t n, Read(fh, offset, MutableByteView(out)));
  out.resize(n);
  return out;
}

absl::StatusOr<std::unique_ptr<Volume>> Volume::Open(const VolumeOptions& options,
                                                     const VolumeEnv& env) {
  if (env.network == nullptr || env.chain == nullptr || env.clock == nullptr ||
      env.random == nullptr) {
    return absl::InvalidArgumentError("VolumeEnv needs a network, a chain, a clock and a random");
  }
  if (options.state_dir.empty()) return absl::InvalidArgumentError("state_dir is empty");
  if (options.bucket_id.empty() || options.bucket_id.size() > codec::kMaxBucketIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("bucket id must be 1..255 bytes, got ", options.bucket_id.size()));
  }
  GNR_RETURN_IF_ERROR(codec::ValidateParams(options.params));
  if (options.cache_block_size == 0 || options.cache_block_size % 4096 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cache_block_size must be a positive multiple of 4096, got ", options.cache_block_size));
  }
  if (options.upload_threads < 1 || options.segments_in_flight < 1) {
    return absl::InvalidArgumentError("upload_threads and segments_in_flight must be >= 1");
  }
  auto volume = std::make_unique<internal::VolumeImpl>(options, env);
  GNR_RETURN_IF_ERROR(volume->Init());
  return std::unique_ptr<Volume>(std::move(volume));
}

namespace internal {
namespace {

constexpr uint32_t kBlockSize = 4096;

bool IsRegular(const catalog::Attr& a) { return a.type == catalog::NodeType::kFile; }

std::string ShortHex(ByteView b) { return HexEncode(b.first(std::min<size_t>(b.size(), 4))); }

}  // namespace

VolumeImpl::VolumeImpl(const VolumeOptions& options, const VolumeEnv& env)
    : options_(options),
      env_(env),
      live_(std::make_shared<Liveness>()),
      // Room for the shards of the segments an upload keeps in flight, plus one.
      shard_buffers_(std::make_shared<BufferPool>(
          uint64_t{options.params.segment_size} *
          static_cast<uint64_t>(std::max(options.segments_in_flight, 1) + 1) *
          static_cast<uint64_t>(std::max(options.params.total_shards(), 1)) /
          static_cast<uint64_t>(std::max(options.params.data_shards, 1)))) {
  absl::MutexLock lock(&live_->mu);
  live_->volume = this;
}

VolumeImpl::~VolumeImpl() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    stopping_ = true;
  }
  for (std::thread& t : workers_) t.join();
  {
    // Late network callbacks become no-ops from here on.
    absl::MutexLock lock(&live_->mu);
    live_->volume = nullptr;
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& seg : topping_up_) {
      absl::MutexLock seg_lock(&seg->mu);
      for (uint32_t i = 0; i < seg->n; ++i) {
        if (seg->in_flight[i] || !seg->acked[i]) {
          GNR_LOG(kInfo) << seg->label << " shard " << i
                         << " not yet on a farmer at shutdown; left to the repairer";
        }
      }
    }
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

absl::Status VolumeImpl::Init() {
  std::error_code ec;
  staging_dir_ = options_.state_dir + "/staging";
  std::filesystem::create_directories(staging_dir_, ec);
  if (ec) {
    return PosixError(ec.value(), absl::StrCat("cannot create ", staging_dir_, ": ", ec.message()));
  }
  std::string lock_path = options_.state_dir + "/lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    return PosixError(errno, absl::StrCat("cannot open ", lock_path, ": ", std::strerror(errno)));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("volume state dir ", options_.state_dir,
                                                      " is in use by another process (", lock_path,
                                                      " is locked): unmount it first"));
  }
  GNR_ASSIGN_OR_RETURN(catalog_,
                       catalog::Catalog::Open(options_.state_dir + "/catalog.db", *env_.clock));
  GNR_RETURN_IF_ERROR(RefreshBucket(/*force=*/true));
  cache_ = std::make_unique<ReadCache>(options_.state_dir + "/cache", options_.read_cache_bytes);

  // A crash may leave pending versions (never with our single-transaction commit, but
  // another writer might) and orphans (unlinked while open).
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::Version> pending,
                       catalog_->ListVersionsByState(catalog::VersionState::kPending));
  for (const catalog::Version& v : pending) {
    GNR_LOG(kInfo) << "abandoning pending version " << v.id << " of inode " << v.ino;
    GNR_RETURN_IF_ERROR(catalog_->ObsoleteVersion(v.id));
  }
  GNR_ASSIGN_OR_RETURN(std::vector<Ino> orphans, catalog_->ListOrphans());
  for (Ino ino : orphans) {
    GNR_LOG(kInfo) << "freeing inode " << ino << ", unlinked while open before a restart";
    PurgeInode(ino);
  }
  CleanUpPutJournals();
  GNR_RETURN_IF_ERROR(ResumeUploads());

  {
    absl::MutexLock lock(&mu_);
    gc_requested_ = true;
    next_gc_ = env_.clock->Now() + absl::Minutes(1);
  }
  for (int i = 0; i < options_.upload_threads; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  GNR_LOG(kInfo) << "volume " << options_.state_dir << " open: bucket "
                 << ShortHex(options_.bucket_id) << ", RS(" << options_.params.data_shards << ","
                 << options_.params.parity_shards << "), segments of "
                 << options_.params.segment_size << " bytes";
  return absl::OkStatus();
}

absl::Status VolumeImpl::ResumeUploads() {
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::Upload> uploads, catalog_->ListUploads());
  std::vector<std::string> keep;
  for (const catalog::Upload& u : uploads) {
    absl::StatusOr<catalog::Attr> attr = catalog_->GetAttr(u.ino);
    absl::StatusOr<std::shared_ptr<StagingFile>> file =
        attr.ok() ? StagingFile::Open(u.staging_path, /*create=*/false, /*truncate=*/false)
                  : absl::StatusOr<std::shared_ptr<StagingFile>>(attr.status());
    absl::StatusOr<uint64_t> size = file.ok() ? (*file)->Size() : file.status();
    if (!size.ok()) {
      GNR_LOG(kError) << "cannot resume upload of inode " << u.ino << " from " << u.staging_path
                      << ": " << size.status() << "; dropping it";
      GNR_RETURN_IF_ERROR(catalog_->RemoveUpload(u.id));
      continue;
    }
    std::shared_ptr<InodeState> st = GetOrCreateState(u.ino);
    {
      absl::MutexLock lock(&st->mu);
      if (st->upload_id) {  // two records for one inode: keep the first
        GNR_RETURN_IF_ERROR(catalog_->RemoveUpload(u.id));
        continue;
      }
      st->staging = *file;
      st->size = *size;
      st->generation = 1;
      st->committed_generation = 0;
      st->upload_id = u.id;
      st->dirty_since = u.created;
      st->mtime = attr->mtime;
      st->ctime = attr->ctime;
    }
    keep.push_back(u.staging_path);
    GNR_LOG(kInfo) << "resuming upload of " << PathOf(u.ino) << " (" << *size
                   << " bytes staged since " << absl::FormatTime(u.created) << ")";
    absl::MutexLock lock(&mu_);
    uint64_t est = StoredBytesFor(options_.params, *size);
    st->pending_estimate = est;
    pending_stored_ += est;
    ScheduleUploadLocked(u.ino, env_.clock->Now());
  }
  // Staging files without a record hold nothing that was not committed: remove them.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(staging_dir_, ec)) {
    std::string p = entry.path().string();
    if (std::find(keep.begin(), keep.end(), p) == keep.end()) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Attributes and inode states

Attr VolumeImpl::ToAttr(const catalog::Attr& a) {
  Attr out;
  out.ino = a.ino;
  out.mode = a.mode;
  out.nlink = static_cast<uint32_t>(std::min<uint64_t>(a.nlink, UINT32_MAX));
  out.uid = a.uid;
  out.gid = a.gid;
  out.rdev = a.rdev;
  out.size = a.size;
  out.atime = a.atime;
  out.mtime = a.mtime;
  out.ctime = a.ctime;
  out.generation = a.generation;
  out.blksize = kBlockSize;
  out.blocks = (a.size + 511) / 512;
  return out;
}

absl::StatusOr<Attr> VolumeImpl::AttrWithOverlay(const catalog::Attr& a) {
  if (!IsRegular(a)) return ToAttr(a);
  // `a` was read before we looked at the inode's state: an upload may have committed (new
  // size in the catalog) and dropped the staging file, or the whole state, in between.
  // Re-read the catalog once the state is pinned so that size and staging agree; otherwise
  // a stat right after a commit could report the pre-commit size (seen as empty files in
  // tar). The catalog lock is a leaf in the lock order, so reading it under st->mu is fine.
  std::shared_ptr<InodeState> st = FindState(a.ino);
  if (st == nullptr) {
    GNR_ASSIGN_OR_RETURN(catalog::Attr fresh, catalog_->GetAttr(a.ino));
    return ToAttr(fresh);
  }
  absl::ReaderMutexLock lock(&st->mu);
  GNR_ASSIGN_OR_RETURN(catalog::Attr fresh, catalog_->GetAttr(a.ino));
  Attr out = ToAttr(fresh);
  if (st->staging != nullptr) {
    out.size = st->size;
    out.blocks = (st->size + 511) / 512;
  }
  if (st->times_dirty) {
    out.mtime = st->mtime;
    out.ctime = st->ctime;
  }
  return out;
}

std::shared_ptr<InodeState> VolumeImpl::FindState(Ino ino) {
  absl::MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? nullptr : it->second;
}

std::shared_ptr<InodeState> VolumeImpl::GetOrCreateState(Ino ino) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<InodeState>& st = inodes_[ino];
  if (st == nullptr) st = std::make_shared<InodeState>(ino);
  return st;
}

void VolumeImpl::MaybeDropStateLocked(Ino ino) {
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  InodeState& st = *it->second;
  if (st.open_handles > 0 || st.uploading || upload_due_.count(ino) > 0) return;
  // The staging pointer is guarded by st.mu, which may not be taken here (lock order): the
  // callers only drop states whose staging they released first (pending_estimate == 0 and
  // no upload queued means nothing is staged).
  if (st.pending_estimate > 0) return;
  inodes_.erase(it);
}

std::string VolumeImpl::PathOf(Ino ino) {
  // Walks the first link upwards (for logs only; hard links have several paths).
  if (ino == kRootIno) return "/";
  // The catalog has no reverse index by inode; fall back to the inode number.
  return absl::StrCat("inode ", ino);
}

uint32_t VolumeImpl::NewNodeGid(const Caller& caller, Ino parent, bool* setgid_dir) {
  *setgid_dir = false;
  absl::StatusOr<catalog::Attr> p = catalog_->GetAttr(parent);
  if (p.ok() && (p->mode & S_ISGID) != 0) {
    *setgid_dir = true;
    return p->gid;
  }
  return caller.gid;
}

// ---------------------------------------------------------------------------------------
// Namespace

absl::StatusOr<Attr> VolumeImpl::Lookup(Ino parent, std::string_view name) {
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->Lookup(parent, name));
  return AttrWithOverlay(a);
}

absl::StatusOr<Attr> VolumeImpl::GetAttr(Ino ino) {
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->GetAttr(ino));
  return AttrWithOverlay(a);
}

absl::StatusOr<Attr> VolumeImpl::SetAttr(const Caller& caller, Ino ino, const SetAttrRequest& req,
                                         std::optional<FileHandle> fh) {
  (void)caller;
  (void)fh;
  GNR_ASSIGN_OR_RETURN(catalog::Attr current, catalog_->GetAttr(ino));
  catalog::AttrUpdate update;
  if (req.mode) update.mode = *req.mode & 07777;
  update.uid = req.uid;
  update.gid = req.gid;
  switch (req.atime.kind) {
    case TimeChange::Kind::kOmit:
      break;
    case TimeChange::Kind::kNow:
      update.atime_now = true;
      break;
    case TimeChange::Kind::kSet:
      update.atime = req.atime.value;
      break;
  }
  switch (req.mtime.kind) {
    case TimeChange::Kind::kOmit:
      break;
    case TimeChange::Kind::kNow:
      update.mtime_now = true;
      break;
    case TimeChange::Kind::kSet:
      update.mtime = req.mtime.value;
      break;
  }
  if (!req.size) {
    GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->SetAttr(ino, update));
    // Explicit times win over what writes left in memory.
    if (std::shared_ptr<InodeState> st = FindState(ino); st != nullptr) {
      absl::MutexLock lock(&st->mu);
      if (st->times_dirty) {
        if (req.mtime.kind == TimeChange::Kind::kOmit) {
          st->ctime = a.ctime;
        } else {
          st->times_dirty = false;
        }
      }
    }
    return AttrWithOverlay(a);
  }
  if (current.type == catalog::NodeType::kDirectory) {
    return PosixError(EISDIR, absl::StrCat("truncate: inode ", ino, " is a directory"));
  }
  if (!IsRegular(current)) {
    return PosixError(EINVAL, absl::StrCat("truncate: inode ", ino, " is not a regular file"));
  }
  if (*req.size > codec::kMaxFileSize) {
    return PosixError(EFBIG, absl::StrCat("truncate to ", *req.size, " bytes: files are at most ",
                                          codec::kMaxFileSize, " bytes"));
  }
  std::shared_ptr<InodeState> st = GetOrCreateState(ino);
  absl::Status status;
  catalog::Attr result;
  {
    absl::MutexLock lock(&st->mu);
    status = TruncateLocked(*st, *req.size);
    if (status.ok()) {
      update.size = *req.size;
      if (!update.mtime && !update.mtime_now) update.mtime = st->mtime;
      absl::StatusOr<catalog::Attr> a = catalog_->SetAttr(ino, update);
      status = a.status();
      if (a.ok()) {
        result = *a;
        st->mtime = a->mtime;
        st->ctime = a->ctime;
        st->times_dirty = false;
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    MaybeDropStateLocked(ino);
  }
  GNR_RETURN_IF_ERROR(status);
  return AttrWithOverlay(result);
}

absl::StatusOr<Attr> VolumeImpl::Mknod(const Caller& caller, Ino parent, std::string_view name,
                                       uint32_t mode, uint64_t rdev) {
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  catalog::NodeSpec spec;
  switch (type) {
    case S_IFREG:
      spec.type = catalog::NodeType::kFile;
      break;
    case S_IFIFO:
      spec.type = catalog::NodeType::kFifo;
      break;
    case S_IFSOCK:
      spec.type = catalog::NodeType::kSocket;
      break;
    case S_IFCHR:
    case S_IFBLK:
      if (caller.uid != 0) {
        return PosixError(EPERM, "mknod: only root may create device nodes");
      }
      spec.type =
          type == S_IFCHR ? catalog::NodeType::kCharDevice : catalog::NodeType::kBlockDevice;
      spec.rdev = rdev;
      break;
    default:
      return PosixError(EINVAL, absl::StrCat("mknod: unsupported file type 0x", absl::Hex(type)));
  }
  bool setgid_dir;
  spec.mode = mode & 07777;
  spec.uid = caller.uid;
  spec.gid = NewNodeGid(caller, parent, &setgid_dir);
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->CreateNode(parent, name, spec));
  return ToAttr(a);
}

absl::StatusOr<Attr> VolumeImpl::Mkdir(const Caller& caller, Ino parent, std::string_view name,
                                       uint32_t mode) {
  bool setgid_dir;
  catalog::NodeSpec spec;
  spec.type = catalog::NodeType::kDirectory;
  spec.uid = caller.uid;
  spec.gid = NewNodeGid(caller, parent, &setgid_dir);
  spec.mode = (mode & 07777) | (setgid_dir ? S_ISGID : 0);
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->CreateNode(parent, name, spec));
  return ToAttr(a);
}

absl::Status VolumeImpl::Unlink(Ino parent, std::string_view name) {
  GNR_ASSIGN_OR_RETURN(catalog::Unlinked u, catalog_->Unlink(parent, name));
  if (u.orphan()) HandleUnlinked(u);
  return absl::OkStatus();
}

absl::Status VolumeImpl::Rmdir(Ino parent, std::string_view name) {
  GNR_ASSIGN_OR_RETURN(catalog::Unlinked u, catalog_->Rmdir(parent, name));
  if (u.orphan()) HandleUnlinked(u);
  return absl::OkStatus();
}

absl::Status VolumeImpl::Rename(Ino parent, std::string_view name, Ino new_parent,
                                std::string_view new_name, uint32_t flags) {
  catalog::RenameMode mode;
  if (flags == 0) {
    mode = catalog::RenameMode::kDefault;
  } else if (flags == kRenameNoReplace) {
    mode = catalog::RenameMode::kNoReplace;
  } else if (flags == kRenameExchange) {
    mode = catalog::RenameMode::kExchange;
  } else if (flags == (kRenameNoReplace | kRenameExchange)) {
    return PosixError(EINVAL, "rename: RENAME_NOREPLACE and RENAME_EXCHANGE together");
  } else {
    return PosixError(ENOTSUP, absl::StrCat("rename: unsupported flags 0x", absl::Hex(flags)));
  }
  GNR_ASSIGN_OR_RETURN(catalog::RenameResult r,
                       catalog_->Rename(parent, name, new_parent, new_name, mode));
  if (r.replaced && r.replaced->orphan()) HandleUnlinked(*r.replaced);
  return absl::OkStatus();
}

absl::StatusOr<Attr> VolumeImpl::Link(Ino ino, Ino new_parent, std::string_view new_name) {
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->Link(ino, new_parent, new_name));
  return AttrWithOverlay(a);
}

absl::StatusOr<Attr> VolumeImpl::Symlink(const Caller& caller, std::string_view target, Ino parent,
                                         std::string_view name) {
  bool setgid_dir;
  catalog::NodeSpec spec;
  spec.type = catalog::NodeType::kSymlink;
  spec.mode = 0777;
  spec.uid = caller.uid;
  spec.gid = NewNodeGid(caller, parent, &setgid_dir);
  spec.symlink_target = std::string(target);
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->CreateNode(parent, name, spec));
  return ToAttr(a);
}

absl::StatusOr<std::string> VolumeImpl::Readlink(Ino ino) { return catalog_->ReadLink(ino); }

void VolumeImpl::HandleUnlinked(const catalog::Unlinked& u) {
  if (std::shared_ptr<InodeState> st = FindState(u.ino); st != nullptr) {
    absl::MutexLock lock(&st->mu);
    st->unlinked = true;  // wakes an Fsync waiting for an upload that will not happen
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = inodes_.find(u.ino);
    if (it != inodes_.end()) {
      it->second->orphan = true;
      if (it->second->open_handles > 0 || it->second->uploading) {
        GNR_LOG(kDebug) << "inode " << u.ino << " unlinked while in use; freed on last close";
        return;
      }
    }
  }
  PurgeInode(u.ino);
}

void VolumeImpl::PurgeInode(Ino ino) {
  std::shared_ptr<InodeState> st = FindState(ino);
  if (st != nullptr) {
    absl::MutexLock lock(&st->mu);
    if (st->purged) return;  // the last close and the end of an upload may both get here
    InvalidateEarlySegments(*st, 0);
    st->early = nullptr;
    if (st->staging != nullptr) {
      (void)st->staging->Unlink();
      st->staging = nullptr;
    }
    st->upload_id.reset();
    st->purged = true;
  }
  absl::StatusOr<std::vector<catalog::Upload>> removed = catalog_->PurgeInode(ino);
  if (!removed.ok()) {
    if (!catalog::IsPosixError(removed.status(), ENOENT)) {
      GNR_LOG(kWarning) << "cannot free inode " << ino << ": " << removed.status();
    }
  } else {
    GNR_LOG(kDebug) << "freed inode " << ino;
    for (const catalog::Upload& u : *removed) ::unlink(u.staging_path.c_str());
  }
  absl::MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) {
    pending_stored_ -= std::min(pending_stored_, it->second->pending_estimate);
    it->second->pending_estimate = 0;
    upload_due_.erase(ino);
    if (!it->second->uploading) inodes_.erase(it);
  }
  gc_requested_ = true;
}

// ---------------------------------------------------------------------------------------
// Handles

absl::StatusOr<Handle> VolumeImpl::GetHandle(FileHandle fh) {
  absl::MutexLock lock(&mu_);
  auto it = handles_.find(fh);
  if (it == handles_.end()) return PosixError(EBADF, absl::StrCat("no open file handle ", fh));
  return it->second;
}

absl::StatusOr<CreateResult> VolumeImpl::Create(const Caller& caller, Ino parent,
                                                std::string_view name, uint32_t mode, int flags) {
  bool setgid_dir;
  catalog::NodeSpec spec;
  spec.type = catalog::NodeType::kFile;
  spec.mode = mode & 07777;
  spec.uid = caller.uid;
  spec.gid = NewNodeGid(caller, parent, &setgid_dir);
  absl::StatusOr<catalog::Attr> created = catalog_->CreateNode(parent, name, spec);
  catalog::Attr attr;
  if (created.ok()) {
    attr = *created;
    flags &= ~O_TRUNC;  // nothing to truncate
  } else if (catalog::IsPosixError(created.status(), EEXIST) && (flags & O_EXCL) == 0) {
    GNR_ASSIGN_OR_RETURN(attr, catalog_->Lookup(parent, name));
    if (attr.is_directory()) {
      return PosixError(EISDIR, absl::StrCat("open: ", AbslView(name), " is a directory"));
    }
  } else {
    return created.status();
  }
  GNR_ASSIGN_OR_RETURN(FileHandle fh, OpenInode(attr, flags));
  absl::StatusOr<Attr> a = GetAttr(attr.ino);
  if (!a.ok()) {
    (void)Release(fh);
    return a.status();
  }
  return CreateResult{*a, fh};
}

absl::StatusOr<FileHandle> VolumeImpl::Open(const Caller& caller, Ino ino, int flags) {
  (void)caller;
  GNR_ASSIGN_OR_RETURN(catalog::Attr attr, catalog_->GetAttr(ino));
  return OpenInode(attr, flags);
}

absl::StatusOr<FileHandle> VolumeImpl::OpenInode(const catalog::Attr& attr, int flags) {
  Handle h;
  h.ino = attr.ino;
  h.flags = flags;
  int acc = flags & O_ACCMODE;
  h.readable = acc == O_RDONLY || acc == O_RDWR;
  h.writable = acc == O_WRONLY || acc == O_RDWR;
  h.append = (flags & O_APPEND) != 0;
  if (h.readable && IsRegular(attr)) h.readahead = std::make_shared<ReadAhead>();
  if (attr.is_directory()) {
    if (h.writable)
      return PosixError(EISDIR, absl::StrCat("open: inode ", attr.ino, " is a directory"));
  } else if (!IsRegular(attr)) {
    return PosixError(
        EINVAL, absl::StrCat("open: inode ", attr.ino, " is a ",
                             AbslView(catalog::NodeTypeName(attr.type)), ", not a regular file"));
  }
  if (attr.orphan())
    return PosixError(ENOENT, absl::StrCat("open: inode ", attr.ino, " was removed"));
  h.state = GetOrCreateState(attr.ino);
  FileHandle fh;
  {
    absl::MutexLock lock(&mu_);
    fh = next_handle_++;
    h.state->open_handles++;
    if (h.writable) h.state->writers++;
    handles_[fh] = h;
  }
  if ((flags & O_TRUNC) != 0 && IsRegular(attr)) {
    absl::Status s;
    {
      absl::MutexLock lock(&h.state->mu);
      bool empty = h.state->staging == nullptr ? (attr.size == 0 && !attr.current_version)
                                               : h.state->size == 0;
      if (empty) {
        // Nothing to cut: only the times change, as for any O_TRUNC.
        catalog::AttrUpdate u;
        u.mtime_now = true;
        s = catalog_->SetAttr(attr.ino, u).status();
      } else {
        s = TruncateLocked(*h.state, 0);
      }
    }
    if (!s.ok()) {
      (void)Release(fh);
      return s;
    }
  }
  return fh;
}

absl::Status VolumeImpl::Flush(FileHandle fh) {
  GNR_ASSIGN_OR_RETURN(Handle h, GetHandle(fh));
  absl::MutexLock lock(&h.state->mu);
  return PersistOverlay(*h.state);
}

absl::Status VolumeImpl::Release(FileHandle fh) {
  Handle h;
  bool last;
  bool orphan;
  {
    absl::MutexLock lock(&mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return PosixError(EBADF, absl::StrCat("no open file handle ", fh));
    h = it->second;
    handles_.erase(it);
    h.state->open_handles--;
    if (h.writable && --h.state->writers == 0) h.state->open_commits = 0;
    last = h.state->open_handles == 0;
    orphan = h.state->orphan;
  }
  if (!last) return absl::OkStatus();
  if (orphan) {
    PurgeInode(h.ino);
    return absl::OkStatus();
  }
  InodeState& st = *h.state;
  absl::Status status;
  {
    absl::MutexLock lock(&st.mu);
    status = PersistOverlay(st);
    if (st.dirty()) {
      absl::MutexLock vlock(&mu_);
      ScheduleUploadLocked(h.ino, env_.clock->Now() + options_.upload_delay);
    } else if (st.staging != nullptr) {
      absl::MutexLock vlock(&mu_);
      if (st.open_handles == 0 && !st.uploading) {
        // Clean: the committed version holds this content; free the local copy.
        (void)st.staging->Unlink();
        st.staging = nullptr;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  MaybeDropStateLocked(h.ino);
  return status;
}

absl::Status VolumeImpl::Fsync(FileHandle fh, bool datasync) {
  (void)datasync;
  GNR_ASSIGN_OR_RETURN(Handle h, GetHandle(fh));
  InodeState& st = *h.state;
  uint64_t target;
  uint64_t failures;
  {
    absl::MutexLock lock(&st.mu);
    GNR_RETURN_IF_ERROR(PersistOverlay(st));
    bool orphan;
    {
      absl::MutexLock vlock(&mu_);
      orphan = st.orphan;
      if (st.dirty() && !orphan) ScheduleUploadLocked(h.ino, env_.clock->Now());
    }
    if (!st.dirty() || orphan) {
      // Nothing staged to upload (or nobody can see the file any more): make the metadata
      // durable and be done.
      return catalog_->Sync();
    }
    target = st.generation;
    failures = st.failures;
    GNR_LOG(kDebug) << "fsync of inode " << h.ino << " waits for generation " << target;
    auto done = [&st, target, failures]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(st.mu) {
      return st.committed_generation >= target || st.failures > failures || st.purged ||
             st.unlinked;
    };
    st.mu.Await(absl::Condition(&done));
    if (st.committed_generation >= target || st.purged || st.unlinked) return absl::OkStatus();
    return PosixError(
        EIO, absl::StrCat("fsync: upload of inode ", h.ino, " failed (kept staged, will retry): ",
                          AbslView(StdView(st.last_error.message()))));
  }
}

// ---------------------------------------------------------------------------------------
// Directories, file system, xattrs

absl::StatusOr<DirHandle> VolumeImpl::OpenDir(Ino ino) {
  GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->GetAttr(ino));
  if (!a.is_directory()) return PosixError(ENOTDIR, absl::StrCat("opendir: inode ", ino));
  absl::MutexLock lock(&mu_);
  DirHandle dh = next_handle_++;
  dirs_[dh] = ino;
  return dh;
}

absl::StatusOr<std::vector<DirEntry>> VolumeImpl::ReadDir(DirHandle dh, uint64_t cookie,
                                                          size_t max_entries, bool plus) {
  Ino ino;
  {
    absl::MutexLock lock(&mu_);
    auto it = dirs_.find(dh);
    if (it == dirs_.end()) return PosixError(EBADF, absl::StrCat("no open directory ", dh));
    ino = it->second;
  }
  std::vector<DirEntry> out;
  if (max_entries == 0) return out;
  if (cookie < 1) {
    out.push_back(DirEntry{".", ino, S_IFDIR, 1, std::nullopt});
  }
  if (cookie < 2 && out.size() < max_entries) {
    GNR_ASSIGN_OR_RETURN(Ino parent, catalog_->Parent(ino));
    out.push_back(DirEntry{"..", parent, S_IFDIR, 2, std::nullopt});
  }
  if (out.size() >= max_entries) return out;
  uint64_t after = cookie < catalog::kFirstCookie ? 0 : cookie;
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::DirEntry> entries,
                       catalog_->ReadDir(ino, after, max_entries - out.size()));
  for (catalog::DirEntry& e : entries) {
    DirEntry d;
    d.name = std::move(e.name);
    d.ino = e.attr.ino;
    d.mode = e.attr.mode;
    d.next_cookie = e.cookie;
    if (plus) {
      GNR_ASSIGN_OR_RETURN(Attr a, AttrWithOverlay(e.attr));
      d.attr = a;
    }
    out.push_back(std::move(d));
  }
  return out;
}

absl::Status VolumeImpl::ReleaseDir(DirHandle dh) {
  absl::MutexLock lock(&mu_);
  if (dirs_.erase(dh) == 0) return PosixError(EBADF, absl::StrCat("no open directory ", dh));
  return absl::OkStatus();
}

absl::StatusOr<FsStats> VolumeImpl::StatFs() {
  (void)RefreshBucket(/*force=*/false);
  GNR_ASSIGN_OR_RETURN(catalog::FsTotals totals, catalog_->Totals());
  FsStats s;
  uint64_t size, taken;
  {
    absl::MutexLock lock(&mu_);
    size = bucket_.size_bytes;
    taken = std::min(size, used_stored_ + pending_stored_);
    if (bucket_.ExpiredAt(env_.clock->Now())) taken = size;
  }
  s.block_size = kBlockSize;
  s.blocks = PlaintextEquivalent(options_.params, size) / kBlockSize;
  s.blocks_free = PlaintextEquivalent(options_.params, size - taken) / kBlockSize;
  s.blocks_avail = s.blocks_free;
  s.files_free = uint64_t{1} << 32;
  s.files = totals.inodes + s.files_free;
  s.name_max = kMaxNameLength;
  return s;
}

absl::Status VolumeImpl::SetXattr(Ino ino, std::string_view name, ByteView value, int flags) {
  catalog::XattrSetMode mode = catalog::XattrSetMode::kAny;
  if (flags == kXattrCreate) {
    mode = catalog::XattrSetMode::kCreate;
  } else if (flags == kXattrReplace) {
    mode = catalog::XattrSetMode::kReplace;
  } else if (flags != 0) {
    return PosixError(EINVAL, absl::StrCat("setxattr: bad flags ", flags));
  }
  return catalog_->SetXattr(ino, name, value, mode);
}

absl::StatusOr<Bytes> VolumeImpl::GetXattr(Ino ino, std::string_view name) {
  return catalog_->GetXattr(ino, name);
}

absl::StatusOr<std::vector<std::string>> VolumeImpl::ListXattr(Ino ino) {
  return catalog_->ListXattrs(ino);
}

absl::Status VolumeImpl::RemoveXattr(Ino ino, std::string_view name) {
  return catalog_->RemoveXattr(ino, name);
}

absl::StatusOr<Attr> VolumeImpl::LookupPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return PosixError(EINVAL, absl::StrCat("not an absolute path: \"", AbslView(path), "\""));
  }
  Ino ino = kRootIno;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    GNR_ASSIGN_OR_RETURN(catalog::Attr a, catalog_->Lookup(ino, part));
    if (pos < path.size() && !a.is_directory()) {
      return PosixError(
          ENOTDIR, absl::StrCat(AbslView(part), " in ", AbslView(path), " is not a directory"));
    }
    ino = a.ino;
  }
  return GetAttr(ino);
}

}  // namespace internal
}  // namespace gnr::volume
