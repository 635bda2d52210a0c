#include "fs/audit/audit_loop.h"

#include "common/log.h"

namespace gnr::audit {

BlockSource BeaconBlockSource(chain::Beacon& beacon) {
  return [&beacon]() -> absl::StatusOr<std::vector<Block>> {
    absl::StatusOr<std::vector<chain::ConfirmedBlock>> blocks = beacon.Tick();
    if (!blocks.ok()) return blocks.status();
    std::vector<Block> out;
    out.reserve(blocks->size());
    for (const chain::ConfirmedBlock& b : *blocks) out.push_back({b.number, b.hash});
    return out;
  };
}

AuditLoop::AuditLoop(Auditor& auditor, Repairer* repairer, ChainReporter* reporter,
                     BlockSource source, AuditLoopOptions options)
    : auditor_(auditor),
      repairer_(repairer),
      reporter_(reporter),
      source_(std::move(source)),
      options_(options) {}

AuditLoop::~AuditLoop() { Stop(); }

void AuditLoop::Start() {
  if (thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void AuditLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

AuditLoopStats AuditLoop::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void AuditLoop::Run() {
  while (true) {
    Step();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.poll_interval)) return;
  }
}

void AuditLoop::Step() {
  absl::StatusOr<std::vector<Block>> blocks = source_();
  if (!blocks.ok()) {
    GNR_LOG(kWarning) << "audit: block source: " << blocks.status().message();
    absl::MutexLock lock(&mu_);
    ++stats_.errors;
    return;
  }
  for (const Block& b : *blocks) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    HandleBlock(b);
  }
}

void AuditLoop::HandleBlock(const Block& block) {
  absl::StatusOr<AuditRound> round = auditor_.RunOnce(block);
  uint64_t not_passed = 0;
  if (round.ok()) {
    for (const Verdict& v : round->verdicts) {
      if (v.result != VerdictResult::kPass) {
        ++not_passed;
        GNR_LOG(kInfo) << "audit: " << DescribeVerdict(v);
      }
    }
  } else {
    GNR_LOG(kWarning) << "audit: block " << block.number << ": " << round.status().message();
  }
  uint64_t repairs = 0, repair_failures = 0, retags = 0, retag_failures = 0;
  ++since_repair_;
  if (repairer_ != nullptr &&
      ((round.ok() && (!round->became_bad.empty() || !round->retag_needed.empty())) ||
       since_repair_ >= options_.repair_every)) {
    since_repair_ = 0;
    for (const absl::StatusOr<RepairResult>& r : repairer_->RepairAll()) {
      if (r.ok()) {
        ++repairs;
      } else {
        ++repair_failures;
        GNR_LOG(kWarning) << "audit: repair failed: " << r.status().message();
      }
    }
    // One line per sweep: on a network short of farmers the same shards fail every time.
    uint64_t unplaced = 0;
    absl::Status first_error;
    for (const absl::StatusOr<RepairResult>& r :
         repairer_->FillMissingShards(options_.fill_missing_after)) {
      if (r.ok()) {
        ++repairs;
      } else {
        ++repair_failures;
        if (unplaced++ == 0) first_error = r.status();
      }
    }
    if (unplaced > 0) {
      GNR_LOG(kWarning) << "audit: " << unplaced
                        << " shard(s) that no farmer acknowledged are still unplaced (first: "
                        << first_error.message() << "); retried every " << options_.repair_every
                        << " blocks";
    }
    for (const absl::StatusOr<RepairResult>& r : repairer_->RetagAll()) {
      if (r.ok()) {
        ++retags;
      } else {
        ++retag_failures;
        GNR_LOG(kWarning) << "audit: re-tag failed: " << r.status().message();
      }
    }
  }
  bool report_error = false;
  if (reporter_ != nullptr) {
    absl::StatusOr<size_t> reported = reporter_->MaybeReport(block.number);
    if (!reported.ok()) {
      report_error = true;
      GNR_LOG(kWarning) << "audit: chain report: " << reported.status().message();
    }
  }
  absl::MutexLock lock(&mu_);
  ++stats_.blocks;
  stats_.last_block = block.number;
  if (round.ok()) stats_.verdicts += round->verdicts.size();
  stats_.not_passed += not_passed;
  stats_.repairs += repairs;
  stats_.repair_failures += repair_failures;
  stats_.retags += retags;
  stats_.retag_failures += retag_failures;
  if (!round.ok()) ++stats_.errors;
  if (report_error) ++stats_.errors;
}

}  // namespace gnr::audit
