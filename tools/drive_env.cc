#include "tools/drive_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "fs/codec/keys.h"
#include "net/farmer/farmer.h"
#include "tools/exit_codes.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::json;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

// Chain time: the latest block's timestamp (a development chain's clock may run ahead).
absl::Time ChainNow(chain::EthRpc& eth) {
  absl::StatusOr<chain::RpcBlock> b = eth.GetBlockByNumber(chain::BlockRef::Latest());
  if (!b.ok()) return absl::Now();
  return absl::FromUnixSeconds(static_cast<int64_t>(b->header.header.timestamp));
}

absl::StatusOr<codec::RootKey> TestModeRootKey(const std::string& state_dir) {
  // TEST MODE only: a random root key kept next to the catalog (a real drive derives it
  // from the wallet and never stores it).
  std::string path = absl::StrCat(state_dir, "/test-mode-root.key");
  codec::RootKey key{};
  std::ifstream in(path, std::ios::binary);
  if (in.read(reinterpret_cast<char*>(key.data()), key.size())) return key;
  crypto::OsRandom().Fill(MutableByteView(key.data(), key.size()));
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) {
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  return key;
}

}  // namespace

void ApplyDriveEnvironment(DriveConfig& config) {
  if (config.rpc_url.empty()) config.rpc_url = Env("GNR_RPC");
  if (config.rpc_url.empty()) config.rpc_url = DefaultRpcUrl();
  if (config.contract.empty()) config.contract = Env("GNR_MARKET_CONTRACT");
  if (config.wallet.keystore_path.empty()) config.wallet.keystore_path = Env("GNR_KEYSTORE");
  if (config.wallet.password_file.empty()) config.wallet.password_file = Env("GNR_PASSWORD_FILE");
  if (config.bucket_hex.empty()) config.bucket_hex = Env("GNR_BUCKET");
  if (config.bootstrap.empty()) {
    for (absl::string_view seed : absl::StrSplit(Env("GNR_BOOTSTRAP"), ',', absl::SkipEmpty())) {
      config.bootstrap.emplace_back(seed);
    }
  }
}

absl::StatusOr<Bytes> ParseBucketId(const std::string& hex) {
  absl::StatusOr<Bytes> id = HexDecode(hex);
  if (!id.ok() || id->size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--bucket: a bucket id is 64 hex digits (as `gnr market buy-space` prints it), got '", hex,
        "'"));
  }
  return id;
}

absl::Status ValidateDriveConfig(const DriveConfig& config) {
  if (config.contract.empty()) {
    return absl::InvalidArgumentError(
        "which StorageMarket? pass --contract ADDRESS or set GNR_MARKET_CONTRACT (`gnr devnet up` "
        "prints it)");
  }
  if (absl::StatusOr<crypto::EthAddress> a = crypto::ParseEthAddress(config.contract); !a.ok()) {
    return Annotate(a.status(), "--contract");
  }
  if (config.bucket_hex.empty()) {
    return absl::InvalidArgumentError(
        "which bucket? pass --bucket ID or set GNR_BUCKET (buy one with `gnr market buy-space`)");
  }
  GNR_RETURN_IF_ERROR(ParseBucketId(config.bucket_hex).status());
  if (config.bootstrap.empty()) {
    return absl::InvalidArgumentError(
        "how to reach the farmers? pass --bootstrap SEED (tcp://host:port#<curve key hex> or a "
        "farmer's farmer.json) or set GNR_BOOTSTRAP (comma-separated)");
  }
  for (const std::string& seed : config.bootstrap) {
    if (absl::StatusOr<node::BootstrapPeer> p = farmer::ParseBootstrapSeed(seed); !p.ok()) {
      return Annotate(p.status(), absl::StrCat("--bootstrap ", seed));
    }
  }
  if (config.data_shards < 1 || config.data_shards > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("--data-shards must be 1..32, got ", config.data_shards));
  }
  if (config.parity_shards < 1 || config.parity_shards > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("--parity-shards must be 1..16, got ", config.parity_shards));
  }
  return absl::OkStatus();
}

DriveEnv::~DriveEnv() {
  // Users before what they use.
  network.reset();
  selector.reset();
  client.reset();
  host.reset();
  payer.reset();
  market_chain.reset();
  market.reset();
  chain.eth.reset();
  chain.client.reset();
  fake_network.reset();
  fake_chain.reset();
}

Json DriveEnv::FarmersJson() const {
  Json farmers = {{"description", description}};
  if (fake_network != nullptr) {
    farmers["count"] = fake_network->farmer_count();
    farmers["shards"] = fake_network->TotalShards();
    farmers["stored_bytes"] = fake_network->TotalStoredBytes();
  }
  if (network != nullptr) {
    Json list = Json::array();
    for (const remote::FarmerInUse& f : network->KnownFarmers()) {
      Json j = {{"id", HexEncode(f.id)},
                {"endpoint", f.endpoint},
                {"ok", f.latency.ok},
                {"failed", f.latency.failed},
                {"ewma_ms", absl::ToDoubleMilliseconds(f.latency.ewma)}};
      if (!f.latency.last_error.ok()) j["last_error"] = std::string(f.latency.last_error.message());
      list.push_back(std::move(j));
    }
    farmers["count"] = list.size();
    farmers["farmers"] = std::move(list);
  }
  return farmers;
}

absl::StatusOr<std::unique_ptr<DriveEnv>> AssembleDriveEnv(const DriveConfig& config) {
  GNR_RETURN_IF_ERROR(ValidateDriveConfig(config));
  auto drive = std::make_unique<DriveEnv>();
  GNR_ASSIGN_OR_RETURN(Bytes bucket, ParseBucketId(config.bucket_hex));

  // The wallet: root of the content keys and the payer of every shard.
  std::optional<crypto::PrivateKey> key = config.wallet_key;
  if (!key) {
    GNR_ASSIGN_OR_RETURN(crypto::PrivateKey unlocked, UnlockWallet(config.wallet));
    key = unlocked;
  }
  GNR_ASSIGN_OR_RETURN(codec::RootKey root, codec::DeriveRootKey(key->bytes()));
  GNR_ASSIGN_OR_RETURN(drive->env.bucket_key, codec::DeriveBucketKey(root, bucket));
  drive->payer = std::make_unique<shard::PrivateKeySigner>(*key);
  drive->wallet_key = *key;
  const crypto::EthAddress wallet = drive->payer->address();

  // The chain: the bucket must exist, be unexpired.
  GNR_ASSIGN_OR_RETURN(drive->chain, ConnectChain(config.rpc_url));
  GNR_ASSIGN_OR_RETURN(crypto::EthAddress contract, crypto::ParseEthAddress(config.contract));
  absl::StatusOr<chain::StorageMarket> market =
      chain::StorageMarket::At(*drive->chain.eth, contract);
  if (!market.ok()) {
    if (absl::IsUnavailable(market.status()) || absl::IsDeadlineExceeded(market.status())) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach the chain at ", config.rpc_url,
                       " (--rpc / GNR_RPC): ", market.status().message()));
    }
    return Annotate(market.status(), absl::StrCat("--contract ", config.contract));
  }
  drive->market.emplace(*std::move(market));
  drive->market_chain = std::make_unique<remote::MarketChain>(*drive->market, config.rpc_url);
  GNR_ASSIGN_OR_RETURN(chain::BucketInfo info, drive->market_chain->Bucket(bucket));
  volume::BucketInfo vinfo = remote::ToVolumeBucket(info);
  absl::Time chain_now = ChainNow(*drive->chain.eth);
  if (vinfo.ExpiredAt(chain_now)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bucket ", HexEncode0x(bucket), " expired at ", Time(vinfo.end), " (chain time ",
        Time(chain_now), "): extend it with `gnr market supplement --bucket ", HexEncode(bucket),
        " --add-days N` or buy a new one with `gnr market buy-space`"));
  }
  if (info.owner != wallet) {
    GNR_LOG(kWarning) << "bucket " << HexEncode0x(bucket) << " belongs to "
                      << crypto::EthAddressToChecksumHex(info.owner) << ", not to this wallet ("
                      << crypto::EthAddressToChecksumHex(wallet)
                      << "): farmers that check payments will refuse its shards";
  }

  // The network: a client-only node that joins through the seeds.
  std::vector<node::BootstrapSeed> seeds;
  for (const std::string& s : config.bootstrap) {
    GNR_ASSIGN_OR_RETURN(node::BootstrapPeer peer, farmer::ParseBootstrapSeed(s));
    seeds.emplace_back(std::move(peer));
  }
  const std::vector<node::BootstrapSeed> rejoin_seeds = seeds;
  node::HostOptions host_options;
  host_options.advertise = false;
  GNR_ASSIGN_OR_RETURN(drive->host, node::Host::Start(std::move(host_options)));
  if (absl::Status joined = drive->host->BootstrapSync(std::move(seeds)); !joined.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot join the network through --bootstrap/GNR_BOOTSTRAP (",
                     config.bootstrap.size(), " seed(s)): ", joined.message()));
  }
  shard::ShardClientOptions client_options;
  client_options.transport = &drive->host->transport();
  client_options.signer = drive->payer.get();
  // A dead farmer costs this long once (then NetShardNetwork skips it for a while).
  client_options.request_timeout = absl::Seconds(5);
  client_options.transfer_timeout = absl::Seconds(5);
  drive->client = std::make_unique<shard::ShardClient>(std::move(client_options));
  drive->selector = std::make_unique<shard::FarmerSelector>(*drive->host, *drive->client);

  codec::CodecParams params;
  params.data_shards = config.data_shards;
  params.parity_shards = config.parity_shards;
  const uint64_t shard_bytes = params.segment_size / params.data_shards;
  drive->network = std::make_unique<remote::NetShardNetwork>(
      *drive->host, *drive->client, *drive->selector,
      remote::NetShardNetworkOptions{.shard_size_estimate = shard_bytes + shard_bytes / 50,
                                     .rejoin_seeds = rejoin_seeds});

  // k+m distinct live farmers give full redundancy. With fewer, but at least k (enough to
  // read every file), the drive still mounts: a user whose farmers partly died must reach
  // their files, so that is a warning after a short wait, not a refusal. New files commit
  // once k+1 farmers took their shards (the Volume keeps retrying the rest); below k nothing
  // could be read and the mount refuses.
  const size_t needed = static_cast<size_t>(params.total_shards());
  const size_t minimum = static_cast<size_t>(params.data_shards);
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + config.farmer_wait;
  const absl::Time degraded_ok = start + std::min(config.farmer_wait, absl::Seconds(5));
  size_t found = 0;
  absl::Status last = absl::OkStatus();
  while (true) {
    crypto::Hash256 probe = crypto::OsRandom().Generate<32>();
    absl::StatusOr<std::vector<shard::FarmerAddress>> live =
        drive->selector->ChooseSync(probe, needed, 0, {});
    found = live.ok() ? live->size() : 0;
    if (!live.ok()) last = live.status();
    const absl::Time now = absl::Now();
    if (found >= needed || now >= deadline || (found >= minimum && now >= degraded_ok)) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  if (found < minimum) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only ", found, " farmer(s) reachable through the bootstrap seeds; RS(", params.data_shards,
        ",", params.parity_shards, ") needs at least ", minimum, " to read a file, ", minimum + 1,
        " to commit one (", needed,
        " for full redundancy): start more farmers or lower --data-shards/--parity-shards",
        last.ok() ? "" : absl::StrCat(" (last error: ", last.message(), ")")));
  }
  std::string degraded;
  if (found < needed) {
    degraded = absl::StrCat("; DEGRADED: only ", found, " of ", needed,
                            " farmers reachable; files stay readable, new files need ", minimum + 1,
                            " to commit");
    GNR_LOG(kWarning) << "drive: only " << found << " of " << needed
                      << " farmers reachable; files stay readable, new files commit once "
                      << minimum + 1 << " farmers took their shards (the rest are retried)";
  }

  drive->options.state_dir = config.state_dir;
  drive->options.bucket_id = bucket;
  drive->options.params = params;
  drive->options.read_cache_bytes = config.cache_bytes;
  drive->options.upload_while_writing = config.upload_while_writing;
  drive->env.network = drive->network.get();
  drive->env.chain = drive->market_chain.get();
  drive->env.clock = &SystemClockInstance();
  drive->env.random = &crypto::OsRandom();
  drive->description = absl::StrCat(
      "gnrfs network via ", config.bootstrap.size(), " seed(s), RS(", params.data_shards, ",",
      params.parity_shards, "), bucket ", HexEncode(bucket).substr(0, 16), "..., StorageMarket ",
      crypto::EthAddressToChecksumHex(contract), " at ", config.rpc_url, degraded);
  return drive;
}

absl::StatusOr<std::unique_ptr<DriveEnv>> AssembleTestModeEnv(const TestModeConfig& config) {
  auto env = std::make_unique<DriveEnv>();
  env->fake_network = std::make_unique<fakes::FakeShardNetwork>(config.farmers);
  if (config.farmer_delay_ms > 0) {
    for (int i = 0; i < config.farmers; ++i) {
      env->fake_network->SetDelay(i, absl::Milliseconds(config.farmer_delay_ms));
    }
  }
  env->fake_chain = std::make_unique<fakes::FakeChain>();
  env->description = absl::StrCat("in-memory TEST network: ", config.farmers,
                                  " farmers inside the daemon (data lost at unmount)");
  const crypto::Hash256 bucket_hash = crypto::Sha256(AsBytes("gnr test-mode bucket"));
  Bytes bucket(bucket_hash.begin(), bucket_hash.end());
  volume::BucketInfo info;
  info.size_bytes = uint64_t{64} << 30;
  env->fake_chain->SetBucket(bucket, info);
  env->options.state_dir = config.state_dir;
  env->options.bucket_id = bucket;
  env->options.read_cache_bytes = config.cache_bytes;
  env->options.upload_while_writing = config.upload_while_writing;
  int k = std::max(1, std::min(4, config.farmers - 2));
  int m = std::max(1, std::min(2, config.farmers - k));
  env->options.params.data_shards = k;
  env->options.params.parity_shards = m;
  GNR_ASSIGN_OR_RETURN(codec::RootKey root, TestModeRootKey(config.state_dir));
  GNR_ASSIGN_OR_RETURN(env->env.bucket_key, codec::DeriveBucketKey(root, bucket));
  env->env.network = env->fake_network.get();
  env->env.chain = env->fake_chain.get();
  env->env.clock = &SystemClockInstance();
  env->env.random = &crypto::OsRandom();
  return env;
}

int ExitCodeForDriveEnv(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
      return kExitNoInput;
    case absl::StatusCode::kPermissionDenied:
      return kExitNoPerm;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    default:
      return kExitConfig;
  }
}

}  // namespace gnr::tools
