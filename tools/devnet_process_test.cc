#include "tools/devnet_process.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::tools {
namespace {

TEST(SplitCmdline, SplitsOnNul) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitCmdline(std::string("gnr\0farmer\0run\0", 15)), (V{"gnr", "farmer", "run"}));
  EXPECT_EQ(SplitCmdline(std::string("a\0\0b\0", 5)), (V{"a", "", "b"}));
  EXPECT_EQ(SplitCmdline("solo"), (V{"solo"}));
  EXPECT_TRUE(SplitCmdline("").empty());
}

TEST(ParseStat, ReadsStateAndStartTimeEvenWithParenthesesInTheName) {
  // After "(comm) " come fields 3 (state), 4, ..., 22 (starttime), ...: as in a real
  // /proc/PID/stat line.
  std::string rest = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21";
  EXPECT_EQ(ParseStatStartTicks("1234 (gnr) " + rest), 987654u);
  EXPECT_EQ(ParseStatStartTicks("1234 (a b) (c)) " + rest), 987654u);
  EXPECT_EQ(ParseStatState("1234 (a b) (c)) " + rest), 'S');
  EXPECT_EQ(ParseStatState("1 (x) Z 0"), 'Z');
  EXPECT_FALSE(ParseStatStartTicks("1234 (gnr) S 1 2").has_value());
  EXPECT_FALSE(ParseStatStartTicks("garbage").has_value());
  EXPECT_FALSE(ParseStatState("").has_value());
  EXPECT_FALSE(ParseStatStartTicks("1 (x) " + std::string("S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                                                          "15 16 17 18 notanumber 20"))
                   .has_value());
}

TEST(CmdlineMatches, NeedsProgramAndArgumentsInOrder) {
  ProcessIdentity farmer{"gnr", {"farmer", "run", "--data", "/s/f0"}};
  EXPECT_TRUE(CmdlineMatches(
      {"/b/tools/gnr", "farmer", "run", "--data", "/s/f0", "--capacity", "4G"}, farmer));
  EXPECT_TRUE(
      CmdlineMatches({"gnr", "farmer", "run", "--capacity", "4G", "--data", "/s/f0"}, farmer));
  EXPECT_FALSE(CmdlineMatches({"/b/gnr", "farmer", "run", "--data", "/s/f1"}, farmer));
  EXPECT_FALSE(CmdlineMatches({"/b/gnr", "--data", "/s/f0", "farmer", "run"}, farmer));
  EXPECT_FALSE(CmdlineMatches({"/usr/bin/sleep", "farmer", "run", "--data", "/s/f0"}, farmer));
  EXPECT_FALSE(CmdlineMatches({}, farmer));
  EXPECT_TRUE(CmdlineMatches({"/x/anvil"}, {"anvil", {}}));
}

TEST(MountTypeAt, FindsTheMountPointWithEscapedBlanks) {
  std::string table =
      "proc /proc proc rw,nosuid 0 0\n"
      "gnrfs /tmp/a\\040b/mnt fuse.gnrfs rw,nosuid,nodev 0 0\n"
      "gnrfs /home/u/gnr fuse.gnrfs rw 0 0\n"
      "/dev/sda1 /home/u/gnr ext4 rw 0 0\n";
  EXPECT_EQ(MountTypeAt(table, "/tmp/a b/mnt"), "fuse.gnrfs");
  EXPECT_EQ(MountTypeAt(table, "/home/u/gnr"), "ext4");  // the top of the stack
  EXPECT_EQ(MountTypeAt(table, "/proc"), "proc");
  EXPECT_FALSE(MountTypeAt(table, "/tmp/a\\040b/mnt").has_value());
  EXPECT_FALSE(MountTypeAt(table, "/home/u").has_value());
  EXPECT_FALSE(MountTypeAt(table, "/home/u/gnr2").has_value());
  EXPECT_FALSE(MountTypeAt("", "/").has_value());
  EXPECT_FALSE(MountTypeAt("garbage\n", "/x").has_value());
  EXPECT_EQ(MountTypeAt("a /x\\9 y 0 0", "/x\\9"), "y");  // not an escape: kept as is
}

std::string TempLog() {
  char tmpl[] = "/tmp/gnr-devnet-process-test-XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  return tmpl;
}

TEST(SpawnDetached, StartsInANewSessionAndStopsBySigterm) {
  std::string log = TempLog();
  ASSERT_OK_AND_ASSIGN(
      int pid,
      SpawnDetached({.argv = {"/bin/sh", "-c", "echo hello; exec sleep 60"}, .log_path = log}));
  ProcessIdentity sleeper{"sleep", {"60"}};
  // The shell execs sleep; wait for that.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (CheckProcess(pid, 0, sleeper) != ProcessCheck::kRunning && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(CheckProcess(pid, 0, sleeper), ProcessCheck::kRunning);
  EXPECT_EQ(getsid(pid), pid);  // its own session
  std::optional<uint64_t> ticks = ProcessStartTicks(pid);
  ASSERT_TRUE(ticks.has_value());
  EXPECT_EQ(CheckProcess(pid, *ticks, sleeper), ProcessCheck::kRunning);
  EXPECT_EQ(CheckProcess(pid, *ticks + 1, sleeper), ProcessCheck::kOtherProgram);
  EXPECT_EQ(CheckProcess(pid, *ticks, {"anvil", {}}), ProcessCheck::kOtherProgram);

  // A target whose identity does not match is never signalled.
  std::vector<StopOutcome> other =
      StopProcesses({{"wrong", pid, *ticks, {"anvil", {}}}}, absl::Seconds(1));
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].result, StopOutcome::kOtherProgram);
  EXPECT_EQ(CheckProcess(pid, *ticks, sleeper), ProcessCheck::kRunning);

  std::vector<StopOutcome> out = StopProcesses(
      {{"sleeper", pid, *ticks, sleeper}, {"nobody", 0, 0, sleeper}}, absl::Seconds(10));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].result, StopOutcome::kStopped);
  EXPECT_EQ(out[1].result, StopOutcome::kNotRunning);
  EXPECT_EQ(CheckProcess(pid, 0, sleeper), ProcessCheck::kNotRunning);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "hello\n");
  unlink(log.c_str());
}

TEST(StopProcesses, KillsWhatIgnoresSigterm) {
  std::string log = TempLog();
  ASSERT_OK_AND_ASSIGN(int pid, SpawnDetached({.argv = {"/bin/sh", "-c",
                                                        "trap '' TERM; echo ready; while :; do "
                                                        "sleep 0.05; done"},
                                               .log_path = log}));
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    std::ifstream in(log);
    std::string line;
    if (std::getline(in, line) && line == "ready") break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ProcessIdentity sh{"sh", {"-c"}};
  std::vector<StopOutcome> out = StopProcesses({{"stubborn", pid, 0, sh}}, absl::Milliseconds(300));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].result, StopOutcome::kKilled);
  EXPECT_EQ(CheckProcess(pid, 0, sh), ProcessCheck::kNotRunning);
  unlink(log.c_str());
}

TEST(SpawnDetached, ReportsAMissingProgram) {
  std::string log = TempLog();
  absl::StatusOr<int> pid = SpawnDetached({.argv = {"/nonexistent/anvil"}, .log_path = log});
  EXPECT_STATUS(pid, absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(pid.status().message()).find("/nonexistent/anvil"), std::string::npos);
  unlink(log.c_str());
}

TEST(Ports, PickedPortIsFreeAndNotInUse) {
  ASSERT_OK_AND_ASSIGN(int port, PickFreeLoopbackPort());
  EXPECT_GT(port, 0);
  EXPECT_FALSE(LoopbackPortInUse(port));
  EXPECT_FALSE(LoopbackPortInUse(0));
}

}  // namespace
}  // namespace gnr::tools
