#include "tools/devnet_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/strings.h"

namespace gnr::tools {
namespace {

std::optional<std::string> ReadProcFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fields after the command name: "S 1 1234 ..." (field 3 first).
std::optional<std::vector<std::string_view>> StatFieldsAfterComm(std::string_view line) {
  size_t close = line.rfind(')');
  if (close == std::string_view::npos || close + 2 > line.size()) return std::nullopt;
  std::vector<std::string_view> fields;
  for (absl::string_view f :
       absl::StrSplit(AbslView(line.substr(close + 2)), ' ', absl::SkipEmpty())) {
    fields.push_back(StdView(f));
  }
  return fields;
}

bool IsZombieOrGone(int pid) {
  std::optional<std::string> stat = ReadProcFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return true;
  std::optional<char> state = ParseStatState(*stat);
  return !state || *state == 'Z' || *state == 'X';
}

// True when `pid` no longer runs (reaping it if it is our child).
bool Gone(int pid) {
  waitpid(pid, nullptr, WNOHANG);  // harmless when it is not our child
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  return IsZombieOrGone(pid);
}

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::vector<std::string> SplitCmdline(std::string_view raw) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < raw.size()) {
    size_t nul = raw.find('\0', start);
    if (nul == std::string_view::npos) nul = raw.size();
    out.emplace_back(raw.substr(start, nul - start));
    start = nul + 1;
  }
  return out;
}

std::optional<uint64_t> ParseStatStartTicks(std::string_view stat_line) {
  std::optional<std::vector<std::string_view>> fields = StatFieldsAfterComm(stat_line);
  // Field 3 is fields[0], so field 22 is fields[19].
  if (!fields || fields->size() < 20) return std::nullopt;
  uint64_t ticks = 0;
  if (!absl::SimpleAtoi(AbslView((*fields)[19]), &ticks)) return std::nullopt;
  return ticks;
}

std::optional<char> ParseStatState(std::string_view stat_line) {
  std::optional<std::vector<std::string_view>> fields = StatFieldsAfterComm(stat_line);
  if (!fields || fields->empty() || (*fields)[0].size() != 1) return std::nullopt;
  return (*fields)[0][0];
}

bool CmdlineMatches(const std::vector<std::string>& argv, const ProcessIdentity& identity) {
  if (argv.empty() || Basename(argv[0]) != identity.program) return false;
  size_t next = 1;
  for (const std::string& want : identity.required_args) {
    while (next < argv.size() && argv[next] != want) ++next;
    if (next == argv.size()) return false;
    ++next;
  }
  return true;
}

namespace {

// /proc/mounts escapes blanks, tabs, newlines and backslashes in paths as \ooo (octal).
std::string UnescapeMountField(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = field[i + k];
        if (c < '0' || c > '7') octal = false;
        v = v * 8 + (c - '0');
      }
      if (octal && v < 256) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

std::optional<std::string> MountTypeAt(std::string_view proc_mounts, std::string_view mountpoint) {
  std::optional<std::string> type;
  for (absl::string_view line : absl::StrSplit(AbslView(proc_mounts), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() >= 3 && UnescapeMountField(StdView(fields[1])) == mountpoint) {
      type = std::string(fields[2]);  // the last one wins: it hides the ones below
    }
  }
  return type;
}

std::optional<std::string> CurrentMountType(const std::string& mountpoint) {
  std::optional<std::string> mounts = ReadProcFile("/proc/mounts");
  if (!mounts) return std::nullopt;
  return MountTypeAt(*mounts, mountpoint);
}

bool IsMounted(const std::string& mountpoint) { return CurrentMountType(mountpoint).has_value(); }

std::optional<std::vector<std::string>> ReadCmdline(int pid) {
  if (pid <= 0) return std::nullopt;
  std::optional<std::string> raw = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (!raw || raw->empty()) return std::nullopt;
  return SplitCmdline(*raw);
}

std::optional<uint64_t> ProcessStartTicks(int pid) {
  if (pid <= 0) return std::nullopt;
  std::optional<std::string> stat = ReadProcFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return std::nullopt;
  return ParseStatStartTicks(*stat);
}

ProcessCheck CheckProcess(int pid, uint64_t start_ticks, const ProcessIdentity& identity) {
  if (pid <= 0 || Gone(pid)) return ProcessCheck::kNotRunning;
  std::optional<std::vector<std::string>> argv = ReadCmdline(pid);
  if (!argv) return ProcessCheck::kNotRunning;
  if (!CmdlineMatches(*argv, identity)) return ProcessCheck::kOtherProgram;
  if (start_ticks != 0) {
    std::optional<uint64_t> ticks = ProcessStartTicks(pid);
    if (!ticks) return ProcessCheck::kNotRunning;
    if (*ticks != start_ticks) return ProcessCheck::kOtherProgram;
  }
  return ProcessCheck::kRunning;
}

absl::StatusOr<int> SpawnDetached(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("SpawnDetached: empty argv");
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = open(options.log_path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open log ", options.log_path, ": ", std::strerror(errno)));
  }
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The child reports a failed exec through this pipe; a successful exec closes it.
  int report[2];
  if (null_fd < 0 || pipe2(report, O_CLOEXEC) != 0) {
    int e = errno;
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return absl::InternalError(absl::StrCat("cannot prepare a child process: ", std::strerror(e)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(log_fd);
    close(null_fd);
    close(report[0]);
    close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(e)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setsid();
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (chdir(options.working_dir.c_str()) != 0) {
      // Keep the inherited directory.
    }
    // Signals blocked or ignored by our caller must not leak into the daemon.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    // Close every other inherited descriptor, but keep the report pipe (it is CLOEXEC).
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != report[1]) close(fd);
    }
    execv(argv[0], argv.data());
    int e = errno;
    ssize_t ignored = write(report[1], &e, sizeof(e));
    (void)ignored;
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    waitpid(pid, nullptr, 0);
    std::string what =
        absl::StrCat("cannot run ", options.argv[0], ": ", std::strerror(child_errno));
    if (child_errno == ENOENT) return absl::NotFoundError(what);
    if (child_errno == EACCES) return absl::PermissionDeniedError(what);
    return absl::InternalError(what);
  }
  return static_cast<int>(pid);
}

std::vector<StopOutcome> StopProcesses(const std::vector<StopTarget>& targets, absl::Duration grace,
                                       absl::Duration kill_wait) {
  std::vector<StopOutcome> out;
  std::vector<size_t> signalled;
  for (const StopTarget& t : targets) {
    StopOutcome o{t.name, t.pid, StopOutcome::kNotRunning};
    switch (CheckProcess(t.pid, t.start_ticks, t.identity)) {
      case ProcessCheck::kNotRunning:
        break;
      case ProcessCheck::kOtherProgram:
        o.result = StopOutcome::kOtherProgram;
        break;
      case ProcessCheck::kRunning:
        if (::kill(t.pid, SIGTERM) == 0) {
          o.result = StopOutcome::kStopped;
          signalled.push_back(out.size());
        }
        break;
    }
    out.push_back(o);
  }
  auto all_gone = [&]() {
    bool gone = true;
    for (size_t i : signalled) {
      if (!Gone(out[i].pid)) gone = false;
    }
    return gone;
  };
  absl::Time deadline = absl::Now() + grace;
  while (!all_gone() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  bool killed_any = false;
  for (size_t i : signalled) {
    if (!Gone(out[i].pid)) {
      // Still the same process: it got SIGTERM from us a moment ago and has not exited.
      ::kill(out[i].pid, SIGKILL);
      out[i].result = StopOutcome::kKilled;
      killed_any = true;
    }
  }
  if (killed_any) {
    deadline = absl::Now() + kill_wait;
    while (!all_gone() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
    for (size_t i : signalled) {
      if (!Gone(out[i].pid)) out[i].result = StopOutcome::kStillRunning;
    }
  }
  return out;
}

absl::StatusOr<int> PickFreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("cannot pick a free port: ", std::strerror(e)));
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

bool LoopbackPortInUse(int port) {
  if (port <= 0 || port > 65535) return false;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool in_use = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return in_use;
}

}  // namespace gnr::tools
