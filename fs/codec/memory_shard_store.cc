#include "fs/codec/memory_shard_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "fs/codec/layout.h"

namespace gnr::codec {

absl::Status MemoryShardStore::Put(const ShardId& id, Bytes stored) {
  GNR_ASSIGN_OR_RETURN(crypto::MerkleTree tree,
                       crypto::MerkleTree::Build(stored, leaf_size_, kind_));
  absl::MutexLock lock(&mu_);
  shards_.insert_or_assign(id, Entry{std::move(stored), std::move(tree)});
  return absl::OkStatus();
}

absl::Status MemoryShardStore::PutSegment(const EncodedSegment& segment) {
  if (segment.shards.size() != segment.manifest.shards.size()) {
    return absl::InvalidArgumentError("segment has a different number of shards and ids");
  }
  for (size_t i = 0; i < segment.shards.size(); ++i) {
    GNR_RETURN_IF_ERROR(Put(segment.manifest.shards[i].id, segment.shards[i]));
  }
  return absl::OkStatus();
}

void MemoryShardStore::Erase(const ShardId& id) {
  absl::MutexLock lock(&mu_);
  shards_.erase(id);
}

absl::StatusOr<Bytes> MemoryShardStore::Get(const ShardId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(id);
  if (it == shards_.end()) return absl::NotFoundError("no such shard");
  return it->second.bytes;
}

size_t MemoryShardStore::size() const {
  absl::MutexLock lock(&mu_);
  return shards_.size();
}

std::vector<absl::StatusOr<StoredRangeReply>> MemoryShardStore::Fetch(
    std::span<const StoredRangeRequest> requests) {
  std::vector<absl::StatusOr<StoredRangeReply>> replies;
  replies.reserve(requests.size());
  absl::MutexLock lock(&mu_);
  for (const StoredRangeRequest& req : requests) {
    auto it = shards_.find(req.shard_id);
    if (it == shards_.end()) {
      replies.push_back(absl::NotFoundError(
          absl::StrCat("shard ", HexEncode(ByteView(req.shard_id).first(8)), " not stored")));
      continue;
    }
    const Entry& e = it->second;
    if (req.leaves.empty() || req.leaves.end > e.tree.leaf_count()) {
      replies.push_back(absl::OutOfRangeError(absl::StrCat("leaves [", req.leaves.begin, ", ",
                                                           req.leaves.end, ") outside a shard of ",
                                                           e.tree.leaf_count(), " leaves")));
      continue;
    }
    absl::StatusOr<crypto::MerkleRangeProof> proof =
        e.tree.ProveRange(req.leaves.begin, req.leaves.size());
    if (!proof.ok()) {
      replies.push_back(proof.status());
      continue;
    }
    ByteRange bytes = LeafBytes(req.leaves, leaf_size_, e.bytes.size());
    StoredRangeReply reply;
    reply.leaves.assign(e.bytes.begin() + static_cast<ptrdiff_t>(bytes.begin),
                        e.bytes.begin() + static_cast<ptrdiff_t>(bytes.end));
    reply.proof = std::move(*proof);
    replies.push_back(std::move(reply));
  }
  return replies;
}

}  // namespace gnr::codec
