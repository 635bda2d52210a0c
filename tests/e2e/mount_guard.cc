#include "tests/e2e/mount_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace gnr::e2e {
namespace {

constexpr const char* kFusermount = "/usr/bin/fusermount3";

// Async-signal-safe: only syscalls.
void WriteAll(int fd, const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// Async-signal-safe force unmount, used by the forked child. Returns true on success.
bool ChildForceUnmount(const char* mountpoint) {
  if (geteuid() == 0) {
    return umount2(mountpoint, MNT_FORCE | MNT_DETACH) == 0;
  }
  pid_t pid = fork();
  if (pid == 0) {
    const char* argv[] = {"fusermount3", "-uz", mountpoint, nullptr};
    execve(kFusermount, const_cast<char* const*>(argv), environ);
    _exit(127);
  }
  if (pid < 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

[[noreturn]] void ChildMain(int read_fd, const char* mountpoint, int timeout_ms,
                            const std::string& timeout_message) {
  // Keep stderr for the message; drop every other inherited descriptor (in particular
  // /dev/fuse and the write ends of other guards' pipes) so EOF and the connection's life
  // depend on the test process only.
  if (read_fd != 3) {
    dup2(read_fd, 3);
  }
  syscall(SYS_close_range, 4u, ~0u, 0u);
  struct pollfd pfd = {3, POLLIN, 0};
  int r;
  do {
    r = poll(&pfd, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {
    WriteAll(2, timeout_message.data(), timeout_message.size());
  }
  ChildForceUnmount(mountpoint);
  _exit(0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MountGuard>> MountGuard::Start(const std::string& mountpoint,
                                                              absl::Duration timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("mount guard: pipe2: ", std::strerror(errno)));
  }
  // Everything the child needs is prepared before fork(): it may not allocate.
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  const std::string message = absl::StrCat(
      "\n*** e2e mount guard: test still running after ", absl::FormatDuration(timeout),
      "; aborting the FUSE connection and unmounting ", mountpoint, " ***\n");
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("mount guard: fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    ChildMain(fds[0], mountpoint.c_str(), timeout_ms, message);
  }
  close(fds[0]);
  return std::unique_ptr<MountGuard>(new MountGuard(pid, fds[1]));
}

MountGuard::~MountGuard() {
  close(write_fd_);
  int status = 0;
  while (waitpid(child_, &status, 0) < 0 && errno == EINTR) {
  }
}

bool ForceUnmount(const std::string& mountpoint) {
  if (geteuid() == 0) {
    return umount2(mountpoint.c_str(), MNT_FORCE | MNT_DETACH) == 0;
  }
  pid_t pid;
  const char* argv[] = {"fusermount3", "-uz", mountpoint.c_str(), nullptr};
  if (posix_spawn(&pid, kFusermount, nullptr, nullptr, const_cast<char* const*>(argv), environ) !=
      0) {
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace gnr::e2e
