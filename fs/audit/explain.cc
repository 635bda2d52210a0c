#include "fs/audit/explain.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "fs/codec/spor.h"

namespace gnr::audit {

absl::StatusOr<Explanation> ExplainVerdict(const ExplainRequest& request,
                                           const codec::FileManifest& manifest,
                                           const codec::FileKey& file_key) {
  if (request.segment >= manifest.segments.size() ||
      request.shard_index >= manifest.segments[request.segment].shards.size()) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", request.segment, " shard ",
                                                   request.shard_index,
                                                   " is not in the file's manifest"));
  }
  const codec::ShardManifest& shard =
      manifest.segments[request.segment].shards[request.shard_index];
  Explanation out;
  out.kind = request.kind;
  out.seed = codec::ChallengeSeed(request.block_hash, request.shard_id);
  if (shard.id != request.shard_id) {
    out.note = "the manifest names another shard id at this position (repaired since?); ";
  }
  if (request.kind == ChallengeKind::kMerkle) {
    out.domain = crypto::MerkleLeafCount(shard.stored_length, manifest.leaf_size);
    if (out.domain == 0) return absl::InvalidArgumentError("shard has no Merkle leaves");
    out.start = out.seed % out.domain;
    out.index = codec::MerkleChallengeLeaf(request.block_hash, request.shard_id, out.domain);
    out.consistent = out.index == request.recorded_index;
    absl::StrAppend(&out.note, out.consistent
                                   ? "leaf recomputed from the block hash matches"
                                   : absl::StrCat("recorded leaf ", request.recorded_index,
                                                  " but the block hash gives leaf ", out.index));
    return out;
  }
  out.domain = codec::SentinelGroupCount(manifest, request.segment);
  if (out.domain == 0) return absl::InvalidArgumentError("shard has no sentinel groups");
  if (request.recorded_index >= out.domain) {
    return absl::InvalidArgumentError(absl::StrCat("recorded group ", request.recorded_index,
                                                   " is past the shard's ", out.domain, " groups"));
  }
  out.start = out.seed % out.domain;
  out.index = request.recorded_index;
  std::set<uint64_t> used(request.used_groups.begin(), request.used_groups.end());
  out.consistent = true;
  for (uint64_t g = out.start; g != out.index; g = (g + 1) % out.domain) {
    if (!used.contains(g)) {
      out.consistent = false;
      absl::StrAppend(&out.note, "group ", g, " lies between the start group ", out.start,
                      " and the recorded group ", out.index, " but was never used");
      break;
    }
    ++out.skipped;
  }
  if (out.consistent) {
    absl::StrAppend(&out.note, out.skipped == 0
                                   ? std::string("recorded group is the start group")
                                   : absl::StrCat("recorded group is the first unused one after ",
                                                  out.skipped, " used groups"));
  }
  out.sentinel_generation = request.sentinel_generation.value_or(shard.sentinel_generation);
  if (request.sentinel_generation && shard.sentinel_generation != out.sentinel_generation) {
    absl::StrAppend(&out.note, "; positions of sentinel generation ", out.sentinel_generation,
                    " (re-tagged since: the shard now has generation ", shard.sentinel_generation,
                    ")");
  }
  absl::StatusOr<codec::SentinelChallenge> challenge =
      codec::MakeSentinelChallenge(manifest, file_key, request.segment, request.shard_index,
                                   request.recorded_index, out.sentinel_generation);
  if (!challenge.ok()) return challenge.status();
  out.positions = std::move(challenge->offsets);
  out.expected = std::move(challenge->expected);
  return out;
}

}  // namespace gnr::audit
