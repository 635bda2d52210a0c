#pragma once
// FaultInjectionEnv: an Env over a real one (PosixEnv on a test directory) that remembers
// what has not been made durable yet, so a test can simulate a power cut or a kill -9 at any
// point of a write (after LevelDB's FaultInjectionTestEnv).
//
// It tracks, from the moment it is created:
//   - for each file created through it, how many bytes were synced (WritableFile::Sync);
//   - every create, rename and delete whose directory was not synced since (SyncDir).
// DropUnsyncedData() then does what a crash would: truncates each tracked file to its synced
// length and undoes, newest first, each name change not made durable (a created file is
// removed, a rename is reversed and a replaced file restored, a deleted file comes back).
// Deleted files are kept under a hidden name ("<path>.fault-deleted-<n>") until their
// directory is synced; ListDir never shows hidden names.
//
// CrashAfter(n) makes every mutating call after the next n fail with Internal ("injected
// crash"), as if the process had died there: nothing after that point reaches the disk.
//
// Not modelled: directory creation is treated as durable at once (the store syncs the parent
// right after mkdir anyway), and SQLite's own files (it does not write through an Env; its
// commits are durable by themselves with synchronous=FULL).
//
// Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "net/farmer/env.h"

namespace gnr::farmer::testing {

class FaultInjectionEnv final : public Env {
 public:
  // `base` must outlive this env.
  explicit FaultInjectionEnv(Env& base) : base_(base) {}

  // After `operations` more mutating calls succeed, all further mutating calls fail.
  // A negative value disables the crash (the default).
  void CrashAfter(int64_t operations) ABSL_LOCKS_EXCLUDED(mu_);
  // True once the injected crash has happened.
  bool crashed() const ABSL_LOCKS_EXCLUDED(mu_);
  // Mutating calls that succeeded so far (to enumerate crash points).
  int64_t mutating_operations() const ABSL_LOCKS_EXCLUDED(mu_);

  // Simulates the crash (see the file comment), then forgets the crash state: afterwards
  // everything on disk counts as durable and no crash is scheduled. Every WritableFile of
  // this env must be destroyed first.
  absl::Status DropUnsyncedData() ABSL_LOCKS_EXCLUDED(mu_);
  // A kill -9 without power loss: the kernel keeps everything written, so nothing is
  // undone; only the crash state and the tracking are forgotten.
  void ForgetCrash() ABSL_LOCKS_EXCLUDED(mu_);

  // Env.
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override;
  bool IsDirectory(const std::string& path) override;
  absl::StatusOr<DiskStats> GetDiskStats(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

 private:
  friend class FaultWritableFile;

  enum class OpKind { kCreate, kRename, kDelete };
  struct PendingOp {
    OpKind kind;
    std::string dir;     // the directory whose sync makes it durable
    std::string path;    // created / renamed-to / deleted path
    std::string from;    // kRename: the old name
    std::string hidden;  // kDelete: where the file is kept; kRename: the replaced file, if any
  };
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
  };

  // Counts a mutating call; returns the injected error if the crash point was reached.
  absl::Status CountOp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string HiddenName(const std::string& path, const char* tag)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TruncateTo(const std::string& path, uint64_t size);
  // WritableFile callbacks.
  absl::Status OnAppend(const std::string& path, size_t n) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status OnSync(const std::string& path) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status OnClose() ABSL_LOCKS_EXCLUDED(mu_);

  Env& base_;
  mutable absl::Mutex mu_;
  int64_t crash_after_ ABSL_GUARDED_BY(mu_) = -1;
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
  int64_t operations_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_hidden_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);  // by current path
  std::vector<PendingOp> pending_ ABSL_GUARDED_BY(mu_);          // oldest first
};

}  // namespace gnr::farmer::testing
