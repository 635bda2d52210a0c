#pragma once
// ShardServer: serves the shard protocol (DESIGN.md section 5) for a ShardService.
//
// It is the request handler for shard-protocol messages of a node's net_zmq::Transport
// (net/node/host.h routes them here by the header's protocol byte). On the event-loop thread
// it only decodes and validates (never blocks); the service is called on the server's own
// worker threads, which answer through the Responder. In order:
//   1. decode the header (net/wire; malformed -> InvalidArgument with the reason),
//   2. per-type checks: a PUT's payload has exactly `size` bytes, other requests carry no
//      payload, counts and lengths within the protocol limits,
//   3. PUT_SHARD / DELETE_SHARD: the request names this farmer, its timestamp is inside the
//      replay window, the payer signature recovers, and (payer, nonce) is fresh
//      (Unauthenticated / OutOfRange otherwise; see net/shard/signing.h),
//   4. queue for a worker (ResourceExhausted "shard server busy: N requests queued" when the
//      queue is full), call the service, encode its answer or send its error Status.
// Every refusal is logged (warning) with the peer, the request type and the reason, and
// counted in stats(); the server keeps serving other peers.
//
// Thread-safety: Handle() may be called from any thread (normally the loop thread); stats()
// from any thread. Destruction stops the workers: queued requests are answered with
// Unavailable ("shard server stopping"). The service must outlive the server.
//
//   auto server = ShardServer::Create(farmer_store, {.self = host_id});
//   host_options.shard_handler = [s = server->get()](const net_zmq::PeerInfo& from,
//       net_zmq::Message m, net_zmq::Responder r) { s->Handle(from, std::move(m), r); };

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "net/shard/shard_service.h"
#include "net/shard/signing.h"
#include "net/shard/types.h"
#include "net/zmq/transport.h"

namespace gnr::shard {

struct ShardServerOptions {
  NodeId self = {};        // this farmer's node id: signed requests must name it
  Clock* clock = nullptr;  // null: system clock (replay window)
  int worker_threads = 2;
  // Requests accepted but not yet taken by a worker; beyond: ResourceExhausted.
  size_t max_queued = 128;
  absl::Duration replay_window = absl::Minutes(10);
  size_t max_replay_entries = 1 << 20;
};

struct ShardServerStats {
  uint64_t received = 0;
  uint64_t served_ok = 0;
  uint64_t service_errors = 0;  // the service returned an error (answered with it)
  uint64_t refused_malformed = 0;
  uint64_t refused_signature = 0;  // bad signature, wrong farmer, outside window
  uint64_t refused_replay = 0;
  uint64_t refused_busy = 0;
  uint64_t bytes_in = 0;   // PUT payload bytes accepted
  uint64_t bytes_out = 0;  // GET payload bytes sent
};

class ShardServer {
 public:
  // InvalidArgument if worker_threads < 1 or max_queued == 0.
  static absl::StatusOr<std::unique_ptr<ShardServer>> Create(ShardService& service,
                                                             ShardServerOptions options);
  ~ShardServer();
  ShardServer(const ShardServer&) = delete;
  ShardServer& operator=(const ShardServer&) = delete;

  // Handles one shard-protocol request; never blocks.
  void Handle(const net_zmq::PeerInfo& from, net_zmq::Message request,
              net_zmq::Responder responder);

  ShardServerStats stats() const;

 private:
  struct Job;
  ShardServer(ShardService& service, ShardServerOptions options);
  void WorkerLoop();
  void Run(Job& job);
  void Refuse(const net_zmq::PeerInfo& from, std::string_view type, const absl::Status& status,
              const net_zmq::Responder& responder);

  ShardService& service_;
  const ShardServerOptions options_;
  Clock& clock_;
  ReplayGuard replay_;

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ShardServerStats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace gnr::shard
