#include "tools/mount_control.h"

#include <sys/wait.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace gnr::tools {
namespace {

TEST(ProcessAlive, RunningProcessIsAliveAndAZombieIsNot) {
  EXPECT_TRUE(ProcessAlive(getpid()));
  EXPECT_FALSE(ProcessAlive(0));
  EXPECT_FALSE(ProcessAlive(-1));

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  // Not reaped yet: a zombie once it has exited (a daemon killed -9 under an init that does
  // not reap), whose mount record must count as stale.
  bool zombie_seen_dead = false;
  for (int i = 0; i < 200 && !zombie_seen_dead; ++i) {
    zombie_seen_dead = !ProcessAlive(child);
    if (!zombie_seen_dead) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(zombie_seen_dead);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(ProcessAlive(child));
}

}  // namespace
}  // namespace gnr::tools
