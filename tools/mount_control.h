#pragma once
// How `gnr umount` and `gnr status` talk to a running `gnr mount` daemon.
//
// Registry: each daemon writes <runtime>/gnr/mount-<id>.json, where <runtime> is
// $XDG_RUNTIME_DIR (else /tmp/gnr-<uid>, mode 0700) and <id> is the first 16 hex digits of
// SHA-256(absolute mount point):
//   {"mountpoint": "/home/u/gnr", "state_dir": "...", "pid": 1234,
//    "socket": "<runtime>/gnr/mount-<id>.sock", "network": "in-memory test network, 6 farmers"}
// and removes it when it exits.
//
// Control socket: a Unix stream socket next to it. A client sends one JSON object on one line
// and reads one JSON object line back:
//   {"op": "status"}                    -> {"ok": true, "status": {...}}   (see StatusJson)
//   {"op": "drain", "timeout_ms": N}    -> {"ok": true|false, "error": "...", "status": {...}}
//        uploads every dirty file and waits up to N ms for all to be committed
//   {"op": "exit_wait", "ms": N}        -> {"ok": true}
//        how long the daemon waits for uploads after the unmount before exiting
// The socket's directory is private to the user (0700); no other authentication.

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace gnr::tools {

struct MountRecord {
  std::string mountpoint;  // absolute
  std::string state_dir;
  int pid = 0;
  std::string socket;
  std::string network;  // human description of the shard network
};

// <runtime>/gnr, created (0700) if missing.
absl::StatusOr<std::string> RuntimeDir();
// The registry file and socket paths for an absolute mount point.
absl::StatusOr<MountRecord> RecordPathsFor(const std::string& abs_mountpoint);
std::string RecordFile(const MountRecord& record);  // the .json path

absl::Status WriteRecord(const MountRecord& record);
void RemoveRecord(const MountRecord& record);
// The record for a mount point, if a daemon registered one.
std::optional<MountRecord> FindRecord(const std::string& abs_mountpoint);
// Every registered record (stale ones too: check the pid).
std::vector<MountRecord> AllRecords();
// True while process `pid` runs (a zombie, killed but not yet reaped, counts as dead).
bool ProcessAlive(int pid);

// Sends one request; Unavailable when nothing listens on the socket.
absl::StatusOr<nlohmann::json> ControlRequest(const std::string& socket,
                                              const nlohmann::json& request);

// Serves the control socket on a thread; `handler` answers each request (called on
// per-connection threads, possibly concurrently).
class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(const std::string& socket,
                                                              Handler handler);
  // Stops accepting, waits for requests in progress, removes the socket file.
  ~ControlServer();

 private:
  ControlServer(std::string socket, int fd, Handler handler);
  void AcceptLoop();
  void Serve(int fd);

  std::string socket_;
  int listen_fd_;
  Handler handler_;
  std::thread accept_thread_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace gnr::tools
