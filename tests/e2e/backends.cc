#include "tests/e2e/backends.h"

#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/status.h"
#include "crypto/random.h"
#include "fs/codec/keys.h"
#include "tests/e2e/memory_volume.h"
#include "tests/e2e/test_mount.h"
#include "tests/fakes/fake_chain.h"
#include "tests/fakes/fake_shard_network.h"
#include "tests/integration/loopback_network.h"
#include "tools/drive_env.h"

namespace gnr::e2e {
namespace {

// kNetwork's loopback network, shared by every TestVolume of the process. A failed start is
// remembered, so the following tests fail at once with the same message.
struct SharedNetworkState {
  std::unique_ptr<integration::LoopbackNetwork> network;
  absl::Status failure = absl::OkStatus();
};

SharedNetworkState& Shared() {
  // Never destroyed: StopSharedNetwork() (a gtest Environment, and atexit) stops it.
  static SharedNetworkState* state = new SharedNetworkState();
  return *state;
}

absl::StatusOr<integration::LoopbackNetwork*> SharedNetwork() {
  SharedNetworkState& s = Shared();
  if (s.network != nullptr) return s.network.get();
  if (!s.failure.ok()) return s.failure;
  const absl::Time start = absl::Now();
  integration::LoopbackNetworkOptions options;
  options.tag = "e2e_network";
  absl::StatusOr<std::unique_ptr<integration::LoopbackNetwork>> network =
      integration::LoopbackNetwork::Start(options);
  if (!network.ok()) {
    s.failure = Annotate(network.status(), "starting the loopback network (anvil + 6 farmers)");
    return s.failure;
  }
  s.network = *std::move(network);
  static bool registered = false;
  if (!registered) {
    registered = true;
    std::atexit(StopSharedNetwork);
  }
  std::printf("e2e: loopback network (anvil + %d farmers) up in %.1f s in %s\n",
              s.network->farmer_count(), absl::ToDoubleSeconds(absl::Now() - start),
              s.network->dir().c_str());
  return s.network.get();
}

// Forwards to the real network and counts the shard range reads (so a test can tell that
// bytes came from the farmers, not from a cache).
class CountingShardNetwork final : public volume::ShardNetwork {
 public:
  explicit CountingShardNetwork(volume::ShardNetwork& inner) : inner_(inner) {}

  uint64_t gets() const { return gets_.load(std::memory_order_relaxed); }

  absl::StatusOr<std::vector<volume::FarmerContact>> ChooseFarmers(
      ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
      std::span<const volume::FarmerId> exclude) override {
    return inner_.ChooseFarmers(bucket_id, placement_key, count, exclude);
  }
  void PutShard(const volume::FarmerContact& farmer, volume::PutShardRequest request,
                volume::PutShardCallback done) override {
    inner_.PutShard(farmer, std::move(request), std::move(done));
  }
  void GetShardRange(const volume::FarmerContact& farmer, ByteView bucket_id,
                     const codec::StoredRangeRequest& request,
                     volume::GetRangeCallback done) override {
    gets_.fetch_add(1, std::memory_order_relaxed);
    inner_.GetShardRange(farmer, bucket_id, request, std::move(done));
  }
  void DeleteShard(const volume::FarmerContact& farmer, ByteView bucket_id,
                   const codec::ShardId& shard_id, volume::DoneCallback done) override {
    inner_.DeleteShard(farmer, bucket_id, shard_id, std::move(done));
  }
  void ReportFarmer(const volume::FarmerId& farmer, volume::FarmerOp op, absl::Duration latency,
                    const absl::Status& result) override {
    inner_.ReportFarmer(farmer, op, latency, result);
  }

 private:
  volume::ShardNetwork& inner_;
  std::atomic<uint64_t> gets_{0};
};

}  // namespace

void StopSharedNetwork() {
  SharedNetworkState& s = Shared();
  s.network.reset();
  s.failure = absl::OkStatus();
}

struct TestVolume::Env {
  std::string state_dir;
  // kVolume.
  std::unique_ptr<fakes::FakeShardNetwork> fake_network;
  fakes::FakeChain fake_chain;
  // kNetwork: the chain and network clients as `gnr mount` builds them.
  std::unique_ptr<tools::DriveEnv> drive;
  std::unique_ptr<CountingShardNetwork> counting_network;  // over drive->network

  volume::VolumeOptions options;
  volume::VolumeEnv env;

  ~Env() {
    counting_network.reset();
    drive.reset();
    if (!state_dir.empty()) RemoveTree(state_dir);
  }
};

std::string BackendName(Backend backend) {
  switch (backend) {
    case Backend::kMemory:
      return "memory";
    case Backend::kVolume:
      return "volume";
    case Backend::kNetwork:
      return "network";
  }
  return "unknown";
}

double IntegrationScale() {
  const char* s = std::getenv("GNR_INTEGRATION_SCALE");
  const double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 && v <= 1 ? v : 1.0;
}

absl::StatusOr<std::unique_ptr<TestVolume>> TestVolume::Create(Backend backend) {
  std::unique_ptr<TestVolume> tv(new TestVolume());
  tv->backend_ = backend;
  if (backend == Backend::kMemory) {
    tv->volume_ = std::make_unique<MemoryVolume>();
    return tv;
  }
  tv->env_ = std::make_unique<Env>();
  Env& e = *tv->env_;
  if (backend == Backend::kNetwork) {
    GNR_ASSIGN_OR_RETURN(integration::LoopbackNetwork * network, SharedNetwork());
    // Inside the network's directory: removed with it even if this process is killed.
    std::string pattern = network->Sub("state-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
    }
    e.state_dir = pattern;
    tools::DriveConfig config;
    config.state_dir = e.state_dir;
    config.rpc_url = network->rpc_url();
    config.contract = network->contract();
    config.wallet_key = network->wallet_key();
    // A bucket of its own: a fresh bucket key, and used space that starts at zero.
    GNR_ASSIGN_OR_RETURN(config.bucket_hex, network->BuyBucket(/*size_gb=*/1));
    config.bootstrap = {network->bootstrap_seed()};
    config.data_shards = 4;
    config.parity_shards = 2;
    GNR_ASSIGN_OR_RETURN(e.drive, tools::AssembleDriveEnv(config));
    e.options = e.drive->options;
    e.env = e.drive->env;
    e.counting_network = std::make_unique<CountingShardNetwork>(*e.drive->network);
    e.env.network = e.counting_network.get();
  } else {
    GNR_ASSIGN_OR_RETURN(e.state_dir, MakeTempDir("state"));
    e.fake_network = std::make_unique<fakes::FakeShardNetwork>(6);
    const Bytes bucket(32, 0xb1);
    volume::BucketInfo info;
    info.size_bytes = uint64_t{1} << 30;
    e.fake_chain.SetBucket(bucket, info);
    e.options.state_dir = e.state_dir;
    e.options.bucket_id = bucket;
    codec::RootKey root{};
    root.fill(0x42);
    GNR_ASSIGN_OR_RETURN(codec::BucketKey bucket_key, codec::DeriveBucketKey(root, bucket));
    e.env.network = e.fake_network.get();
    e.env.chain = &e.fake_chain;
    e.env.clock = &SystemClockInstance();
    e.env.random = &crypto::OsRandom();
    e.env.bucket_key = bucket_key;
  }
  // Small segments so modest test files span several of them.
  e.options.params.segment_size = 1 << 20;
  e.options.upload_delay = absl::Milliseconds(50);
  GNR_ASSIGN_OR_RETURN(tv->volume_, volume::Volume::Open(e.options, e.env));
  return tv;
}

TestVolume::~TestVolume() { volume_.reset(); }

fakes::FakeShardNetwork* TestVolume::network() {
  return env_ != nullptr ? env_->fake_network.get() : nullptr;
}

uint64_t TestVolume::ShardGets() const {
  if (env_ == nullptr) return 0;
  if (env_->fake_network != nullptr) return env_->fake_network->counters().gets;
  return env_->counting_network != nullptr ? env_->counting_network->gets() : 0;
}

absl::Status TestVolume::Reopen(bool drop_cache) {
  if (backend_ == Backend::kMemory) return absl::OkStatus();
  GNR_RETURN_IF_ERROR(volume_->WaitForUploads(absl::Seconds(60)));
  volume_.reset();
  if (drop_cache) RemoveTree(absl::StrCat(env_->state_dir, "/cache"));
  GNR_ASSIGN_OR_RETURN(volume_, volume::Volume::Open(env_->options, env_->env));
  return absl::OkStatus();
}

}  // namespace gnr::e2e
