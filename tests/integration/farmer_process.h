#pragma once
// A real `gnr farmer run` daemon in a child process, for multi-process tests on loopback.
//
// Start() spawns the binary with --data DIR --listen tcp://127.0.0.1:0 and waits until the
// daemon has written DIR/farmer.json with its own pid (it is then serving). Output goes to
// DIR.log (appended across restarts). The destructor kills the process (SIGKILL) if it still
// runs, so a failing test never leaves daemons behind.
//
// Not thread-safe; one test thread drives it.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/farmer/farmer.h"
#include "net/shard/shard_client.h"

namespace gnr::integration {

// The gnr binary under test (set by CMake; GNR_BINARY in the environment overrides it).
std::string GnrBinary();

struct FarmerProcessOptions {
  std::string data_dir;
  std::string capacity = "1G";
  std::vector<std::string> bootstrap;  // --bootstrap values
  std::vector<std::string> extra_args;
};

class FarmerProcess {
 public:
  explicit FarmerProcess(FarmerProcessOptions options) : options_(std::move(options)) {}
  ~FarmerProcess();
  FarmerProcess(const FarmerProcess&) = delete;
  FarmerProcess& operator=(const FarmerProcess&) = delete;

  // Spawns the daemon and waits (up to `timeout`) until it serves. DeadlineExceeded if it
  // does not come up; Internal if it exits first (its log tail is in the message).
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  // kill -9, then reaps it.
  void Kill();
  // SIGTERM; waits up to `timeout` for a clean exit (exit status 0). DeadlineExceeded (and
  // a kill -9) if it takes longer.
  absl::Status Terminate(absl::Duration timeout = absl::Seconds(20));

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return options_.data_dir; }
  // From farmer.json of the current run.
  const shard::FarmerAddress& address() const { return address_; }
  std::string ShortName() const { return address_.id.ShortHex(); }
  // Bytes the shard files take on disk (allocated blocks), under DIR/shards.
  uint64_t ShardDiskUsage() const;
  // Shard files and unfinished writes under DIR/shards.
  size_t CountFiles(bool temp_only) const;
  // Runs `gnr farmer status --data DIR --json` and returns its stdout.
  absl::StatusOr<std::string> StatusJson() const;
  std::string LogTail(size_t bytes = 2000) const;

 private:
  FarmerProcessOptions options_;
  pid_t pid_ = -1;
  shard::FarmerAddress address_;
};

}  // namespace gnr::integration
