#pragma once
// A local write-back staging file (DESIGN.md section 3): the plaintext of a file that is
// being written, until a version of it is committed. Plain POSIX I/O on one descriptor;
// sparse where never written (pwrite past the end, ftruncate up).
//
// Errors carry the errno of the failing system call (catalog::PosixError), so a full local
// disk reaches the program as ENOSPC and anything else as itself.
//
// Thread-safety: ReadAt/WriteAt/Size are safe to call concurrently (pread/pwrite); callers
// order writes and truncates against each other (the Volume's per-inode lock). The
// descriptor is closed when the last shared_ptr goes away.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "fs/codec/encoder.h"

namespace gnr::volume {

class StagingFile {
 public:
  // Opens `path` read-write, creating it if needed; with `truncate`, empties it.
  static absl::StatusOr<std::shared_ptr<StagingFile>> Open(const std::string& path, bool create,
                                                           bool truncate);
  ~StagingFile();
  StagingFile(const StagingFile&) = delete;
  StagingFile& operator=(const StagingFile&) = delete;

  const std::string& path() const { return path_; }

  // Up to out.size() bytes at `offset`; fewer only at the end of the file.
  absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) const;
  absl::Status WriteAt(uint64_t offset, ByteView data);
  absl::Status Truncate(uint64_t size);
  absl::StatusOr<uint64_t> Size() const;
  // Bytes allocated on disk (st_blocks * 512).
  absl::StatusOr<uint64_t> AllocatedBytes() const;
  absl::Status Sync();
  // Unlinks the path (the descriptor stays usable until destroyed). NotFound is OK.
  absl::Status Unlink();

 private:
  StagingFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// The encoder's view of a staging file.
class StagingSource final : public codec::FileSource {
 public:
  explicit StagingSource(std::shared_ptr<StagingFile> file) : file_(std::move(file)) {}
  absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) override {
    return file_->ReadAt(offset, out);
  }

 private:
  std::shared_ptr<StagingFile> file_;
};

}  // namespace gnr::volume
