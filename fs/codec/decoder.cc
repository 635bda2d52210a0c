#include "fs/codec/decoder.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "fs/codec/encoder.h"

namespace gnr::codec {
namespace {

std::string RangeString(ByteRange r) { return absl::StrCat("[", r.begin, ", ", r.end, ")"); }

}  // namespace

// One stored-range fetch: which shard, which data range, and where its bytes go.
struct FileReader::FetchItem {
  uint32_t shard_index = 0;
  ByteRange data;
  MutableByteView dest;  // data.size() bytes
};

absl::Status VerifyStoredRangeReply(const StoredRangeRequest& request,
                                    const StoredRangeReply& reply, const ShardManifest& shard,
                                    uint64_t leaf_size, crypto::MerkleHashKind kind) {
  const uint64_t total = crypto::MerkleLeafCount(shard.stored_length, leaf_size);
  if (request.leaves.empty() || request.leaves.end > total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request for leaves ", RangeString(request.leaves), " of a ", total, "-leaf shard"));
  }
  const ByteRange bytes = LeafBytes(request.leaves, leaf_size, shard.stored_length);
  if (reply.leaves.size() != bytes.size()) {
    return absl::DataLossError(absl::StrCat("shard returned ", reply.leaves.size(),
                                            " bytes for leaves ", RangeString(request.leaves),
                                            ", expected ", bytes.size()));
  }
  const crypto::MerkleRangeProof& proof = reply.proof;
  if (proof.first_leaf != request.leaves.begin ||
      proof.leaf_count_in_range != request.leaves.size() || proof.total_leaves != total) {
    return absl::DataLossError(absl::StrCat(
        "range proof covers leaves [", proof.first_leaf, ", +", proof.leaf_count_in_range, ") of ",
        proof.total_leaves, ", expected ", RangeString(request.leaves), " of ", total));
  }
  std::vector<crypto::Hash256> hashes;
  if (!reply.leaves.empty()) {
    hashes = crypto::MerkleLeafHashesOf(reply.leaves, static_cast<size_t>(leaf_size), kind);
  }
  absl::Status s = crypto::VerifyMerkleRange(shard.merkle_root, hashes, proof, kind);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("leaves ", RangeString(request.leaves),
                                            " fail Merkle verification: ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileReader>> FileReader::Create(FileManifest manifest,
                                                               const FileKey& file_key) {
  GNR_RETURN_IF_ERROR(ValidateManifest(manifest));
  FileSecrets secrets = DeriveFileSecrets(file_key);
  GNR_ASSIGN_OR_RETURN(crypto::AesCtr ctr,
                       crypto::AesCtr::Create(secrets.data_key, secrets.data_iv));
  GNR_ASSIGN_OR_RETURN(crypto::ReedSolomon rs,
                       crypto::ReedSolomon::Create(static_cast<int>(manifest.data_shards),
                                                   static_cast<int>(manifest.parity_shards)));
  return std::unique_ptr<FileReader>(
      new FileReader(std::move(manifest), file_key, std::move(ctr), std::move(rs)));
}

absl::StatusOr<std::shared_ptr<const SentinelMap>> FileReader::GetSentinelMap(
    uint64_t segment, uint32_t shard_index) const {
  if (segment >= manifest_.segments.size() || shard_index >= manifest_.total_shards()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no shard ", shard_index, " of segment ", segment));
  }
  const auto key = std::make_pair(segment, shard_index);
  {
    absl::MutexLock lock(&mu_);
    auto it = maps_.find(key);
    if (it != maps_.end()) return it->second;
  }
  const SegmentManifest& seg = manifest_.segments[segment];
  GNR_ASSIGN_OR_RETURN(
      SentinelMap map,
      SentinelMap::Create(DeriveSentinelKey(file_key_, segment, shard_index,
                                            seg.shards[shard_index].sentinel_generation),
                          seg.shard_length, seg.sentinel_count));
  auto shared = std::make_shared<const SentinelMap>(std::move(map));
  absl::MutexLock lock(&mu_);
  if (maps_.size() >= kMaxCachedMaps) maps_.erase(maps_.begin());
  maps_[key] = shared;
  return shared;
}

absl::Status FileReader::Read(uint64_t offset, MutableByteView out, ShardSource& source,
                              ReadReport* report) const {
  ReadReport local_report;
  ReadReport& rep = report != nullptr ? *report : local_report;
  if (out.empty()) return absl::OkStatus();
  if (offset > manifest_.file_size || out.size() > manifest_.file_size - offset) {
    return absl::OutOfRangeError(absl::StrCat("read of [", offset, ", +", out.size(),
                                              ") past the end of a ", manifest_.file_size,
                                              "-byte file"));
  }
  for (const SegmentSlice& slice :
       SplitFileRange(manifest_.file_size, manifest_.segment_size, {offset, offset + out.size()})) {
    MutableByteView dest = out.subspan(slice.file.begin - offset, slice.file.size());
    GNR_RETURN_IF_ERROR(ReadSegment(slice.segment, slice.local, dest, source, rep));
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> FileReader::Read(uint64_t offset, uint64_t length, ShardSource& source,
                                       ReadReport* report) const {
  if (offset > manifest_.file_size || length > manifest_.file_size - offset) {
    return absl::OutOfRangeError(absl::StrCat("read of [", offset, ", +", length,
                                              ") past the end of a ", manifest_.file_size,
                                              "-byte file"));
  }
  Bytes out(static_cast<size_t>(length));
  GNR_RETURN_IF_ERROR(Read(offset, out, source, report));
  return out;
}

// Per-segment bookkeeping of one read or rebuild.
struct FileReader::SegmentState {
  uint64_t segment = 0;
  std::vector<bool> bad;     // shards that failed during this operation
  std::string failure_text;  // "; shard i: why" for each failure
  ReadReport* report = nullptr;
};

std::vector<bool> FileReader::FetchVerified(SegmentState& state, std::span<const FetchItem> items,
                                            ShardSource& source) const {
  const SegmentManifest& seg = manifest_.segments[state.segment];
  const uint64_t leaf_size = manifest_.leaf_size;
  std::vector<bool> ok(items.size(), false);
  std::vector<StoredRangeRequest> requests;
  std::vector<size_t> request_of(items.size(), SIZE_MAX);
  std::vector<std::shared_ptr<const SentinelMap>> maps(items.size());
  std::vector<absl::Status> errors(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StatusOr<std::shared_ptr<const SentinelMap>> map =
        GetSentinelMap(state.segment, items[i].shard_index);
    if (!map.ok()) {
      errors[i] = map.status();
      continue;
    }
    maps[i] = *map;
    StoredRangeRequest req;
    req.segment = state.segment;
    req.shard_index = items[i].shard_index;
    req.shard_id = seg.shards[items[i].shard_index].id;
    req.stored = maps[i]->StoredRangeOfData(items[i].data);
    req.leaves = LeavesCovering(req.stored, leaf_size);
    request_of[i] = requests.size();
    requests.push_back(req);
  }
  std::vector<absl::StatusOr<StoredRangeReply>> replies = source.Fetch(requests);
  state.report->requests += requests.size();
  for (size_t i = 0; i < items.size(); ++i) {
    const FetchItem& item = items[i];
    absl::Status status = errors[i];
    const size_t r = request_of[i];
    if (status.ok() && replies.size() != requests.size()) {
      status = absl::InternalError(absl::StrCat("shard source returned ", replies.size(),
                                                " replies to ", requests.size(), " requests"));
    }
    if (status.ok() && !replies[r].ok()) status = replies[r].status();
    if (status.ok()) {
      const ShardManifest& shard = seg.shards[item.shard_index];
      status =
          VerifyStoredRangeReply(requests[r], *replies[r], shard, leaf_size, manifest_.merkle_kind);
      if (status.ok()) {
        const uint64_t window = LeafBytes(requests[r].leaves, leaf_size, shard.stored_length).begin;
        status = maps[i]->ExtractData(replies[r]->leaves, window, item.data, item.dest);
      }
      if (status.ok()) state.report->fetched_bytes += replies[r]->leaves.size();
    }
    if (status.ok()) {
      ok[i] = true;
    } else {
      state.bad[item.shard_index] = true;
      absl::StrAppend(&state.failure_text, "; shard ", item.shard_index, ": ", status.message());
      state.report->failures.push_back({state.segment, item.shard_index, status});
    }
  }
  return ok;
}

absl::Status FileReader::GatherShards(SegmentState& state, ByteRange range,
                                      std::span<MutableByteView> views, std::span<bool> present,
                                      std::vector<Bytes>& buffers, ShardSource& source) const {
  const uint32_t k = manifest_.data_shards;
  const uint32_t n = manifest_.total_shards();
  const size_t len = static_cast<size_t>(range.size());
  uint32_t have = 0;
  for (uint32_t t = 0; t < n; ++t) have += present[t] ? 1 : 0;
  uint32_t next = 0;
  while (have < k) {
    std::vector<FetchItem> batch;
    for (; next < n && batch.size() < k - have; ++next) {
      if (state.bad[next] || present[next]) continue;
      buffers[next].resize(len);
      batch.push_back({next, range, MutableByteView(buffers[next])});
    }
    if (batch.empty()) {
      return absl::DataLossError(absl::StrCat(
          "segment ", state.segment, ": only ", have, " of the ", k,
          " shards needed for data range ", RangeString(range), " could be verified (RS(", k, ", ",
          n - k, ") tolerates ", n - k, " bad shards)", state.failure_text));
    }
    std::vector<bool> ok = FetchVerified(state, batch, source);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!ok[i]) continue;
      views[batch[i].shard_index] = batch[i].dest;
      present[batch[i].shard_index] = true;
      ++have;
    }
  }
  for (uint32_t t = 0; t < n; ++t) {
    if (present[t]) continue;
    buffers[t].resize(len);
    views[t] = MutableByteView(buffers[t]);
  }
  return absl::OkStatus();
}

absl::Status FileReader::ReadSegment(uint64_t segment, ByteRange local, MutableByteView out,
                                     ShardSource& source, ReadReport& report) const {
  const SegmentManifest& seg = manifest_.segments[segment];
  const uint32_t k = manifest_.data_shards;
  const uint32_t n = manifest_.total_shards();
  SegmentState state{segment, std::vector<bool>(n, false), {}, &report};

  // 1. The data shards holding the range, straight into `out`.
  std::vector<FetchItem> items;
  for (const ShardSlice& s : SplitSegmentRange(seg.shard_length, k, local)) {
    items.push_back(
        {s.shard_index, s.data, out.subspan(s.segment_offset - local.begin, s.data.size())});
  }
  std::vector<bool> ok = FetchVerified(state, items, source);

  // 2. Rebuild the slices of failed data shards from k shards' same data range (the hull of
  //    the failed slices); verified slices that cover the hull count towards k.
  ByteRange hull{~uint64_t{0}, 0};
  for (size_t i = 0; i < items.size(); ++i) {
    if (ok[i]) continue;
    hull.begin = std::min(hull.begin, items[i].data.begin);
    hull.end = std::max(hull.end, items[i].data.end);
  }
  if (!hull.empty()) {
    std::vector<MutableByteView> views(n);
    std::array<bool, kMaxDataShards + kMaxParityShards> present{};
    std::vector<Bytes> buffers(n);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!ok[i] || !items[i].data.Contains(hull)) continue;
      views[items[i].shard_index] =
          items[i].dest.subspan(hull.begin - items[i].data.begin, hull.size());
      present[items[i].shard_index] = true;
    }
    GNR_RETURN_IF_ERROR(
        GatherShards(state, hull, views, std::span<bool>(present.data(), n), buffers, source));
    GNR_RETURN_IF_ERROR(rs_.Reconstruct(views, std::span<const bool>(present.data(), n),
                                        /*data_only=*/true));
    for (size_t i = 0; i < items.size(); ++i) {
      if (ok[i]) continue;
      std::memcpy(items[i].dest.data(),
                  views[items[i].shard_index].data() + (items[i].data.begin - hull.begin),
                  items[i].data.size());
    }
    ++report.reconstructions;
  }

  // 3. Decrypt exactly the requested bytes.
  ctr_.Apply(segment * uint64_t{manifest_.segment_size} + local.begin, out);
  return absl::OkStatus();
}

absl::StatusOr<Bytes> FileReader::RebuildShard(uint64_t segment, uint32_t shard_index,
                                               ShardSource& source, ReadReport* report) const {
  ReadReport local_report;
  ReadReport& rep = report != nullptr ? *report : local_report;
  if (segment >= manifest_.segments.size() || shard_index >= manifest_.total_shards()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no shard ", shard_index, " of segment ", segment));
  }
  const SegmentManifest& seg = manifest_.segments[segment];
  const uint32_t n = manifest_.total_shards();
  SegmentState state{segment, std::vector<bool>(n, false), {}, &rep};
  state.bad[shard_index] = true;  // never read the shard being rebuilt
  std::vector<MutableByteView> views(n);
  std::array<bool, kMaxDataShards + kMaxParityShards> present{};
  std::vector<Bytes> buffers(n);
  GNR_RETURN_IF_ERROR(GatherShards(state, {0, seg.shard_length}, views,
                                   std::span<bool>(present.data(), n), buffers, source));
  GNR_RETURN_IF_ERROR(rs_.Reconstruct(views, std::span<const bool>(present.data(), n),
                                      /*data_only=*/false));
  GNR_ASSIGN_OR_RETURN(std::shared_ptr<const SentinelMap> map,
                       GetSentinelMap(segment, shard_index));
  Bytes stored(map->stored_length());
  GNR_RETURN_IF_ERROR(
      WriteStoredShard(DeriveSentinelKey(file_key_, segment, shard_index,
                                         seg.shards[shard_index].sentinel_generation),
                       *map, views[shard_index], stored));
  GNR_ASSIGN_OR_RETURN(
      crypto::MerkleTree tree,
      crypto::MerkleTree::Build(stored, manifest_.leaf_size, manifest_.merkle_kind));
  if (tree.root() != seg.shards[shard_index].merkle_root) {
    return absl::DataLossError(absl::StrCat("segment ", segment, " shard ", shard_index,
                                            ": rebuilt shard does not match its Merkle root "
                                            "(wrong file key?)"));
  }
  return stored;
}

absl::StatusOr<Bytes> ReadRange(const FileManifest& manifest, const FileKey& file_key,
                                uint64_t begin, uint64_t end, ShardSource& source,
                                ReadReport* report) {
  if (end < begin) {
    return absl::InvalidArgumentError(absl::StrCat("bad range [", begin, ", ", end, ")"));
  }
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader, FileReader::Create(manifest, file_key));
  return reader->Read(begin, end - begin, source, report);
}

}  // namespace gnr::codec
