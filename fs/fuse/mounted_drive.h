#pragma once
// MountedDrive: a Volume served through a real FUSE mount (libfuse 3 low-level API).
//
//   MountOptions options;
//   options.mountpoint = "/home/u/gnr";
//   GNR_ASSIGN_OR_RETURN(std::unique_ptr<MountedDrive> drive,
//                        MountedDrive::Mount(*volume, options));
//   ... programs use /home/u/gnr ...
//   GNR_RETURN_IF_ERROR(drive->Unmount());  // or: drive->Wait() until `gnr umount`
//
// The mount shows in mount(8) as "gnrfs on /home/u/gnr type fuse.gnrfs" and runs with
// `default_permissions` (the kernel checks permissions against the attributes we report;
// the Volume does not). Inode numbers seen by programs are the catalog's.
//
// Threads: Mount() starts one thread running libfuse's multi-threaded session loop, which
// spawns worker threads as requests arrive; every handler calls the Volume directly, so the
// Volume must be thread-safe (it is). SIGINT, SIGTERM and SIGHUP are blocked in those
// threads; a daemon handles them with ServeUntilSignal().
//
// Lifetime: the Volume must outlive the MountedDrive. Destroying a MountedDrive that is
// still mounted force-unmounts it (aborting requests in flight) and logs a warning: call
// Unmount() or Wait() first.
//
// Thread-safety: Unmount(), Wait(), mounted() and stats() may be called from any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "fs/volume/volume.h"

struct fuse_session;

namespace gnr::fuse {

struct MountOptions {
  // An existing directory (absolute or relative; it is made absolute). Anything in it is
  // hidden while the drive is mounted over it.
  std::string mountpoint;
  // Let other users than the mounting one access the mount (-o allow_other; a non-root user
  // needs `user_allow_other` in /etc/fuse.conf).
  bool allow_other = false;
  // How long the kernel may cache names (positive and negative lookups) and attributes.
  // Every change goes through this mount, so the caches stay coherent; these bound how long
  // a change made behind its back (none today) could stay invisible.
  absl::Duration entry_timeout = absl::Seconds(1);
  absl::Duration negative_timeout = absl::Seconds(1);
  absl::Duration attr_timeout = absl::Seconds(1);
  // libfuse's session loop keeps at most this many idle worker threads.
  int max_idle_threads = 4;
  // libfuse's own request tracing (-d), through our log at debug level.
  bool debug = false;
};

// Counters for `gnr status` and tests.
struct DriveStats {
  uint64_t requests = 0;           // handled since the mount
  uint64_t errors = 0;             // replied with an errno other than the routine ones
  uint64_t kernel_inodes = 0;      // inodes the kernel holds lookups on
  uint64_t forget_mismatches = 0;  // should stay 0
};

enum class UnmountMode {
  kNormal,  // fails with EBUSY (FailedPrecondition) while files are open on the mount
  kLazy,    // detaches the mount now; open files keep working until closed (MNT_DETACH)
  kForce,   // aborts the FUSE connection: requests in flight fail with ENOTCONN
};

class MountedDrive {
 public:
  // Mounts `volume` at options.mountpoint and starts serving. Errors: FailedPrecondition
  // when /dev/fuse cannot be opened (the message says what to do), when the mount point is
  // missing, not a directory, already a gnrfs mount, or a dead mount (ENOTCONN: run
  // `gnr umount --force`); Internal when libfuse refuses (its reason is in the log).
  static absl::StatusOr<std::unique_ptr<MountedDrive>> Mount(volume::Volume& volume,
                                                             const MountOptions& options);

  ~MountedDrive();
  MountedDrive(const MountedDrive&) = delete;
  MountedDrive& operator=(const MountedDrive&) = delete;

  // Unmounts and waits for the session loop to end (for kLazy: until the last open file on
  // the detached mount is closed). As root this is umount2(2); otherwise fusermount3 -u
  // (-uz for kLazy/kForce). OK if the drive was already unmounted. FailedPrecondition with
  // errno payload EBUSY when files are open and mode is kNormal.
  absl::Status Unmount(UnmountMode mode = UnmountMode::kNormal);

  // Blocks until the mount ends from outside (`gnr umount`, fusermount3 -u, umount(8)) or
  // through Unmount(); returns the session loop's outcome: OK however the kernel ended the
  // connection (unmount, lazy unmount's last close, umount -f, even with requests queued), an
  // error only when talking to /dev/fuse failed otherwise.
  absl::Status Wait();

  // For a foreground daemon: serves until the mount ends from outside or a SIGINT, SIGTERM
  // or SIGHUP arrives. The first signal unmounts (lazily when files are still open, so the
  // programs using them can finish), a second one forces (kForce). The caller must have
  // called BlockTerminationSignals() before creating any thread, so that no other thread
  // takes the signal. Returns the signal number that ended it (0 when unmounted from
  // outside), or the loop's error.
  absl::StatusOr<int> ServeUntilSignal();

  bool mounted() const;
  const std::string& mountpoint() const { return mountpoint_; }
  DriveStats stats() const;

 private:
  struct Impl;
  MountedDrive(std::unique_ptr<Impl> impl, std::string mountpoint);
  void LoopMain();

  std::unique_ptr<Impl> impl_;
  std::string mountpoint_;
  std::thread loop_thread_;
  absl::Notification loop_done_;
  mutable absl::Mutex mu_;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  int loop_result_ ABSL_GUARDED_BY(mu_) = 0;
};

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every thread it starts
// afterwards). Call first thing in a daemon's main(), before any thread exists.
void BlockTerminationSignals();

// Whether `path` is currently a mount point of type fuse.gnrfs (reads /proc/self/mountinfo).
bool IsGnrfsMount(const std::string& path);

// Unmounts a gnrfs mount made by another process (`gnr umount`): as root umount2(2),
// otherwise fusermount3 -u[z]. FailedPrecondition(EBUSY) when busy and mode is kNormal;
// NotFound when `mountpoint` is not a mount point.
absl::Status UnmountPath(const std::string& mountpoint, UnmountMode mode);

}  // namespace gnr::fuse
