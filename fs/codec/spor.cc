#include "fs/codec/spor.h"

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "fs/codec/encoder.h"
#include "fs/codec/layout.h"

namespace gnr::codec {

absl::StatusOr<SentinelChallenge> MakeSentinelChallenge(const crypto::SentinelKey& key,
                                                        uint64_t shard_length,
                                                        uint64_t sentinel_count,
                                                        uint32_t group_size, uint64_t group) {
  const uint64_t groups = crypto::FingerprintGroupCount(sentinel_count, group_size);
  if (group >= groups) {
    return absl::InvalidArgumentError(
        absl::StrCat("group ", group, " does not exist: the shard has ", groups, " groups"));
  }
  GNR_ASSIGN_OR_RETURN(std::vector<uint64_t> members,
                       crypto::FingerprintGroupMembers(key, sentinel_count, group_size, group));
  GNR_ASSIGN_OR_RETURN(SentinelMap map, SentinelMap::Create(key, shard_length, sentinel_count));
  SentinelChallenge c;
  c.group = group;
  c.offsets.reserve(members.size());
  c.expected.reserve(members.size());
  for (uint64_t j : members) {  // ascending indices -> ascending offsets
    c.offsets.push_back(map.SentinelOffset(j));
    c.expected.push_back(crypto::SentinelValue(key, j));
  }
  return c;
}

absl::StatusOr<SentinelChallenge> MakeSentinelChallenge(
    const FileManifest& manifest, const FileKey& file_key, uint64_t segment, uint32_t shard_index,
    uint64_t group, std::optional<uint32_t> sentinel_generation) {
  if (segment >= manifest.segments.size() ||
      shard_index >= manifest.segments[segment].shards.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no shard ", shard_index, " of segment ", segment));
  }
  const SegmentManifest& seg = manifest.segments[segment];
  const uint32_t generation =
      sentinel_generation.value_or(seg.shards[shard_index].sentinel_generation);
  return MakeSentinelChallenge(DeriveSentinelKey(file_key, segment, shard_index, generation),
                               seg.shard_length, seg.sentinel_count, manifest.group_size, group);
}

absl::StatusOr<crypto::SentinelKey> ShardSentinelKey(const FileManifest& manifest,
                                                     const FileKey& file_key, uint64_t segment,
                                                     uint32_t shard_index) {
  if (segment >= manifest.segments.size() ||
      shard_index >= manifest.segments[segment].shards.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no shard ", shard_index, " of segment ", segment));
  }
  return DeriveSentinelKey(file_key, segment, shard_index,
                           manifest.segments[segment].shards[shard_index].sentinel_generation);
}

absl::StatusOr<RetaggedShard> RetagStoredShard(const FileManifest& manifest,
                                               const FileKey& file_key, uint64_t segment,
                                               uint32_t shard_index, ByteView stored,
                                               uint32_t new_sentinel_generation) {
  GNR_ASSIGN_OR_RETURN(crypto::SentinelKey old_key,
                       ShardSentinelKey(manifest, file_key, segment, shard_index));
  const SegmentManifest& seg = manifest.segments[segment];
  const uint32_t old_generation = seg.shards[shard_index].sentinel_generation;
  if (new_sentinel_generation == old_generation) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", segment, " shard ", shard_index,
                                                   " already has sentinel generation ",
                                                   old_generation, ": a re-tag needs a new one"));
  }
  GNR_ASSIGN_OR_RETURN(SentinelMap old_map,
                       SentinelMap::Create(old_key, seg.shard_length, seg.sentinel_count));
  if (stored.size() != old_map.stored_length()) {
    return absl::InvalidArgumentError(absl::StrCat("stored shard has ", stored.size(),
                                                   " bytes, expected ", old_map.stored_length()));
  }
  Bytes data(seg.shard_length);
  GNR_RETURN_IF_ERROR(old_map.ExtractData(stored, 0, {0, seg.shard_length}, data));
  const crypto::SentinelKey new_key =
      DeriveSentinelKey(file_key, segment, shard_index, new_sentinel_generation);
  GNR_ASSIGN_OR_RETURN(SentinelMap new_map,
                       SentinelMap::Create(new_key, seg.shard_length, seg.sentinel_count));
  RetaggedShard out;
  out.sentinel_generation = new_sentinel_generation;
  out.stored.resize(new_map.stored_length());
  GNR_RETURN_IF_ERROR(WriteStoredShard(new_key, new_map, data, out.stored));
  GNR_ASSIGN_OR_RETURN(
      crypto::MerkleTree tree,
      crypto::MerkleTree::Build(out.stored, manifest.leaf_size, manifest.merkle_kind));
  out.merkle_root = tree.root();
  return out;
}

uint64_t SentinelGroupCount(const FileManifest& manifest, uint64_t segment) {
  if (segment >= manifest.segments.size()) return 0;
  return crypto::FingerprintGroupCount(manifest.segments[segment].sentinel_count,
                                       manifest.group_size);
}

uint64_t ChallengeSeed(const BlockHash& block_hash, const ShardId& shard_id) {
  crypto::Hash256 h = crypto::Sha256({block_hash, shard_id});
  return GetBigEndian64(ByteView(h).first<8>());
}

absl::StatusOr<uint64_t> SelectSentinelGroup(const BlockHash& block_hash, const ShardId& shard_id,
                                             uint64_t group_count, std::span<const uint64_t> used) {
  if (group_count == 0) return absl::InvalidArgumentError("shard has no fingerprint groups");
  absl::flat_hash_set<uint64_t> taken;
  for (uint64_t g : used) {
    if (g < group_count) taken.insert(g);
  }
  if (taken.size() >= group_count) {
    return absl::ResourceExhaustedError(
        absl::StrCat("all ", group_count, " fingerprint groups of the shard are used"));
  }
  uint64_t g = ChallengeSeed(block_hash, shard_id) % group_count;
  while (taken.contains(g)) g = (g + 1) % group_count;
  return g;
}

absl::StatusOr<std::vector<crypto::Hash256>> AnswerSentinelChallenge(
    ByteView stored_shard, std::span<const uint64_t> offsets) {
  std::vector<crypto::Hash256> values;
  values.reserve(offsets.size());
  for (uint64_t off : offsets) {
    if (off > stored_shard.size() || stored_shard.size() - off < crypto::kSentinelSize) {
      return absl::OutOfRangeError(absl::StrCat(
          "sentinel offset ", off, " runs past a stored shard of ", stored_shard.size(), " bytes"));
    }
    crypto::Hash256 v;
    std::memcpy(v.data(), stored_shard.data() + off, v.size());
    values.push_back(v);
  }
  return values;
}

absl::StatusOr<std::vector<size_t>> CheckSentinelAnswer(const SentinelChallenge& challenge,
                                                        std::span<const crypto::Hash256> answer) {
  if (answer.size() != challenge.expected.size()) {
    return absl::InvalidArgumentError(absl::StrCat("answer has ", answer.size(),
                                                   " values, the challenge asked for ",
                                                   challenge.expected.size()));
  }
  std::vector<size_t> mismatched;
  for (size_t i = 0; i < answer.size(); ++i) {
    if (answer[i] != challenge.expected[i]) mismatched.push_back(i);
  }
  return mismatched;
}

uint64_t MerkleChallengeLeaf(const BlockHash& block_hash, const ShardId& shard_id,
                             uint64_t leaf_count) {
  if (leaf_count == 0) return 0;
  return ChallengeSeed(block_hash, shard_id) % leaf_count;
}

absl::Status VerifyMerkleChallenge(const ShardManifest& shard, uint64_t leaf_size,
                                   crypto::MerkleHashKind kind, const BlockHash& block_hash,
                                   ByteView leaf, const crypto::MerkleProof& proof) {
  if (leaf_size == 0) return absl::InvalidArgumentError("leaf size is 0");
  const uint64_t count = crypto::MerkleLeafCount(shard.stored_length, leaf_size);
  const uint64_t index = MerkleChallengeLeaf(block_hash, shard.id, count);
  if (proof.leaf_index != index || proof.leaf_count != count) {
    return absl::DataLossError(absl::StrCat("Merkle answer is for leaf ", proof.leaf_index, " of ",
                                            proof.leaf_count, ", challenge asked leaf ", index,
                                            " of ", count));
  }
  const ByteRange bytes = LeafBytes({index, index + 1}, leaf_size, shard.stored_length);
  if (leaf.size() != bytes.size()) {
    return absl::DataLossError(
        absl::StrCat("Merkle answer leaf has ", leaf.size(), " bytes, expected ", bytes.size()));
  }
  absl::Status s = crypto::VerifyMerkleProof(shard.merkle_root, leaf, proof, kind);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("Merkle answer does not verify: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace gnr::codec
