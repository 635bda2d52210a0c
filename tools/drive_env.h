#pragma once
// The drive's composition root (DESIGN.md sections 1-3): ONE function that turns a
// DriveConfig (flags, environment) into everything a volume::Volume runs on, used by
// `gnr mount` and by the shell tools. Nothing below tools/ reads configuration; this does.
//
// Real network (AssembleDriveEnv):
//   wallet key (keystore + password)  -> codec root key -> bucket key; PrivateKeySigner payer
//   EthRpc -> StorageMarket::At(contract) -> remote::MarketChain      (volume::Chain)
//   client-only node::Host (advertise = false), bootstrapped through the seeds
//     -> ShardClient (signs PUT/DELETE with the payer) -> FarmerSelector
//     -> remote::NetShardNetwork                                       (volume::ShardNetwork)
// and, before returning, the checks a user wants before a mount: the bucket exists and has
// not expired (chain time), and k+m farmers answer (at least k, enough to read: fewer than
// k+m mounts degraded, with a warning).
//
// TEST MODE (AssembleTestModeEnv): N in-memory farmers and a fake chain inside the process;
// everything is lost when the process ends.
//
// Thread-safety: a DriveEnv is built and destroyed by one thread; while it lives, its parts
// are used by the Volume's threads as their own contracts allow. Destroy the Volume first.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chain-client/storage_market.h"
#include "crypto/secp256k1.h"
#include "fs/remote/market_chain.h"
#include "fs/remote/net_shard_network.h"
#include "fs/volume/volume.h"
#include "net/node/host.h"
#include "net/shard/placement.h"
#include "net/shard/shard_client.h"
#include "net/shard/signing.h"
#include "nlohmann/json.hpp"
#include "tests/fakes/fake_chain.h"
#include "tests/fakes/fake_shard_network.h"
#include "tools/wallet_command.h"

namespace gnr::tools {

struct DriveConfig {
  std::string state_dir;  // catalog, staging, cache (absolute)
  std::string rpc_url;    // chain JSON-RPC endpoint
  std::string contract;   // StorageMarket address, 0x + 40 hex
  WalletAccess wallet;    // keystore path and password file
  // An already unlocked wallet key (e.g. unlocked in the foreground before `gnr mount`
  // detaches); when set, `wallet` is not read.
  std::optional<crypto::PrivateKey> wallet_key;
  std::string bucket_hex;              // 64 hex digits (optional 0x)
  std::vector<std::string> bootstrap;  // seeds as `gnr farmer run --bootstrap` takes them
  int data_shards = 4;
  int parity_shards = 2;
  uint64_t cache_bytes = uint64_t{1} << 30;
  bool upload_while_writing = true;  // fs/volume VolumeOptions::upload_while_writing
  // How long the pre-mount check waits for k farmers to answer (at most 5 s of it for all
  // k+m).
  absl::Duration farmer_wait = absl::Seconds(15);
};

// Fills the fields still empty from the environment: GNR_RPC (else DefaultRpcUrl()),
// GNR_MARKET_CONTRACT, GNR_KEYSTORE, GNR_PASSWORD_FILE, GNR_BUCKET and GNR_BOOTSTRAP
// (comma-separated). GNR_PASSWORD (the password itself) is read when the wallet is unlocked.
void ApplyDriveEnvironment(DriveConfig& config);

// InvalidArgument naming the flag (and its environment variable) that is missing or
// malformed: contract, bucket, bootstrap seeds, shard counts.
absl::Status ValidateDriveConfig(const DriveConfig& config);

// The bucket id of config.bucket_hex (32 bytes).
absl::StatusOr<Bytes> ParseBucketId(const std::string& hex);

// Everything the drive runs on. Members are destroyed in dependency order by ~DriveEnv.
struct DriveEnv {
  DriveEnv() = default;
  ~DriveEnv();
  DriveEnv(const DriveEnv&) = delete;
  DriveEnv& operator=(const DriveEnv&) = delete;

  // TEST MODE only.
  std::unique_ptr<fakes::FakeShardNetwork> fake_network;
  std::unique_ptr<fakes::FakeChain> fake_chain;

  // Real network only.
  ChainConnection chain;
  std::optional<chain::StorageMarket> market;
  std::unique_ptr<remote::MarketChain> market_chain;
  std::unique_ptr<shard::PrivateKeySigner> payer;
  std::optional<crypto::PrivateKey> wallet_key;  // signs the auditor's report transactions
  std::unique_ptr<node::Host> host;
  std::unique_ptr<shard::ShardClient> client;
  std::unique_ptr<shard::FarmerSelector> selector;
  std::unique_ptr<remote::NetShardNetwork> network;

  std::string description;  // one line for logs and `gnr status`
  volume::VolumeOptions options;
  volume::VolumeEnv env;

  // `gnr status`'s "farmers" object: {"description", "count", "farmers": [{"id",
  // "endpoint", "ok", "failed", "ewma_ms", "last_error"}], ...}.
  nlohmann::json FarmersJson() const;
};

// Builds the real-network drive and runs the pre-mount checks. Errors (messages say what to
// do): InvalidArgument (bad config), PermissionDenied (wrong wallet password), NotFound (no
// wallet, no contract at the address, no such bucket), FailedPrecondition (bucket expired;
// fewer than k farmers reachable, with how many were found), Unavailable (chain or seeds
// unreachable).
absl::StatusOr<std::unique_ptr<DriveEnv>> AssembleDriveEnv(const DriveConfig& config);

// The exit code of a failed AssembleDriveEnv (sysexits, tools/exit_codes.h): InvalidArgument
// -> 64 (usage), NotFound -> 66, PermissionDenied -> 77, Unavailable/DeadlineExceeded -> 69,
// anything else -> 78 (configuration).
int ExitCodeForDriveEnv(const absl::Status& status);

struct TestModeConfig {
  std::string state_dir;
  int farmers = 6;
  int farmer_delay_ms = 0;
  uint64_t cache_bytes = uint64_t{1} << 30;
  bool upload_while_writing = true;
};
// TEST MODE: in-memory farmers and chain (a random root key kept in the state dir).
absl::StatusOr<std::unique_ptr<DriveEnv>> AssembleTestModeEnv(const TestModeConfig& config);

}  // namespace gnr::tools
