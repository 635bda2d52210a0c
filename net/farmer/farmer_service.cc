#include "net/farmer/farmer_service.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"

namespace gnr::farmer {
namespace {

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

std::string Short(ByteView id) { return HexEncode(id.first(std::min<size_t>(8, id.size()))); }

}  // namespace

shard::ShardInfo ToShardInfo(const ShardMeta& meta) {
  shard::ShardInfo info;
  info.shard_id = meta.id;
  info.bucket_id = meta.bucket;
  info.size = meta.size;
  info.merkle_root = meta.merkle_root;
  info.leaf_size = meta.leaf_size;
  info.merkle_kind = meta.hash_kind;
  if (meta.payer.size() == info.payer.size()) {
    std::memcpy(info.payer.data(), meta.payer.data(), info.payer.size());
  }
  info.stored_at = meta.created;
  return info;
}

FarmerService::FarmerService(ShardStore& store, Admission& admission, std::string software)
    : store_(store), admission_(admission), software_(std::move(software)) {}

ServiceCounters FarmerService::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

template <typename T>
T FarmerService::Count(uint64_t ServiceCounters::*field, T result) {
  absl::MutexLock lock(&mu_);
  ++(counters_.*field);
  if (!StatusOf(result).ok()) ++counters_.errors;
  return result;
}

absl::StatusOr<shard::PutShardAck> FarmerService::Put(const shard::Caller& caller,
                                                      const shard::PutShardCall& call) {
  auto run = [&]() -> absl::StatusOr<shard::PutShardAck> {
    if (!accepting()) {
      GNR_LOG(kInfo) << "refused shard " << Short(call.shard_id) << " from " << caller.address
                     << ": paused";
      return absl::FailedPreconditionError(
          "farmer is paused: not accepting new shards (try another farmer)");
    }
    absl::Status admitted = admission_.AdmitPut(call.bucket_id, call.payer, call.size);
    if (!admitted.ok()) {
      {
        absl::MutexLock lock(&mu_);
        ++counters_.refused_admission;
      }
      GNR_LOG(kWarning) << "refused shard " << Short(call.shard_id) << " of bucket 0x"
                        << HexEncode(call.bucket_id) << " from payer 0x" << HexEncode(call.payer)
                        << ": " << admitted.message();
      return admitted;
    }
    PutArgs args{.id = call.shard_id,
                 .bucket = call.bucket_id,
                 .payer = Bytes(call.payer.begin(), call.payer.end()),
                 .merkle_root = call.merkle_root,
                 .leaf_size = call.leaf_size,
                 .hash_kind = call.merkle_kind};
    GNR_ASSIGN_OR_RETURN(PutResult r, store_.Put(args, call.data.view()));
    return shard::PutShardAck{.already_stored = r.already_stored,
                              .free_bytes = store_.usage().free_bytes()};
  };
  return Count(&ServiceCounters::puts, run());
}

absl::StatusOr<shard::GetRangeResult> FarmerService::GetRange(const shard::Caller& caller,
                                                              const shard::GetRangeCall& call) {
  auto run = [&]() -> absl::StatusOr<shard::GetRangeResult> {
    GNR_ASSIGN_OR_RETURN(ShardMeta meta, store_.Stat(call.shard_id));
    uint64_t bytes = call.leaf_count * uint64_t{meta.leaf_size};
    absl::Status admitted = admission_.AdmitGet(meta.bucket, meta.payer, bytes);
    if (!admitted.ok()) {
      {
        absl::MutexLock lock(&mu_);
        ++counters_.refused_admission;
      }
      GNR_LOG(kWarning) << "refused read of shard " << Short(call.shard_id) << " by "
                        << caller.address << ": " << admitted.message();
      return admitted;
    }
    GNR_ASSIGN_OR_RETURN(LeafRange range,
                         store_.GetLeaves(call.shard_id, call.first_leaf, call.leaf_count));
    return shard::GetRangeResult{.leaves = net_zmq::SharedBytes(std::move(range.leaves)),
                                 .proof = std::move(range.proof)};
  };
  return Count(&ServiceCounters::gets, run());
}

absl::StatusOr<std::vector<crypto::Hash256>> FarmerService::ChallengeSentinels(
    const shard::Caller&, const shard::SentinelChallengeCall& call) {
  return Count(&ServiceCounters::sentinel_challenges,
               store_.ReadSentinels(call.shard_id, call.offsets));
}

absl::StatusOr<shard::MerkleChallengeResult> FarmerService::ChallengeMerkle(
    const shard::Caller&, const shard::MerkleChallengeCall& call) {
  auto run = [&]() -> absl::StatusOr<shard::MerkleChallengeResult> {
    GNR_ASSIGN_OR_RETURN(LeafProof answer, store_.ProveLeaf(call.shard_id, call.leaf_index));
    return shard::MerkleChallengeResult{.leaf = std::move(answer.leaf),
                                        .proof = std::move(answer.proof)};
  };
  return Count(&ServiceCounters::merkle_challenges, run());
}

absl::Status FarmerService::Delete(const shard::Caller& caller,
                                   const shard::DeleteShardCall& call) {
  auto run = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(ShardMeta meta, store_.Stat(call.shard_id));
    if (meta.bucket != call.bucket_id) {
      GNR_LOG(kWarning) << "refused delete of shard " << Short(call.shard_id) << " from "
                        << caller.address << ": wrong bucket";
      return absl::PermissionDeniedError(
          absl::StrCat("shard ", HexEncode(call.shard_id), " belongs to bucket 0x",
                       HexEncode(meta.bucket), ", not 0x", HexEncode(call.bucket_id)));
    }
    return store_.Delete(call.shard_id, call.payer);
  };
  return Count(&ServiceCounters::deletes, run());
}

absl::StatusOr<shard::ShardInfo> FarmerService::StatShard(const shard::Caller&,
                                                          const shard::ShardId& shard_id) {
  auto run = [&]() -> absl::StatusOr<shard::ShardInfo> {
    GNR_ASSIGN_OR_RETURN(ShardMeta meta, store_.Stat(shard_id));
    return ToShardInfo(meta);
  };
  return Count(&ServiceCounters::stats, run());
}

absl::StatusOr<shard::NodeStatus> FarmerService::StatNode(const shard::Caller&) {
  StoreUsage u = store_.usage();
  shard::NodeStatus status{.capacity_bytes = u.capacity_bytes,
                           .used_bytes = u.used_bytes + u.reserved_bytes,
                           .shard_count = u.shards,
                           .accepting = accepting(),
                           .software = software_.substr(0, 64)};
  return Count(&ServiceCounters::stats, absl::StatusOr<shard::NodeStatus>(std::move(status)));
}

}  // namespace gnr::farmer
