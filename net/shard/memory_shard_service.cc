#include "net/shard/memory_shard_service.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/hex.h"

namespace gnr::shard {
namespace {

std::string Short(const ShardId& id) { return HexEncode(ByteView(id).first(8)); }

absl::Status NotStored(const ShardId& id) {
  return absl::NotFoundError(absl::StrCat("no shard ", Short(id), "...: never stored or deleted"));
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  uint64_t whole = bytes;
  while (unit < 5 && whole >= 1024 && whole % 1024 == 0) {
    whole /= 1024;
    ++unit;
  }
  if (whole >= 10 * 1024 && unit < 5) {
    // Not a round number: one decimal in the largest unit below 10240.
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 5) {
      v /= 1024;
      ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[u]);
    return buf;
  }
  return absl::StrCat(whole, " ", kUnits[unit]);
}

MemoryShardService::MemoryShardService(Options options)
    : options_(options),
      clock_(options.clock != nullptr ? *options.clock : SystemClockInstance()),
      accepting_(options.accepting) {}

absl::StatusOr<PutShardAck> MemoryShardService::Put(const Caller&, const PutShardCall& call) {
  if (call.data.size() != call.size) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload of ", call.data.size(), " bytes, header says ", call.size));
  }
  {
    absl::MutexLock lock(&mu_);
    if (!accepting_) return absl::FailedPreconditionError("farmer is not accepting new shards");
    auto it = shards_.find(call.shard_id);
    if (it != shards_.end()) {
      if (it->second->info.merkle_root != call.merkle_root) {
        return absl::AlreadyExistsError(absl::StrCat("shard ", Short(call.shard_id),
                                                     "... is already stored with another root"));
      }
      return PutShardAck{true, options_.capacity_bytes - used_};
    }
    if (used_ + call.size > options_.capacity_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("farmer full: capacity ", FormatBytes(options_.capacity_bytes), ", used ",
                       FormatBytes(used_), ", shard ", FormatBytes(call.size)));
    }
  }
  auto stored = std::make_shared<Stored>();
  absl::StatusOr<crypto::MerkleTree> tree =
      crypto::MerkleTree::Build(call.data.view(), call.leaf_size, call.merkle_kind);
  if (!tree.ok()) return tree.status();
  if (options_.verify_root && tree->root() != call.merkle_root) {
    return absl::DataLossError(
        absl::StrCat("shard ", Short(call.shard_id), "... does not hash to its Merkle root (got ",
                     HexEncode(ByteView(tree->root()).first(8)), "..., header says ",
                     HexEncode(ByteView(call.merkle_root).first(8)), "...)"));
  }
  stored->tree = std::make_shared<const crypto::MerkleTree>(*std::move(tree));
  stored->data = call.data;
  stored->info = ShardInfo{call.shard_id,  call.bucket_id,
                           call.size,      call.merkle_root,
                           call.leaf_size, call.merkle_kind,
                           call.payer,     absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()))};
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = shards_.try_emplace(call.shard_id, nullptr);
  if (!inserted) return PutShardAck{true, options_.capacity_bytes - used_};
  if (used_ + call.size > options_.capacity_bytes) {
    shards_.erase(it);
    return absl::ResourceExhaustedError(
        absl::StrCat("farmer full: capacity ", FormatBytes(options_.capacity_bytes), ", used ",
                     FormatBytes(used_), ", shard ", FormatBytes(call.size)));
  }
  it->second = std::move(stored);
  used_ += call.size;
  return PutShardAck{false, options_.capacity_bytes - used_};
}

absl::StatusOr<std::shared_ptr<const MemoryShardService::Stored>> MemoryShardService::Find(
    const ShardId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(id);
  if (it == shards_.end()) return NotStored(id);
  return it->second;
}

absl::StatusOr<GetRangeResult> MemoryShardService::GetRange(const Caller&,
                                                            const GetRangeCall& call) {
  absl::StatusOr<std::shared_ptr<const Stored>> s = Find(call.shard_id);
  if (!s.ok()) return s.status();
  const Stored& stored = **s;
  const uint64_t leaves = stored.tree->leaf_count();
  if (call.leaf_count == 0 || call.first_leaf >= leaves ||
      call.leaf_count > leaves - call.first_leaf) {
    return absl::OutOfRangeError(absl::StrCat("leaves [", call.first_leaf, ", +", call.leaf_count,
                                              ") are outside the shard's ", leaves, " leaves"));
  }
  absl::StatusOr<crypto::MerkleRangeProof> proof =
      stored.tree->ProveRange(call.first_leaf, call.leaf_count);
  if (!proof.ok()) return proof.status();
  const uint64_t begin = call.first_leaf * stored.info.leaf_size;
  const uint64_t end = std::min<uint64_t>(
      (call.first_leaf + call.leaf_count) * stored.info.leaf_size, stored.data.size());
  return GetRangeResult{stored.data.Subrange(begin, end - begin), *std::move(proof)};
}

absl::StatusOr<std::vector<crypto::Hash256>> MemoryShardService::ChallengeSentinels(
    const Caller&, const SentinelChallengeCall& call) {
  absl::StatusOr<std::shared_ptr<const Stored>> s = Find(call.shard_id);
  if (!s.ok()) return s.status();
  ByteView data = (*s)->data.view();
  std::vector<crypto::Hash256> out(call.offsets.size());
  for (size_t i = 0; i < call.offsets.size(); ++i) {
    const uint64_t o = call.offsets[i];
    if (o > data.size() || data.size() - o < kSentinelSize) {
      return absl::OutOfRangeError(
          absl::StrCat("sentinel offset ", o, " runs past the shard's ", data.size(), " bytes"));
    }
    std::memcpy(out[i].data(), data.data() + o, kSentinelSize);
  }
  return out;
}

absl::StatusOr<MerkleChallengeResult> MemoryShardService::ChallengeMerkle(
    const Caller&, const MerkleChallengeCall& call) {
  absl::StatusOr<std::shared_ptr<const Stored>> s = Find(call.shard_id);
  if (!s.ok()) return s.status();
  const Stored& stored = **s;
  if (call.leaf_index >= stored.tree->leaf_count()) {
    return absl::OutOfRangeError(absl::StrCat("leaf ", call.leaf_index, " is outside the shard's ",
                                              stored.tree->leaf_count(), " leaves"));
  }
  absl::StatusOr<crypto::MerkleProof> proof = stored.tree->Prove(call.leaf_index);
  if (!proof.ok()) return proof.status();
  const uint64_t begin = call.leaf_index * stored.info.leaf_size;
  const uint64_t end = std::min<uint64_t>(begin + stored.info.leaf_size, stored.data.size());
  ByteView leaf = stored.data.view().subspan(begin, end - begin);
  return MerkleChallengeResult{Bytes(leaf.begin(), leaf.end()), *std::move(proof)};
}

absl::Status MemoryShardService::Delete(const Caller&, const DeleteShardCall& call) {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(call.shard_id);
  if (it == shards_.end()) return NotStored(call.shard_id);
  const ShardInfo& info = it->second->info;
  if (info.payer != call.payer) {
    return absl::PermissionDeniedError(
        absl::StrCat("shard ", Short(call.shard_id), "... was stored by payer ",
                     crypto::EthAddressToChecksumHex(info.payer), "; delete signed by ",
                     crypto::EthAddressToChecksumHex(call.payer)));
  }
  used_ -= info.size;
  shards_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<ShardInfo> MemoryShardService::StatShard(const Caller&, const ShardId& shard_id) {
  absl::StatusOr<std::shared_ptr<const Stored>> s = Find(shard_id);
  if (!s.ok()) return s.status();
  return (*s)->info;
}

absl::StatusOr<NodeStatus> MemoryShardService::StatNode(const Caller&) {
  absl::MutexLock lock(&mu_);
  NodeStatus status;
  status.capacity_bytes = options_.capacity_bytes;
  status.used_bytes = used_;
  status.shard_count = shards_.size();
  status.accepting = accepting_;
  status.software = "gnrfs memory service";
  return status;
}

void MemoryShardService::SetAccepting(bool accepting) {
  absl::MutexLock lock(&mu_);
  accepting_ = accepting;
}

absl::Status MemoryShardService::Corrupt(const ShardId& shard_id, uint64_t offset) {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(shard_id);
  if (it == shards_.end()) return NotStored(shard_id);
  if (offset >= it->second->data.size()) return absl::NotFoundError("offset past the shard");
  auto copy = std::make_shared<Stored>(*it->second);
  Bytes bytes = copy->data.ToBytes();
  bytes[offset] ^= 0xff;
  copy->data = net_zmq::SharedBytes(std::move(bytes));
  it->second = std::move(copy);
  return absl::OkStatus();
}

size_t MemoryShardService::shard_count() const {
  absl::MutexLock lock(&mu_);
  return shards_.size();
}

}  // namespace gnr::shard
