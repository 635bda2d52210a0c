#pragma once
// A small process supervisor for `gnr devnet`: starts daemons detached from the terminal
// (their own session, stdout and stderr appended to a log file), tells whether a recorded
// PID still is the program we started, and stops processes by PID (SIGTERM, then SIGKILL
// after a grace period) — never by name.
//
// Identity: a PID is only trusted when /proc/PID/cmdline has the expected program name and
// arguments and, when recorded, /proc/PID/stat has the same start time. A recycled PID that
// now belongs to someone else is reported as kOtherProgram and never signalled.
//
// The pure helpers (SplitCmdline, ParseStatStartTicks, ParseStatState, CmdlineMatches) are
// thread-safe; the others touch processes and /proc and are meant for one controlling
// thread. Linux only.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gnr::tools {

// What a recorded process must look like: basename(argv[0]) == program, and every one of
// required_args appears among argv[1..] in the same order (not necessarily adjacent).
struct ProcessIdentity {
  std::string program;                     // "anvil", "gnr"
  std::vector<std::string> required_args;  // e.g. {"farmer", "run", "--data", DIR}
};

// ---- Pure helpers ----------------------------------------------------------------------------

// /proc/PID/cmdline's NUL-separated arguments (a trailing NUL is not an empty argument).
std::vector<std::string> SplitCmdline(std::string_view raw);
// Field 22 (starttime, clock ticks after boot) of a /proc/PID/stat line; nullopt when the
// line is malformed. The command name (field 2) may hold spaces and parentheses.
std::optional<uint64_t> ParseStatStartTicks(std::string_view stat_line);
// Field 3 (state: 'R', 'S', 'Z', ...) of a /proc/PID/stat line.
std::optional<char> ParseStatState(std::string_view stat_line);
bool CmdlineMatches(const std::vector<std::string>& argv, const ProcessIdentity& identity);
// The file system type ("fuse.gnrfs", "ext4", ...) of the last mount at the absolute path
// `mountpoint` in the text of /proc/mounts, or nullopt when nothing is mounted there. Blanks
// in paths are escaped there as \040 and the like.
std::optional<std::string> MountTypeAt(std::string_view proc_mounts, std::string_view mountpoint);

// ---- Processes -------------------------------------------------------------------------------

// The arguments of a live process; nullopt when it does not exist (or is a zombie, whose
// cmdline is empty).
std::optional<std::vector<std::string>> ReadCmdline(int pid);
std::optional<uint64_t> ProcessStartTicks(int pid);

enum class ProcessCheck {
  kNotRunning,    // no such process, a zombie, or pid 0
  kRunning,       // alive and it is the expected program
  kOtherProgram,  // alive but its command line or start time differ: the PID was reused
};
// `start_ticks` 0 skips the start-time comparison. Reaps `pid` if it is our zombie child.
ProcessCheck CheckProcess(int pid, uint64_t start_ticks, const ProcessIdentity& identity);

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the path to execute
  std::string log_path;           // stdout and stderr, appended; created 0600
  std::string working_dir = "/";
};
// Starts argv[0] in a new session (setsid: no controlling terminal, not hit by the
// terminal's SIGINT/SIGHUP), stdin from /dev/null. Returns its PID once exec succeeded;
// NotFound / PermissionDenied / Internal with the reason when it did not (nothing is left
// running then). The child is not waited for; CheckProcess reaps it if it dies while we run.
absl::StatusOr<int> SpawnDetached(const SpawnOptions& options);

struct StopTarget {
  std::string name;  // for messages: "farmer-2"
  int pid = 0;
  uint64_t start_ticks = 0;
  ProcessIdentity identity;
};
struct StopOutcome {
  enum Result { kNotRunning, kStopped, kKilled, kOtherProgram, kStillRunning };
  std::string name;
  int pid = 0;
  Result result = kNotRunning;
};
// Sends SIGTERM to every target that still is its program, waits up to `grace` for all of
// them, then SIGKILLs the rest and waits up to `kill_wait` more. Targets whose PID now
// belongs to another program are left alone (kOtherProgram). One outcome per target, in
// order.
std::vector<StopOutcome> StopProcesses(const std::vector<StopTarget>& targets, absl::Duration grace,
                                       absl::Duration kill_wait = absl::Seconds(5));

// MountTypeAt for the current /proc/mounts.
std::optional<std::string> CurrentMountType(const std::string& mountpoint);
// Whether anything is mounted at `mountpoint` now.
bool IsMounted(const std::string& mountpoint);
// The type of a gnrfs drive in the mount table (fsname and subtype gnrfs).
inline constexpr char kGnrfsMountType[] = "fuse.gnrfs";

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
absl::StatusOr<int> PickFreeLoopbackPort();
// Whether something accepts connections on 127.0.0.1:port.
bool LoopbackPortInUse(int port);

}  // namespace gnr::tools
