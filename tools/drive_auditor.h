#pragma once
// The mount daemon's background auditor (DESIGN.md section 4; issue #7): the composition of
// fs/audit's parts on a real-network DriveEnv, sharing the mounted Volume's catalog.
//
//   confirmed blocks: chain::Beacon (light client over the drive's RPC, `confirmations` deep)
//   challenges:       audit::ShardAuditNetwork (the drive's ShardClient + Host)
//   verdicts/policy:  audit::Auditor on the Volume's catalog
//   repairs:          audit::Repairer over the drive's NetShardNetwork
//   chain reports:    audit::ChainReporter -> StorageMarket.recordAudits, signed by the wallet
//   thread:           audit::AuditLoop
//
// After a repair moved shards the Volume's cached placements are dropped (they are reloaded
// from the catalog at the next read).
//
// Thread-safety: Start and destruction from one thread; stats() from any. The DriveEnv and
// the Volume must outlive the DriveAuditor (destroy it first).

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "chain-client/beacon.h"
#include "chain-client/light_client.h"
#include "chain-client/tx_sender.h"
#include "fs/audit/audit_loop.h"
#include "fs/audit/auditor.h"
#include "fs/audit/chain_reporter.h"
#include "fs/audit/repairer.h"
#include "fs/audit/shard_audit_network.h"
#include "fs/volume/volume.h"
#include "tools/drive_env.h"

namespace gnr::tools {

struct DriveAuditorOptions {
  // Blocks a block hash must be buried under before it seeds challenges.
  uint64_t confirmations = 2;
  // Every shard is challenged at least once per this many blocks.
  uint64_t period_blocks = 240;
  // Report verdicts to the StorageMarket (costs gas; needs a funded wallet that owns a bucket).
  bool report_to_chain = true;
};

class DriveAuditor {
 public:
  // FailedPrecondition for a TEST MODE drive (no chain to seed challenges) or a Volume
  // without a catalog.
  static absl::StatusOr<std::unique_ptr<DriveAuditor>> Start(DriveEnv& env, volume::Volume& volume,
                                                             DriveAuditorOptions options);
  ~DriveAuditor();  // stops the loop
  DriveAuditor(const DriveAuditor&) = delete;
  DriveAuditor& operator=(const DriveAuditor&) = delete;

  audit::AuditLoopStats stats() const { return loop_->stats(); }

 private:
  DriveAuditor() = default;

  std::unique_ptr<chain::LightClient> light_;
  std::unique_ptr<chain::Beacon> beacon_;
  std::unique_ptr<audit::ShardAuditNetwork> network_;
  std::unique_ptr<audit::Auditor> auditor_;
  std::unique_ptr<audit::Repairer> repairer_;
  std::unique_ptr<chain::NonceManager> nonces_;
  std::unique_ptr<chain::TxSender> sender_;
  std::unique_ptr<audit::MarketReportSink> sink_;
  std::unique_ptr<audit::ChainReporter> reporter_;
  std::unique_ptr<audit::AuditLoop> loop_;
};

}  // namespace gnr::tools
