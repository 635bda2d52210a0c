#pragma once
// The background auditor of a client process (DESIGN.md section 4): one thread that takes
// confirmed blocks from a block source (the chain client's Beacon in production) and, for
// each, runs Auditor::RunOnce, then Repairer::RepairAll, FillMissingShards and RetagAll when
// shards went bad or their sentinel budget ran low (and every `repair_every` blocks, for
// shards that failed to repair or re-tag earlier and for shards that no farmer ever
// acknowledged), then ChainReporter::MaybeReport. Errors of one block are
// counted and logged; the loop goes on.
//
// Thread-safety: Start/Stop from the owning thread; stats() from any thread. The auditor,
// repairer, reporter (optional: null) and block source must outlive the loop; the source is
// only called from the loop thread (so a Beacon, which is not thread-safe, fits).
//
//   chain::Beacon beacon(light, {.confirmations = 6});
//   AuditLoop loop(auditor, &repairer, &reporter, BeaconBlockSource(beacon));
//   loop.Start();   ...   loop.Stop();

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain-client/beacon.h"
#include "fs/audit/auditor.h"
#include "fs/audit/chain_reporter.h"
#include "fs/audit/repairer.h"

namespace gnr::audit {

// Newly confirmed blocks, in order (often none). Errors are retried after the poll interval.
using BlockSource = std::function<absl::StatusOr<std::vector<Block>>()>;

// Adapts a Beacon (its Tick) as a BlockSource. The beacon must outlive the source.
BlockSource BeaconBlockSource(chain::Beacon& beacon);

struct AuditLoopOptions {
  absl::Duration poll_interval = absl::Seconds(1);
  uint64_t repair_every = 10;  // blocks between repair sweeps when nothing new went bad
  // Each sweep also places the shards no farmer ever acknowledged
  // (Repairer::FillMissingShards) of versions committed at least this long ago.
  absl::Duration fill_missing_after = absl::Minutes(10);
};

struct AuditLoopStats {
  uint64_t blocks = 0;
  uint64_t verdicts = 0;
  uint64_t not_passed = 0;
  uint64_t repairs = 0;  // bad or lost shards replaced, and missing ones placed
  uint64_t repair_failures = 0;
  uint64_t retags = 0;  // shards given fresh sentinels (Repairer::RetagAll)
  uint64_t retag_failures = 0;
  uint64_t errors = 0;  // block source, audit or report failures
  std::optional<uint64_t> last_block;
};

class AuditLoop {
 public:
  AuditLoop(Auditor& auditor, Repairer* repairer, ChainReporter* reporter, BlockSource source,
            AuditLoopOptions options = {});
  ~AuditLoop();  // Stop()s
  AuditLoop(const AuditLoop&) = delete;
  AuditLoop& operator=(const AuditLoop&) = delete;

  void Start();
  // Asks the thread to finish after the block in progress and joins it. Idempotent.
  void Stop();

  // Processes one batch of blocks on the calling thread (what the thread does per poll);
  // for tests and `gnr audit --once`. Not while the thread runs.
  void Step();

  AuditLoopStats stats() const;

 private:
  void Run();
  void HandleBlock(const Block& block);

  Auditor& auditor_;
  Repairer* const repairer_;
  ChainReporter* const reporter_;
  BlockSource source_;
  const AuditLoopOptions options_;
  uint64_t since_repair_ = 0;  // loop thread only
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  AuditLoopStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace gnr::audit
