#include "tests/e2e/test_mount.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace gnr::e2e {

absl::Status CheckFuseAvailable() {
  struct stat st;
  if (stat("/dev/fuse", &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "FUSE end-to-end tests need /dev/fuse, which is missing (", std::strerror(errno),
        "): load the fuse module, or run the container with --device /dev/fuse "
        "--cap-add SYS_ADMIN"));
  }
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("FUSE end-to-end tests cannot open /dev/fuse: ", std::strerror(errno)));
  }
  close(fd);
  if (geteuid() != 0 && access("/usr/bin/fusermount3", X_OK) != 0 &&
      access("/bin/fusermount3", X_OK) != 0) {
    return absl::FailedPreconditionError(
        "FUSE end-to-end tests run unprivileged but fusermount3 is not installed "
        "(apt-get install fuse3), or run them as root");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeTempDir(const std::string& tag) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/gnr-e2e-", tag, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  return pattern;
}

void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int type, struct FTW*) {
        if (type == FTW_DP) {
          rmdir(p);
        } else {
          unlink(p);
        }
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

absl::StatusOr<std::unique_ptr<TestMount>> TestMount::Start(volume::Volume& volume,
                                                            absl::Duration timeout,
                                                            fuse::MountOptions options) {
  GNR_RETURN_IF_ERROR(CheckFuseAvailable());
  std::unique_ptr<TestMount> m(new TestMount());
  GNR_ASSIGN_OR_RETURN(m->path_, MakeTempDir("mnt"));
  // The guard exists before the mount, so no window leaves a mount without one.
  GNR_ASSIGN_OR_RETURN(m->guard_, MountGuard::Start(m->path_, timeout));
  options.mountpoint = m->path_;
  absl::StatusOr<std::unique_ptr<fuse::MountedDrive>> drive =
      fuse::MountedDrive::Mount(volume, options);
  if (!drive.ok()) return drive.status();  // ~TestMount cleans up
  m->drive_ = std::move(drive).value();
  return m;
}

absl::Status TestMount::Unmount() {
  if (drive_ == nullptr) return absl::OkStatus();
  return drive_->Unmount(fuse::UnmountMode::kNormal);
}

TestMount::~TestMount() {
  if (drive_ != nullptr && drive_->mounted()) {
    absl::Status s = drive_->Unmount(fuse::UnmountMode::kNormal);
    if (!s.ok()) {
      GNR_LOG(kWarning) << "e2e: clean unmount of " << path_ << " failed (" << s << "); forcing it";
      s = drive_->Unmount(fuse::UnmountMode::kForce);
      if (!s.ok()) ForceUnmount(path_);
    }
  }
  drive_.reset();
  guard_.reset();  // the watchdog's final force-unmount is a no-op now
  if (!path_.empty()) rmdir(path_.c_str());
}

}  // namespace gnr::e2e
