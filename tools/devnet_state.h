#pragma once
// The state file of a local devnet, STATE/devnet.json: what `gnr devnet up` started and
// where, so that `gnr devnet down` stops exactly that (by PID) and a later `up` resumes it.
//
//   {"version": 1, "state_dir": "/home/u/.local/share/gnr/devnet",
//    "chain": {"rpc_url": "http://127.0.0.1:40123", "port": 40123, "chain_id": 31337,
//              "pid": 4242, "start_ticks": 81234, "state_file": ".../chain/state.json",
//              "log": ".../logs/anvil.log", "binary": ".../node_modules/.bin/anvil"},
//    "contract": "0x5FbD...", "operator": "0xf39F...",
//    "wallet": {"address": "0x...", "keystore": ".../wallet.json",
//               "password_file": ".../password"},
//    "bucket": {"id": "<64 hex>", "size_gb": 16, "days": 30, "backup": 2},
//    "traffic_gb": 100,
//    "farmers": [{"name": "farmer-0", "data_dir": ".../farmers/farmer-0/data",
//                 "listen": "tcp://127.0.0.1:40200", "endpoint": "tcp://127.0.0.1:40200",
//                 "node_id": "<40 hex>", "curve_public_key": "<64 hex>",
//                 "staker": {"address": "0x...", "keystore": ".../staker.json"},
//                 "capacity": "4G", "pid": 4250, "start_ticks": 81240,
//                 "log": ".../logs/farmer-0.log", "bound": true}, ...],
//    "mount": {"mountpoint": "/home/u/gnr", "state_dir": ".../volume", "pid": 4300,
//              "start_ticks": 81300, "log": ".../volume/mount.log", "mounted": true,
//              "data_shards": 4, "parity_shards": 2, "error": ""},
//    "updated_unix": 1795254851}
//
// A pid of 0 means "not running"; start_ticks is the process start time from
// /proc/PID/stat (clock ticks since boot), kept so that a recycled PID is never mistaken for
// the process we started. Unknown members are ignored, missing ones take the defaults below.
//
// ParseDevnetState and DevnetStateToJson are pure and thread-safe. The file is untrusted
// input: parsing never throws or aborts, and errors name the member that is wrong.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gnr::tools {

// A process the devnet started.
struct DevnetProcess {
  int pid = 0;               // 0: not running (or never started)
  uint64_t start_ticks = 0;  // /proc/PID/stat field 22; 0: unknown
  std::string log;           // where its stdout and stderr go
};

struct DevnetChain {
  std::string rpc_url;
  int port = 0;
  uint64_t chain_id = 31337;
  std::string state_file;  // anvil --state
  std::string binary;      // the anvil that was run
  DevnetProcess process;
};

struct DevnetWallet {
  std::string address;  // 0x + 40 hex, EIP-55
  std::string keystore;
  std::string password_file;
};

struct DevnetBucket {
  std::string id;  // 64 hex digits; empty: not bought yet
  uint64_t size_gb = 16;
  uint64_t days = 30;
  uint64_t backup = 2;
};

struct DevnetFarmer {
  std::string name;              // "farmer-0"
  std::string data_dir;          // `gnr farmer run --data`
  std::string listen;            // `--listen`, kept across restarts so the endpoint stays the same
  std::string endpoint;          // as the farmer published it (farmer.json)
  std::string node_id;           // 40 hex
  std::string curve_public_key;  // 64 hex
  DevnetWallet staker;           // password_file is the devnet's
  std::string capacity;          // "4G"
  bool bound = false;            // node bound on chain to `staker`
  DevnetProcess process;

  // "tcp://127.0.0.1:40200#<curve key hex>", the form `--bootstrap` takes; empty when the
  // endpoint or key is unknown.
  std::string BootstrapSeed() const;
};

struct DevnetMount {
  std::string mountpoint;  // absolute
  std::string state_dir;   // `gnr mount --state`
  int data_shards = 4;
  int parity_shards = 2;
  bool mounted = false;
  std::string error;  // why the last `up` could not mount; empty when it could
  DevnetProcess process;
};

struct DevnetState {
  static constexpr int kVersion = 1;
  std::string state_dir;
  DevnetChain chain;
  std::string contract;  // 0x + 40 hex; empty: not deployed
  std::string operator_address;
  DevnetWallet wallet;
  DevnetBucket bucket;
  uint64_t traffic_gb = 100;
  std::vector<DevnetFarmer> farmers;
  DevnetMount mount;
  int64_t updated_unix = 0;
};

// InvalidArgument naming the member for malformed JSON, a member of the wrong type, an
// unsupported version, or a pid that is negative.
absl::StatusOr<DevnetState> ParseDevnetState(std::string_view json_text);

nlohmann::ordered_json DevnetStateToJson(const DevnetState& state);

// The erasure code of a devnet with `farmers` farmers: 4+2 from six farmers on, fewer below
// (k = clamp(farmers - 2, 1, 4), m = clamp(farmers - k, 1, 2)).
std::pair<int, int> DevnetShardCounts(int farmers);

// True when `gnr mount` (exit code and its stdout+stderr) refused because this build does not
// know the real-network flags (--rpc, --contract, --keystore, --password-file, --bucket,
// --bootstrap, --data-shards, --parity-shards) or has no real shard network at all.
bool MountRefusedNetworkFlags(int exit_code, std::string_view output);

// Splits "host:port" out of "tcp://host:port" (the port, 0 when there is none).
int EndpointPort(std::string_view endpoint);

}  // namespace gnr::tools
