#pragma once
// The end-to-end harness: a Volume mounted for real (FUSE, in this process) on a fresh
// temporary directory, for one test.
//
//   ASSERT_OK(CheckFuseAvailable());
//   ASSERT_OK_AND_ASSIGN(auto mount, TestMount::Start(volume));
//   ... syscalls under mount->path() ...
//   ASSERT_OK(mount->Unmount());  // or let the destructor do it
//
// Guarantees (libfuse's test harness, STYLE.md rule 12):
//   - a per-mount timeout: past it a watchdog process aborts the FUSE connection, so a test
//     stuck in a syscall on the mount fails instead of hanging the suite;
//   - the mount never outlives the test, even when the test binary crashes or is killed:
//     the watchdog (tests/e2e/mount_guard.h) force-unmounts when the process dies.
// Not thread-safe; one owner.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fs/fuse/mounted_drive.h"
#include "fs/volume/volume.h"
#include "tests/e2e/mount_guard.h"

namespace gnr::e2e {

// OK when this process can mount FUSE file systems here; otherwise FailedPrecondition saying
// what is missing (/dev/fuse absent or not openable, not root and no fusermount3). Tests
// call it first and fail with its message: an e2e test never skips silently.
absl::Status CheckFuseAvailable();

// A new empty directory under $TMPDIR (or /tmp), named gnr-e2e-<tag>-XXXXXX.
absl::StatusOr<std::string> MakeTempDir(const std::string& tag);

// Removes a directory tree (best effort; never follows symlinks out of it).
void RemoveTree(const std::string& path);

class TestMount {
 public:
  // Mounts `volume` (which must outlive the TestMount) on a new temporary directory.
  static absl::StatusOr<std::unique_ptr<TestMount>> Start(
      volume::Volume& volume, absl::Duration timeout = absl::Seconds(120),
      fuse::MountOptions options = {});

  // Unmounts (forcing it if a clean unmount fails), stops the watchdog, removes the dir.
  ~TestMount();
  TestMount(const TestMount&) = delete;
  TestMount& operator=(const TestMount&) = delete;

  const std::string& path() const { return path_; }
  fuse::MountedDrive& drive() { return *drive_; }

  // A clean unmount (fails with EBUSY if the test left files open).
  absl::Status Unmount();

 private:
  TestMount() = default;

  std::string path_;
  std::unique_ptr<MountGuard> guard_;
  std::unique_ptr<fuse::MountedDrive> drive_;
};

}  // namespace gnr::e2e
