#pragma once
// The Volumes the end-to-end tests mount.
//
//   kMemory: MemoryVolume (memory_volume.h), the reference model: isolates the FUSE adapter.
//   kVolume: the real fs/volume Volume on a state directory, over the in-memory fake shard
//            network (tests/fakes: 6 farmers, RS(4, 2)) and a fake chain with a 1 GiB
//            bucket. It persists: Reopen() closes it and opens the same state directory.
//
// Not thread-safe; one owner.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "fs/volume/volume.h"

namespace gnr::fakes {
class FakeShardNetwork;
}  // namespace gnr::fakes

namespace gnr::e2e {

enum class Backend { kMemory, kVolume };

// "memory", "volume" (for test names).
std::string BackendName(Backend backend);

class TestVolume {
 public:
  static absl::StatusOr<std::unique_ptr<TestVolume>> Create(Backend backend);
  ~TestVolume();

  volume::Volume& volume() { return *volume_; }
  Backend backend() const { return backend_; }
  // The in-memory farmers of kVolume (nullptr for kMemory).
  fakes::FakeShardNetwork* network();

  // kVolume: waits for uploads, destroys the Volume and opens a new one on the same state
  // directory and network (so reads must come from the farmers, not a cache, when
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
