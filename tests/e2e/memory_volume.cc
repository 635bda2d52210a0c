#include "tests/e2e/memory_volume.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"

namespace gnr::e2e {

using catalog::PosixError;
using volume::Attr;
using volume::Ino;

struct MemoryVolume::Node {
  Attr attr;
  std::string data;                     // file bytes or symlink target
  std::map<std::string, Ino> children;  // directories
  std::map<std::string, Bytes> xattrs;
  Ino parent = 0;  // directories: for ".." and cycle checks
  int open = 0;    // file handles
};

namespace {

absl::Time Now() { return absl::Now(); }

bool IsDir(uint32_t mode) { return S_ISDIR(mode); }

absl::Status CheckName(std::string_view name) {
  if (name.size() > volume::kMaxNameLength) {
    return PosixError(ENAMETOOLONG, absl::StrCat("name longer than 255 bytes: ", name.size()));
  }
  return absl::OkStatus();
}

void Touch(Attr& a, absl::Time t) { a.mtime = a.ctime = t; }

}  // namespace

MemoryVolume::MemoryVolume() {
  absl::MutexLock lock(&mu_);
  auto root = std::make_unique<Node>();
  root->attr.ino = volume::kRootIno;
  root->attr.mode = S_IFDIR | 0755;
  root->attr.nlink = 2;
  root->attr.blksize = 4096;
  root->attr.atime = root->attr.mtime = root->attr.ctime = Now();
  root->parent = volume::kRootIno;
  nodes_[volume::kRootIno] = std::move(root);
}

MemoryVolume::~MemoryVolume() = default;

MemoryVolume::Node* MemoryVolume::Find(Ino ino) {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.get();
}

absl::StatusOr<MemoryVolume::Node*> MemoryVolume::Dir(Ino ino) {
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, absl::StrCat("no inode ", ino));
  if (!IsDir(n->attr.mode)) return PosixError(ENOTDIR, absl::StrCat("inode ", ino, " not a dir"));
  return n;
}

absl::StatusOr<MemoryVolume::Node*> MemoryVolume::NewNode(const volume::Caller& caller,
                                                          Node* parent, std::string_view name,
                                                          uint32_t mode) {
  GNR_RETURN_IF_ERROR(CheckName(name));
  if (parent->children.count(std::string(name))) {
    return PosixError(EEXIST, absl::StrCat("\"", AbslView(name), "\" exists"));
  }
  auto node = std::make_unique<Node>();
  Node* n = node.get();
  absl::Time t = Now();
  n->attr.ino = next_ino_++;
  n->attr.mode = mode;
  n->attr.nlink = 1;
  n->attr.uid = caller.uid;
  n->attr.gid = (parent->attr.mode & S_ISGID) ? parent->attr.gid : caller.gid;
  n->attr.blksize = 4096;
  n->attr.atime = n->attr.mtime = n->attr.ctime = t;
  nodes_[n->attr.ino] = std::move(node);
  parent->children[std::string(name)] = n->attr.ino;
  Touch(parent->attr, t);
  return n;
}

void MemoryVolume::DropLink(Node* node) {
  if (IsDir(node->attr.mode)) {
    node->attr.nlink = 0;
  } else if (node->attr.nlink > 0) {
    --node->attr.nlink;
  }
  node->attr.ctime = Now();
  MaybeFree(node->attr.ino);
}

void MemoryVolume::MaybeFree(Ino ino) {
  Node* n = Find(ino);
  if (n != nullptr && n->attr.nlink == 0 && n->open == 0) nodes_.erase(ino);
}

bool MemoryVolume::IsAncestor(Ino ancestor, Ino ino) {
  while (true) {
    if (ino == ancestor) return true;
    if (ino == volume::kRootIno) return false;
    Node* n = Find(ino);
    if (n == nullptr) return false;
    ino = n->parent;
  }
}

absl::StatusOr<Attr> MemoryVolume::Lookup(Ino parent, std::string_view name) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  GNR_RETURN_IF_ERROR(CheckName(name));
  auto it = dir->children.find(std::string(name));
  if (it == dir->children.end())
    return PosixError(ENOENT, absl::StrCat("no \"", AbslView(name), "\""));
  return Find(it->second)->attr;
}

absl::StatusOr<Attr> MemoryVolume::GetAttr(Ino ino) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, absl::StrCat("no inode ", ino));
  return n->attr;
}

absl::StatusOr<Attr> MemoryVolume::SetAttr(const volume::Caller&, Ino ino,
                                           const volume::SetAttrRequest& req,
                                           std::optional<volume::FileHandle>) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, absl::StrCat("no inode ", ino));
  absl::Time t = Now();
  bool changed = false;
  if (req.size) {
    if (IsDir(n->attr.mode)) return PosixError(EISDIR, "truncate of a directory");
    if (!S_ISREG(n->attr.mode)) return PosixError(EINVAL, "truncate of a special file");
    n->data.resize(*req.size, '\0');
    n->attr.size = *req.size;
    n->attr.blocks = (n->attr.size + 511) / 512;
    n->attr.mtime = t;
    changed = true;
  }
  if (req.mode) {
    n->attr.mode = (n->attr.mode & S_IFMT) | (*req.mode & 07777);
    changed = true;
  }
  if (req.uid) {
    n->attr.uid = *req.uid;
    changed = true;
  }
  if (req.gid) {
    n->attr.gid = *req.gid;
    changed = true;
  }
  using Kind = volume::TimeChange::Kind;
  if (req.atime.kind != Kind::kOmit) {
    n->attr.atime = req.atime.kind == Kind::kNow ? t : req.atime.value;
    changed = true;
  }
  if (req.mtime.kind != Kind::kOmit) {
    n->attr.mtime = req.mtime.kind == Kind::kNow ? t : req.mtime.value;
    changed = true;
  }
  if (changed) n->attr.ctime = t;
  return n->attr;
}

absl::StatusOr<Attr> MemoryVolume::Mknod(const volume::Caller& caller, Ino parent,
                                         std::string_view name, uint32_t mode, uint64_t rdev) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type == S_IFDIR || type == S_IFLNK) return PosixError(EINVAL, "mknod of a dir/symlink");
  if ((type == S_IFCHR || type == S_IFBLK) && caller.uid != 0) {
    return PosixError(EPERM, "device nodes need root");
  }
  GNR_ASSIGN_OR_RETURN(Node * n, NewNode(caller, dir, name, type | (mode & 07777)));
  if (type == S_IFCHR || type == S_IFBLK) n->attr.rdev = rdev;
  return n->attr;
}

absl::StatusOr<Attr> MemoryVolume::Mkdir(const volume::Caller& caller, Ino parent,
                                         std::string_view name, uint32_t mode) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  uint32_t perm = mode & 07777;
  if (dir->attr.mode & S_ISGID) perm |= S_ISGID;
  GNR_ASSIGN_OR_RETURN(Node * n, NewNode(caller, dir, name, S_IFDIR | perm));
  n->attr.nlink = 2;
  n->parent = parent;
  ++dir->attr.nlink;
  return n->attr;
}

absl::Status MemoryVolume::Unlink(Ino parent, std::string_view name) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  auto it = dir->children.find(std::string(name));
  if (it == dir->children.end())
    return PosixError(ENOENT, absl::StrCat("no \"", AbslView(name), "\""));
  Node* n = Find(it->second);
  if (IsDir(n->attr.mode)) return PosixError(EISDIR, "unlink of a directory");
  dir->children.erase(it);
  Touch(dir->attr, Now());
  DropLink(n);
  return absl::OkStatus();
}

absl::Status MemoryVolume::Rmdir(Ino parent, std::string_view name) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  auto it = dir->children.find(std::string(name));
  if (it == dir->children.end())
    return PosixError(ENOENT, absl::StrCat("no \"", AbslView(name), "\""));
  Node* n = Find(it->second);
  if (!IsDir(n->attr.mode)) return PosixError(ENOTDIR, "rmdir of a non-directory");
  if (!n->children.empty()) return PosixError(ENOTEMPTY, "directory not empty");
  dir->children.erase(it);
  --dir->attr.nlink;
  Touch(dir->attr, Now());
  DropLink(n);
  return absl::OkStatus();
}

absl::Status MemoryVolume::Rename(Ino parent, std::string_view name, Ino new_parent,
                                  std::string_view new_name, uint32_t flags) {
  absl::MutexLock lock(&mu_);
  if (flags & ~(volume::kRenameNoReplace | volume::kRenameExchange)) {
    return PosixError(EINVAL, "unsupported rename flags");
  }
  if ((flags & volume::kRenameNoReplace) && (flags & volume::kRenameExchange)) {
    return PosixError(EINVAL, "RENAME_NOREPLACE with RENAME_EXCHANGE");
  }
  GNR_ASSIGN_OR_RETURN(Node * from_dir, Dir(parent));
  GNR_ASSIGN_OR_RETURN(Node * to_dir, Dir(new_parent));
  GNR_RETURN_IF_ERROR(CheckName(new_name));
  auto from_it = from_dir->children.find(std::string(name));
  if (from_it == from_dir->children.end()) return PosixError(ENOENT, "source missing");
  Node* src = Find(from_it->second);
  auto to_it = to_dir->children.find(std::string(new_name));
  Node* dst = to_it == to_dir->children.end() ? nullptr : Find(to_it->second);
  absl::Time t = Now();

  if (flags & volume::kRenameExchange) {
    if (dst == nullptr) return PosixError(ENOENT, "exchange target missing");
    if (IsDir(src->attr.mode) && IsAncestor(src->attr.ino, new_parent)) {
      return PosixError(EINVAL, "directory into itself");
    }
    if (IsDir(dst->attr.mode) && IsAncestor(dst->attr.ino, parent)) {
      return PosixError(EINVAL, "directory into itself");
    }
    from_it->second = dst->attr.ino;
    to_it->second = src->attr.ino;
    if (parent != new_parent) {
      if (IsDir(src->attr.mode)) {
        src->parent = new_parent;
        --from_dir->attr.nlink;
        ++to_dir->attr.nlink;
      }
      if (IsDir(dst->attr.mode)) {
        dst->parent = parent;
        --to_dir->attr.nlink;
        ++from_dir->attr.nlink;
      }
    }
    src->attr.ctime = dst->attr.ctime = t;
    Touch(from_dir->attr, t);
    Touch(to_dir->attr, t);
    return absl::OkStatus();
  }

  if (dst == src) return absl::OkStatus();  // same inode: POSIX says do nothing
  if (dst != nullptr && (flags & volume::kRenameNoReplace)) {
    return PosixError(EEXIST, "target exists");
  }
  if (IsDir(src->attr.mode) && IsAncestor(src->attr.ino, new_parent)) {
    return PosixError(EINVAL, "directory into itself");
  }
  if (dst != nullptr) {
    if (IsDir(src->attr.mode) && !IsDir(dst->attr.mode)) return PosixError(ENOTDIR, "over file");
    if (!IsDir(src->attr.mode) && IsDir(dst->attr.mode)) return PosixError(EISDIR, "over dir");
    if (IsDir(dst->attr.mode) && !dst->children.empty()) return PosixError(ENOTEMPTY, "not empty");
  }
  Ino src_ino = src->attr.ino;
  from_dir->children.erase(from_it);
  if (dst != nullptr) {
    if (IsDir(dst->attr.mode)) --to_dir->attr.nlink;
    to_dir->children.erase(std::string(new_name));
    DropLink(dst);
  }
  to_dir->children[std::string(new_name)] = src_ino;
  if (IsDir(src->attr.mode) && parent != new_parent) {
    src->parent = new_parent;
    --from_dir->attr.nlink;
    ++to_dir->attr.nlink;
  }
  src->attr.ctime = t;
  Touch(from_dir->attr, t);
  Touch(to_dir->attr, t);
  return absl::OkStatus();
}

absl::StatusOr<Attr> MemoryVolume::Link(Ino ino, Ino new_parent, std::string_view new_name) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, absl::StrCat("no inode ", ino));
  if (IsDir(n->attr.mode)) return PosixError(EPERM, "hard link to a directory");
  if (n->attr.nlink == 0) return PosixError(ENOENT, "inode was unlinked");
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(new_parent));
  GNR_RETURN_IF_ERROR(CheckName(new_name));
  if (dir->children.count(std::string(new_name))) return PosixError(EEXIST, "target exists");
  dir->children[std::string(new_name)] = ino;
  ++n->attr.nlink;
  absl::Time t = Now();
  n->attr.ctime = t;
  Touch(dir->attr, t);
  return n->attr;
}

absl::StatusOr<Attr> MemoryVolume::Symlink(const volume::Caller& caller, std::string_view target,
                                           Ino parent, std::string_view name) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  if (target.empty() || target.size() >= 4096) return PosixError(ENAMETOOLONG, "bad target");
  GNR_ASSIGN_OR_RETURN(Node * n, NewNode(caller, dir, name, S_IFLNK | 0777));
  n->data = std::string(target);
  n->attr.size = target.size();
  return n->attr;
}

absl::StatusOr<std::string> MemoryVolume::Readlink(Ino ino) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, absl::StrCat("no inode ", ino));
  if (!S_ISLNK(n->attr.mode)) return PosixError(EINVAL, "not a symlink");
  return n->data;
}

volume::FileHandle MemoryVolume::OpenLocked(Node* node, int flags) {
  // Linux truncates on O_TRUNC whatever the access mode (O_RDONLY | O_TRUNC included).
  if (flags & O_TRUNC) {
    node->data.clear();
    node->attr.size = 0;
    node->attr.blocks = 0;
    Touch(node->attr, Now());
  }
  ++node->open;
  volume::FileHandle fh = next_handle_++;
  files_[fh] = OpenFile{node->attr.ino, flags};
  return fh;
}

absl::StatusOr<volume::CreateResult> MemoryVolume::Create(const volume::Caller& caller, Ino parent,
                                                          std::string_view name, uint32_t mode,
                                                          int flags) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(parent));
  GNR_RETURN_IF_ERROR(CheckName(name));
  Node* n;
  auto it = dir->children.find(std::string(name));
  if (it != dir->children.end()) {
    if (flags & O_EXCL) return PosixError(EEXIST, "O_EXCL and the name exists");
    n = Find(it->second);
    if (IsDir(n->attr.mode)) return PosixError(EISDIR, "is a directory");
  } else {
    GNR_ASSIGN_OR_RETURN(n, NewNode(caller, dir, name, S_IFREG | (mode & 07777)));
    flags &= ~O_TRUNC;  // a new file is empty; POSIX does not touch its times again
  }
  volume::FileHandle fh = OpenLocked(n, flags);
  return volume::CreateResult{n->attr, fh};
}

absl::StatusOr<volume::FileHandle> MemoryVolume::Open(const volume::Caller&, Ino ino, int flags) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, absl::StrCat("no inode ", ino));
  if (IsDir(n->attr.mode)) {
    if ((flags & O_ACCMODE) != O_RDONLY) return PosixError(EISDIR, "directory opened for write");
  } else if (!S_ISREG(n->attr.mode)) {
    return PosixError(EINVAL, "not a regular file");
  }
  return OpenLocked(n, flags);
}

absl::StatusOr<size_t> MemoryVolume::Read(volume::FileHandle fh, uint64_t offset,
                                          MutableByteView out) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(fh);
  if (it == files_.end()) return PosixError(EBADF, "unknown handle");
  if ((it->second.flags & O_ACCMODE) == O_WRONLY) return PosixError(EBADF, "write-only handle");
  Node* n = Find(it->second.ino);
  if (offset >= n->data.size()) return size_t{0};
  size_t len = std::min<size_t>(out.size(), n->data.size() - offset);
  std::memcpy(out.data(), n->data.data() + offset, len);
  return len;
}

absl::StatusOr<size_t> MemoryVolume::Write(volume::FileHandle fh, uint64_t offset, ByteView data) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(fh);
  if (it == files_.end()) return PosixError(EBADF, "unknown handle");
  if ((it->second.flags & O_ACCMODE) == O_RDONLY) return PosixError(EBADF, "read-only handle");
  Node* n = Find(it->second.ino);
  if (it->second.flags & O_APPEND) offset = n->data.size();
  if (offset + data.size() > n->data.size()) n->data.resize(offset + data.size(), '\0');
  std::memcpy(n->data.data() + offset, data.data(), data.size());
  n->attr.size = n->data.size();
  n->attr.blocks = (n->attr.size + 511) / 512;
  Touch(n->attr, Now());
  return data.size();
}

absl::Status MemoryVolume::Flush(volume::FileHandle fh) {
  absl::MutexLock lock(&mu_);
  if (!files_.count(fh)) return PosixError(EBADF, "unknown handle");
  return absl::OkStatus();
}

absl::Status MemoryVolume::Fsync(volume::FileHandle fh, bool) { return Flush(fh); }

absl::Status MemoryVolume::Release(volume::FileHandle fh) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(fh);
  if (it == files_.end()) return PosixError(EBADF, "unknown handle");
  Ino ino = it->second.ino;
  files_.erase(it);
  if (Node* n = Find(ino)) {
    --n->open;
    MaybeFree(ino);
  }
  return absl::OkStatus();
}

absl::StatusOr<volume::DirHandle> MemoryVolume::OpenDir(Ino ino) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(Node * dir, Dir(ino));
  OpenDirectory d;
  d.ino = ino;
  d.entries.push_back({".", ino, S_IFDIR, 1, std::nullopt});
  d.entries.push_back({"..", dir->parent, S_IFDIR, 2, std::nullopt});
  uint64_t cookie = 3;
  for (const auto& [name, child] : dir->children) {
    d.entries.push_back({name, child, Find(child)->attr.mode, cookie++, std::nullopt});
  }
  volume::DirHandle dh = next_handle_++;
  dirs_[dh] = std::move(d);
  return dh;
}

absl::StatusOr<std::vector<volume::DirEntry>> MemoryVolume::ReadDir(volume::DirHandle dh,
                                                                    uint64_t cookie,
                                                                    size_t max_entries, bool plus) {
  absl::MutexLock lock(&mu_);
  auto it = dirs_.find(dh);
  if (it == dirs_.end()) return PosixError(EBADF, "unknown dir handle");
  std::vector<volume::DirEntry> out;
  for (const volume::DirEntry& e : it->second.entries) {
    if (e.next_cookie <= cookie) continue;
    if (out.size() >= max_entries) break;
    volume::DirEntry copy = e;
    if (e.name != "." && e.name != "..") {
      Node* n = Find(e.ino);
      if (n == nullptr) continue;  // removed since OpenDir
      if (plus) copy.attr = n->attr;
    }
    out.push_back(std::move(copy));
  }
  return out;
}

absl::Status MemoryVolume::ReleaseDir(volume::DirHandle dh) {
  absl::MutexLock lock(&mu_);
  if (dirs_.erase(dh) == 0) return PosixError(EBADF, "unknown dir handle");
  return absl::OkStatus();
}

absl::StatusOr<volume::FsStats> MemoryVolume::StatFs() {
  absl::MutexLock lock(&mu_);
  volume::FsStats s;
  s.blocks = 1 << 20;
  s.blocks_free = s.blocks_avail = 1 << 19;
  s.files = 1 << 20;
  s.files_free = s.files - nodes_.size();
  return s;
}

absl::Status MemoryVolume::SetXattr(Ino ino, std::string_view name, ByteView value, int flags) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, "no inode");
  bool present = n->xattrs.count(std::string(name)) > 0;
  if ((flags & volume::kXattrCreate) && present) return PosixError(EEXIST, "xattr exists");
  if ((flags & volume::kXattrReplace) && !present) return PosixError(ENODATA, "no such xattr");
  n->xattrs[std::string(name)] = Bytes(value.begin(), value.end());
  n->attr.ctime = Now();
  return absl::OkStatus();
}

absl::StatusOr<Bytes> MemoryVolume::GetXattr(Ino ino, std::string_view name) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, "no inode");
  auto it = n->xattrs.find(std::string(name));
  if (it == n->xattrs.end()) return PosixError(ENODATA, "no such xattr");
  return it->second;
}

absl::StatusOr<std::vector<std::string>> MemoryVolume::ListXattr(Ino ino) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, "no inode");
  std::vector<std::string> names;
  for (const auto& [name, value] : n->xattrs) names.push_back(name);
  return names;
}

absl::Status MemoryVolume::RemoveXattr(Ino ino, std::string_view name) {
  absl::MutexLock lock(&mu_);
  Node* n = Find(ino);
  if (n == nullptr) return PosixError(ENOENT, "no inode");
  if (n->xattrs.erase(std::string(name)) == 0) return PosixError(ENODATA, "no such xattr");
  n->attr.ctime = Now();
  return absl::OkStatus();
}

absl::StatusOr<Attr> MemoryVolume::LookupPath(std::string_view path) {
  Ino ino = volume::kRootIno;
  for (absl::string_view part : absl::StrSplit(AbslView(path), '/', absl::SkipEmpty())) {
    GNR_ASSIGN_OR_RETURN(Attr a, Lookup(ino, StdView(part)));
    ino = a.ino;
  }
  return GetAttr(ino);
}

absl::Status MemoryVolume::WaitForUploads(absl::Duration, bool) { return absl::OkStatus(); }

std::vector<volume::PendingUpload> MemoryVolume::PendingUploads() { return {}; }

volume::VolumeStats MemoryVolume::Stats() { return {}; }

size_t MemoryVolume::inode_count() const {
  absl::MutexLock lock(&mu_);
  return nodes_.size();
}

}  // namespace gnr::e2e
