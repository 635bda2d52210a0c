#include "net/shard/shard_client.h"

#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "net/wire/shard_codec.h"

namespace gnr::shard {
namespace {

template <typename T>
absl::StatusOr<T> Expect(absl::StatusOr<wire::ShardMessage> decoded) {
  if (!decoded.ok()) return Annotate(decoded.status(), "malformed reply");
  if (T* m = std::get_if<T>(&*decoded)) return std::move(*m);
  return absl::InvalidArgumentError(
      absl::StrCat("unexpected reply ", AbslView(wire::ShardMessageName(*decoded))));
}

// Runs `fn` (which takes a callback) and waits for the callback's value.
template <typename T, typename Fn>
T Wait(Fn&& fn) {
  std::promise<T> promise;
  std::future<T> future = promise.get_future();
  fn([&promise](T value) { promise.set_value(std::move(value)); });
  return future.get();
}

}  // namespace

std::string_view ShardOpName(ShardOp op) {
  switch (op) {
    case ShardOp::kPut:
      return "put";
    case ShardOp::kGet:
      return "get";
    case ShardOp::kSentinels:
      return "challenge_sentinels";
    case ShardOp::kMerkle:
      return "challenge_merkle";
    case ShardOp::kDelete:
      return "delete";
    case ShardOp::kStat:
      return "stat";
  }
  return "?";
}

ShardClient::ShardClient(ShardClientOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClockInstance()),
      random_(options_.random != nullptr ? *options_.random : crypto::OsRandom()),
      stats_(std::make_shared<Stats>()) {
  stats_->clock = &clock_;
  stats_->observer = options_.observer;
}

ShardClient::~ShardClient() = default;

absl::Duration ShardClient::TransferTimeout(uint64_t bytes) const {
  return options_.transfer_timeout +
         absl::Seconds(static_cast<double>(bytes) / std::max(1.0, options_.min_transfer_rate));
}

void ShardClient::Stats::Record(const NodeId& farmer, ShardOp op, absl::Duration latency,
                                const absl::Status& status) {
  {
    absl::MutexLock lock(&mu);
    FarmerLatency& l = this->latency[farmer];
    l.last = latency;
    if (IsUnanswered(status)) {
      ++l.unanswered_in_a_row;
      l.last_unanswered = clock->Now();
    } else {
      l.unanswered_in_a_row = 0;  // it answered, even if with a refusal
    }
    if (status.ok()) {
      ++l.ok;
      l.ewma = l.ok == 1 ? latency : l.ewma * 0.8 + latency * 0.2;
      l.last_seen = clock->Now();
    } else {
      ++l.failed;
      l.last_error = status;
    }
  }
  if (observer) observer(farmer, op, latency, status);
}

void ShardClient::Send(const FarmerAddress& farmer, ShardOp op, Bytes header,
                       net_zmq::SharedBytes payload, absl::Duration timeout,
                       absl::AnyInvocable<void(absl::StatusOr<net_zmq::Message>)> on_reply) {
  const absl::Time start = clock_.Now();
  // Shard bytes (PUT's payload, GET's reply) take the bulk channel: the farmer checks a PUT
  // against the payer-signed Merkle root and we check every GET leaf against ours, so CURVE
  // would only encrypt ciphertext a second time (net/zmq/bulk.h).
  const net_zmq::Channel channel = op == ShardOp::kPut || op == ShardOp::kGet
                                       ? net_zmq::Channel::kBulk
                                       : net_zmq::Channel::kControl;
  options_.transport->SendRequest(
      net_zmq::PeerAddress{farmer.endpoint, farmer.curve_key},
      net_zmq::Message{std::move(header), std::move(payload)}, timeout,
      [stats = stats_, id = farmer.id, op, start,
       on_reply = std::move(on_reply)](absl::StatusOr<net_zmq::Message> reply) mutable {
        stats->Record(id, op, stats->clock->Now() - start, reply.status());
        on_reply(std::move(reply));
      },
      channel);
}

void ShardClient::Put(const FarmerAddress& farmer, PutShardArgs args, Callback<PutShardAck> done) {
  if (options_.signer == nullptr) {
    return done(absl::FailedPreconditionError("shard client has no payer signer"));
  }
  wire::PutShardRequest r;
  r.bucket_id = std::move(args.bucket_id);
  r.shard_id = args.shard_id;
  r.size = args.data.size();
  r.merkle_root = args.merkle_root;
  r.leaf_size = args.leaf_size;
  r.merkle_kind = args.merkle_kind;
  r.farmer = farmer.id;
  r.signed_at = absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
  random_.Fill(r.nonce);
  absl::StatusOr<crypto::Hash256> digest =
      PutShardDigest({r.farmer, r.bucket_id, r.shard_id, r.size, r.merkle_root, r.leaf_size,
                      r.merkle_kind, r.signed_at, r.nonce});
  if (!digest.ok()) return done(digest.status());
  absl::StatusOr<Bytes> signature = options_.signer->Sign(*digest);
  if (!signature.ok()) return done(Annotate(signature.status(), "signing PUT_SHARD"));
  r.signature = *std::move(signature);
  absl::StatusOr<Bytes> header = wire::EncodeShardMessage(r);
  if (!header.ok()) return done(header.status());
  const uint64_t size = r.size;
  Send(farmer, ShardOp::kPut, *std::move(header), std::move(args.data), TransferTimeout(size),
       [done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         absl::StatusOr<wire::PutShardReply> r =
             Expect<wire::PutShardReply>(wire::DecodeShardMessage(reply->header));
         if (!r.ok()) return done(r.status());
         done(PutShardAck{r->already_stored, r->free_bytes});
       });
}

void ShardClient::GetRange(const FarmerAddress& farmer, GetRangeArgs args,
                           Callback<GetRangeReply> done) {
  wire::GetShardRequest r{args.shard_id, std::move(args.bucket_id), args.first_leaf,
                          args.leaf_count};
  absl::StatusOr<Bytes> header = wire::EncodeShardMessage(r);
  if (!header.ok()) return done(header.status());
  const uint64_t first = args.first_leaf, count = args.leaf_count;
  Send(farmer, ShardOp::kGet, *std::move(header), {},
       TransferTimeout(std::min<uint64_t>(count * crypto::kDefaultMerkleLeafSize, kMaxShardSize)),
       [first, count, done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         absl::StatusOr<wire::GetShardReply> r =
             Expect<wire::GetShardReply>(wire::DecodeShardMessage(reply->header));
         if (!r.ok()) return done(r.status());
         if (r->proof.first_leaf != first || r->proof.leaf_count_in_range != count) {
           return done(absl::DataLossError(absl::StrCat(
               "GET_SHARD reply proves leaves [", r->proof.first_leaf, ", +",
               r->proof.leaf_count_in_range, "), asked for [", first, ", +", count, ")")));
         }
         if (reply->payload.size() < count) {
           return done(absl::DataLossError(absl::StrCat(
               "GET_SHARD reply of ", reply->payload.size(), " bytes for ", count, " leaves")));
         }
         done(GetRangeReply{std::move(reply->payload), std::move(r->proof)});
       });
}

void ShardClient::ChallengeSentinels(const FarmerAddress& farmer, const ShardId& shard_id,
                                     std::vector<uint64_t> offsets,
                                     Callback<std::vector<crypto::Hash256>> done) {
  const size_t n = offsets.size();
  absl::StatusOr<Bytes> header =
      wire::EncodeShardMessage(wire::ChallengeSentinelsRequest{shard_id, std::move(offsets)});
  if (!header.ok()) return done(header.status());
  Send(farmer, ShardOp::kSentinels, *std::move(header), {}, options_.request_timeout,
       [n, done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         absl::StatusOr<wire::ChallengeSentinelsReply> r =
             Expect<wire::ChallengeSentinelsReply>(wire::DecodeShardMessage(reply->header));
         if (!r.ok()) return done(r.status());
         if (r->values.size() != n || !reply->payload.empty()) {
           return done(absl::DataLossError(absl::StrCat("sentinel answer has ", r->values.size(),
                                                        " values for ", n, " offsets")));
         }
         done(std::move(r->values));
       });
}

void ShardClient::ChallengeMerkle(const FarmerAddress& farmer, const ShardId& shard_id,
                                  uint64_t leaf_index, Callback<MerkleChallengeResult> done) {
  absl::StatusOr<Bytes> header =
      wire::EncodeShardMessage(wire::ChallengeMerkleRequest{shard_id, leaf_index});
  if (!header.ok()) return done(header.status());
  Send(farmer, ShardOp::kMerkle, *std::move(header), {}, options_.request_timeout,
       [leaf_index, done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         absl::StatusOr<wire::ChallengeMerkleReply> r =
             Expect<wire::ChallengeMerkleReply>(wire::DecodeShardMessage(reply->header));
         if (!r.ok()) return done(r.status());
         if (r->proof.leaf_index != leaf_index) {
           return done(absl::DataLossError(absl::StrCat(
               "Merkle answer proves leaf ", r->proof.leaf_index, ", asked for ", leaf_index)));
         }
         done(MerkleChallengeResult{reply->payload.ToBytes(), std::move(r->proof)});
       });
}

void ShardClient::Delete(const FarmerAddress& farmer, const ShardId& shard_id, ByteView bucket_id,
                         StatusCallback done) {
  if (options_.signer == nullptr) {
    return done(absl::FailedPreconditionError("shard client has no payer signer"));
  }
  wire::DeleteShardRequest r;
  r.shard_id = shard_id;
  r.bucket_id = ToBytes(bucket_id);
  r.farmer = farmer.id;
  r.signed_at = absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
  random_.Fill(r.nonce);
  absl::StatusOr<crypto::Hash256> digest =
      DeleteShardDigest({r.farmer, r.bucket_id, r.shard_id, r.signed_at, r.nonce});
  if (!digest.ok()) return done(digest.status());
  absl::StatusOr<Bytes> signature = options_.signer->Sign(*digest);
  if (!signature.ok()) return done(Annotate(signature.status(), "signing DELETE_SHARD"));
  r.signature = *std::move(signature);
  absl::StatusOr<Bytes> header = wire::EncodeShardMessage(r);
  if (!header.ok()) return done(header.status());
  Send(farmer, ShardOp::kDelete, *std::move(header), {}, options_.request_timeout,
       [done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         done(Expect<wire::DeleteShardReply>(wire::DecodeShardMessage(reply->header)).status());
       });
}

void ShardClient::StatShard(const FarmerAddress& farmer, const ShardId& shard_id,
                            Callback<ShardInfo> done) {
  absl::StatusOr<Bytes> header = wire::EncodeShardMessage(wire::StatShardRequest{shard_id});
  if (!header.ok()) return done(header.status());
  Send(farmer, ShardOp::kStat, *std::move(header), {}, options_.request_timeout,
       [shard_id, done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         absl::StatusOr<wire::StatShardReply> r =
             Expect<wire::StatShardReply>(wire::DecodeShardMessage(reply->header));
         if (!r.ok()) return done(r.status());
         if (r->info.shard_id != shard_id) {
           return done(absl::DataLossError("STAT reply describes another shard"));
         }
         done(std::move(r->info));
       });
}

void ShardClient::StatNode(const FarmerAddress& farmer, Callback<NodeStatus> done) {
  absl::StatusOr<Bytes> header = wire::EncodeShardMessage(wire::StatNodeRequest{});
  if (!header.ok()) return done(header.status());
  Send(farmer, ShardOp::kStat, *std::move(header), {}, options_.request_timeout,
       [done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
         if (!reply.ok()) return done(reply.status());
         absl::StatusOr<wire::StatNodeReply> r =
             Expect<wire::StatNodeReply>(wire::DecodeShardMessage(reply->header));
         if (!r.ok()) return done(r.status());
         done(std::move(r->status));
       });
}

absl::StatusOr<PutShardAck> ShardClient::PutSync(const FarmerAddress& farmer, PutShardArgs args) {
  return Wait<absl::StatusOr<PutShardAck>>(
      [&](auto cb) { Put(farmer, std::move(args), std::move(cb)); });
}
absl::StatusOr<GetRangeReply> ShardClient::GetRangeSync(const FarmerAddress& farmer,
                                                        GetRangeArgs args) {
  return Wait<absl::StatusOr<GetRangeReply>>(
      [&](auto cb) { GetRange(farmer, std::move(args), std::move(cb)); });
}
absl::StatusOr<std::vector<crypto::Hash256>> ShardClient::ChallengeSentinelsSync(
    const FarmerAddress& farmer, const ShardId& shard_id, std::vector<uint64_t> offsets) {
  return Wait<absl::StatusOr<std::vector<crypto::Hash256>>>(
      [&](auto cb) { ChallengeSentinels(farmer, shard_id, std::move(offsets), std::move(cb)); });
}
absl::StatusOr<MerkleChallengeResult> ShardClient::ChallengeMerkleSync(const FarmerAddress& farmer,
                                                                       const ShardId& shard_id,
                                                                       uint64_t leaf_index) {
  return Wait<absl::StatusOr<MerkleChallengeResult>>(
      [&](auto cb) { ChallengeMerkle(farmer, shard_id, leaf_index, std::move(cb)); });
}
absl::Status ShardClient::DeleteSync(const FarmerAddress& farmer, const ShardId& shard_id,
                                     ByteView bucket_id) {
  return Wait<absl::Status>([&](auto cb) { Delete(farmer, shard_id, bucket_id, std::move(cb)); });
}
absl::StatusOr<ShardInfo> ShardClient::StatShardSync(const FarmerAddress& farmer,
                                                     const ShardId& shard_id) {
  return Wait<absl::StatusOr<ShardInfo>>(
      [&](auto cb) { StatShard(farmer, shard_id, std::move(cb)); });
}
absl::StatusOr<NodeStatus> ShardClient::StatNodeSync(const FarmerAddress& farmer) {
  return Wait<absl::StatusOr<NodeStatus>>([&](auto cb) { StatNode(farmer, std::move(cb)); });
}

bool IsUnanswered(const absl::Status& status) { return absl::IsDeadlineExceeded(status); }

bool ShardClient::Unreachable(const NodeId& farmer) const {
  absl::MutexLock lock(&stats_->mu);
  auto it = stats_->latency.find(farmer);
  if (it == stats_->latency.end() || it->second.unanswered_in_a_row == 0) return false;
  return clock_.Now() - it->second.last_unanswered < options_.unreachable_for;
}

std::optional<FarmerLatency> ShardClient::Latency(const NodeId& farmer) const {
  absl::MutexLock lock(&stats_->mu);
  auto it = stats_->latency.find(farmer);
  if (it == stats_->latency.end()) return std::nullopt;
  return it->second;
}

absl::flat_hash_map<NodeId, FarmerLatency> ShardClient::AllLatencies() const {
  absl::MutexLock lock(&stats_->mu);
  return stats_->latency;
}

LeafSpan LeavesCovering(uint64_t offset, uint64_t length, uint32_t leaf_size) {
  if (length == 0 || leaf_size == 0) return {offset / std::max<uint32_t>(leaf_size, 1), 0};
  const uint64_t first = offset / leaf_size;
  const uint64_t last = (offset + length - 1) / leaf_size;
  return {first, last - first + 1};
}

absl::Status VerifyRangeReply(const GetRangeArgs& args, const GetRangeReply& reply,
                              const crypto::Hash256& root, uint64_t shard_size, uint32_t leaf_size,
                              crypto::MerkleHashKind kind) {
  if (leaf_size == 0) return absl::InvalidArgumentError("leaf size 0");
  const uint64_t total = crypto::MerkleLeafCount(shard_size, leaf_size);
  const crypto::MerkleRangeProof& proof = reply.proof;
  if (proof.total_leaves != total || proof.first_leaf != args.first_leaf ||
      proof.leaf_count_in_range != args.leaf_count) {
    return absl::DataLossError(absl::StrCat("range proof is for leaves [", proof.first_leaf, ", +",
                                            proof.leaf_count_in_range, ") of ", proof.total_leaves,
                                            "; expected [", args.first_leaf, ", +", args.leaf_count,
                                            ") of ", total));
  }
  const uint64_t begin = args.first_leaf * leaf_size;
  const uint64_t end =
      std::min<uint64_t>((args.first_leaf + args.leaf_count) * leaf_size, shard_size);
  if (begin > end || reply.leaves.size() != end - begin) {
    return absl::DataLossError(
        absl::StrCat("reply has ", reply.leaves.size(), " leaf bytes, expected ", end - begin));
  }
  const std::vector<crypto::Hash256> hashes =
      crypto::MerkleLeafHashesOf(reply.leaves.view(), static_cast<size_t>(leaf_size), kind);
  absl::Status s = crypto::VerifyMerkleRange(root, hashes, proof, kind);
  if (!s.ok()) return absl::DataLossError(s.message());
  return absl::OkStatus();
}

absl::Status VerifyMerkleChallengeReply(uint64_t leaf_index, const MerkleChallengeResult& reply,
                                        const crypto::Hash256& root, uint64_t shard_size,
                                        uint32_t leaf_size, crypto::MerkleHashKind kind) {
  if (leaf_size == 0) return absl::InvalidArgumentError("leaf size 0");
  const uint64_t total = crypto::MerkleLeafCount(shard_size, leaf_size);
  if (reply.proof.leaf_index != leaf_index || reply.proof.leaf_count != total) {
    return absl::DataLossError(absl::StrCat("Merkle proof is for leaf ", reply.proof.leaf_index,
                                            " of ", reply.proof.leaf_count, "; expected ",
                                            leaf_index, " of ", total));
  }
  const uint64_t begin = leaf_index * leaf_size;
  const uint64_t expected = std::min<uint64_t>(begin + leaf_size, shard_size) - begin;
  if (reply.leaf.size() != expected) {
    return absl::DataLossError(
        absl::StrCat("leaf of ", reply.leaf.size(), " bytes, expected ", expected));
  }
  absl::Status s = crypto::VerifyMerkleProof(root, reply.leaf, reply.proof, kind);
  if (!s.ok()) return absl::DataLossError(s.message());
  return absl::OkStatus();
}

}  // namespace gnr::shard
