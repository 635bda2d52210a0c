#pragma once
// Reading /proc/<pid>/<file> without allocating, for test helpers that run in a forked child
// or must stay async-signal-safe (only open/read/close and hand-written formatting).

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

namespace gnr::testing {

// Reads up to `size` - 1 bytes of /proc/<pid>/<file> into `buf` and NUL-terminates them.
// Returns the number of bytes read, or -errno when the file cannot be opened or read
// (-ENOENT: no such process).
inline ssize_t ReadProcFile(pid_t pid, const char* file, char* buf, size_t size) {
  char path[64] = "/proc/";
  char digits[16];
  int d = 0;
  for (unsigned v = static_cast<unsigned>(pid); v > 0 && d < 15; v /= 10) {
    digits[d++] = static_cast<char>('0' + v % 10);
  }
  size_t at = 6;
  while (d > 0) path[at++] = digits[--d];
  path[at++] = '/';
  for (const char* t = file; *t != '\0' && at + 1 < sizeof(path); ++t) path[at++] = *t;
  path[at] = '\0';
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const ssize_t n = size > 0 ? read(fd, buf, size - 1) : 0;
  const int read_errno = errno;
  close(fd);
  if (n < 0) return -read_errno;
  if (size > 0) buf[n] = '\0';
  return n;
}

}  // namespace gnr::testing
