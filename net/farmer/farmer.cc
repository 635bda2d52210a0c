#include "net/farmer/farmer.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "crypto/secp256k1.h"
#include "net/farmer/node_key.h"
#include "nlohmann/json.hpp"

namespace gnr::farmer {
namespace {

using Json = nlohmann::json;

Json CountersJson(const ServiceCounters& c) {
  return Json{{"put", c.puts},
              {"get", c.gets},
              {"challenge_sentinels", c.sentinel_challenges},
              {"challenge_merkle", c.merkle_challenges},
              {"delete", c.deletes},
              {"stat", c.stats},
              {"refused_admission", c.refused_admission},
              {"errors", c.errors}};
}

Json StoreJson(const StoreCounters& c) {
  return Json{{"puts", c.puts},
              {"puts_already_stored", c.puts_already_stored},
              {"puts_refused", c.puts_refused},
              {"puts_refused_full", c.puts_refused_full},
              {"puts_refused_bad_root", c.puts_refused_bad_root},
              {"bytes_written", c.bytes_written},
              {"range_reads", c.range_reads},
              {"bytes_read", c.bytes_read},
              {"sentinel_challenges", c.sentinel_challenges},
              {"merkle_challenges", c.merkle_challenges},
              {"deletes", c.deletes},
              {"corrupt_reads", c.corrupt_reads},
              {"tree_loads", c.tree_loads}};
}

Json ServerJson(const shard::ShardServerStats& s) {
  return Json{{"received", s.received},
              {"served_ok", s.served_ok},
              {"service_errors", s.service_errors},
              {"refused_malformed", s.refused_malformed},
              {"refused_signature", s.refused_signature},
              {"refused_replay", s.refused_replay},
              {"refused_busy", s.refused_busy},
              {"bytes_in", s.bytes_in},
              {"bytes_out", s.bytes_out}};
}

}  // namespace

Farmer::Farmer(FarmerOptions options)
    : options_(std::move(options)),
      env_(options_.env != nullptr ? *options_.env : PosixEnv()),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClockInstance()),
      random_(options_.random != nullptr ? *options_.random : crypto::OsRandom()) {}

Farmer::~Farmer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Farmer>> Farmer::Start(FarmerOptions options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("no data directory given");
  if (options.capacity_bytes == 0) return absl::InvalidArgumentError("capacity must be > 0");
  std::unique_ptr<Farmer> f(new Farmer(std::move(options)));
  FarmerOptions& o = f->options_;
  f->started_ = f->clock_.Now();
  GNR_RETURN_IF_ERROR(f->env_.CreateDir(o.data_dir));

  // Identity.
  std::string key_file = o.key_file.empty() ? JoinPath(o.data_dir, "node.key") : o.key_file;
  GNR_ASSIGN_OR_RETURN(crypto::PrivateKey node_key, LoadOrCreateNodeKey(key_file, f->random_));
  f->id_ = kademlia::NodeId(crypto::NodeIdOf(node_key.GetPublicKey()));

  // Storage.
  o.store.dir = o.data_dir;
  o.store.capacity_bytes = o.capacity_bytes;
  GNR_ASSIGN_OR_RETURN(f->store_, ShardStore::Open(f->env_, f->clock_, o.store));
  Admission& admission = o.admission != nullptr ? *o.admission : f->allow_all_;
  f->service_ = std::make_unique<FarmerService>(*f->store_, admission, o.software);

  // Protocol server, then the network node that feeds it.
  GNR_ASSIGN_OR_RETURN(
      f->server_,
      shard::ShardServer::Create(
          *f->service_, {.self = f->id_, .clock = &f->clock_, .worker_threads = o.worker_threads}));
  node::HostOptions host;
  host.node_key = node_key;
  host.bind_endpoint = o.listen;
  host.advertised_endpoints = o.advertise;
  host.transport = std::move(o.transport);
  host.clock = &f->clock_;
  host.random = &f->random_;
  host.shard_handler = [server = f->server_.get()](const net_zmq::PeerInfo& from,
                                                   net_zmq::Message request,
                                                   net_zmq::Responder responder) {
    server->Handle(from, std::move(request), std::move(responder));
  };
  GNR_ASSIGN_OR_RETURN(f->host_, node::Host::Start(std::move(host)));
  f->endpoint_ = f->host_->contact().endpoint.empty() ? f->host_->transport().endpoint()
                                                      : f->host_->contact().endpoint;
  f->curve_key_ = f->host_->transport().public_key();

  Json contact{{"node_id", f->id_.ToHex()},
               {"endpoint", f->endpoint_},
               {"curve_public_key", HexEncode(f->curve_key_)},
               {"pid", static_cast<int64_t>(::getpid())},
               {"started_unix", absl::ToUnixSeconds(f->started_)}};
  GNR_RETURN_IF_ERROR(f->WriteJson("farmer.json", contact.dump(2) + "\n"));
  GNR_RETURN_IF_ERROR(f->WriteStatusFile(true));
  GNR_LOG(kInfo) << "farmer " << f->id_.ToHex() << " serving on " << f->endpoint_ << " (curve key "
                 << net_zmq::ShortKey(f->curve_key_) << "), capacity "
                 << HumanBytes(o.capacity_bytes) << ", data in " << o.data_dir;
  return f;
}

absl::Status Farmer::Join() {
  if (stopped_) return absl::FailedPreconditionError("farmer stopped");
  absl::Status joined = absl::OkStatus();
  if (!options_.bootstrap.empty()) {
    joined = host_->BootstrapSync(options_.bootstrap);
    if (joined.ok()) {
      GNR_LOG(kInfo) << "joined the network through " << options_.bootstrap.size() << " seed(s); "
                     << host_->Stats().routing_table_size << " peers known";
    } else {
      GNR_LOG(kWarning) << "could not join the network: " << joined.message()
                        << " (serving anyway; peers may find this farmer later)";
    }
  }
  ShardStore* store = store_.get();
  host_->PublishCapacity(
      [store]() {
        StoreUsage u = store->usage();
        return std::pair<uint64_t, uint64_t>(u.capacity_bytes, u.free_bytes());
      },
      [](absl::Status s) {
        if (s.ok()) {
          GNR_LOG(kInfo) << "published the capacity record";
        } else {
          GNR_LOG(kInfo) << "capacity record not stored yet: " << s.message();
        }
      });
  return joined;
}

absl::Status Farmer::Maintain() {
  if (stopped_) return absl::OkStatus();
  absl::Status s = store_->FlushAccessTimes();
  absl::Status w = WriteStatusFile(true);
  return s.ok() ? w : s;
}

FarmerStatus Farmer::status() const {
  FarmerStatus s;
  s.node_id = id_;
  s.endpoint = endpoint_;
  s.curve_public_key = curve_key_;
  if (store_ != nullptr) {
    s.usage = store_->usage();
    s.store = store_->counters();
  }
  if (service_ != nullptr) {
    s.requests = service_->counters();
    s.accepting = service_->accepting();
  }
  if (server_ != nullptr) s.server = server_->stats();
  if (host_ != nullptr) s.peers = host_->Stats().routing_table_size;
  return s;
}

absl::Status Farmer::WriteJson(const std::string& name, const std::string& text) {
  std::string path = JoinPath(options_.data_dir, name);
  std::string temp = path + ".tmp";
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env_.NewWritableFile(temp));
  GNR_RETURN_IF_ERROR(file->Append(AsBytes(text)));
  GNR_RETURN_IF_ERROR(file->Close());
  return env_.RenameFile(temp, path);
}

absl::Status Farmer::WriteStatusFile(bool running) {
  FarmerStatus s = status();
  Json j{{"running", running},
         {"pid", static_cast<int64_t>(::getpid())},
         {"node_id", s.node_id.ToHex()},
         {"endpoint", s.endpoint},
         {"curve_public_key", HexEncode(s.curve_public_key)},
         {"accepting", s.accepting},
         {"capacity_bytes", s.usage.capacity_bytes},
         {"used_bytes", s.usage.used_bytes},
         {"reserved_bytes", s.usage.reserved_bytes},
         {"free_bytes", s.usage.free_bytes()},
         {"shards", s.usage.shards},
         {"peers", s.peers},
         {"requests_served", s.requests.total()},
         {"requests", CountersJson(s.requests)},
         {"store", StoreJson(s.store)},
         {"server", ServerJson(s.server)},
         {"started_unix", absl::ToUnixSeconds(started_)},
         {"updated_unix", absl::ToUnixSeconds(clock_.Now())}};
  return WriteJson("status.json", j.dump(2) + "\n");
}

void Farmer::Shutdown() {
  if (stopped_) return;
  GNR_LOG(kInfo) << "farmer stopping: refusing new shards, finishing writes in progress";
  if (service_ != nullptr) service_->SetAccepting(false);
  // Let puts in progress finish (they are acknowledged if the network is still up).
  if (store_ != nullptr) {
    absl::Time deadline = absl::Now() + options_.drain_timeout;
    while (store_->usage().reserved_bytes > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  FarmerStatus last = status();
  host_.reset();    // no more requests reach the server
  server_.reset();  // workers finish the request they run, queued ones are refused
  if (store_ != nullptr) store_->Close();
  stopped_ = true;
  absl::Status s = WriteStatusFile(false);
  if (!s.ok()) {
    GNR_LOG(kWarning) << "could not write status.json: " << s.message();
  }
  GNR_LOG(kInfo) << "farmer stopped: " << last.usage.shards << " shards, "
                 << HumanBytes(last.usage.used_bytes) << " stored, " << last.requests.total()
                 << " requests served";
}

absl::StatusOr<FarmerContactFile> ReadFarmerContactFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a JSON object"));
  }
  auto str = [&](const char* key) -> std::string {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  FarmerContactFile out;
  absl::StatusOr<kademlia::NodeId> id = kademlia::NodeId::FromHex(str("node_id"));
  absl::StatusOr<FixedBytes<32>> key = HexDecodeFixed<32>(str("curve_public_key"));
  out.endpoint = str("endpoint");
  if (!id.ok() || !key.ok() || out.endpoint.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " lacks a valid node_id, endpoint or curve_public_key"));
  }
  out.node_id = *id;
  out.curve_public_key = *key;
  auto pid = j.find("pid");
  if (pid != j.end() && pid->is_number_integer()) out.pid = pid->get<int64_t>();
  return out;
}

absl::StatusOr<node::BootstrapPeer> ParseBootstrapSeed(const std::string& spec) {
  size_t hash = spec.find('#');
  if (spec.starts_with("tcp://")) {
    if (hash == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bootstrap seed '", spec, "' lacks the curve key: use tcp://host:port#<64 hex>"));
    }
    absl::StatusOr<FixedBytes<32>> key = HexDecodeFixed<32>(spec.substr(hash + 1));
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bootstrap seed '", spec, "': bad curve key: ", key.status().message()));
    }
    std::string endpoint = spec.substr(0, hash);
    GNR_RETURN_IF_ERROR(net_zmq::ValidatePeerEndpoint(endpoint));
    return node::BootstrapPeer{.endpoint = endpoint, .curve_key = *key};
  }
  std::string path = PosixEnv().IsDirectory(spec) ? JoinPath(spec, "farmer.json") : spec;
  GNR_ASSIGN_OR_RETURN(FarmerContactFile file, ReadFarmerContactFile(path));
  return node::BootstrapPeer{.endpoint = file.endpoint, .curve_key = file.curve_public_key};
}

}  // namespace gnr::farmer
