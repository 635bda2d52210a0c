#pragma once
// The repairer (DESIGN.md section 4): puts a lost or bad shard back on a healthy farmer.
//
// RepairPlacement(id) for a placement in state kBad or kLost (or kAcked, when forced):
//   1. rebuilds the stored shard with codec::FileReader::RebuildShard from k other shards of
//      the segment, fetched as verified ranges through volume::ShardNetwork (the shard itself
//      is never read). The sentinel key does not depend on the generation, so the rebuilt
//      bytes are identical to the original stored shard: same sentinels, same Merkle root;
//      the groups already revealed stay marked used on the new placement;
//   2. names it generation + 1 (codec::ComputeShardId), so the new copy never collides with
//      the old farmer's;
//   3. picks a new farmer through ShardNetwork::ChooseFarmers, excluding every farmer that
//      holds (or held) a shard of the same segment, and puts the shard there;
//   4. in one catalog transaction, writes the manifest with the new generation/id
//      (Catalog::UpdateManifest) and swaps the placement (Catalog::ReplacePlacement);
//   5. sends DELETE_SHARD to the old farmer, best effort (a gone farmer cannot answer).
//
// Fresh sentinels ("re-tag") are NOT possible with the current key schedule: the sentinel
// key is HKDF(file key, segment, shard index) without the generation, so a new generation
// gets the same sentinels. A shard whose budget is exhausted keeps being audited with
// Merkle challenges (planner.h); see the report for the format change this needs.
//
// Thread-safety: calls are serialised by an internal mutex. The catalog, network and key
// provider must outlive the Repairer.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
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
};

struct RepairResult {
  catalog::PlacementId old_placement = 0;
  catalog::PlacementId new_placement = 0;
  FarmerId old_farmer{};
  FarmerId new_farmer{};
  ShardId old_shard_id{};
  ShardId new_shard_id{};
  uint32_t generation = 0;  // of the new shard
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

 private:
  catalog::Catalog& catalog_;
  volume::ShardNetwork& network_;
  FileKeyProvider keys_;
  Clock& clock_;
  const RepairOptions options_;
  absl::Mutex mu_;
};

}  // namespace gnr::audit
