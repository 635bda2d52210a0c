#pragma once
// Reporting verdicts on chain (DESIGN.md section 6; StorageMarket.recordAudits), batched so
// it costs little gas: the catalog's unreported verdicts are summed per farmer into
// chain::AuditEntry {node id, passed, failed} and sent in one transaction (of up to
// chain::kMaxAuditBatch farmers each; StorageMarket::RecordAudits splits longer lists)
// when at least `min_verdicts` are waiting or `max_blocks` blocks passed since the last
// report. The contract adds the counts to the farmer's audit record, which the heft oracle
// reads (heft itself is set by SyncHeft, as the contract defines).
//
// Counting: pass -> passed; wrong and missed -> failed; unreachable verdicts are not
// counted on chain (the fault may be ours: our network, a DHT that cannot resolve), but they
// are marked reported with the batch so they are not reconsidered.
//
// Thread-safety: not thread-safe; one thread (the auditor's) owns a ChainReporter.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "fs/catalog/catalog.h"

namespace gnr::audit {

// Where batches go: the chain in production, a recorder in tests.
class AuditReportSink {
 public:
  virtual ~AuditReportSink() = default;
  // Records the entries (non-empty, each counting something). Errors are returned as is;
  // on error nothing is marked reported (a partial landing is reported again: the contract
  // only adds, so a farmer may get counted twice in that rare case).
  virtual absl::Status Record(std::span<const chain::AuditEntry> entries) = 0;
};

// The production sink: StorageMarket::RecordAudits signed by `sender` (the bucket owner).
class MarketReportSink final : public AuditReportSink {
 public:
  MarketReportSink(const chain::StorageMarket& market, chain::TxSender& sender)
      : market_(market), sender_(sender) {}
  absl::Status Record(std::span<const chain::AuditEntry> entries) override;

 private:
  const chain::StorageMarket& market_;
  chain::TxSender& sender_;
};

struct ReporterOptions {
  size_t min_verdicts = 64;    // report once this many verdicts wait...
  uint64_t max_blocks = 40;    // ...or this many blocks passed since the last report
  size_t max_verdicts = 4096;  // most verdicts summed into one report
};

// Sums verdicts per farmer (see the file comment); farmers with nothing countable are left
// out. Sorted by node id.
std::vector<chain::AuditEntry> SummariseVerdicts(std::span<const catalog::Verdict> verdicts);

class ChainReporter {
 public:
  ChainReporter(catalog::Catalog& catalog, AuditReportSink& sink, ReporterOptions options = {});

  // Called after each audited block: reports if a threshold is reached. Returns the number
  // of verdicts reported (0 if it waited).
  absl::StatusOr<size_t> MaybeReport(uint64_t block_number);
  // Reports every waiting verdict now (in batches of max_verdicts).
  absl::StatusOr<size_t> ReportNow();

 private:
  absl::StatusOr<size_t> ReportBatch();

  catalog::Catalog& catalog_;
  AuditReportSink& sink_;
  const ReporterOptions options_;
  std::optional<uint64_t> last_report_block_;
};

}  // namespace gnr::audit
