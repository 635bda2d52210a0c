#include "fs/audit/verify.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/strings.h"

namespace gnr::audit {
namespace {

Verdict BaseVerdict(const Challenge& c, absl::Duration latency) {
  Verdict v;
  v.block_number = c.block.number;
  v.block_hash = c.block.hash;
  v.shard_id = c.shard_id;
  v.farmer = c.farmer;
  v.placement_id = c.placement_id;
  v.kind = c.kind;
  v.challenge_index = c.index;
  if (c.kind == ChallengeKind::kSentinel) v.positions = c.sentinel.offsets;
  v.latency = latency;
  return v;
}

void ApplyError(Verdict& v, const absl::Status& status) {
  v.result = ClassifyAnswerError(status);
  v.details = absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

}  // namespace

absl::StatusOr<Challenge> MakeChallenge(const Block& block, const AuditTarget& target,
                                        const PlannedChallenge& planned,
                                        const codec::FileManifest& manifest,
                                        const codec::FileKey& file_key) {
  if (target.segment >= manifest.segments.size()) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", target.segment,
                                                   " is past the manifest's ",
                                                   manifest.segments.size(), " segments"));
  }
  const codec::SegmentManifest& segment = manifest.segments[target.segment];
  if (target.shard_index >= segment.shards.size()) {
    return absl::InvalidArgumentError(absl::StrCat("shard index ", target.shard_index,
                                                   " is past the segment's ", segment.shards.size(),
                                                   " shards"));
  }
  const codec::ShardManifest& shard = segment.shards[target.shard_index];
  if (shard.id != target.shard_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard id ", HexEncode(ByteView(target.shard_id)), " is not the manifest's ",
                     HexEncode(ByteView(shard.id))));
  }
  if (shard.sentinel_generation != target.sentinel_generation) {
    return absl::InvalidArgumentError(absl::StrCat("placement records sentinel generation ",
                                                   target.sentinel_generation, ", the manifest ",
                                                   shard.sentinel_generation));
  }
  Challenge c;
  c.block = block;
  c.shard_id = target.shard_id;
  c.farmer = target.farmer;
  c.placement_id = target.placement_id;
  c.kind = planned.kind;
  c.index = planned.index;
  c.shard = shard;
  c.leaf_size = manifest.leaf_size;
  c.merkle_kind = manifest.merkle_kind;
  if (planned.kind == ChallengeKind::kSentinel) {
    absl::StatusOr<codec::SentinelChallenge> sentinel =
        codec::MakeSentinelChallenge(manifest, file_key, target.segment, target.shard_index,
                                     planned.index, target.sentinel_generation);
    if (!sentinel.ok()) return sentinel.status();
    c.sentinel = std::move(*sentinel);
  } else {
    uint64_t leaves = crypto::MerkleLeafCount(shard.stored_length, manifest.leaf_size);
    if (planned.index >= leaves) {
      return absl::InvalidArgumentError(
          absl::StrCat("leaf ", planned.index, " is past the shard's ", leaves, " leaves"));
    }
  }
  return c;
}

VerdictResult ClassifyAnswerError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return VerdictResult::kPass;
    case absl::StatusCode::kDeadlineExceeded:
      return VerdictResult::kMissed;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
      return VerdictResult::kUnreachable;
    default:
      return VerdictResult::kWrong;
  }
}

Verdict VerifySentinelAnswer(const Challenge& challenge,
                             const absl::StatusOr<std::vector<crypto::Hash256>>& answer,
                             absl::Duration latency) {
  Verdict v = BaseVerdict(challenge, latency);
  if (!answer.ok()) {
    ApplyError(v, answer.status());
    return v;
  }
  absl::StatusOr<std::vector<size_t>> bad = codec::CheckSentinelAnswer(challenge.sentinel, *answer);
  if (!bad.ok()) {
    v.result = VerdictResult::kWrong;
    v.details = absl::StrCat("malformed answer: ", bad.status().message());
    return v;
  }
  if (bad->empty()) {
    v.result = VerdictResult::kPass;
    return v;
  }
  v.result = VerdictResult::kWrong;
  for (size_t i : *bad) {
    v.mismatches.push_back(
        {challenge.sentinel.offsets[i], challenge.sentinel.expected[i], (*answer)[i]});
  }
  v.details =
      absl::StrCat(bad->size(), " of ", challenge.sentinel.offsets.size(),
                   " sentinels differ; first at stored offset ", v.mismatches.front().offset,
                   ": expected ", HexEncode(ByteView(v.mismatches.front().expected)), " received ",
                   HexEncode(ByteView(v.mismatches.front().received)));
  return v;
}

Verdict VerifyMerkleAnswer(const Challenge& challenge, const absl::StatusOr<MerkleAnswer>& answer,
                           absl::Duration latency) {
  Verdict v = BaseVerdict(challenge, latency);
  if (!answer.ok()) {
    ApplyError(v, answer.status());
    return v;
  }
  absl::Status ok =
      codec::VerifyMerkleChallenge(challenge.shard, challenge.leaf_size, challenge.merkle_kind,
                                   challenge.block.hash, answer->leaf, answer->proof);
  if (ok.ok()) {
    v.result = VerdictResult::kPass;
  } else {
    v.result = VerdictResult::kWrong;
    v.details = std::string(StdView(ok.message()));
  }
  return v;
}

}  // namespace gnr::audit
