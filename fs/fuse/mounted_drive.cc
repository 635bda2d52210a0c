#include "fs/fuse/mounted_drive.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"
#include "fs/fuse/errno_map.h"
#include "fs/fuse/operations.h"

extern char** environ;

namespace gnr::fuse {
namespace {

constexpr char kFsType[] = "fuse.gnrfs";
constexpr char kFusermount[] = "fusermount3";

// Routes libfuse's messages into our log (global in libfuse: installed once per process).
void LibfuseLog(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string_view line(buf);
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (level <= FUSE_LOG_ERR) {
    GNR_LOG(kError) << "libfuse: " << line;
  } else if (level <= FUSE_LOG_NOTICE) {
    GNR_LOG(kWarning) << "libfuse: " << line;
  } else if (level == FUSE_LOG_INFO) {
    GNR_LOG(kInfo) << "libfuse: " << line;
  } else {
    GNR_LOG(kDebug) << "libfuse: " << line;
  }
}

void InstallLibfuseLog() {
  static std::once_flag once;
  std::call_once(once, [] { fuse_set_log_func(LibfuseLog); });
}

// `path` made absolute and normalized lexically (no stat: the path may be a dead mount).
std::string AbsolutePath(const std::string& path) {
  std::string full = path;
  if (full.empty() || full[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) full = absl::StrCat(cwd, "/", path);
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(full, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountinfo(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct MountEntry {
  std::string fstype;
  unsigned major = 0;
  unsigned minor = 0;
};

// The last (topmost) mount at exactly `abs_path`, from /proc/self/mountinfo.
std::optional<MountEntry> FindMount(const std::string& abs_path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<MountEntry> found;
  while (std::getline(in, line)) {
    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw"
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() < 7) continue;
    if (UnescapeMountinfo(f[4]) != abs_path) continue;
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size()) continue;
    MountEntry e;
    e.fstype = std::string(f[dash + 1]);
    std::vector<absl::string_view> dev = absl::StrSplit(f[2], ':');
    if (dev.size() == 2) {
      e.major = static_cast<unsigned>(std::strtoul(std::string(dev[0]).c_str(), nullptr, 10));
      e.minor = static_cast<unsigned>(std::strtoul(std::string(dev[1]).c_str(), nullptr, 10));
    }
    found = e;
  }
  return found;
}

// Runs fusermount3 with `args`; returns its exit status (or -1) and what it printed.
int RunFusermount(const std::vector<std::string>& args, std::string* output) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  std::vector<char*> argv;
  std::string name = kFusermount;
  argv.push_back(name.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, kFusermount, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    *output = absl::StrCat("cannot run ", kFusermount, ": ", std::strerror(rc));
    return -1;
  }
  char buf[512];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof(buf))) > 0) output->append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output->empty() && output->back() == '\n') output->pop_back();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Aborts the FUSE connection of the mount with device major:minor through fusectl, if that
// is mounted and writable by us. Returns true when written.
bool AbortConnection(unsigned major, unsigned minor) {
  // The directory is named after the kernel's dev_t encoding (MKDEV: major << 20 | minor).
  std::string path = absl::StrCat("/sys/fs/fuse/connections/", (major << 20) | minor, "/abort");
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, "1", 1) == 1;
  close(fd);
  return ok;
}

// libfuse reads requests from /dev/fuse through these (fuse_session_custom_io), so that the
// end of the connection is always a clean end of the session. The kernel tears a connection
// down when the mount goes (unmount, the last close on a lazily detached mount, umount -f)
// even with requests still queued, e.g. the RELEASEs of files closed just before; a session
// thread that has just taken such a request off the queue then reads ECONNABORTED instead of
// ENODEV (fuse_dev_do_read: the processing queue is already disconnected). libfuse 3.14
// takes only ENODEV for the end of the session: ECONNABORTED would end the loop with an error,
// after a perror() in a thread it may cancel right then, leaving stderr's lock held forever
// (every later log line hangs). libfuse never negotiates FUSE_ABORT_ERROR, so ECONNABORTED
// means nothing else here: report it as ENODEV.
ssize_t ReadDevice(int fd, void* buf, size_t size, void* /*userdata*/) {
  const ssize_t n = read(fd, buf, size);
  if (n < 0 && errno == ECONNABORTED) errno = ENODEV;
  return n;
}

ssize_t WriteDevice(int fd, struct iovec* iov, int count, void* /*userdata*/) {
  return writev(fd, iov, count);
}

absl::Status BusyError(const std::string& mountpoint) {
  return catalog::PosixError(
      EBUSY, absl::StrCat(mountpoint,
                          " is busy: files or directories on it are in use (close them, or "
                          "unmount with --force)"));
}

// Unmounts `mountpoint` (absolute) in `mode`. OK when it is not mounted any more.
absl::Status UnmountAbsolute(const std::string& mountpoint, UnmountMode mode) {
  std::optional<MountEntry> entry = FindMount(mountpoint);
  if (geteuid() == 0) {
    int flags = mode == UnmountMode::kNormal ? 0
                : mode == UnmountMode::kLazy ? MNT_DETACH
                                             : MNT_FORCE | MNT_DETACH;
    if (umount2(mountpoint.c_str(), flags) == 0) return absl::OkStatus();
    int err = errno;
    if (err == EBUSY) return BusyError(mountpoint);
    if (err == EINVAL && !FindMount(mountpoint).has_value()) return absl::OkStatus();
    return catalog::PosixError(err,
                               absl::StrCat("umount2(", mountpoint, "): ", std::strerror(err)));
  }
  // Unprivileged: fusermount3 (setuid) checks that we own the mount.
  if (mode == UnmountMode::kForce && entry.has_value()) {
    if (!AbortConnection(entry->major, entry->minor)) {
      GNR_LOG(kWarning) << "cannot abort the FUSE connection of " << mountpoint
                        << " (fusectl not mounted at /sys/fs/fuse/connections?); detaching only";
    }
  }
  std::string output;
  int rc = RunFusermount({mode == UnmountMode::kNormal ? "-u" : "-uz", mountpoint}, &output);
  if (rc == 0) return absl::OkStatus();
  if (output.find("busy") != std::string::npos) return BusyError(mountpoint);
  if (!FindMount(mountpoint).has_value()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("fusermount3 -u ", mountpoint, " failed (exit ", rc, "): ", output));
}

}  // namespace

struct MountedDrive::Impl {
  Adapter adapter;
  fuse_session* session = nullptr;
  int exit_event = -1;  // eventfd, readable once the session loop has returned

  ~Impl() {
    if (session != nullptr) {
      // After the loop: closes /dev/fuse; unmounts (lazily) only if still mounted.
      fuse_session_unmount(session);
      fuse_session_destroy(session);
    }
    if (exit_event >= 0) close(exit_event);
  }
};

absl::StatusOr<std::unique_ptr<MountedDrive>> MountedDrive::Mount(volume::Volume& volume,
                                                                  const MountOptions& options) {
  const std::string mountpoint = AbsolutePath(options.mountpoint);
  struct stat st;
  if (stat(mountpoint.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOTCONN) {
      return absl::FailedPreconditionError(absl::StrCat(
          mountpoint, " is a dead FUSE mount (its daemon exited): run `gnr umount --force ",
          mountpoint, "` first"));
    }
    return absl::FailedPreconditionError(absl::StrCat("mount point ", mountpoint, ": ",
                                                      std::strerror(err),
                                                      err == ENOENT ? " (create it first)" : ""));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("mount point ", mountpoint, " is not a directory"));
  }
  if (std::optional<MountEntry> m = FindMount(mountpoint); m && m->fstype == kFsType) {
    return absl::FailedPreconditionError(absl::StrCat(
        mountpoint, " is already a gnrfs mount (`gnr umount ", mountpoint, "` to unmount it)"));
  }
  int probe = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (probe < 0) {
    int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open the FUSE device /dev/fuse: ", std::strerror(err),
        ". Load the module (`modprobe fuse`); in a container, pass `--device /dev/fuse "
        "--cap-add SYS_ADMIN`; as a normal user, check that /dev/fuse is rw for you."));
  }
  close(probe);

  InstallLibfuseLog();
  auto impl = std::make_unique<Impl>();
  impl->adapter.volume = &volume;
  impl->adapter.options = options;
  impl->adapter.options.mountpoint = mountpoint;
  impl->exit_event = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->exit_event < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }

  // fsname/subtype: shows as "gnrfs on <dir> type fuse.gnrfs" in mount(8).
  // default_permissions: the kernel enforces the mode bits and owners we report.
  std::string mount_opts = "fsname=gnrfs,subtype=gnrfs,default_permissions";
  if (options.allow_other) mount_opts += ",allow_other";
  std::vector<std::string> arg_strings = {"gnr", "-o", mount_opts};
  if (options.debug) arg_strings.push_back("-d");
  std::vector<char*> argv;
  for (std::string& a : arg_strings) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops& ops = LowLevelOps();
  impl->session = fuse_session_new(&args, &ops, sizeof(ops), &impl->adapter);
  fuse_opt_free_args(&args);
  impl->adapter.session = impl->session;
  if (impl->session == nullptr) {
    return absl::InternalError("libfuse refused the session options (see the log above)");
  }
  if (fuse_session_mount(impl->session, mountpoint.c_str()) != 0) {
    fuse_session_destroy(impl->session);
    impl->session = nullptr;
    return absl::InternalError(
        absl::StrCat("cannot mount ", mountpoint, " (libfuse's reason is in the log above)"));
  }
  // Our reads and writes on the device libfuse just opened and mounted (no splice: Init turns
  // it off, and without splice_* functions libfuse does not offer it).
  fuse_custom_io io;
  std::memset(&io, 0, sizeof(io));
  io.read = ReadDevice;
  io.writev = WriteDevice;
  if (int rc = fuse_session_custom_io(impl->session, &io, fuse_session_fd(impl->session));
      rc != 0) {
    fuse_session_unmount(impl->session);
    fuse_session_destroy(impl->session);
    impl->session = nullptr;
    return absl::InternalError(
        absl::StrCat("libfuse refused our device I/O functions: ", std::strerror(-rc)));
  }

  std::unique_ptr<MountedDrive> drive(new MountedDrive(std::move(impl), mountpoint));
  // The loop thread and the workers it spawns inherit this mask: termination signals go to
  // the daemon's main thread (ServeUntilSignal), never to a FUSE worker.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  drive->loop_thread_ = std::thread([d = drive.get()] { d->LoopMain(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return drive;
}

MountedDrive::MountedDrive(std::unique_ptr<Impl> impl, std::string mountpoint)
    : impl_(std::move(impl)), mountpoint_(std::move(mountpoint)) {}

void MountedDrive::LoopMain() {
  fuse_loop_config config;
  std::memset(&config, 0, sizeof(config));
  config.clone_fd = 0;
  config.max_idle_threads =
      static_cast<unsigned>(std::max(1, impl_->adapter.options.max_idle_threads));
  int result = fuse_session_loop_mt(impl_->session, &config);
  {
    absl::MutexLock lock(&mu_);
    loop_result_ = result;
  }
  if (result < 0) {
    GNR_LOG(kError) << "fuse: session loop for " << mountpoint_
                    << " ended with an error: " << std::strerror(-result);
  }
  uint64_t one = 1;
  (void)!write(impl_->exit_event, &one, sizeof(one));
  loop_done_.Notify();
}

MountedDrive::~MountedDrive() {
  if (!loop_done_.HasBeenNotified()) {
    GNR_LOG(kWarning) << "fuse: MountedDrive for " << mountpoint_
                      << " destroyed while mounted: forcing the unmount";
    absl::Status s = UnmountAbsolute(mountpoint_, UnmountMode::kForce);
    if (!s.ok()) {
      GNR_LOG(kError) << "fuse: forced unmount failed: " << s;
    }
  }
  (void)Wait();
}

absl::Status MountedDrive::Unmount(UnmountMode mode) {
  if (!loop_done_.HasBeenNotified()) {
    GNR_RETURN_IF_ERROR(UnmountAbsolute(mountpoint_, mode));
  }
  return Wait();
}

absl::Status MountedDrive::Wait() {
  loop_done_.WaitForNotification();
  absl::MutexLock lock(&mu_);
  if (!joined_) {
    loop_thread_.join();
    joined_ = true;
  }
  if (loop_result_ < 0) {
    return absl::InternalError(absl::StrCat("FUSE session loop for ", mountpoint_,
                                            " failed: ", std::strerror(-loop_result_)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> MountedDrive::ServeUntilSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sfd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
  int last_signal = 0;
  int signals = 0;
  while (!loop_done_.HasBeenNotified()) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {impl_->exit_event, POLLIN, 0}};
    int r = poll(fds, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    if ((fds[0].revents & POLLIN) == 0) continue;
    signalfd_siginfo info;
    if (read(sfd, &info, sizeof(info)) != sizeof(info)) continue;
    last_signal = static_cast<int>(info.ssi_signo);
    ++signals;
    if (signals == 1) {
      GNR_LOG(kInfo) << "received " << sigabbrev_np(last_signal) << ": unmounting " << mountpoint_;
      absl::Status s = UnmountAbsolute(mountpoint_, UnmountMode::kNormal);
      if (catalog::IsPosixError(s, EBUSY)) {
        GNR_LOG(kWarning) << mountpoint_
                          << " is busy: detaching it; open files keep working until closed "
                             "(send the signal again to force)";
        s = UnmountAbsolute(mountpoint_, UnmountMode::kLazy);
      }
      if (!s.ok()) {
        GNR_LOG(kError) << "unmount failed: " << s;
      }
    } else {
      GNR_LOG(kWarning) << "received " << sigabbrev_np(last_signal)
                        << " again: forcing the unmount of " << mountpoint_;
      absl::Status s = UnmountAbsolute(mountpoint_, UnmountMode::kForce);
      if (!s.ok()) {
        GNR_LOG(kError) << "forced unmount failed: " << s;
      }
    }
  }
  close(sfd);
  GNR_RETURN_IF_ERROR(Wait());
  return last_signal;
}

bool MountedDrive::mounted() const { return !loop_done_.HasBeenNotified(); }

DriveStats MountedDrive::stats() const {
  DriveStats s;
  s.requests = impl_->adapter.requests.load(std::memory_order_relaxed);
  s.errors = impl_->adapter.errors.load(std::memory_order_relaxed);
  s.kernel_inodes = impl_->adapter.lookups.live_inodes();
  s.forget_mismatches = impl_->adapter.lookups.mismatches();
  return s;
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool IsGnrfsMount(const std::string& path) {
  std::optional<MountEntry> m = FindMount(AbsolutePath(path));
  return m.has_value() && m->fstype == kFsType;
}

absl::Status UnmountPath(const std::string& mountpoint, UnmountMode mode) {
  std::string abs = AbsolutePath(mountpoint);
  std::optional<MountEntry> m = FindMount(abs);
  if (!m.has_value()) return absl::NotFoundError(absl::StrCat(abs, " is not mounted"));
  if (m->fstype != kFsType) {
    return absl::FailedPreconditionError(
        absl::StrCat(abs, " is a ", m->fstype, " mount, not gnrfs: not touching it"));
  }
  return UnmountAbsolute(abs, mode);
}

}  // namespace gnr::fuse
