#pragma once
// The repairer (DESIGN.md section 4): puts a lost or bad shard back on a healthy farmer, and
// re-tags shards whose sentinel budget runs low.
//
// RepairPlacement(id) for a placement in state kBad or kLost (or kAcked, when forced), and
// RetagPlacement(id) for a kAcked one:
//   1. rebuilds the stored shard with codec::FileReader::RebuildShard from k other shards of
//      the segment, fetched as verified ranges through volume::ShardNetwork (the shard itself
//      is never read), and checks it against the manifest's Merkle root;
//   2. re-tags it when asked (RetagPlacement) or, for a repair, when its sentinel budget is
//      low (unused groups < options.retag_fraction * G, policy.h NeedsRetag):
//      codec::RetagStoredShard rewrites the same data with the sentinels of sentinel
//      generation + 1 (fresh positions and values, so a new Merkle root; keys.h), and the
//      new placement starts with no group used. Otherwise the bytes are identical to the old
//      stored shard (same sentinels, same root) and the revealed groups stay marked used;
//   3. names it generation + 1 (codec::ComputeShardId), so the new copy never collides with
//      the old farmer's;
//   4. picks a new farmer through ShardNetwork::ChooseFarmers, excluding every farmer that
//      holds (or held) a shard of the same segment, and puts the shard there. A re-tagged
//      shard never goes back to the farmer that held the previous generation: with both
//      copies that farmer could diff them (same data, sentinels inserted elsewhere) and find
//      every sentinel of the new one, which defeats the scheme;
//   5. in one catalog transaction, writes the manifest with the new generation, id, and for
//      a re-tag sentinel generation and root (Catalog::UpdateManifest; manifest version 2
//      once any shard is re-tagged) and swaps the placement (Catalog::ReplacePlacement: the
//      old one becomes kRepaired). If anything fails before the commit the catalog is
//      unchanged (the old placement stays as it was and is retried later); a shard already
//      put on the new farmer is then deleted there, best effort;
//   6. sends DELETE_SHARD to the old farmer, best effort (a gone farmer cannot answer).
//
// Thread-safety: calls are serialised by an internal mutex. The catalog, network and key
// provider must outlive the Repairer.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/hash.h"
#include "fs/audit/auditor.h"
#include "fs/catalog/catalog.h"
#include "fs/codec/decoder.h"
#include "fs/volume/shard_network.h"

namespace gnr::audit {

// A codec::ShardSource serving range requests from the acked placements of one version
// (matched by shard id) through the ShardNetwork, all in flight at once; requests without
// an acked placement fail with NotFound, unanswered ones after `timeout` with
// DeadlineExceeded. Used by the repairer to rebuild shards and by tests/tools to read files
// back. Thread-compatible; the network must outlive it.
class PlacementShardSource final : public codec::ShardSource {
 public:
  PlacementShardSource(volume::ShardNetwork& network, ByteView bucket,
                       std::vector<catalog::Placement> placements, absl::Duration timeout);
  std::vector<absl::StatusOr<codec::StoredRangeReply>> Fetch(
      std::span<const codec::StoredRangeRequest> requests) override;

 private:
  const catalog::Placement* Find(const ShardId& id) const;

  volume::ShardNetwork& network_;
  const Bytes bucket_;
  const std::vector<catalog::Placement> placements_;
  const absl::Duration timeout_;
};

struct RepairOptions {
  // Per network request (range fetch, put).
  absl::Duration timeout = absl::Seconds(60);
  // Candidate farmers asked for when placing (the first that accepts the put wins).
  size_t candidates = 4;
  // A repaired shard gets fresh sentinels when fewer than this fraction of its fingerprint
  // groups are unused. Default 0.10, the same as PolicyOptions::retag_fraction (with which
  // the auditor flags the shards RetagAll re-tags; keep the two equal): at the default
  // 589 groups of a 16 MiB shard that leaves ~58 groups, about 58 more challenges of margin
  // between flagging and running out, while 90% of the budget is used. 0 disables re-tagging
  // on repair; 1 re-tags on every repair.
  double retag_fraction = 0.10;
};

struct RepairResult {
  catalog::PlacementId old_placement = 0;
  catalog::PlacementId new_placement = 0;
  FarmerId old_farmer{};
  FarmerId new_farmer{};
  ShardId old_shard_id{};
  ShardId new_shard_id{};
  uint32_t generation = 0;           // of the new shard
  uint32_t sentinel_generation = 0;  // of the new shard
  bool retagged = false;             // fresh sentinels (sentinel generation bumped)
  crypto::Hash256 merkle_root{};     // of the new shard
  uint64_t fetched_bytes = 0;
  absl::Duration took = absl::ZeroDuration();  // from start to the catalog commit
};

class Repairer {
 public:
  Repairer(catalog::Catalog& catalog, volume::ShardNetwork& network, FileKeyProvider keys,
           Clock& clock, RepairOptions options = {});

  // Repairs one placement (see the file comment). FailedPrecondition if it is kPending or
  // kRepaired (or kAcked without `force`); DataLoss if fewer than k other shards verify;
  // Unavailable if no farmer took the shard; catalog errors as they come.
  absl::StatusOr<RepairResult> RepairPlacement(catalog::PlacementId id, bool force = false);

  // Repairs every kBad and kLost placement; per-placement results (errors included).
  std::vector<absl::StatusOr<RepairResult>> RepairAll(size_t limit = 1000);

  // Places the shards of committed versions that no farmer ever acknowledged (the Volume
  // records only acked placements): a top-up that found no farmer willing, or one that a
  // crash of the client or `gnr umount --force` cut short. Each is rebuilt from k others and
  // placed like a repair (steps 1, 3-5: the next generation, a farmer holding nothing of its
  // segment, a new acked placement); there is no old copy to delete. Only versions
  // committed at least `min_age` ago: the Volume's own top-ups of newer ones may still be on
  // their way. Shard indexes with a bad or lost placement are RepairAll's. Per-shard
  // results (errors included), at most `limit`; the sweep stops at the first shard no farmer
  // could take (Unavailable).
  std::vector<absl::StatusOr<RepairResult>> FillMissingShards(absl::Duration min_age,
                                                              size_t limit = 100);

  // Re-tags one healthy shard (see the file comment): the same data with the sentinels of the
  // next sentinel generation, on a new farmer. FailedPrecondition unless the placement is
  // kAcked and is the manifest's current copy, or if the shard has no sentinel groups;
  // otherwise the errors of RepairPlacement. Whatever fails, the catalog is unchanged.
  absl::StatusOr<RepairResult> RetagPlacement(catalog::PlacementId id);

  // Re-tags every kAcked placement of a committed version that the auditor flagged
  // (ShardAuditState::retag_needed), at most `limit`; per-placement results (errors
  // included). A failed one stays flagged and is tried again by the next call.
  std::vector<absl::StatusOr<RepairResult>> RetagAll(size_t limit = 1000);

 private:
  enum class Mode { kRepair, kRetag };
  // `old` with id 0 stands for a shard no placement names (FillMissingShards).
  absl::StatusOr<RepairResult> Replace(const catalog::Placement& old, Mode mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  catalog::Catalog& catalog_;
  volume::ShardNetwork& network_;
  FileKeyProvider keys_;
  Clock& clock_;
  const RepairOptions options_;
  absl::Mutex mu_;
};

}  // namespace gnr::audit
