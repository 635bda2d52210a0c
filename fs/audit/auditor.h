#pragma once
// The Auditor (DESIGN.md section 4): for each confirmed block, plan -> challenge with a
// deadline -> verify -> record -> policy.
//
// RunOnce(block):
//   1. targets: the acked placements of committed sharded versions in the catalog, with
//      their sentinel budget (manifest + used-groups bitmap) and last audited block;
//   2. PlanBlock (planner.h) picks the challenges;
//   3. each challenge is made concrete with the file key (from `keys`) and sent through the
//      AuditNetwork, all at once, each with `options.deadline`;
//   4. answers are verified (verify.h) into Verdicts; a challenge whose callback has not
//      come 2 * deadline + 1 s after sending counts as missed (a safety net behind the
//      network's own deadline; a later callback is ignored);
//   5. in ONE catalog transaction: every verdict is recorded (its `detail` is a JSON object:
//      why, positions, mismatches), revealed groups are marked used, the per-shard state is
//      updated by the policy (policy.h), and shards that became bad get PlacementState::kBad
//      (the repairer's work list) while their farmer's record becomes kBad (wrong answer) or
//      kSuspect (missed deadlines).
// A block not newer than the last one audited is ignored (the beacon emits each block once;
// this also makes a restart that replays blocks harmless).
//
// Thread-safety: RunOnce calls are serialised by an internal mutex; the catalog, network
// and key provider must outlive the Auditor and be usable from the calling thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "fs/audit/audit_network.h"
#include "fs/audit/planner.h"
#include "fs/audit/policy.h"
#include "fs/audit/types.h"
#include "fs/catalog/catalog.h"

namespace gnr::audit {

// The file key of a version (derived by the composition root from the wallet: root ->
// bucket key -> file key with the version's nonce). Called from the auditing thread.
using FileKeyProvider = std::function<absl::StatusOr<codec::FileKey>(const catalog::Version&)>;

struct AuditorOptions {
  PlanOptions plan;
  PolicyOptions policy;
  // How long a farmer has to answer one challenge.
  absl::Duration deadline = absl::Seconds(10);
  // Most placements considered per block.
  size_t max_targets = 1'000'000;
};

// What one round did.
struct AuditRound {
  Block block;
  size_t targets = 0;
  std::vector<Verdict> verdicts;
  std::vector<catalog::VerdictId> verdict_ids;     // same order as verdicts
  std::vector<catalog::PlacementId> became_bad;    // marked kBad in this round
  std::vector<catalog::PlacementId> retag_needed;  // sentinel budget now low
  std::vector<FarmerId> farmers_cleared;           // suspect farmers that passed again: now active
  std::vector<std::string> skipped;                // planned challenges that could not be made
};

// Maps an audit result to the catalog's and back.
catalog::AuditResult ToCatalogResult(VerdictResult result);
VerdictResult FromCatalogResult(catalog::AuditResult result);

// The JSON object stored as a verdict's detail: {"why":..,"positions":[..],
// "mismatches":[{"offset":..,"expected":"hex","received":"hex"}]}.
std::string VerdictDetailJson(const Verdict& verdict);

class Auditor {
 public:
  Auditor(catalog::Catalog& catalog, AuditNetwork& network, FileKeyProvider keys, Clock& clock,
          AuditorOptions options = {});

  // One round for `block` (see the file comment). Errors: catalog failures (nothing is
  // recorded then), InvalidArgument for bad options. Failures of single targets (no file
  // key, a placement that disagrees with its manifest) skip that target and are listed in
  // AuditRound::skipped; placements of versions whose manifest does not decode are not
  // considered at all.
  absl::StatusOr<AuditRound> RunOnce(const Block& block);

  // Challenges the given placements in `block` whether due or not (`gnr audit --file`),
  // still at most one challenge per placement, and records like RunOnce.
  absl::StatusOr<AuditRound> AuditPlacements(const Block& block,
                                             std::span<const catalog::PlacementId> placements);

  // The last block RunOnce audited (nullopt before the first).
  std::optional<uint64_t> last_block() const;

 private:
  struct Target;
  absl::StatusOr<std::vector<Target>> LoadTargets(std::span<const catalog::Placement> placements);
  absl::StatusOr<AuditRound> Run(const Block& block, std::vector<Target> targets, bool force)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  catalog::Catalog& catalog_;
  AuditNetwork& network_;
  FileKeyProvider keys_;
  Clock& clock_;
  const AuditorOptions options_;
  mutable absl::Mutex mu_;
  std::optional<uint64_t> last_block_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gnr::audit
