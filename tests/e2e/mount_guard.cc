#include "tests/e2e/mount_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/proc_file.h"

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

// True once `parent` is being killed: a SIGKILL is pending for it (/proc/<pid>/status
// "ShdPnd" or "SigPnd" has bit SIGKILL - 1 set), or it is gone (this child was reparented).
// Async-signal-safe: only syscalls and hand-written parsing.
bool ParentKilled(pid_t parent) {
  if (getppid() != parent) return true;
  char buf[4096];
  const ssize_t n = gnr::testing::ReadProcFile(parent, "status", buf, sizeof(buf));
  if (n == -ENOENT) return true;
  if (n <= 0) return false;
  for (ssize_t i = 0; i + 8 < n; ++i) {
    if (buf[i] != '\n') continue;
    const char* line = buf + i + 1;
    if (std::strncmp(line, "ShdPnd:", 7) != 0 && std::strncmp(line, "SigPnd:", 7) != 0) continue;
    uint64_t mask = 0;
    for (const char* c = line + 7; *c != '\n' && *c != '\0'; ++c) {
      if (*c >= '0' && *c <= '9') {
        mask = mask << 4 | static_cast<uint64_t>(*c - '0');
      } else if (*c >= 'a' && *c <= 'f') {
        mask = mask << 4 | static_cast<uint64_t>(*c - 'a' + 10);
      }
    }
    if (mask & (uint64_t{1} << (SIGKILL - 1))) return true;
  }
  return false;
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
  // EOF alone is not enough: a test process killed (CTest's timeout) while its test thread
  // waits in a syscall on its own mount never exits, since the FUSE threads that would
  // answer are dead and the request waits uninterruptibly; its descriptors (our pipe) stay
  // open. So also look every 200 ms whether the parent is being killed, and then abort the
  // connection at once.
  const pid_t parent = getppid();
  constexpr int kTickMs = 200;
  struct pollfd pfd = {3, POLLIN, 0};
  int waited_ms = 0;
  bool timed_out = false;
  for (;;) {
    const int slice = timeout_ms - waited_ms < kTickMs ? timeout_ms - waited_ms : kTickMs;
    const int r = poll(&pfd, 1, slice > 0 ? slice : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) break;  // EOF (the guard was destroyed or the process is gone), or an error
    waited_ms += slice;
    if (ParentKilled(parent)) break;
    if (waited_ms >= timeout_ms) {
      timed_out = true;
      break;
    }
  }
  if (timed_out) {
    WriteAll(2, timeout_message.data(), timeout_message.size());
  }
  ChildForceUnmount(mountpoint);
  // A dead test cannot remove its (now empty) mount directory: do it for it.
  if (ParentKilled(parent)) rmdir(mountpoint);
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
