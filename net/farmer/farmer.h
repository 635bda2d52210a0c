#pragma once
// Farmer: the farmer daemon's composition (DESIGN.md section 7), run by `gnr farmer run`.
//
// Start() wires, in this order: the node key (data dir/node.key, created on first run), the
// ShardStore (recovering from any crash), the FarmerService over it, the ShardServer that
// serves the shard protocol, and the node::Host (DHT + transport; curve key derived from the
// node key) whose shard-protocol requests go to that server. It then writes
// data dir/farmer.json so that tests, devnets and operators can find the node:
//   {"node_id": "<40 hex>", "endpoint": "tcp://127.0.0.1:41234",
//    "curve_public_key": "<64 hex>", "pid": 1234, "started_unix": 1767225600}
// Join() bootstraps through the seeds and publishes the contact and capacity records.
// Maintain() (call every few seconds) saves access times and rewrites data dir/status.json,
// which `gnr farmer status` reads:
//   {"running": true, "pid": ..., "node_id": ..., "endpoint": ..., "capacity_bytes": ...,
//    "used_bytes": ..., "reserved_bytes": ..., "shards": ..., "peers": ...,
//    "requests_served": ..., "requests": {...}, "store": {...}, "server": {...},
//    "updated_unix": ...}
// Shutdown() is graceful: new shards are refused at once, puts in progress get up to
// `drain_timeout` to finish (they are durable and acknowledged), then the network stops, the
// server's workers finish, the store closes its index and status.json says running: false.
//
// Thread-safety: Start/Join/Maintain/Shutdown are called from one controlling thread;
// status() from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/random.h"
#include "crypto/secp256k1.h"
#include "net/farmer/admission.h"
#include "net/farmer/env.h"
#include "net/farmer/farmer_service.h"
#include "net/farmer/shard_store.h"
#include "net/kademlia/node_id.h"
#include "net/node/host.h"
#include "net/shard/shard_server.h"
#include "net/zmq/curve.h"

namespace gnr::farmer {

struct FarmerOptions {
  std::string data_dir;
  uint64_t capacity_bytes = 0;
  std::string listen = "tcp://127.0.0.1:0";
  // Endpoints published in the contact record; empty: the bound endpoint.
  std::vector<std::string> advertise;
  std::vector<node::BootstrapSeed> bootstrap;
  std::string key_file;  // empty: data_dir/node.key
  // Payment checks; null: AllowAllAdmission (no chain yet).
  Admission* admission = nullptr;
  std::string software = "gnrfs";
  int worker_threads = 2;
  absl::Duration drain_timeout = absl::Seconds(10);
  ShardStoreOptions store;           // dir and capacity are filled from the fields above
  net_zmq::Options transport;        // limits and tuning (keys, endpoint, handler are set here)
  Env* env = nullptr;                // null: PosixEnv()
  Clock* clock = nullptr;            // null: system clock
  crypto::Random* random = nullptr;  // null: OsRandom()
};

// A snapshot for status output.
struct FarmerStatus {
  kademlia::NodeId node_id;
  std::string endpoint;
  net_zmq::CurveKey curve_public_key{};
  StoreUsage usage;
  StoreCounters store;
  ServiceCounters requests;
  shard::ShardServerStats server;
  uint64_t peers = 0;  // nodes in the routing table
  bool accepting = true;
};

class Farmer {
 public:
  static absl::StatusOr<std::unique_ptr<Farmer>> Start(FarmerOptions options);
  // Shutdown()s.
  ~Farmer();
  Farmer(const Farmer&) = delete;
  Farmer& operator=(const Farmer&) = delete;

  // Bootstraps through options.bootstrap (if any) and publishes the contact and capacity
  // records. Unavailable if no seed answered (the farmer keeps serving; retry later).
  absl::Status Join();
  // Periodic housekeeping: saves access times, rewrites status.json.
  absl::Status Maintain();
  // Graceful stop (see the file comment). Idempotent.
  void Shutdown();

  FarmerStatus status() const;
  const kademlia::NodeId& id() const { return id_; }
  const std::string& endpoint() const { return endpoint_; }
  const net_zmq::CurveKey& curve_public_key() const { return curve_key_; }
  ShardStore& store() const { return *store_; }
  FarmerService& service() const { return *service_; }

 private:
  explicit Farmer(FarmerOptions options);
  absl::Status WriteJson(const std::string& name, const std::string& text);
  absl::Status WriteStatusFile(bool running);

  FarmerOptions options_;
  Env& env_;
  Clock& clock_;
  crypto::Random& random_;
  AllowAllAdmission allow_all_;
  kademlia::NodeId id_;
  std::string endpoint_;
  net_zmq::CurveKey curve_key_{};
  absl::Time started_;
  // Destroyed in reverse order of construction by Shutdown(): host, server, service, store.
  std::unique_ptr<ShardStore> store_;
  std::unique_ptr<FarmerService> service_;
  std::unique_ptr<shard::ShardServer> server_;
  std::unique_ptr<node::Host> host_;
  bool stopped_ = false;
};

// A bootstrap seed from the command line: "tcp://host:port#<64 hex curve key>", or the path
// of another farmer's farmer.json, or of its data directory. InvalidArgument / NotFound.
absl::StatusOr<node::BootstrapPeer> ParseBootstrapSeed(const std::string& spec);

// Reads a farmer.json: the node's id, endpoint and curve key.
struct FarmerContactFile {
  kademlia::NodeId node_id;
  std::string endpoint;
  net_zmq::CurveKey curve_public_key{};
  int64_t pid = 0;
};
absl::StatusOr<FarmerContactFile> ReadFarmerContactFile(const std::string& path);

}  // namespace gnr::farmer
