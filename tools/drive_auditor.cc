#include "tools/drive_auditor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/log.h"
#include "fs/codec/keys.h"

namespace gnr::tools {

absl::StatusOr<std::unique_ptr<DriveAuditor>> DriveAuditor::Start(DriveEnv& env,
                                                                  volume::Volume& volume,
                                                                  DriveAuditorOptions options) {
  if (env.chain.eth == nullptr || !env.market.has_value() || env.client == nullptr ||
      env.host == nullptr || env.network == nullptr) {
    return absl::FailedPreconditionError(
        "the auditor needs the real network and chain (block hashes seed its challenges); "
        "a TEST MODE drive has neither");
  }
  catalog::Catalog* catalog = volume.catalog();
  if (catalog == nullptr) return absl::FailedPreconditionError("this volume has no catalog");

  std::unique_ptr<DriveAuditor> a(new DriveAuditor());
  Clock& clock = SystemClockInstance();
  a->light_ = std::make_unique<chain::LightClient>(*env.chain.eth);
  a->beacon_ = std::make_unique<chain::Beacon>(
      *a->light_, chain::BeaconOptions{.confirmations = options.confirmations});
  const Bytes bucket = env.options.bucket_id;
  const codec::BucketKey bucket_key = env.env.bucket_key;
  audit::FileKeyProvider keys =
      [bucket, bucket_key](const catalog::Version& v) -> absl::StatusOr<codec::FileKey> {
    if (v.bucket_id != bucket) {
      return absl::FailedPreconditionError(
          "version is in another bucket than the mounted one; its key is not at hand");
    }
    return codec::DeriveFileKey(bucket_key, v.nonce);
  };
  a->network_ = std::make_unique<audit::ShardAuditNetwork>(*env.client, *env.host, clock);
  audit::AuditorOptions auditor_options;
  auditor_options.plan.period_blocks = options.period_blocks;
  a->auditor_ =
      std::make_unique<audit::Auditor>(*catalog, *a->network_, keys, clock, auditor_options);
  a->repairer_ = std::make_unique<audit::Repairer>(*catalog, *env.network, keys, clock);
  if (options.report_to_chain && env.wallet_key.has_value()) {
    a->nonces_ = std::make_unique<chain::NonceManager>(*env.chain.eth);
    absl::StatusOr<std::unique_ptr<chain::TxSender>> sender =
        chain::TxSender::Create(*env.chain.eth, *a->nonces_, *env.wallet_key, clock);
    if (sender.ok()) {
      a->sender_ = *std::move(sender);
      a->sink_ = std::make_unique<audit::MarketReportSink>(*env.market, *a->sender_);
      a->reporter_ = std::make_unique<audit::ChainReporter>(*catalog, *a->sink_);
    } else {
      GNR_LOG(kWarning) << "auditor: verdicts are kept in the catalog but not reported on "
                           "chain: "
                        << sender.status();
    }
  }
  // The loop calls the source on its own thread before each batch: a good moment to drop
  // the Volume's cached placements when the previous batch repaired something.
  audit::BlockSource beacon_source = audit::BeaconBlockSource(*a->beacon_);
  DriveAuditor* self = a.get();
  auto repairs_seen = std::make_shared<uint64_t>(0);
  audit::BlockSource source = [self, &volume, beacon_source,
                               repairs_seen]() -> absl::StatusOr<std::vector<audit::Block>> {
    if (self->loop_ != nullptr) {
      const uint64_t repairs = self->loop_->stats().repairs;
      if (repairs != *repairs_seen) {
        *repairs_seen = repairs;
        volume.DropCachedContent();
      }
    }
    return beacon_source();
  };
  a->loop_ = std::make_unique<audit::AuditLoop>(*a->auditor_, a->repairer_.get(),
                                                a->reporter_.get(), std::move(source));
  a->loop_->Start();
  GNR_LOG(kInfo) << "auditor: started (confirmations " << options.confirmations
                 << ", every shard at least once per " << options.period_blocks << " blocks"
                 << (a->reporter_ != nullptr ? ", verdicts reported on chain" : "") << ")";
  return a;
}

DriveAuditor::~DriveAuditor() {
  if (loop_ != nullptr) loop_->Stop();
}

}  // namespace gnr::tools
