#include "fs/audit/auditor.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/merkle.h"
#include "fs/audit/verify.h"
#include "fs/codec/manifest.h"

namespace gnr::audit {

struct Auditor::Target {
  AuditTarget target;
  catalog::Placement placement;
  std::shared_ptr<const catalog::Version> version;
  std::shared_ptr<const codec::FileManifest> manifest;
  catalog::ShardAuditState state;
};

namespace {

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00",
                          HexEncode(ByteView(reinterpret_cast<const uint8_t*>(&c), 1)));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::vector<uint64_t> UsedGroups(ByteView bitmap, uint64_t group_count) {
  std::vector<uint64_t> used;
  for (uint64_t g = 0; g < group_count && g / 8 < bitmap.size(); ++g) {
    if (catalog::GroupUsed(bitmap, static_cast<uint32_t>(g))) used.push_back(g);
  }
  return used;
}

// Collects the answers of one round. Answers that arrive after Close() are dropped (the
// round has been judged without them), so late callbacks never race with the reader.
class Collector {
 public:
  Collector(size_t n, Clock& clock)
      : clock_(clock), pending_(n), answered_(n, false), sentinel_(n), merkle_(n), done_at_(n) {}
  // The clock is read only while the round is open (never by a late callback).
  void SetSentinel(size_t i, absl::StatusOr<std::vector<crypto::Hash256>> a) {
    absl::MutexLock lock(&mu_);
    if (closed_ || answered_[i]) return;
    sentinel_[i] = std::move(a);
    Answered(i);
  }
  void SetMerkle(size_t i, absl::StatusOr<MerkleAnswer> a) {
    absl::MutexLock lock(&mu_);
    if (closed_ || answered_[i]) return;
    merkle_[i] = std::move(a);
    Answered(i);
  }
  // Waits for every answer or `timeout` (real time: a safety net behind the network's own
  // deadlines), then closes: unanswered challenges count as missed at `now`.
  void WaitAndClose(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](size_t* pending) { return *pending == 0; }, &pending_),
                         timeout);
    closed_ = true;
    const absl::Time now = clock_.Now();
    for (size_t i = 0; i < answered_.size(); ++i) {
      if (answered_[i]) continue;
      absl::Status missed = absl::DeadlineExceededError("no answer before the round closed");
      sentinel_[i] = missed;
      merkle_[i] = missed;
      done_at_[i] = now;
    }
  }
  // After WaitAndClose only (nothing writes any more).
  const absl::StatusOr<std::vector<crypto::Hash256>>& sentinel(size_t i) { return sentinel_[i]; }
  const absl::StatusOr<MerkleAnswer>& merkle(size_t i) { return merkle_[i]; }
  absl::Time done_at(size_t i) { return done_at_[i]; }

 private:
  void Answered(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    answered_[i] = true;
    done_at_[i] = clock_.Now();
    --pending_;
  }

  Clock& clock_;
  absl::Mutex mu_;
  size_t pending_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<bool> answered_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::StatusOr<std::vector<crypto::Hash256>>> sentinel_;
  std::vector<absl::StatusOr<MerkleAnswer>> merkle_;
  std::vector<absl::Time> done_at_;
};

}  // namespace

catalog::AuditResult ToCatalogResult(VerdictResult result) {
  switch (result) {
    case VerdictResult::kPass:
      return catalog::AuditResult::kPass;
    case VerdictResult::kWrong:
      return catalog::AuditResult::kFail;
    case VerdictResult::kMissed:
      return catalog::AuditResult::kTimeout;
    case VerdictResult::kUnreachable:
      return catalog::AuditResult::kError;
  }
  return catalog::AuditResult::kError;
}

VerdictResult FromCatalogResult(catalog::AuditResult result) {
  switch (result) {
    case catalog::AuditResult::kPass:
      return VerdictResult::kPass;
    case catalog::AuditResult::kFail:
      return VerdictResult::kWrong;
    case catalog::AuditResult::kTimeout:
      return VerdictResult::kMissed;
    case catalog::AuditResult::kError:
      return VerdictResult::kUnreachable;
  }
  return VerdictResult::kUnreachable;
}

std::string VerdictDetailJson(const Verdict& v) {
  std::string out = absl::StrCat("{\"why\":\"", JsonEscape(v.details), "\",\"positions\":[");
  for (size_t i = 0; i < v.positions.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", v.positions[i]);
  }
  absl::StrAppend(&out, "],\"mismatches\":[");
  for (size_t i = 0; i < v.mismatches.size(); ++i) {
    const SentinelMismatch& m = v.mismatches[i];
    absl::StrAppend(&out, i ? "," : "", "{\"offset\":", m.offset, ",\"expected\":\"",
                    HexEncode(ByteView(m.expected)), "\",\"received\":\"",
                    HexEncode(ByteView(m.received)), "\"}");
  }
  absl::StrAppend(&out, "]}");
  return out;
}

Auditor::Auditor(catalog::Catalog& catalog, AuditNetwork& network, FileKeyProvider keys,
                 Clock& clock, AuditorOptions options)
    : catalog_(catalog),
      network_(network),
      keys_(std::move(keys)),
      clock_(clock),
      options_(std::move(options)) {}

std::optional<uint64_t> Auditor::last_block() const {
  absl::MutexLock lock(&mu_);
  return last_block_;
}

absl::StatusOr<std::vector<Auditor::Target>> Auditor::LoadTargets(
    std::span<const catalog::Placement> placements) {
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::ShardAuditState> states,
                       catalog_.ListShardAuditStates());
  std::map<catalog::PlacementId, catalog::ShardAuditState> state_of;
  for (catalog::ShardAuditState& s : states) state_of[s.placement] = std::move(s);
  std::map<catalog::VersionId, std::pair<std::shared_ptr<const catalog::Version>,
                                         std::shared_ptr<const codec::FileManifest>>>
      versions;
  std::vector<Target> out;
  for (const catalog::Placement& p : placements) {
    auto it = versions.find(p.version);
    if (it == versions.end()) {
      absl::StatusOr<catalog::Version> v = catalog_.GetVersion(p.version);
      if (!v.ok() || v->kind != catalog::VersionKind::kSharded) continue;
      absl::StatusOr<codec::FileManifest> m = codec::DecodeFileManifest(v->manifest);
      if (!m.ok()) continue;
      it = versions
               .emplace(p.version,
                        std::make_pair(std::make_shared<const catalog::Version>(std::move(*v)),
                                       std::make_shared<const codec::FileManifest>(std::move(*m))))
               .first;
    }
    const codec::FileManifest& m = *it->second.second;
    if (p.segment >= m.segments.size() || p.shard_index >= m.segments[p.segment].shards.size() ||
        m.segments[p.segment].shards[p.shard_index].id != p.shard_id) {
      continue;  // a placement of an older generation of the shard
    }
    Target t;
    t.placement = p;
    t.version = it->second.first;
    t.manifest = it->second.second;
    auto st = state_of.find(p.id);
    if (st != state_of.end()) {
      t.state = st->second;
    } else {
      t.state.placement = p.id;
    }
    t.target.placement_id = static_cast<uint64_t>(p.id);
    t.target.shard_id = p.shard_id;
    t.target.farmer = p.farmer;
    t.target.segment = p.segment;
    t.target.shard_index = p.shard_index;
    t.target.sentinel_generation = p.sentinel_generation;
    t.target.group_count = codec::SentinelGroupCount(m, p.segment);
    t.target.leaf_count = crypto::MerkleLeafCount(p.stored_length, m.leaf_size);
    t.target.used_groups = UsedGroups(p.groups_used, t.target.group_count);
    t.target.last_audit_block = t.state.last_audit_block;
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<AuditRound> Auditor::RunOnce(const Block& block) {
  absl::MutexLock lock(&mu_);
  if (last_block_ && block.number <= *last_block_) {
    AuditRound empty;
    empty.block = block;
    return empty;
  }
  GNR_ASSIGN_OR_RETURN(
      std::vector<catalog::Placement> placements,
      catalog_.ListPlacementsDueForAudit(absl::InfiniteFuture(), options_.max_targets));
  GNR_ASSIGN_OR_RETURN(std::vector<Target> targets, LoadTargets(placements));
  GNR_ASSIGN_OR_RETURN(AuditRound round, Run(block, std::move(targets), /*force=*/false));
  last_block_ = block.number;
  return round;
}

absl::StatusOr<AuditRound> Auditor::AuditPlacements(const Block& block,
                                                    std::span<const catalog::PlacementId> ids) {
  absl::MutexLock lock(&mu_);
  std::vector<catalog::Placement> placements;
  for (catalog::PlacementId id : ids) {
    GNR_ASSIGN_OR_RETURN(catalog::Placement p, catalog_.GetPlacement(id));
    placements.push_back(std::move(p));
  }
  GNR_ASSIGN_OR_RETURN(std::vector<Target> targets, LoadTargets(placements));
  return Run(block, std::move(targets), /*force=*/true);
}

absl::StatusOr<AuditRound> Auditor::Run(const Block& block, std::vector<Target> targets,
                                        bool force) {
  GNR_RETURN_IF_ERROR(ValidatePlanOptions(options_.plan));
  AuditRound round;
  round.block = block;
  round.targets = targets.size();
  std::vector<AuditTarget> plain;
  plain.reserve(targets.size());
  for (const Target& t : targets) plain.push_back(t.target);
  std::vector<PlannedChallenge> plan;
  if (force) {
    for (size_t i = 0; i < plain.size(); ++i) {
      absl::StatusOr<PlannedChallenge> c = ChooseChallenge(options_.plan, block, plain[i], i);
      if (c.ok()) plan.push_back(*c);
    }
  } else {
    GNR_ASSIGN_OR_RETURN(plan, PlanBlock(options_.plan, block, plain));
  }

  // Make the challenges (file keys cached per version).
  std::map<catalog::VersionId, absl::StatusOr<codec::FileKey>> keys;
  std::vector<Challenge> challenges;
  std::vector<size_t> owner;  // target index per challenge
  for (const PlannedChallenge& pc : plan) {
    const Target& t = targets[pc.target];
    auto k = keys.find(t.placement.version);
    if (k == keys.end()) k = keys.emplace(t.placement.version, keys_(*t.version)).first;
    if (!k->second.ok()) {
      round.skipped.push_back(absl::StrCat("placement ", t.placement.id,
                                           ": no file key: ", k->second.status().message()));
      continue;
    }
    absl::StatusOr<Challenge> c = MakeChallenge(block, t.target, pc, *t.manifest, *k->second);
    if (!c.ok()) {
      round.skipped.push_back(
          absl::StrCat("placement ", t.placement.id, ": ", c.status().message()));
      continue;
    }
    challenges.push_back(std::move(*c));
    owner.push_back(pc.target);
  }

  // Send them all, then wait for every answer (each bounded by the deadline).
  auto collector = std::make_shared<Collector>(challenges.size(), clock_);
  const absl::Time sent = clock_.Now();
  for (size_t i = 0; i < challenges.size(); ++i) {
    const Challenge& c = challenges[i];
    const Target& t = targets[owner[i]];
    FarmerRef farmer{t.placement.farmer, t.placement.farmer_hint};
    if (c.kind == ChallengeKind::kSentinel) {
      network_.ChallengeSentinels(farmer, c.shard_id, c.sentinel.offsets, options_.deadline,
                                  [collector, i](absl::StatusOr<std::vector<crypto::Hash256>> a) {
                                    collector->SetSentinel(i, std::move(a));
                                  });
    } else {
      network_.ChallengeMerkle(farmer, c.shard_id, c.index, options_.deadline,
                               [collector, i](absl::StatusOr<MerkleAnswer> a) {
                                 collector->SetMerkle(i, std::move(a));
                               });
    }
  }
  collector->WaitAndClose(options_.deadline * 2 + absl::Seconds(1));

  for (size_t i = 0; i < challenges.size(); ++i) {
    absl::Duration latency = collector->done_at(i) - sent;
    Verdict v = challenges[i].kind == ChallengeKind::kSentinel
                    ? VerifySentinelAnswer(challenges[i], collector->sentinel(i), latency)
                    : VerifyMerkleAnswer(challenges[i], collector->merkle(i), latency);
    // An answer after the deadline counts as missed, whatever it said.
    if (latency > options_.deadline && v.result != VerdictResult::kMissed) {
      v.details = absl::StrCat("answered after ", absl::FormatDuration(latency), ", deadline ",
                               absl::FormatDuration(options_.deadline),
                               v.details.empty() ? "" : "; ", v.details);
      v.result = VerdictResult::kMissed;
    }
    round.verdicts.push_back(std::move(v));
  }

  // Record everything in one transaction.
  GNR_ASSIGN_OR_RETURN(catalog::Transaction txn, catalog_.Begin());
  // Farmers that passed a challenge this round, and those the round found at fault.
  std::set<FarmerId> passed, faulted;
  for (size_t i = 0; i < round.verdicts.size(); ++i) {
    const Verdict& v = round.verdicts[i];
    Target& t = targets[owner[i]];
    if (v.result == VerdictResult::kPass) passed.insert(v.farmer);
    catalog::NewVerdict nv;
    nv.block_number = v.block_number;
    nv.block_hash = v.block_hash;
    nv.shard_id = v.shard_id;
    nv.farmer = v.farmer;
    nv.placement = t.placement.id;
    nv.kind = v.kind == ChallengeKind::kSentinel ? catalog::AuditKind::kSentinel
                                                 : catalog::AuditKind::kMerkle;
    nv.challenge_index = v.challenge_index;
    nv.result = ToCatalogResult(v.result);
    nv.latency_ms = static_cast<uint32_t>(
        std::min<int64_t>(absl::ToInt64Milliseconds(v.latency), int64_t{UINT32_MAX}));
    nv.detail = VerdictDetailJson(v);
    GNR_ASSIGN_OR_RETURN(catalog::VerdictId id, catalog_.RecordVerdict(nv));
    round.verdict_ids.push_back(id);

    uint64_t groups_used = t.target.used_groups.size();
    if (v.kind == ChallengeKind::kSentinel) {
      // The positions are revealed now, whatever the answer: never ask for them again.
      GNR_RETURN_IF_ERROR(
          catalog_.MarkGroupUsed(t.placement.id, static_cast<uint32_t>(v.challenge_index)));
      ++groups_used;
    }
    PolicyDecision d = ApplyVerdict(
        options_.policy,
        ShardHealth{t.state.suspicion, t.placement.state == catalog::PlacementState::kBad},
        v.result);
    t.state.suspicion = d.health.suspicion;
    t.state.last_audit_block = block.number;
    bool retag = NeedsRetag(options_.policy, t.target.group_count, groups_used);
    if (retag && !t.state.retag_needed) round.retag_needed.push_back(t.placement.id);
    t.state.retag_needed = retag;
    if (d.became_bad) {
      t.state.bad_reason = absl::StrCat(d.reason, " (block ", block.number, ")");
      GNR_RETURN_IF_ERROR(
          catalog_.SetPlacementState(t.placement.id, catalog::PlacementState::kBad));
      t.placement.state = catalog::PlacementState::kBad;
      round.became_bad.push_back(t.placement.id);
      // The farmer record follows: a wrong answer makes it bad (no new placements), missed
      // deadlines make it suspect.
      GNR_RETURN_IF_ERROR(catalog_.SetFarmerStatus(v.farmer,
                                                   v.result == VerdictResult::kWrong
                                                       ? catalog::FarmerStatus::kBad
                                                       : catalog::FarmerStatus::kSuspect,
                                                   d.health.suspicion));
      faulted.insert(v.farmer);
    }
    GNR_RETURN_IF_ERROR(catalog_.SetShardAuditState(t.state));
  }
  // A suspect farmer (missed deadlines: maybe only a brief outage) that answers correctly
  // again is trusted with new placements again. A bad one (a wrong answer) never is.
  for (const FarmerId& farmer : passed) {
    if (faulted.contains(farmer)) continue;
    absl::StatusOr<catalog::Farmer> record = catalog_.GetFarmer(farmer);
    if (!record.ok() || record->status != catalog::FarmerStatus::kSuspect) continue;
    GNR_RETURN_IF_ERROR(catalog_.SetFarmerStatus(farmer, catalog::FarmerStatus::kActive, 0));
    round.farmers_cleared.push_back(farmer);
  }
  GNR_RETURN_IF_ERROR(txn.Commit());
  return round;
}

}  // namespace gnr::audit
