// `gnr farmer run` runs a storage farmer daemon in the foreground; `gnr farmer status` shows
// what a farmer's data directory holds and, if it runs, what it is doing.
#include "tools/farmer_command.h"

#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "chain-client/storage_market.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "net/farmer/byte_size.h"
#include "net/farmer/env.h"
#include "net/farmer/farmer.h"
#include "net/farmer/shard_index.h"
#include "nlohmann/json.hpp"
#include "tools/chain_admission.h"
#include "tools/config.h"
#include "tools/exit_codes.h"
#include "tools/flags.h"
#include "tools/version.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::json;

constexpr char kUsage[] =
    "Usage: gnr farmer run [--data DIR] --capacity SIZE [options]\n"
    "       gnr farmer status [--data DIR] [--json]\n"
    "\n"
    "run     shares SIZE bytes of disk under DIR with the network until SIGINT/SIGTERM,\n"
    "        then stops gracefully (writes in progress finish, the index is closed).\n"
    "        On first run a node key is created in DIR/node.key (mode 0600); the node's\n"
    "        endpoint, id and curve key are written to DIR/farmer.json.\n"
    "  --data DIR            data directory (shards, index, key, status; default\n"
    "                        ~/.local/share/gnr/farmer)\n"
    "  --capacity SIZE       e.g. 500G, 1.5T, 750GB (K/M/G/T = powers of 1024,\n"
    "                        KB/MB/GB/TB = powers of 1000)\n"
    "  --listen ENDPOINT     where to accept connections (default tcp://127.0.0.1:0,\n"
    "                        port 0 picks a free port)\n"
    "  --advertise ENDPOINT  endpoint published to the network (default: the bound one;\n"
    "                        repeatable)\n"
    "  --bootstrap SEED      join through SEED: tcp://host:port#<curve key hex>, or another\n"
    "                        farmer's farmer.json or data directory (repeatable)\n"
    "  --key FILE            node key file (default DIR/node.key)\n"
    "  --contract ADDRESS    check payments on chain: accept a shard only for an existing,\n"
    "                        unexpired bucket of the StorageMarket at ADDRESS that the\n"
    "                        payer owns and that has room for it (default: accept all)\n"
    "  --rpc URL             the chain's JSON-RPC endpoint for --contract (default $GNR_RPC\n"
    "                        or http://127.0.0.1:8545)\n"
    "  --workers N           threads serving shard requests (default 2)\n"
    "  --verify-reads BOOL   true: re-hash every leaf read from disk before serving it\n"
    "                        (default false: readers and auditors verify them anyway)\n"
    "  --status-interval S   seconds between DIR/status.json updates (default 5)\n"
    "  --log-level LEVEL     debug, info, warning or error (default info)\n"
    "  --config FILE         configuration file (default ~/.config/gnr/config.toml)\n"
    "  --data, --capacity, --listen, --advertise, --bootstrap, --verify-reads and\n"
    "  --log-level may also come from $GNR_FARMER_DATA, $GNR_FARMER_CAPACITY,\n"
    "  $GNR_FARMER_LISTEN, $GNR_FARMER_ADVERTISE, $GNR_FARMER_BOOTSTRAP (comma-separated\n"
    "  lists), $GNR_FARMER_VERIFY_READS, $GNR_LOG_LEVEL or the [farmer] and [log] tables of\n"
    "  the configuration file (`gnr config show`).\n"
    "\n"
    "status  capacity, used space, shards, buckets, peers and requests served.\n"
    "  --data DIR            the farmer's data directory\n"
    "  --json                machine-readable output\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "gnr farmer: %s\n(try `gnr farmer --help`)\n", message.c_str());
  return kExitUsage;
}

int ExitFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
      return kExitNoInput;
    case absl::StatusCode::kPermissionDenied:
      return kExitNoPerm;
    case absl::StatusCode::kUnavailable:
      return kExitUnavailable;
    case absl::StatusCode::kFailedPrecondition:
      return kExitTempFail;
    default:
      return kExitIoErr;
  }
}

int RunDaemon(const std::vector<std::string>& args, const Config& config) {
  farmer::FarmerOptions options;
  options.software = absl::StrCat("gnrfs ", GNR_VERSION);
  options.data_dir = config.String("farmer.data");
  options.listen = config.String("farmer.listen");
  std::string capacity = config.String("farmer.capacity");
  options.store.verify_reads = config.Bool("farmer.verify_reads");
  LogLevel config_level;
  if (ParseLogLevel(config.String("log.level"), &config_level)) SetLogLevel(config_level);
  std::vector<std::string> advertise;
  std::vector<std::string> bootstrap;
  std::string rpc;
  std::string contract;
  double status_interval = 5;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string error;
    auto value = [&](std::string_view flag, std::string* out) {
      return TakeFlagValue(args, i, flag, out, &error);
    };
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::printf("%s", kUsage);
      return kExitOk;
    } else if (value("--data", &v)) {
      options.data_dir = v;
    } else if (value("--capacity", &v)) {
      capacity = v;
    } else if (value("--listen", &v)) {
      options.listen = v;
    } else if (value("--advertise", &v)) {
      advertise.push_back(v);
    } else if (value("--bootstrap", &v)) {
      absl::StatusOr<node::BootstrapPeer> seed = farmer::ParseBootstrapSeed(v);
      if (!seed.ok()) return UsageError(std::string(seed.status().message()));
      bootstrap.push_back(v);
    } else if (value("--rpc", &v)) {
      rpc = v;
    } else if (value("--contract", &v)) {
      contract = v;
    } else if (value("--key", &v)) {
      options.key_file = v;
    } else if (value("--workers", &v)) {
      options.worker_threads = std::atoi(v.c_str());
      if (options.worker_threads < 1) return UsageError("--workers must be at least 1");
    } else if (value("--verify-reads", &v)) {
      if (v != "true" && v != "false") return UsageError("--verify-reads must be true or false");
      options.store.verify_reads = v == "true";
    } else if (value("--status-interval", &v)) {
      status_interval = std::atof(v.c_str());
      if (!(status_interval > 0)) return UsageError("--status-interval must be > 0");
    } else if (value("--log-level", &v)) {
      LogLevel level;
      if (!ParseLogLevel(v, &level)) return UsageError("unknown log level '" + v + "'");
      SetLogLevel(level);
    } else {
      return UsageError("unknown argument '" + args[i] + "'");
    }
    if (!error.empty()) return UsageError(error);
  }
  // Repeatable flags replace the configured lists as a whole.
  options.advertise = advertise.empty() ? config.List("farmer.advertise") : advertise;
  const ConfigValue& seeds = config.Get("farmer.bootstrap");
  for (const std::string& seed_text : bootstrap.empty() ? seeds.values : bootstrap) {
    absl::StatusOr<node::BootstrapPeer> seed = farmer::ParseBootstrapSeed(seed_text);
    if (!seed.ok()) {
      std::fprintf(stderr, "gnr farmer: farmer.bootstrap (%s): %s\n", seeds.source.c_str(),
                   std::string(seed.status().message()).c_str());
      return kExitConfig;
    }
    options.bootstrap.push_back(*seed);
  }
  if (options.data_dir.empty()) return UsageError("run needs --data DIR");
  if (capacity.empty()) {
    return UsageError("run needs --capacity SIZE (e.g. 500G), or farmer.capacity in the config");
  }
  absl::StatusOr<uint64_t> bytes = farmer::ParseByteSize(capacity);
  if (!bytes.ok()) return UsageError(std::string(bytes.status().message()));
  options.capacity_bytes = *bytes;
  if (!rpc.empty() && contract.empty()) return UsageError("--rpc needs --contract ADDRESS");

  // Payment checks on chain (tools/chain_admission.h); they outlive the farmer.
  std::optional<ChainConnection> chain_connection;
  std::optional<chain::StorageMarket> market;
  std::unique_ptr<ChainAdmission> admission;
  if (!contract.empty()) {
    absl::StatusOr<crypto::EthAddress> address = crypto::ParseEthAddress(contract);
    if (!address.ok()) return UsageError("--contract: " + std::string(address.status().message()));
    if (rpc.empty()) rpc = DefaultRpcUrl();
    absl::StatusOr<ChainConnection> connection = ConnectChain(rpc);
    if (!connection.ok()) return UsageError(std::string(connection.status().message()));
    chain_connection.emplace(*std::move(connection));
    absl::StatusOr<chain::StorageMarket> bound =
        chain::StorageMarket::At(*chain_connection->eth, *address);
    if (!bound.ok()) {
      std::fprintf(stderr, "gnr farmer: cannot check payments on the StorageMarket %s at %s: %s\n",
                   contract.c_str(), rpc.c_str(), std::string(bound.status().message()).c_str());
      return ExitFor(bound.status());
    }
    market.emplace(*std::move(bound));
    admission = std::make_unique<ChainAdmission>(*market, SystemClockInstance());
    options.admission = admission.get();
    GNR_LOG(kInfo) << "checking payments on the StorageMarket " << contract << " at " << rpc;
  }

  // Signals are taken synchronously by this thread: block them before any thread starts, so
  // that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<farmer::Farmer>> started =
      farmer::Farmer::Start(std::move(options));
  if (!started.ok()) {
    std::fprintf(stderr, "gnr farmer: cannot start: %s\n",
                 std::string(started.status().message()).c_str());
    return ExitFor(started.status());
  }
  farmer::Farmer& f = **started;
  (void)f.Join();  // logged; the farmer serves even when alone

  const absl::Duration interval = absl::Seconds(status_interval);
  absl::Time next_status = absl::Now() + interval;
  int signal_number = 0;
  while (signal_number == 0) {
    absl::Duration wait = std::max(absl::ZeroDuration(), next_status - absl::Now());
    struct timespec ts = absl::ToTimespec(std::min(wait, absl::Seconds(1)));
    int got = sigtimedwait(&stop_signals, nullptr, &ts);
    if (got > 0) {
      signal_number = got;
      break;
    }
    if (absl::Now() >= next_status) {
      absl::Status s = f.Maintain();
      if (!s.ok()) {
        GNR_LOG(kWarning) << "status update failed: " << s.message();
      }
      next_status = absl::Now() + interval;
    }
  }
  GNR_LOG(kInfo) << "received " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
                 << ": shutting down";
  started->reset();  // graceful shutdown
  return kExitOk;
}

std::optional<Json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

uint64_t U64(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

int RunStatus(const std::vector<std::string>& args, const Config& config) {
  std::string dir = config.String("farmer.data");
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string error;
    auto value = [&](std::string_view flag, std::string* out) {
      return TakeFlagValue(args, i, flag, out, &error);
    };
    std::string v;
    if (args[i] == "--help" || args[i] == "-h") {
      std::printf("%s", kUsage);
      return kExitOk;
    } else if (args[i] == "--json") {
      json = true;
    } else if (value("--data", &v)) {
      dir = v;
    } else {
      return UsageError("unknown argument '" + args[i] + "'");
    }
    if (!error.empty()) return UsageError(error);
  }
  if (dir.empty()) return UsageError("status needs --data DIR");
  std::string index_path = farmer::JoinPath(dir, "index.sqlite");
  if (!farmer::PosixEnv().GetFileSize(index_path).ok()) {
    std::fprintf(stderr,
                 "gnr farmer: no farmer data in %s (start one with `gnr farmer run --data %s "
                 "--capacity SIZE`)\n",
                 dir.c_str(), dir.c_str());
    return kExitNoInput;
  }
  absl::StatusOr<std::unique_ptr<farmer::ShardIndex>> index =
      farmer::ShardIndex::OpenReadOnly(index_path);
  absl::StatusOr<farmer::IndexSummary> summary =
      index.ok() ? (*index)->Summary() : absl::StatusOr<farmer::IndexSummary>(index.status());
  if (!summary.ok()) {
    std::fprintf(stderr, "gnr farmer: cannot read %s: %s\n", index_path.c_str(),
                 std::string(summary.status().message()).c_str());
    return kExitIoErr;
  }
  Json live = ReadJsonFile(farmer::JoinPath(dir, "status.json")).value_or(Json::object());
  int64_t pid =
      live.contains("pid") && live["pid"].is_number_integer() ? live["pid"].get<int64_t>() : 0;
  bool running = live.value("running", false) && pid > 0 &&
                 (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  uint64_t capacity = summary->capacity_bytes.value_or(U64(live, "capacity_bytes"));
  Json buckets = Json::array();
  for (const farmer::BucketUsage& b : summary->buckets) {
    buckets.push_back({{"bucket", HexEncode(b.bucket)}, {"shards", b.shards}, {"bytes", b.bytes}});
  }
  Json out{{"data_dir", dir},
           {"running", running},
           {"node_id", live.value("node_id", "")},
           {"endpoint", live.value("endpoint", "")},
           {"capacity_bytes", capacity},
           {"used_bytes", summary->bytes},
           {"free_bytes", capacity > summary->bytes ? capacity - summary->bytes : 0},
           {"shards", summary->shards},
           {"buckets", buckets}};
  if (running) {
    out["pid"] = pid;
    out["peers"] = U64(live, "peers");
    out["requests_served"] = U64(live, "requests_served");
    out["accepting"] = live.value("accepting", true);
    for (const char* key : {"requests", "store", "server"}) {
      if (live.contains(key)) out[key] = live[key];
    }
    out["updated_unix"] = live.value("updated_unix", int64_t{0});
  }
  if (json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::string node = out["node_id"].get<std::string>();
  std::printf("farmer %s: %s\n", node.empty() ? "(never started)" : node.c_str(),
              running ? absl::StrCat("running, pid ", pid).c_str() : "not running");
  if (running) std::printf("  endpoint   %s\n", out["endpoint"].get<std::string>().c_str());
  std::printf("  capacity   %s\n", farmer::HumanBytes(capacity).c_str());
  double percent = capacity > 0 ? 100.0 * summary->bytes / capacity : 0;
  std::printf("  used       %s (%.1f%%) in %llu shards, %zu buckets\n",
              farmer::HumanBytes(summary->bytes).c_str(), percent,
              static_cast<unsigned long long>(summary->shards), summary->buckets.size());
  std::printf(
      "  free       %s\n",
      farmer::HumanBytes(capacity > summary->bytes ? capacity - summary->bytes : 0).c_str());
  if (running) {
    const Json& r = out.value("requests", Json::object());
    const Json& st = out.value("store", Json::object());
    std::printf("  peers      %llu\n", static_cast<unsigned long long>(U64(live, "peers")));
    std::printf(
        "  requests   %llu served: %llu put, %llu get, %llu sentinel and %llu Merkle "
        "challenges, %llu delete, %llu stat\n",
        static_cast<unsigned long long>(U64(live, "requests_served")),
        static_cast<unsigned long long>(U64(r, "put")),
        static_cast<unsigned long long>(U64(r, "get")),
        static_cast<unsigned long long>(U64(r, "challenge_sentinels")),
        static_cast<unsigned long long>(U64(r, "challenge_merkle")),
        static_cast<unsigned long long>(U64(r, "delete")),
        static_cast<unsigned long long>(U64(r, "stat")));
    std::printf(
        "  refused    %llu shards (%llu for lack of space, %llu with a wrong Merkle root)\n",
        static_cast<unsigned long long>(U64(st, "puts_refused")),
        static_cast<unsigned long long>(U64(st, "puts_refused_full")),
        static_cast<unsigned long long>(U64(st, "puts_refused_bad_root")));
    if (!out.value("accepting", true)) std::printf("  paused: not accepting new shards\n");
  }
  return kExitOk;
}

int RunFarmer(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  absl::StatusOr<std::optional<std::string>> config_file = TakeConfigFlag(&args);
  if (!config_file.ok()) return UsageError(std::string(config_file.status().message()));
  if (args.empty()) return UsageError("expected `run` or `status`");
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return kExitOk;
    }
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "run" || args[0] == "status") {
    std::optional<Config> config = LoadCommandConfig("farmer", *config_file);
    if (!config) return kExitConfig;
    return args[0] == "run" ? RunDaemon(rest, *config) : RunStatus(rest, *config);
  }
  return UsageError("unknown subcommand '" + args[0] + "' (expected run or status)");
}

}  // namespace

Command FarmerCommand() {
  return {"farmer", "share disk as a storage farmer (run | status)", kUsage, RunFarmer};
}

}  // namespace gnr::tools
