#pragma once
// MemoryVolume: a small in-memory implementation of volume::Volume that follows Linux
// (ext4/tmpfs) POSIX semantics, as a reference model for the FUSE adapter's end-to-end
// tests. It has no network, no staging and no persistence: a test that passes on
// MemoryVolume but fails on the real Volume points at the Volume; one that fails on both
// points at the adapter (fs/fuse).
//
// Not for production. Thread-safe (one mutex around everything).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "fs/volume/volume.h"

namespace gnr::e2e {

class MemoryVolume final : public volume::Volume {
 public:
  MemoryVolume();
  ~MemoryVolume() override;

  absl::StatusOr<volume::Attr> Lookup(volume::Ino parent, std::string_view name) override;
  absl::StatusOr<volume::Attr> GetAttr(volume::Ino ino) override;
  absl::StatusOr<volume::Attr> SetAttr(const volume::Caller& caller, volume::Ino ino,
                                       const volume::SetAttrRequest& req,
                                       std::optional<volume::FileHandle> fh) override;
  absl::StatusOr<volume::Attr> Mknod(const volume::Caller& caller, volume::Ino parent,
                                     std::string_view name, uint32_t mode, uint64_t rdev) override;
  absl::StatusOr<volume::Attr> Mkdir(const volume::Caller& caller, volume::Ino parent,
                                     std::string_view name, uint32_t mode) override;
  absl::Status Unlink(volume::Ino parent, std::string_view name) override;
  absl::Status Rmdir(volume::Ino parent, std::string_view name) override;
  absl::Status Rename(volume::Ino parent, std::string_view name, volume::Ino new_parent,
                      std::string_view new_name, uint32_t flags) override;
  absl::StatusOr<volume::Attr> Link(volume::Ino ino, volume::Ino new_parent,
                                    std::string_view new_name) override;
  absl::StatusOr<volume::Attr> Symlink(const volume::Caller& caller, std::string_view target,
                                       volume::Ino parent, std::string_view name) override;
  absl::StatusOr<std::string> Readlink(volume::Ino ino) override;

  absl::StatusOr<volume::CreateResult> Create(const volume::Caller& caller, volume::Ino parent,
                                              std::string_view name, uint32_t mode,
                                              int flags) override;
  absl::StatusOr<volume::FileHandle> Open(const volume::Caller& caller, volume::Ino ino,
                                          int flags) override;
  using volume::Volume::Read;
  absl::StatusOr<size_t> Read(volume::FileHandle fh, uint64_t offset, MutableByteView out) override;
  absl::StatusOr<size_t> Write(volume::FileHandle fh, uint64_t offset, ByteView data) override;
  absl::Status Flush(volume::FileHandle fh) override;
  absl::Status Fsync(volume::FileHandle fh, bool datasync) override;
  absl::Status Release(volume::FileHandle fh) override;

  absl::StatusOr<volume::DirHandle> OpenDir(volume::Ino ino) override;
  absl::StatusOr<std::vector<volume::DirEntry>> ReadDir(volume::DirHandle dh, uint64_t cookie,
                                                        size_t max_entries, bool plus) override;
  absl::Status ReleaseDir(volume::DirHandle dh) override;

  absl::StatusOr<volume::FsStats> StatFs() override;
  absl::Status SetXattr(volume::Ino ino, std::string_view name, ByteView value, int flags) override;
  absl::StatusOr<Bytes> GetXattr(volume::Ino ino, std::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListXattr(volume::Ino ino) override;
  absl::Status RemoveXattr(volume::Ino ino, std::string_view name) override;

  absl::StatusOr<volume::Attr> LookupPath(std::string_view path) override;
  absl::Status WaitForUploads(absl::Duration timeout, bool full_redundancy) override;
  std::vector<volume::PendingUpload> PendingUploads() override;
  volume::VolumeStats Stats() override;

  // Live inodes (linked or held open), for leak checks.
  size_t inode_count() const;

 private:
  struct Node;
  struct OpenFile {
    volume::Ino ino = 0;
    int flags = 0;
  };
  struct OpenDirectory {
    volume::Ino ino = 0;
    std::vector<volume::DirEntry> entries;  // snapshot taken by OpenDir
  };

  Node* Find(volume::Ino ino) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Node*> Dir(volume::Ino ino) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Node*> NewNode(const volume::Caller& caller, Node* parent, std::string_view name,
                                uint32_t mode) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropLink(Node* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFree(volume::Ino ino) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsAncestor(volume::Ino ancestor, volume::Ino ino) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  volume::FileHandle OpenLocked(Node* node, int flags) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<volume::Ino, std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
  std::map<volume::FileHandle, OpenFile> files_ ABSL_GUARDED_BY(mu_);
  std::map<volume::DirHandle, OpenDirectory> dirs_ ABSL_GUARDED_BY(mu_);
  volume::Ino next_ino_ ABSL_GUARDED_BY(mu_) = volume::kRootIno + 1;
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace gnr::e2e
