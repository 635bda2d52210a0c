#include "fs/audit/chain_reporter.h"

#include <algorithm>
#include <limits>
#include <map>

#include "common/status.h"

namespace gnr::audit {

absl::Status MarketReportSink::Record(std::span<const chain::AuditEntry> entries) {
  return market_.RecordAudits(sender_, entries).status();
}

std::vector<chain::AuditEntry> SummariseVerdicts(std::span<const catalog::Verdict> verdicts) {
  std::map<chain::NodeId, std::pair<uint64_t, uint64_t>> sums;
  for (const catalog::Verdict& v : verdicts) {
    switch (v.result) {
      case catalog::AuditResult::kPass:
        ++sums[v.farmer].first;
        break;
      case catalog::AuditResult::kFail:
      case catalog::AuditResult::kTimeout:
        ++sums[v.farmer].second;
        break;
      case catalog::AuditResult::kError:
        break;
    }
  }
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  std::vector<chain::AuditEntry> out;
  for (const auto& [farmer, counts] : sums) {
    chain::AuditEntry e;
    e.node_id = farmer;
    e.passed = static_cast<uint32_t>(std::min(counts.first, kMax));
    e.failed = static_cast<uint32_t>(std::min(counts.second, kMax));
    if (e.passed > 0 || e.failed > 0) out.push_back(e);
  }
  return out;
}

ChainReporter::ChainReporter(catalog::Catalog& catalog, AuditReportSink& sink,
                             ReporterOptions options)
    : catalog_(catalog), sink_(sink), options_(options) {}

absl::StatusOr<size_t> ChainReporter::MaybeReport(uint64_t block_number) {
  if (!last_report_block_) last_report_block_ = block_number;
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::Verdict> waiting,
                       catalog_.ListUnreportedVerdicts(options_.min_verdicts));
  if (waiting.empty()) return 0;
  if (waiting.size() < options_.min_verdicts &&
      block_number < *last_report_block_ + options_.max_blocks) {
    return 0;
  }
  GNR_ASSIGN_OR_RETURN(size_t n, ReportNow());
  last_report_block_ = block_number;
  return n;
}

absl::StatusOr<size_t> ChainReporter::ReportNow() {
  size_t total = 0;
  while (true) {
    GNR_ASSIGN_OR_RETURN(size_t n, ReportBatch());
    total += n;
    if (n < options_.max_verdicts) return total;
  }
}

absl::StatusOr<size_t> ChainReporter::ReportBatch() {
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::Verdict> batch,
                       catalog_.ListUnreportedVerdicts(options_.max_verdicts));
  if (batch.empty()) return 0;
  std::vector<chain::AuditEntry> entries = SummariseVerdicts(batch);
  if (!entries.empty()) GNR_RETURN_IF_ERROR(sink_.Record(entries));
  std::vector<catalog::VerdictId> ids;
  ids.reserve(batch.size());
  for (const catalog::Verdict& v : batch) ids.push_back(v.id);
  GNR_RETURN_IF_ERROR(catalog_.MarkVerdictsReported(ids));
  return batch.size();
}

}  // namespace gnr::audit
