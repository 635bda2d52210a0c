#pragma once
// The Volumes the end-to-end tests mount.
//
//   kMemory: MemoryVolume (memory_volume.h), the reference model: isolates the FUSE adapter.
//   kVolume: the real fs/volume Volume on a state directory, over the in-memory fake shard
//            network (tests/fakes: 6 farmers, RS(4, 2)) and a fake chain with a 1 GiB
//            bucket. It persists: Reopen() closes it and opens the same state directory.
//   kNetwork: the real Volume as `gnr mount` builds it (tools::AssembleDriveEnv: MarketChain
//            over the StorageMarket contract, NetShardNetwork over a client Host) on the
//            real loopback network (tests/integration/loopback_network.h: anvil + 6
//            `gnr farmer run` daemons checking payments), RS(4, 2), 1 MiB segments. The
//            network is started once per test process, the first time a kNetwork volume is
//            created, and stopped at exit; each TestVolume buys its own bucket on it and has
//            its own state directory. Reopen() works as for kVolume.
//
// Not thread-safe; one owner.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fs/volume/volume.h"

namespace gnr::fakes {
class FakeShardNetwork;
}  // namespace gnr::fakes

namespace gnr::e2e {

enum class Backend { kMemory, kVolume, kNetwork };

// "memory", "volume", "network" (for test names).
std::string BackendName(Backend backend);

// The backends this test binary instantiates its suites with. Each test executable links
// exactly one definition: backends_local.cc ({kMemory, kVolume}: fuse_e2e_test) or
// backends_network.cc ({kNetwork}: fuse_e2e_network_test, which also stops the shared
// network after the last test).
std::vector<Backend> BackendsUnderTest();

// GNR_INTEGRATION_SCALE (0.25 under ASan: scripts/test --sanitize), else 1: multiply the
// sizes of big test files by it.
double IntegrationScale();

// kNetwork's shared loopback network: stops it now if it runs (idempotent; a later
// kNetwork TestVolume would start a new one).
void StopSharedNetwork();

class TestVolume {
 public:
  static absl::StatusOr<std::unique_ptr<TestVolume>> Create(Backend backend);
  ~TestVolume();

  volume::Volume& volume() { return *volume_; }
  Backend backend() const { return backend_; }
  // The in-memory farmers of kVolume (nullptr for kMemory and kNetwork: tests that inject
  // faults into the fake farmers run on kVolume only).
  fakes::FakeShardNetwork* network();
  // Shard range reads sent to the farmers so far (kVolume, kNetwork; 0 for kMemory).
  uint64_t ShardGets() const;

  // kVolume, kNetwork: waits for uploads, destroys the Volume and opens a new one on the same
  // state directory and network (so reads must come from the farmers, not a cache, when
  // `drop_cache`). kMemory: keeps the same object.
  absl::Status Reopen(bool drop_cache = true);

 private:
  struct Env;
  TestVolume() = default;

  Backend backend_ = Backend::kMemory;
  std::unique_ptr<Env> env_;
  std::unique_ptr<volume::Volume> volume_;
};

}  // namespace gnr::e2e
