#include "fs/audit/repairer.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/audit/policy.h"
#include "fs/codec/decoder.h"
#include "fs/codec/keys.h"
#include "fs/codec/manifest.h"
#include "fs/codec/spor.h"

namespace gnr::audit {
PlacementShardSource::PlacementShardSource(volume::ShardNetwork& network, ByteView bucket,
                                           std::vector<catalog::Placement> placements,
                                           absl::Duration timeout)
    : network_(network),
      bucket_(bucket.begin(), bucket.end()),
      placements_(std::move(placements)),
      timeout_(timeout) {}

std::vector<absl::StatusOr<codec::StoredRangeReply>> PlacementShardSource::Fetch(
    std::span<const codec::StoredRangeRequest> requests) {
  struct State {
    absl::Mutex mu;
    size_t pending = 0;
    std::vector<absl::StatusOr<codec::StoredRangeReply>> replies;
  };
  auto state = std::make_shared<State>();
  state->replies.assign(requests.size(), absl::DeadlineExceededError("no reply in time"));
  state->pending = requests.size();
  for (size_t i = 0; i < requests.size(); ++i) {
    const catalog::Placement* p = Find(requests[i].shard_id);
    if (p == nullptr) {
      absl::MutexLock lock(&state->mu);
      state->replies[i] = absl::NotFoundError("no acked placement holds this shard");
      --state->pending;
      continue;
    }
    volume::FarmerContact contact{p->farmer, p->farmer_hint};
    network_.GetShardRange(contact, bucket_, requests[i],
                           [state, i](absl::StatusOr<codec::StoredRangeReply> reply) {
                             absl::MutexLock lock(&state->mu);
                             state->replies[i] = std::move(reply);
                             --state->pending;
                           });
  }
  absl::MutexLock lock(&state->mu);
  state->mu.AwaitWithTimeout(absl::Condition(
                                 +[](size_t* n) { return *n == 0; }, &state->pending),
                             timeout_);
  // A copy: late callbacks may still write into `state` (they keep it alive).
  return state->replies;
}

const catalog::Placement* PlacementShardSource::Find(const ShardId& id) const {
  for (const catalog::Placement& p : placements_) {
    if (p.shard_id == id && p.state == catalog::PlacementState::kAcked) return &p;
  }
  return nullptr;
}

Repairer::Repairer(catalog::Catalog& catalog, volume::ShardNetwork& network, FileKeyProvider keys,
                   Clock& clock, RepairOptions options)
    : catalog_(catalog),
      network_(network),
      keys_(std::move(keys)),
      clock_(clock),
      options_(options) {}

absl::StatusOr<RepairResult> Repairer::RepairPlacement(catalog::PlacementId id, bool force) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(catalog::Placement old, catalog_.GetPlacement(id));
  if (old.state == catalog::PlacementState::kPending ||
      old.state == catalog::PlacementState::kRepaired ||
      (old.state == catalog::PlacementState::kAcked && !force)) {
    return absl::FailedPreconditionError(
        absl::StrCat("placement ", id, " is ", AbslView(catalog::PlacementStateName(old.state)),
                     ": only bad or lost placements are repaired"));
  }
  return Replace(old, Mode::kRepair);
}

absl::StatusOr<RepairResult> Repairer::RetagPlacement(catalog::PlacementId id) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(catalog::Placement old, catalog_.GetPlacement(id));
  if (old.state != catalog::PlacementState::kAcked) {
    return absl::FailedPreconditionError(
        absl::StrCat("placement ", id, " is ", AbslView(catalog::PlacementStateName(old.state)),
                     ": only acked placements are re-tagged (bad ones are repaired)"));
  }
  return Replace(old, Mode::kRetag);
}

absl::StatusOr<RepairResult> Repairer::Replace(const catalog::Placement& old, Mode mode) {
  const absl::Time start = clock_.Now();
  const catalog::PlacementId id = old.id;
  GNR_ASSIGN_OR_RETURN(catalog::Version version, catalog_.GetVersion(old.version));
  GNR_ASSIGN_OR_RETURN(codec::FileManifest manifest, codec::DecodeFileManifest(version.manifest));
  if (old.segment >= manifest.segments.size() ||
      old.shard_index >= manifest.segments[old.segment].shards.size()) {
    return absl::InvalidArgumentError(absl::StrCat("placement ", id, " is outside its manifest"));
  }
  codec::ShardManifest& entry = manifest.segments[old.segment].shards[old.shard_index];
  const uint64_t group_count = codec::SentinelGroupCount(manifest, old.segment);
  if (mode == Mode::kRetag) {
    if (entry.id != old.shard_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "placement ", id, " holds an older generation of its shard: nothing to re-tag"));
    }
    if (group_count == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("placement ", id, ": the shard has no sentinel groups to renew"));
    }
  }
  // Fresh sentinels when asked, or for a repair when the budget is low.
  uint64_t used = 0;
  for (uint64_t g = 0; g < group_count && g / 8 < old.groups_used.size(); ++g) {
    if (catalog::GroupUsed(old.groups_used, static_cast<uint32_t>(g))) ++used;
  }
  const bool retag =
      mode == Mode::kRetag ||
      (group_count > 0 && options_.retag_fraction > 0 &&
       NeedsRetag(PolicyOptions{.retag_fraction = options_.retag_fraction}, group_count, used));
  GNR_ASSIGN_OR_RETURN(codec::FileKey key, keys_(version));
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::Placement> placements,
                       catalog_.ListPlacementsByVersion(old.version));

  // 3. The next generation (named first: the farmers are chosen by it; the manifest takes
  // it once the shard is rebuilt).
  const uint32_t generation = std::max(entry.generation, old.generation) + 1;
  const ShardId new_id =
      codec::ComputeShardId(manifest.nonce, old.segment, old.shard_index, generation);

  // 4. A farmer holding (or having held) nothing of this segment, chosen before anything
  // is fetched: on a network with no such farmer a repair costs no traffic.
  std::vector<volume::FarmerId> exclude;
  for (const catalog::Placement& p : placements) {
    if (p.segment == old.segment) exclude.push_back(p.farmer);
  }
  // Nor one the auditor caught (kBad) or saw leave (kGone): their records mean "no new
  // placements". Farmers it suspects of not answering (kSuspect) are asked only when no
  // other farmer is free (a farmer's status does not recover by itself).
  std::vector<volume::FarmerId> suspects;
  GNR_ASSIGN_OR_RETURN(std::vector<catalog::Farmer> known, catalog_.ListFarmers());
  for (const catalog::Farmer& f : known) {
    if (f.status == catalog::FarmerStatus::kSuspect) {
      suspects.push_back(f.id);
    } else if (f.status != catalog::FarmerStatus::kActive) {
      exclude.push_back(f.id);
    }
  }
  std::vector<volume::FarmerId> strict = exclude;
  strict.insert(strict.end(), suspects.begin(), suspects.end());
  absl::StatusOr<std::vector<volume::FarmerContact>> chosen =
      network_.ChooseFarmers(version.bucket_id, new_id, options_.candidates, strict);
  if (!suspects.empty() && (!chosen.ok() || chosen->empty())) {
    chosen = network_.ChooseFarmers(version.bucket_id, new_id, options_.candidates, exclude);
  }
  GNR_ASSIGN_OR_RETURN(std::vector<volume::FarmerContact> candidates, std::move(chosen));
  if (candidates.empty()) {
    return absl::UnavailableError(
        absl::StrCat("could not place the ", retag ? "re-tagged" : "rebuilt",
                     " shard: no farmer outside the segment's farmers is known"));
  }

  // 1. Rebuild from the other shards (checked against the manifest's root).
  PlacementShardSource source(network_, version.bucket_id, placements, options_.timeout);
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<codec::FileReader> reader,
                       codec::FileReader::Create(manifest, key));
  codec::ReadReport report;
  GNR_ASSIGN_OR_RETURN(Bytes rebuilt,
                       reader->RebuildShard(old.segment, old.shard_index, source, &report));

  // 2. Fresh sentinels: same data, the next sentinel generation's positions and values.
  if (retag) {
    const uint32_t sentinel_generation =
        std::max(entry.sentinel_generation, old.sentinel_generation) + 1;
    GNR_ASSIGN_OR_RETURN(codec::RetaggedShard fresh,
                         codec::RetagStoredShard(manifest, key, old.segment, old.shard_index,
                                                 rebuilt, sentinel_generation));
    rebuilt = std::move(fresh.stored);
    entry.sentinel_generation = sentinel_generation;
    entry.merkle_root = fresh.merkle_root;
    manifest.version =
        std::max<uint8_t>(manifest.version, codec::kManifestVersionSentinelGenerations);
  }

  entry.generation = generation;
  entry.id = new_id;
  GNR_ASSIGN_OR_RETURN(Bytes encoded, codec::EncodeFileManifest(manifest));

  // 4 (cont.). Put it on the first candidate that takes it.
  auto data = std::make_shared<const Bytes>(std::move(rebuilt));
  absl::Status last = absl::UnavailableError("no farmer outside the segment's farmers is known");
  std::optional<volume::FarmerContact> placed;
  for (const volume::FarmerContact& c : candidates) {
    volume::PutShardRequest put;
    put.bucket_id = version.bucket_id;
    put.shard_id = new_id;
    put.data = data;
    put.merkle_root = entry.merkle_root;
    put.size = data->size();
    put.leaf_size = manifest.leaf_size;
    put.merkle_kind = manifest.merkle_kind;
    auto result =
        std::make_shared<std::pair<absl::Notification, absl::StatusOr<volume::FarmerContact>>>();
    result->second = absl::UnavailableError("no answer");
    network_.PutShard(c, std::move(put), [result](absl::StatusOr<volume::FarmerContact> acked) {
      result->second = std::move(acked);
      result->first.Notify();
    });
    if (!result->first.WaitForNotificationWithTimeout(options_.timeout)) {
      last = absl::DeadlineExceededError(
          absl::StrCat("put to ", HexEncode(ByteView(c.id)), " did not finish"));
      continue;
    }
    if (result->second.ok()) {
      placed = *result->second;
      break;
    }
    last = result->second.status();
  }
  if (!placed) {
    return absl::UnavailableError(absl::StrCat(
        "could not place the ", retag ? "re-tagged" : "rebuilt", " shard: ", last.message()));
  }

  // 5. Manifest and placement change together.
  catalog::NewPlacement np;
  np.version = old.version;
  np.segment = old.segment;
  np.shard_index = old.shard_index;
  np.generation = generation;
  np.sentinel_generation = entry.sentinel_generation;
  np.shard_id = new_id;
  np.farmer = placed->id;
  np.farmer_hint = placed->endpoint;
  np.merkle_root = entry.merkle_root;
  np.stored_length = entry.stored_length;
  np.state = catalog::PlacementState::kAcked;
  // Same sentinels: revealed groups stay revealed. Fresh ones: none is revealed yet.
  if (!retag) np.groups_used = old.groups_used;
  RepairResult out;
  absl::Status committed = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(catalog::Transaction txn, catalog_.Begin(catalog::Durability::kDurable));
    GNR_RETURN_IF_ERROR(catalog_.UpdateManifest(old.version, encoded));
    if (id == 0) {
      GNR_ASSIGN_OR_RETURN(out.new_placement, catalog_.AddPlacement(np));
    } else {
      GNR_ASSIGN_OR_RETURN(out.new_placement, catalog_.ReplacePlacement(id, np));
    }
    return txn.Commit();
  }();
  if (!committed.ok()) {
    // The catalog still names the old copy: the new one is an orphan.
    network_.DeleteShard(*placed, version.bucket_id, new_id, [](absl::Status) {});
    return committed;
  }
  out.old_placement = id;
  out.old_farmer = old.farmer;
  out.new_farmer = placed->id;
  out.old_shard_id = old.shard_id;
  out.new_shard_id = new_id;
  out.generation = generation;
  out.sentinel_generation = entry.sentinel_generation;
  out.retagged = retag;
  out.merkle_root = entry.merkle_root;
  out.fetched_bytes = report.fetched_bytes;
  out.took = clock_.Now() - start;

  // 6. Best effort: the old copy goes (its answer is not awaited).
  if (id != 0) {
    network_.DeleteShard(volume::FarmerContact{old.farmer, old.farmer_hint}, version.bucket_id,
                         old.shard_id, [](absl::Status) {});
  }
  return out;
}

std::vector<absl::StatusOr<RepairResult>> Repairer::RepairAll(size_t limit) {
  std::vector<absl::StatusOr<RepairResult>> out;
  for (catalog::PlacementState state :
       {catalog::PlacementState::kBad, catalog::PlacementState::kLost}) {
    absl::StatusOr<std::vector<catalog::Placement>> list =
        catalog_.ListPlacementsByState(state, limit);
    if (!list.ok()) {
      out.push_back(list.status());
      continue;
    }
    for (const catalog::Placement& p : *list) out.push_back(RepairPlacement(p.id));
  }
  return out;
}

std::vector<absl::StatusOr<RepairResult>> Repairer::FillMissingShards(absl::Duration min_age,
                                                                      size_t limit) {
  std::vector<absl::StatusOr<RepairResult>> out;
  absl::StatusOr<std::vector<catalog::Version>> versions =
      catalog_.ListUnderReplicatedVersions(limit);
  if (!versions.ok()) {
    out.push_back(versions.status());
    return out;
  }
  const absl::Time cutoff = clock_.Now() - min_age;
  for (const catalog::Version& v : *versions) {
    if (!v.committed.has_value() || *v.committed > cutoff) continue;
    absl::StatusOr<codec::FileManifest> manifest = codec::DecodeFileManifest(v.manifest);
    absl::StatusOr<std::vector<catalog::Placement>> placements =
        catalog_.ListPlacementsByVersion(v.id);
    if (!manifest.ok() || !placements.ok()) {
      out.push_back(!manifest.ok() ? manifest.status() : placements.status());
      continue;
    }
    for (uint64_t seg = 0; seg < manifest->segments.size(); ++seg) {
      const std::vector<codec::ShardManifest>& shards = manifest->segments[seg].shards;
      for (uint32_t index = 0; index < shards.size(); ++index) {
        if (out.size() >= limit) return out;
        const bool named =
            std::any_of(placements->begin(), placements->end(), [&](const catalog::Placement& p) {
              return p.segment == seg && p.shard_index == index &&
                     (p.state == catalog::PlacementState::kAcked ||
                      p.state == catalog::PlacementState::kBad ||
                      p.state == catalog::PlacementState::kLost);
            });
        if (named) continue;
        catalog::Placement missing;  // id 0: no placement names it
        missing.version = v.id;
        missing.segment = seg;
        missing.shard_index = index;
        missing.generation = shards[index].generation;
        missing.sentinel_generation = shards[index].sentinel_generation;
        missing.shard_id = shards[index].id;
        missing.merkle_root = shards[index].merkle_root;
        missing.stored_length = shards[index].stored_length;
        missing.state = catalog::PlacementState::kLost;
        absl::MutexLock lock(&mu_);
        absl::StatusOr<RepairResult> r = Replace(missing, Mode::kRepair);
        if (r.ok()) {
          GNR_LOG(kInfo) << "repair: version " << v.id << " segment " << seg << " shard " << index
                         << " had no farmer; placed on " << HexEncode(ByteView(r->new_farmer));
        }
        // No farmer free for this segment: on a network that small the next segments have
        // none either, and each try asks the network; the next sweep tries again.
        const bool no_farmer = !r.ok() && absl::IsUnavailable(r.status());
        out.push_back(std::move(r));
        if (no_farmer) return out;
      }
    }
  }
  return out;
}

std::vector<absl::StatusOr<RepairResult>> Repairer::RetagAll(size_t limit) {
  std::vector<absl::StatusOr<RepairResult>> out;
  absl::StatusOr<std::vector<catalog::ShardAuditState>> states = catalog_.ListShardAuditStates();
  if (!states.ok()) {
    out.push_back(states.status());
    return out;
  }
  for (const catalog::ShardAuditState& s : *states) {
    if (out.size() >= limit) break;
    if (!s.retag_needed) continue;
    absl::StatusOr<catalog::Placement> p = catalog_.GetPlacement(s.placement);
    if (!p.ok() || p->state != catalog::PlacementState::kAcked) continue;
    absl::StatusOr<catalog::Version> v = catalog_.GetVersion(p->version);
    if (!v.ok() || v->state != catalog::VersionState::kCommitted) continue;  // garbage soon
    out.push_back(RetagPlacement(s.placement));
  }
  return out;
}

}  // namespace gnr::audit
