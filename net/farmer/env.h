#pragma once
// Env: every filesystem operation of the farmer's shard store goes through this seam
// (STYLE.md rule 7, after LevelDB's Env). Production uses PosixEnv(); crash tests use
// net/farmer/testing/fault_injection_env.h, which forgets everything not yet made durable.
//
// Durability contract (what the store relies on, and what the fault-injecting env models):
//   - bytes appended to a WritableFile are durable only after its Sync() returned OK;
//   - a file's name (create, rename, delete) is durable only after SyncDir() of the directory
//     that holds it returned OK;
//   - a directory created with CreateDir is durable after SyncDir() of its parent.
// PosixEnv's Sync() is fdatasync(2) followed by posix_fadvise(POSIX_FADV_DONTNEED), so shard
// pages do not pile up in the page cache (DESIGN.md section 10).
//
// Errors: NotFound (no such file), AlreadyExists, PermissionDenied, ResourceExhausted (disk
// full), Internal for other I/O errors; messages name the path and the errno text.
// Thread-safety: Env methods are thread-safe. A WritableFile is used by one thread at a time;
// RandomAccessFile::Read is thread-safe (pread).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::farmer {

// A file being written from the start, sequentially. Destroying it without Close() closes it
// (errors are then ignored).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` (retries short writes).
  virtual absl::Status Append(ByteView data) = 0;
  // Makes everything appended so far durable, then drops the file's pages from the page cache.
  virtual absl::Status Sync() = 0;
  virtual absl::Status Close() = 0;
};

// A file opened for reading at arbitrary offsets. The open file stays readable after it is
// renamed or deleted (POSIX semantics).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to out.size() bytes at `offset`; returns how many were read (less only at the
  // end of the file).
  virtual absl::StatusOr<size_t> Read(uint64_t offset, MutableByteView out) const = 0;
};

struct DiskStats {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;  // to an unprivileged user
};

// An exclusive advisory lock on a file; released when destroyed (or when the process dies).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates (or truncates) `path` for writing.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  // rename(2): atomically replaces `to` if it exists.
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  // Creates one directory; OK if it already exists as a directory.
  virtual absl::Status CreateDir(const std::string& path) = 0;
  // Makes the names in directory `path` durable (fsync of the directory).
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Names of the entries of `path`, without "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Size of a regular file; NotFound if it does not exist.
  virtual absl::StatusOr<uint64_t> GetFileSize(const std::string& path) = 0;
  // True if `path` exists and is a directory.
  virtual bool IsDirectory(const std::string& path) = 0;
  // Space of the filesystem holding `path`.
  virtual absl::StatusOr<DiskStats> GetDiskStats(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (created if missing). FailedPrecondition if another
  // process (or another lock in this one) holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// The process-wide POSIX implementation (never destroyed).
Env& PosixEnv();

// "dir/name" (no doubled slash).
std::string JoinPath(const std::string& dir, const std::string& name);
// The directory part of `path` ("a/b/c" -> "a/b"; "c" -> ".").
std::string DirName(const std::string& path);

}  // namespace gnr::farmer
