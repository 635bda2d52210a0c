// The FUSE low-level handlers: one function per operation, each of the same shape
//
//   translate the kernel's arguments -> call the Volume -> reply (or fail through the one
//   errno table, logging the cause)
//
// and each sends exactly one reply on every path. Lookup counts: every reply that gives the
// kernel an inode (fuse_reply_entry, fuse_reply_create, readdirplus entries) counts one
// lookup *before* the reply is sent (the kernel may forget it at once) and takes it back if
// the reply could not be delivered.

#include "fs/fuse/operations.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"
#include "fs/fuse/errno_map.h"

namespace gnr::fuse {
namespace {

using volume::Attr;
using volume::Volume;

// Largest read or write the kernel sends (negotiated in Init as max_write; reads are bounded
// by max_pages, which libfuse derives from the same value).
constexpr size_t kMaxIo = size_t{1} << 20;

Adapter& AdapterOf(fuse_req_t req) {
  Adapter& a = *static_cast<Adapter*>(fuse_req_userdata(req));
  a.requests.fetch_add(1, std::memory_order_relaxed);
  return a;
}

Volume& VolumeOf(fuse_req_t req) { return *AdapterOf(req).volume; }

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

volume::Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return volume::Caller{static_cast<uint32_t>(ctx->uid), static_cast<uint32_t>(ctx->gid),
                        static_cast<uint32_t>(ctx->pid)};
}

struct stat ToStat(const Attr& a) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_blksize = a.blksize != 0 ? a.blksize : 4096;
  st.st_atim = absl::ToTimespec(a.atime);
  st.st_mtim = absl::ToTimespec(a.mtime);
  st.st_ctim = absl::ToTimespec(a.ctime);
  return st;
}

fuse_entry_param ToEntry(const Adapter& adapter, const Attr& a) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = a.ino;
  e.generation = 0;  // inode numbers are never reused (fs/volume/volume.h)
  e.attr = ToStat(a);
  e.attr_timeout = Seconds(adapter.options.attr_timeout);
  e.entry_timeout = Seconds(adapter.options.entry_timeout);
  return e;
}

// The single failure path: errno from the one table, the cause in the log, one reply.
template <typename... Context>
void Fail(fuse_req_t req, const absl::Status& status, const char* op, const Context&... context) {
  Adapter& adapter = *static_cast<Adapter*>(fuse_req_userdata(req));
  int err = ErrnoFromStatus(status);
  if (err == 0) err = EIO;  // an OK status never reaches here; be safe anyway
  if (IsRoutineErrno(err)) {
    GNR_LOG(kDebug) << "fuse " << op << "(" << absl::StrCat(context...) << "): " << ErrnoName(err)
                    << ": " << status;
  } else {
    adapter.errors.fetch_add(1, std::memory_order_relaxed);
    GNR_LOG(kWarning) << "fuse " << op << "(" << absl::StrCat(context...) << "): " << ErrnoName(err)
                      << ": " << status;
  }
  fuse_reply_err(req, err);
}

// Replies 0 or the status's errno.
template <typename... Context>
void ReplyStatus(fuse_req_t req, const absl::Status& status, const char* op,
                 const Context&... context) {
  if (status.ok()) {
    fuse_reply_err(req, 0);
  } else {
    Fail(req, status, op, context...);
  }
}

// Gives the kernel a new reference to `attr.ino`.
void ReplyEntry(fuse_req_t req, const Attr& attr) {
  Adapter& adapter = *static_cast<Adapter*>(fuse_req_userdata(req));
  fuse_entry_param e = ToEntry(adapter, attr);
  adapter.lookups.Add(attr.ino);
  if (fuse_reply_entry(req, &e) != 0) adapter.lookups.Forget(attr.ino, 1);
}

template <typename... Context>
void ReplyEntryOr(fuse_req_t req, const absl::StatusOr<Attr>& attr, const char* op,
                  const Context&... context) {
  if (attr.ok()) {
    ReplyEntry(req, *attr);
  } else {
    Fail(req, attr.status(), op, context...);
  }
}

std::string Name(const char* name) { return absl::StrCat("\"", name, "\""); }

// A buffer per worker thread for reads and for writes that arrive outside memory, so the
// data path does not allocate per request.
Bytes& ThreadBuffer() {
  thread_local Bytes buffer;
  return buffer;
}

// --- Session --------------------------------------------------------------------------

// Every capability decision is here, one comment each.
void Init(void* userdata, fuse_conn_info* conn) {
  auto* adapter = static_cast<Adapter*>(userdata);
  // Big requests: up to 1 MiB per write (libfuse turns this into max_pages, which also
  // bounds reads), so a sequential stream costs one request per MiB instead of per 128 KiB.
  conn->max_write = kMaxIo;
  // Write-only handles bypass the page cache where the kernel keeps that coherent (see
  // SetOpenFlags).
  adapter->direct_writes =
      conn->proto_major > 7 || (conn->proto_major == 7 && conn->proto_minor >= 39);
  // Nanosecond timestamps (the catalog keeps nanoseconds).
  conn->time_gran = 1;

  auto want = [conn](unsigned cap, bool on) {
    if (on && (conn->capable & cap)) {
      conn->want |= cap;
    } else {
      conn->want &= ~cap;
    }
  };
  // Concurrent reads of one file: the Volume serializes per inode where it must.
  want(FUSE_CAP_ASYNC_READ, true);
  // O_TRUNC arrives with open() instead of as a separate truncate, so the Volume does not
  // fill a staging file from the committed version only to empty it.
  want(FUSE_CAP_ATOMIC_O_TRUNC, true);
  // Lookups and readdirs in one directory run in parallel; the catalog orders changes.
  want(FUSE_CAP_PARALLEL_DIROPS, true);
  // readdirplus saves one lookup per entry for `ls -l`; the kernel chooses per directory.
  want(FUSE_CAP_READDIRPLUS, true);
  want(FUSE_CAP_READDIRPLUS_AUTO, true);
  // Symlink targets never change: let the kernel cache readlink.
  want(FUSE_CAP_CACHE_SYMLINKS, true);
  // The kernel drops cached pages when it sees mtime/size change in fresh attributes.
  want(FUSE_CAP_AUTO_INVAL_DATA, true);
  // No writeback cache: with it the kernel would own mtime and size, delay writes past
  // close(), and O_APPEND/fsync semantics would depend on its flushing. The Volume already
  // stages writes on local disk, so write-through costs little and keeps POSIX exact.
  want(FUSE_CAP_WRITEBACK_CACHE, false);
  // No splice: the Volume reads into and writes from memory (decrypted, erasure-decoded
  // bytes), never from a file descriptor we could splice; vmsplicing a memory buffer adds
  // work for small replies and gains nothing for large ones.
  want(FUSE_CAP_SPLICE_READ, false);
  want(FUSE_CAP_SPLICE_WRITE, false);
  want(FUSE_CAP_SPLICE_MOVE, false);
  // The kernel applies the caller's umask before create/mkdir/mknod (the Volume expects it).
  want(FUSE_CAP_DONT_MASK, false);
  // The kernel clears set-user/group-id bits on write/truncate/chown itself (by sending a
  // setattr), so the Volume needs no privilege-dropping logic.
  want(FUSE_CAP_HANDLE_KILLPRIV, false);
  // No POSIX ACLs: the mode bits are the permissions (default_permissions checks them).
  want(FUSE_CAP_POSIX_ACL, false);
  // Locks stay in the kernel (local to this machine), which is what a single-host mount
  // needs: fcntl/flock work (SQLite, git) without round trips.
  want(FUSE_CAP_POSIX_LOCKS, false);
  want(FUSE_CAP_FLOCK_LOCKS, false);
  // Not exportable over NFS: we do not answer lookups of "." and "..".
  want(FUSE_CAP_EXPORT_SUPPORT, false);
  // Opendir takes a snapshot of the directory in the Volume: keep opendir.
  want(FUSE_CAP_NO_OPENDIR_SUPPORT, false);
  want(FUSE_CAP_NO_OPEN_SUPPORT, false);

  GNR_LOG(kInfo) << "fuse: mounted " << adapter->options.mountpoint << " (kernel protocol "
                 << conn->proto_major << "." << conn->proto_minor
                 << ", max_write=" << conn->max_write << ", want=0x" << std::hex << conn->want
                 << std::dec << ", write-only handles "
                 << (adapter->direct_writes ? "bypass the page cache" : "cached") << ")";
}

void Destroy(void* userdata) {
  auto* adapter = static_cast<Adapter*>(userdata);
  GNR_LOG(kInfo) << "fuse: " << adapter->options.mountpoint << " unmounted after "
                 << adapter->requests.load() << " requests";
}

// --- Names and attributes -----------------------------------------------------------------

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Adapter& adapter = AdapterOf(req);
  absl::StatusOr<Attr> attr = adapter.volume->Lookup(parent, name);
  if (!attr.ok() && ErrnoFromStatus(attr.status()) == ENOENT &&
      adapter.options.negative_timeout > absl::ZeroDuration()) {
    // A negative entry: the kernel remembers the name is absent (ino 0 takes no lookup).
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    e.entry_timeout = Seconds(adapter.options.negative_timeout);
    fuse_reply_entry(req, &e);
    return;
  }
  ReplyEntryOr(req, attr, "lookup", parent, ", ", Name(name));
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Adapter& adapter = AdapterOf(req);
  if (ino != FUSE_ROOT_ID) adapter.lookups.Forget(ino, nlookup);
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Adapter& adapter = AdapterOf(req);
  for (size_t i = 0; i < count; ++i) {
    if (forgets[i].ino != FUSE_ROOT_ID) adapter.lookups.Forget(forgets[i].ino, forgets[i].nlookup);
  }
  fuse_reply_none(req);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  Adapter& adapter = AdapterOf(req);
  absl::StatusOr<Attr> attr = adapter.volume->GetAttr(ino);
  if (!attr.ok()) return Fail(req, attr.status(), "getattr", ino);
  struct stat st = ToStat(*attr);
  fuse_reply_attr(req, &st, Seconds(adapter.options.attr_timeout));
}

volume::TimeChange ToTimeChange(int to_set, int set_bit, int now_bit, const timespec& ts) {
  if (to_set & now_bit) return volume::TimeChange::Now();
  if (to_set & set_bit) return volume::TimeChange::At(absl::TimeFromTimespec(ts));
  return volume::TimeChange::Omit();
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Adapter& adapter = AdapterOf(req);
  volume::SetAttrRequest change;
  if (to_set & FUSE_SET_ATTR_MODE) change.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) change.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) change.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) change.size = static_cast<uint64_t>(attr->st_size);
  change.atime = ToTimeChange(to_set, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW, attr->st_atim);
  change.mtime = ToTimeChange(to_set, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW, attr->st_mtim);
  std::optional<volume::FileHandle> fh;
  if (fi != nullptr) fh = fi->fh;
  absl::StatusOr<Attr> result = adapter.volume->SetAttr(CallerOf(req), ino, change, fh);
  if (!result.ok())
    return Fail(req, result.status(), "setattr", ino, ", to_set=0x", absl::Hex(to_set));
  struct stat st = ToStat(*result);
  fuse_reply_attr(req, &st, Seconds(adapter.options.attr_timeout));
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  absl::StatusOr<std::string> target = VolumeOf(req).Readlink(ino);
  if (!target.ok()) return Fail(req, target.status(), "readlink", ino);
  fuse_reply_readlink(req, target->c_str());
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  ReplyEntryOr(req, VolumeOf(req).Mknod(CallerOf(req), parent, name, mode, rdev), "mknod", parent,
               ", ", Name(name), ", 0", absl::Hex(mode));
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntryOr(req, VolumeOf(req).Mkdir(CallerOf(req), parent, name, mode & 07777), "mkdir", parent,
               ", ", Name(name));
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, VolumeOf(req).Unlink(parent, name), "unlink", parent, ", ", Name(name));
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, VolumeOf(req).Rmdir(parent, name), "rmdir", parent, ", ", Name(name));
}

void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  ReplyEntryOr(req, VolumeOf(req).Symlink(CallerOf(req), target, parent, name), "symlink", parent,
               ", ", Name(name));
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
            const char* new_name, unsigned int flags) {
  // RENAME_NOREPLACE and RENAME_EXCHANGE have the Volume's values; anything else (e.g.
  // RENAME_WHITEOUT, for overlayfs) is refused by the Volume with EINVAL/ENOTSUP.
  ReplyStatus(req, VolumeOf(req).Rename(parent, name, new_parent, new_name, flags), "rename",
              parent, ", ", Name(name), ", ", new_parent, ", ", Name(new_name), ", flags=", flags);
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  ReplyEntryOr(req, VolumeOf(req).Link(ino, new_parent, new_name), "link", ino, ", ", new_parent,
               ", ", Name(new_name));
}

// --- Files -----------------------------------------------------------------------------------

// A handle opened write-only goes around the kernel's page cache (FOPEN_DIRECT_IO): such a
// handle can neither read nor be mmapped (mmap needs a readable descriptor), and writes go
// through to the Volume one request each either way (no writeback cache), so the cached
// copy only cost the writer a copy into fresh page-cache pages per byte and the machine a
// second copy of a big file (DESIGN.md section 10): ~10% of the CPU of a sequential write on
// the devnet. Only on kernels that drop the written range from the page cache around a
// direct write (FUSE protocol 7.39, Linux 6.6): there other handles' cached pages and
// mmaps see the new bytes. Older kernels only notice through AUTO_INVAL_DATA on the next
// read(), which leaves a reader's mmap stale, so write-only handles stay cached there.
// The kernel does not clear set-user/group-id bits or security.capability on direct
// writes: WriteBuf does, for every write (DropPrivilegesForWrite).
bool IsWriteOnly(int open_flags) { return (open_flags & O_ACCMODE) == O_WRONLY; }

// Page-cache policy for an open file. Every change to the drive goes through this mount, so
// the kernel's cached pages of a file stay valid across opens: keep them.
void SetOpenFlags(const Adapter& adapter, fuse_file_info* fi) {
  fi->keep_cache = 1;
  fi->direct_io = adapter.direct_writes && IsWriteOnly(fi->flags) ? 1 : 0;
}

// Whether the caller of `req` is in group `gid` (its fsgid or a supplementary group).
bool CallerInGroup(fuse_req_t req, const volume::Caller& caller, uint32_t gid) {
  if (caller.gid == gid) return true;
  gid_t groups[64];
  int n = fuse_req_getgroups(req, 64, groups);
  for (int i = 0; i < std::min(n, 64); ++i) {
    if (static_cast<uint32_t>(groups[i]) == gid) return true;
  }
  return false;
}

// What a local file system does before a write (file_remove_privs): a write by a caller
// without CAP_FSETID (taken as: not root) clears set-user-id, and set-group-id if
// group-execute is set or the caller is not in the file's group; any write removes
// security.capability. The kernel skips this for direct writes, and for cached ones it
// keeps a set-group-id bit without group-execute whoever writes; so WriteBuf does it for
// every write. Two catalog reads in the common case of neither.
absl::Status DropPrivilegesForWrite(fuse_req_t req, Adapter& adapter, fuse_ino_t ino,
                                    volume::FileHandle fh) {
  Volume& volume = *adapter.volume;
  const volume::Caller caller = CallerOf(req);
  GNR_ASSIGN_OR_RETURN(Attr attr, volume.GetAttr(ino));
  uint32_t kill = 0;
  if (caller.uid != 0 && S_ISREG(attr.mode)) {
    if (attr.mode & S_ISUID) kill |= S_ISUID;
    if ((attr.mode & S_ISGID) && ((attr.mode & S_IXGRP) || !CallerInGroup(req, caller, attr.gid))) {
      kill |= S_ISGID;
    }
  }
  if (kill != 0) {
    volume::SetAttrRequest change;
    change.mode = attr.mode & 07777 & ~kill;
    GNR_RETURN_IF_ERROR(volume.SetAttr(caller, ino, change, fh).status());
    // The kernel still has the old mode cached (attributes only: no page-cache work, so
    // safe while it waits for this write).
    if (adapter.session != nullptr) {
      (void)fuse_lowlevel_notify_inval_inode(adapter.session, ino, -1, 0);
    }
  }
  absl::StatusOr<Bytes> caps = volume.GetXattr(ino, "security.capability");
  if (caps.ok()) return volume.RemoveXattr(ino, "security.capability");
  if (catalog::IsPosixError(caps.status(), ENODATA)) return absl::OkStatus();
  return caps.status();
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  Adapter& adapter = AdapterOf(req);
  absl::StatusOr<volume::CreateResult> created =
      adapter.volume->Create(CallerOf(req), parent, name, mode & 07777, fi->flags);
  if (!created.ok()) {
    return Fail(req, created.status(), "create", parent, ", ", Name(name), ", flags=0",
                absl::Hex(fi->flags));
  }
  fi->fh = created->fh;
  SetOpenFlags(adapter, fi);
  fuse_entry_param e = ToEntry(adapter, created->attr);
  adapter.lookups.Add(created->attr.ino);
  if (fuse_reply_create(req, &e, fi) != 0) {
    // The kernel never saw the handle or the entry (the request was interrupted).
    adapter.lookups.Forget(created->attr.ino, 1);
    (void)adapter.volume->Release(created->fh);
  }
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Adapter& adapter = AdapterOf(req);
  absl::StatusOr<volume::FileHandle> fh = adapter.volume->Open(CallerOf(req), ino, fi->flags);
  if (!fh.ok()) return Fail(req, fh.status(), "open", ino, ", flags=0", absl::Hex(fi->flags));
  fi->fh = *fh;
  SetOpenFlags(adapter, fi);
  if (fuse_reply_open(req, fi) != 0) (void)adapter.volume->Release(*fh);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Volume& volume = VolumeOf(req);
  if (off < 0) return Fail(req, absl::InvalidArgumentError("negative offset"), "read", ino);
  Bytes& buffer = ThreadBuffer();
  if (buffer.size() < size) buffer.resize(std::max(size, kMaxIo));
  absl::StatusOr<size_t> n =
      volume.Read(fi->fh, static_cast<uint64_t>(off), MutableByteView(buffer.data(), size));
  if (!n.ok()) return Fail(req, n.status(), "read", ino, ", off=", off, ", size=", size);
  fuse_reply_buf(req, reinterpret_cast<const char*>(buffer.data()), *n);
}

void WriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  Adapter& adapter = AdapterOf(req);
  Volume& volume = *adapter.volume;
  if (off < 0) return Fail(req, absl::InvalidArgumentError("negative offset"), "write", ino);
  size_t size = fuse_buf_size(in);
  ByteView data;
  if (in->count == 1 && in->idx == 0 && in->off == 0 && !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
    // The usual case (no splice): the bytes are in libfuse's request buffer already.
    data = ByteView(static_cast<const uint8_t*>(in->buf[0].mem), size);
  } else {
    Bytes& buffer = ThreadBuffer();
    if (buffer.size() < size) buffer.resize(std::max(size, kMaxIo));
    fuse_bufvec out = FUSE_BUFVEC_INIT(size);
    out.buf[0].mem = buffer.data();
    ssize_t copied = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
    if (copied < 0) {
      return Fail(req, absl::InternalError(absl::StrCat("fuse_buf_copy: ", ErrnoName(-copied))),
                  "write", ino);
    }
    data = ByteView(buffer.data(), static_cast<size_t>(copied));
  }
  absl::Status dropped = DropPrivilegesForWrite(req, adapter, ino, fi->fh);
  if (!dropped.ok()) return Fail(req, dropped, "write (dropping privileges)", ino);
  absl::StatusOr<size_t> n = volume.Write(fi->fh, static_cast<uint64_t>(off), data);
  if (!n.ok()) return Fail(req, n.status(), "write", ino, ", off=", off, ", size=", size);
  fuse_reply_write(req, *n);
}

void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  ReplyStatus(req, VolumeOf(req).Flush(fi->fh), "flush", ino);
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  ReplyStatus(req, VolumeOf(req).Release(fi->fh), "release", ino);
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  // Durable: the Volume returns once the content is committed on the network.
  ReplyStatus(req, VolumeOf(req).Fsync(fi->fh, datasync != 0), "fsync", ino);
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
               fuse_file_info* fi) {
  Adapter& adapter = AdapterOf(req);
  // posix_fallocate(3) (mode 0) grows the file to offset + length; with KEEP_SIZE nothing
  // visible changes. Space is not reserved on the farmers ahead of the data, so hole punching
  // and the other modes are not offered.
  if ((mode & ~FALLOC_FL_KEEP_SIZE) != 0) {
    return Fail(req, absl::UnimplementedError("only posix_fallocate modes are supported"),
                "fallocate", ino, ", mode=", mode);
  }
  if (offset < 0 || length <= 0) {
    return Fail(req, absl::InvalidArgumentError("bad range"), "fallocate", ino);
  }
  absl::StatusOr<Attr> attr = adapter.volume->GetAttr(ino);
  if (!attr.ok()) return Fail(req, attr.status(), "fallocate", ino);
  uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if ((mode & FALLOC_FL_KEEP_SIZE) || end <= attr->size) {
    fuse_reply_err(req, 0);
    return;
  }
  volume::SetAttrRequest change;
  change.size = end;
  ReplyStatus(req, adapter.volume->SetAttr(CallerOf(req), ino, change, fi->fh).status(),
              "fallocate", ino, ", end=", end);
}

// --- Directories ---------------------------------------------------------------------------

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Adapter& adapter = AdapterOf(req);
  absl::StatusOr<volume::DirHandle> dh = adapter.volume->OpenDir(ino);
  if (!dh.ok()) return Fail(req, dh.status(), "opendir", ino);
  fi->fh = *dh;
  if (fuse_reply_open(req, fi) != 0) (void)adapter.volume->ReleaseDir(*dh);
}

// readdir and readdirplus: entries are packed until the kernel's buffer is full; the next
// call resumes at the cookie of the last entry sent (cookies are stable in the Volume).
void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                   bool plus) {
  Adapter& adapter = AdapterOf(req);
  // A lower bound on an entry's size (dirent header + a short name), so one Volume call
  // usually fills the buffer.
  size_t max_entries = size / (plus ? 160 : 32) + 1;
  absl::StatusOr<std::vector<volume::DirEntry>> entries =
      adapter.volume->ReadDir(fi->fh, static_cast<uint64_t>(off), max_entries, plus);
  if (!entries.ok()) {
    return Fail(req, entries.status(), plus ? "readdirplus" : "readdir", ino, ", off=", off);
  }
  std::vector<char> buffer(size);
  size_t used = 0;
  std::vector<uint64_t> counted;  // inodes given to the kernel by this reply
  for (const volume::DirEntry& entry : *entries) {
    size_t room = size - used;
    size_t needed;
    if (plus) {
      fuse_entry_param e;
      std::memset(&e, 0, sizeof(e));
      if (entry.attr.has_value()) {
        e = ToEntry(adapter, *entry.attr);
      } else {
        // "." and "..": ino 0 tells the kernel not to instantiate (and not to count) them.
        e.attr.st_ino = entry.ino;
        e.attr.st_mode = entry.mode;
      }
      needed = fuse_add_direntry_plus(req, buffer.data() + used, room, entry.name.c_str(), &e,
                                      static_cast<off_t>(entry.next_cookie));
      if (needed > room) break;
      if (e.ino != 0) {
        adapter.lookups.Add(e.ino);
        counted.push_back(e.ino);
      }
    } else {
      struct stat st;
      std::memset(&st, 0, sizeof(st));
      st.st_ino = entry.ino;
      st.st_mode = entry.mode;
      needed = fuse_add_direntry(req, buffer.data() + used, room, entry.name.c_str(), &st,
                                 static_cast<off_t>(entry.next_cookie));
      if (needed > room) break;
    }
    used += needed;
  }
  if (fuse_reply_buf(req, buffer.data(), used) != 0) {
    for (uint64_t counted_ino : counted) adapter.lookups.Forget(counted_ino, 1);
  }
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, /*plus=*/false);
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, /*plus=*/true);
}

void ReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  ReplyStatus(req, VolumeOf(req).ReleaseDir(fi->fh), "releasedir", ino);
}

void FsyncDir(fuse_req_t req, fuse_ino_t /*ino*/, int /*datasync*/, fuse_file_info* /*fi*/) {
  // Namespace changes are catalog transactions, durable when they return.
  AdapterOf(req);
  fuse_reply_err(req, 0);
}

// --- File system ---------------------------------------------------------------------------

void StatFs(fuse_req_t req, fuse_ino_t ino) {
  absl::StatusOr<volume::FsStats> stats = VolumeOf(req).StatFs();
  if (!stats.ok()) return Fail(req, stats.status(), "statfs", ino);
  struct statvfs sv;
  std::memset(&sv, 0, sizeof(sv));
  sv.f_bsize = stats->block_size;
  sv.f_frsize = stats->block_size;
  sv.f_blocks = stats->blocks;
  sv.f_bfree = stats->blocks_free;
  sv.f_bavail = stats->blocks_avail;
  sv.f_files = stats->files;
  sv.f_ffree = stats->files_free;
  sv.f_favail = stats->files_free;
  sv.f_namemax = stats->name_max;
  fuse_reply_statfs(req, &sv);
}

void SetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags) {
  // XATTR_CREATE / XATTR_REPLACE have the Volume's values.
  ReplyStatus(req,
              VolumeOf(req).SetXattr(
                  ino, name, ByteView(reinterpret_cast<const uint8_t*>(value), size), flags),
              "setxattr", ino, ", ", Name(name));
}

// getxattr/listxattr protocol: size 0 asks for the length; a buffer too small is ERANGE.
void ReplySized(fuse_req_t req, std::string_view data, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (data.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  absl::StatusOr<Bytes> value = VolumeOf(req).GetXattr(ino, name);
  if (!value.ok()) return Fail(req, value.status(), "getxattr", ino, ", ", Name(name));
  ReplySized(req, std::string_view(reinterpret_cast<const char*>(value->data()), value->size()),
             size);
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  absl::StatusOr<std::vector<std::string>> names = VolumeOf(req).ListXattr(ino);
  if (!names.ok()) return Fail(req, names.status(), "listxattr", ino);
  std::string packed;  // "name\0name\0..."
  for (const std::string& n : *names) {
    packed.append(n);
    packed.push_back('\0');
  }
  ReplySized(req, packed, size);
}

void RemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  ReplyStatus(req, VolumeOf(req).RemoveXattr(ino, name), "removexattr", ino, ", ", Name(name));
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = Init;
  ops.destroy = Destroy;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = GetAttr;
  ops.setattr = SetAttr;
  ops.readlink = Readlink;
  ops.mknod = Mknod;
  ops.mkdir = Mkdir;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.symlink = Symlink;
  ops.rename = Rename;
  ops.link = Link;
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write_buf = WriteBuf;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.fallocate = Fallocate;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.readdirplus = ReadDirPlus;
  ops.releasedir = ReleaseDir;
  ops.fsyncdir = FsyncDir;
  ops.statfs = StatFs;
  ops.setxattr = SetXattr;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.removexattr = RemoveXattr;
  // Not provided, on purpose: access (default_permissions makes the kernel check), getlk/
  // setlk/flock (locks stay local), ioctl, poll, bmap, copy_file_range and lseek (the kernel
  // falls back to read/write and to "all data, no holes").
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& LowLevelOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace gnr::fuse
