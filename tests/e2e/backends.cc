#include "tests/e2e/backends.h"

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "crypto/random.h"
#include "fs/codec/keys.h"
#include "tests/e2e/memory_volume.h"
#include "tests/e2e/test_mount.h"
#include "tests/fakes/fake_chain.h"
#include "tests/fakes/fake_shard_network.h"

namespace gnr::e2e {

struct TestVolume::Env {
  std::string state_dir;
  fakes::FakeShardNetwork network{6};
  fakes::FakeChain chain;

  volume::VolumeOptions options;
  volume::VolumeEnv env;

  ~Env() {
    if (!state_dir.empty()) RemoveTree(state_dir);
  }
};

std::string BackendName(Backend backend) {
  return backend == Backend::kMemory ? "memory" : "volume";
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
  GNR_ASSIGN_OR_RETURN(e.state_dir, MakeTempDir("state"));
  const Bytes bucket(32, 0xb1);
  volume::BucketInfo info;
  info.size_bytes = uint64_t{1} << 30;
  e.chain.SetBucket(bucket, info);
  e.options.state_dir = e.state_dir;
  e.options.bucket_id = bucket;
  // Small segments so modest test files span several of them.
  e.options.params.segment_size = 1 << 20;
  e.options.upload_delay = absl::Milliseconds(50);
  codec::RootKey root{};
  root.fill(0x42);
  GNR_ASSIGN_OR_RETURN(codec::BucketKey bucket_key, codec::DeriveBucketKey(root, bucket));
  e.env.network = &e.network;
  e.env.chain = &e.chain;
  e.env.clock = &SystemClockInstance();
  e.env.random = &crypto::OsRandom();
  e.env.bucket_key = bucket_key;
  GNR_ASSIGN_OR_RETURN(tv->volume_, volume::Volume::Open(e.options, e.env));
  return tv;
}

TestVolume::~TestVolume() { volume_.reset(); }

fakes::FakeShardNetwork* TestVolume::network() {
  return env_ != nullptr ? &env_->network : nullptr;
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
