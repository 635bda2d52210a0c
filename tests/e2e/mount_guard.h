#pragma once
// A watchdog process that guarantees a FUSE mount made by a test goes away, whatever happens
// to the test.
//
//   ASSERT_OK_AND_ASSIGN(auto guard, MountGuard::Start(mountpoint, absl::Seconds(60)));
//   ... mount, run the test, unmount cleanly ...
//   guard.reset();  // or let it go out of scope
//
// Start() forks a child that holds the read end of a pipe. The child force-unmounts
// `mountpoint` (umount2(MNT_FORCE | MNT_DETACH): MNT_FORCE aborts the FUSE connection, so
// syscalls stuck in the mount return ENOTCONN instead of hanging; MNT_DETACH removes it
// from the tree) when any of these happens:
//   - the guard is destroyed (normal end of the test; usually the mount is already gone and
//     the umount2 is a harmless EINVAL),
//   - the test process dies (crash, abort, CTest's timeout kill): the pipe reads EOF,
//   - the test process is being killed (SIGKILL pending, checked every 200 ms) but cannot
//     exit because its test thread waits in a syscall on its own in-process mount, whose
//     FUSE threads are already gone (no EOF would ever come),
//   - `timeout` passes: the test is stuck; the child prints which mount it aborted.
// When not root, the child runs `fusermount3 -uz` instead (no connection abort). When the test
// process is dead or being killed, the child also removes the (empty) mount directory.
//
// The child only makes async-signal-safe calls, so forking from a multi-threaded test (the
// FUSE loop threads are running) is safe. Not thread-safe itself; one owner.

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gnr::e2e {

class MountGuard {
 public:
  static absl::StatusOr<std::unique_ptr<MountGuard>> Start(const std::string& mountpoint,
                                                           absl::Duration timeout);
  // Tells the child to clean up now and waits for it.
  ~MountGuard();
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;

 private:
  MountGuard(pid_t child, int write_fd) : child_(child), write_fd_(write_fd) {}

  pid_t child_;
  int write_fd_;
};

// Unmounts `mountpoint` now, forcefully (abort + detach as root, else fusermount3 -uz).
// Returns true when something was unmounted. For cleanup paths; never fails loudly.
bool ForceUnmount(const std::string& mountpoint);

}  // namespace gnr::e2e
