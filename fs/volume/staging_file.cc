#include "fs/volume/staging_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"

namespace gnr::volume {
namespace {

absl::Status Errno(int err, std::string_view what, const std::string& path) {
  return catalog::PosixError(err,
                             absl::StrCat(AbslView(what), " ", path, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<std::shared_ptr<StagingFile>> StagingFile::Open(const std::string& path, bool create,
                                                               bool truncate) {
  int flags = O_RDWR | O_CLOEXEC;
  if (create) flags |= O_CREAT;
  if (truncate) flags |= O_TRUNC;
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return Errno(errno, "cannot open staging file", path);
  return std::shared_ptr<StagingFile>(new StagingFile(path, fd));
}

StagingFile::~StagingFile() { ::close(fd_); }

absl::StatusOr<size_t> StagingFile::ReadAt(uint64_t offset, MutableByteView out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot read staging file", path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status StagingFile::WriteAt(uint64_t offset, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot write staging file", path_);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status StagingFile::Truncate(uint64_t size) {
  while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return Errno(errno, "cannot truncate staging file", path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StagingFile::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno(errno, "cannot stat staging file", path_);
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<uint64_t> StagingFile::AllocatedBytes() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno(errno, "cannot stat staging file", path_);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

absl::Status StagingFile::Sync() {
  if (::fdatasync(fd_) != 0) return Errno(errno, "cannot sync staging file", path_);
  return absl::OkStatus();
}

absl::Status StagingFile::Unlink() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Errno(errno, "cannot remove staging file", path_);
  }
  return absl::OkStatus();
}

}  // namespace gnr::volume
