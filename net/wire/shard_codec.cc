#include "net/wire/shard_codec.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/overloaded.h"
#include "common/status.h"
#include "common/strings.h"
#include "net/wire/frame.h"
#include "shard.pb.h"

namespace gnr::wire {
namespace {

std::string S(ByteView b) { return std::string(b.begin(), b.end()); }
ByteView V(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

absl::Status Invalid(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(where), ": ", AbslView(what)));
}

template <size_t N>
absl::StatusOr<FixedBytes<N>> Fixed(const std::string& s, std::string_view where,
                                    std::string_view field) {
  if (s.size() != N) {
    return Invalid(where, absl::StrCat(AbslView(field), " must be ", N, " bytes, got ", s.size()));
  }
  FixedBytes<N> out;
  std::copy(s.begin(), s.end(), out.begin());
  return out;
}

absl::Status CheckBucket(size_t size, bool required, std::string_view where) {
  if (size > kMaxBucketIdSize || (required && size == 0)) {
    return Invalid(where, absl::StrCat("bucket id must be ", required ? 1 : 0, "..",
                                       kMaxBucketIdSize, " bytes, got ", size));
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::MerkleHashKind> Kind(uint32_t v, std::string_view where) {
  if (v > 1) {
    return Invalid(where, absl::StrCat("unknown Merkle hash kind ", v, " (0 SHA-256, 1 BLAKE2b)"));
  }
  return static_cast<crypto::MerkleHashKind>(v);
}

absl::Status CheckLeafSize(uint32_t leaf_size, std::string_view where) {
  if (leaf_size < kMinLeafSize || leaf_size > kMaxLeafSize) {
    return Invalid(where, absl::StrCat("leaf size ", leaf_size, " is outside ", kMinLeafSize, "..",
                                       kMaxLeafSize));
  }
  return absl::OkStatus();
}

absl::Status CheckSignature(size_t size, std::string_view where) {
  if (size != kSignatureSize) {
    return Invalid(where, absl::StrCat("signature must be ", kSignatureSize, " bytes, got ", size,
                                       size == 0 ? " (unsigned request)" : ""));
  }
  return absl::OkStatus();
}

// Checks of a value before encoding (the decoder checks the same on the other
// side).
absl::Status CheckPut(const PutShardRequest& m) {
  constexpr std::string_view kWhere = "put_shard";
  GNR_RETURN_IF_ERROR(CheckBucket(m.bucket_id.size(), true, kWhere));
  if (m.size == 0 || m.size > kMaxShardSize) {
    return Invalid(kWhere, absl::StrCat("size ", m.size, " is outside 1..", kMaxShardSize));
  }
  GNR_RETURN_IF_ERROR(CheckLeafSize(m.leaf_size, kWhere));
  GNR_RETURN_IF_ERROR(Kind(static_cast<uint32_t>(m.merkle_kind), kWhere).status());
  return CheckSignature(m.signature.size(), kWhere);
}

absl::Status CheckGet(const GetShardRequest& m) {
  constexpr std::string_view kWhere = "get_shard";
  GNR_RETURN_IF_ERROR(CheckBucket(m.bucket_id.size(), false, kWhere));
  if (m.leaf_count == 0) return Invalid(kWhere, "leaf count must be at least 1");
  if (m.first_leaf >= (1ull << 62) || m.leaf_count >= (1ull << 62)) {
    return Invalid(kWhere, "leaf range out of bounds");
  }
  return absl::OkStatus();
}

absl::Status CheckOffsets(size_t n, std::string_view where, std::string_view what) {
  if (n == 0 || n > kMaxChallengeOffsets) {
    return Invalid(where,
                   absl::StrCat(n, " ", AbslView(what), ", must be 1..", kMaxChallengeOffsets));
  }
  return absl::OkStatus();
}

absl::Status CheckDelete(const DeleteShardRequest& m) {
  constexpr std::string_view kWhere = "delete_shard";
  GNR_RETURN_IF_ERROR(CheckBucket(m.bucket_id.size(), true, kWhere));
  return CheckSignature(m.signature.size(), kWhere);
}

absl::Status CheckInfo(const ShardInfo& info) {
  constexpr std::string_view kWhere = "stat_shard_reply";
  GNR_RETURN_IF_ERROR(CheckBucket(info.bucket_id.size(), false, kWhere));
  if (info.size > kMaxShardSize) {
    return Invalid(kWhere, absl::StrCat("size ", info.size, " exceeds ", kMaxShardSize));
  }
  return Kind(static_cast<uint32_t>(info.merkle_kind), kWhere).status();
}

absl::Status CheckStatus(const NodeStatus& status) {
  if (status.software.size() > kMaxSoftwareSize) {
    return Invalid("stat_node_reply", absl::StrCat("software string of ", status.software.size(),
                                                   " bytes, at most ", kMaxSoftwareSize));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ShardMessageName(const ShardMessage& m) {
  static constexpr std::string_view kNames[] = {"PUT_SHARD",           "PUT_SHARD_REPLY",
                                                "GET_SHARD",           "GET_SHARD_REPLY",
                                                "CHALLENGE_SENTINELS", "CHALLENGE_SENTINELS_REPLY",
                                                "CHALLENGE_MERKLE",    "CHALLENGE_MERKLE_REPLY",
                                                "DELETE_SHARD",        "DELETE_SHARD_REPLY",
                                                "STAT_SHARD",          "STAT_SHARD_REPLY",
                                                "STAT_NODE",           "STAT_NODE_REPLY"};
  return m.index() < std::size(kNames) ? kNames[m.index()] : "?";
}

absl::StatusOr<Bytes> EncodeShardMessage(const ShardMessage& message) {
  pb::ShardMessage m;
  absl::Status status = std::visit(
      Overloaded{
          [&](const PutShardRequest& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(CheckPut(r));
            pb::PutShard* p = m.mutable_put();
            p->set_bucket_id(S(r.bucket_id));
            p->set_shard_id(S(r.shard_id));
            p->set_size(r.size);
            p->set_merkle_root(S(r.merkle_root));
            p->set_leaf_size(r.leaf_size);
            p->set_merkle_kind(static_cast<uint32_t>(r.merkle_kind));
            p->set_farmer_id(S(r.farmer.view()));
            p->set_signed_at_us(absl::ToUnixMicros(r.signed_at));
            p->set_nonce(S(r.nonce));
            p->set_signature(S(r.signature));
            return absl::OkStatus();
          },
          [&](const PutShardReply& r) {
            pb::PutShardReply* p = m.mutable_put_reply();
            p->set_already_stored(r.already_stored);
            p->set_free_bytes(r.free_bytes);
            return absl::OkStatus();
          },
          [&](const GetShardRequest& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(CheckGet(r));
            pb::GetShard* p = m.mutable_get();
            p->set_shard_id(S(r.shard_id));
            p->set_bucket_id(S(r.bucket_id));
            p->set_first_leaf(r.first_leaf);
            p->set_leaf_count(r.leaf_count);
            return absl::OkStatus();
          },
          [&](const GetShardReply& r) -> absl::Status {
            Bytes proof = r.proof.Encode();
            // The proof must decode on the other side (catches a malformed
            // proof here).
            GNR_RETURN_IF_ERROR(crypto::MerkleRangeProof::Decode(proof).status());
            m.mutable_get_reply()->set_range_proof(S(proof));
            return absl::OkStatus();
          },
          [&](const ChallengeSentinelsRequest& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(CheckOffsets(r.offsets.size(), "challenge_sentinels", "offsets"));
            pb::ChallengeSentinels* p = m.mutable_sentinels();
            p->set_shard_id(S(r.shard_id));
            for (uint64_t o : r.offsets) p->add_offsets(o);
            return absl::OkStatus();
          },
          [&](const ChallengeSentinelsReply& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(
                CheckOffsets(r.values.size(), "challenge_sentinels_reply", "values"));
            std::string values;
            values.reserve(r.values.size() * 32);
            for (const crypto::Hash256& v : r.values) values.append(v.begin(), v.end());
            m.mutable_sentinels_reply()->set_values(std::move(values));
            return absl::OkStatus();
          },
          [&](const ChallengeMerkleRequest& r) {
            pb::ChallengeMerkle* p = m.mutable_merkle();
            p->set_shard_id(S(r.shard_id));
            p->set_leaf_index(r.leaf_index);
            return absl::OkStatus();
          },
          [&](const ChallengeMerkleReply& r) -> absl::Status {
            Bytes proof = r.proof.Encode();
            GNR_RETURN_IF_ERROR(crypto::MerkleProof::Decode(proof).status());
            m.mutable_merkle_reply()->set_proof(S(proof));
            return absl::OkStatus();
          },
          [&](const DeleteShardRequest& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(CheckDelete(r));
            pb::DeleteShard* p = m.mutable_remove();
            p->set_shard_id(S(r.shard_id));
            p->set_bucket_id(S(r.bucket_id));
            p->set_farmer_id(S(r.farmer.view()));
            p->set_signed_at_us(absl::ToUnixMicros(r.signed_at));
            p->set_nonce(S(r.nonce));
            p->set_signature(S(r.signature));
            return absl::OkStatus();
          },
          [&](const DeleteShardReply&) {
            m.mutable_remove_reply();
            return absl::OkStatus();
          },
          [&](const StatShardRequest& r) {
            m.mutable_stat_shard()->set_shard_id(S(r.shard_id));
            return absl::OkStatus();
          },
          [&](const StatShardReply& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(CheckInfo(r.info));
            pb::StatShardReply* p = m.mutable_stat_shard_reply();
            p->set_shard_id(S(r.info.shard_id));
            p->set_bucket_id(S(r.info.bucket_id));
            p->set_size(r.info.size);
            p->set_merkle_root(S(r.info.merkle_root));
            p->set_leaf_size(r.info.leaf_size);
            p->set_merkle_kind(static_cast<uint32_t>(r.info.merkle_kind));
            p->set_payer(S(r.info.payer));
            p->set_stored_at_us(absl::ToUnixMicros(r.info.stored_at));
            return absl::OkStatus();
          },
          [&](const StatNodeRequest&) {
            m.mutable_stat_node();
            return absl::OkStatus();
          },
          [&](const StatNodeReply& r) -> absl::Status {
            GNR_RETURN_IF_ERROR(CheckStatus(r.status));
            pb::StatNodeReply* p = m.mutable_stat_node_reply();
            p->set_capacity_bytes(r.status.capacity_bytes);
            p->set_used_bytes(r.status.used_bytes);
            p->set_shard_count(r.status.shard_count);
            p->set_accepting(r.status.accepting);
            p->set_software(r.status.software);
            return absl::OkStatus();
          },
      },
      message);
  GNR_RETURN_IF_ERROR(status);
  const size_t size = m.ByteSizeLong();
  if (size + kFramePrefixSize > kMaxHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard message of ", size, " bytes exceeds the header limit"));
  }
  Bytes out(kFramePrefixSize + size);
  out[0] = static_cast<uint8_t>(Protocol::kShard);
  out[1] = kWireVersion;
  m.SerializeWithCachedSizesToArray(out.data() + kFramePrefixSize);
  return out;
}

absl::StatusOr<ShardMessage> DecodeShardMessage(ByteView header) {
  GNR_ASSIGN_OR_RETURN(Protocol protocol, PeekProtocol(header));
  if (protocol != Protocol::kShard) {
    return absl::InvalidArgumentError("not a shard-protocol frame (protocol byte is not 2)");
  }
  pb::ShardMessage m;
  const ByteView body = header.subspan(kFramePrefixSize);
  if (!m.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return absl::InvalidArgumentError("shard message is not a well-formed protobuf ShardMessage");
  }
  switch (m.body_case()) {
    case pb::ShardMessage::kPut: {
      constexpr std::string_view kWhere = "put_shard";
      const pb::PutShard& p = m.put();
      PutShardRequest r;
      r.bucket_id = ToBytes(V(p.bucket_id()));
      GNR_ASSIGN_OR_RETURN(r.shard_id, Fixed<kShardIdSize>(p.shard_id(), kWhere, "shard id"));
      r.size = p.size();
      GNR_ASSIGN_OR_RETURN(r.merkle_root, Fixed<32>(p.merkle_root(), kWhere, "Merkle root"));
      r.leaf_size = p.leaf_size();
      GNR_ASSIGN_OR_RETURN(r.merkle_kind, Kind(p.merkle_kind(), kWhere));
      GNR_ASSIGN_OR_RETURN(FixedBytes<20> farmer, Fixed<20>(p.farmer_id(), kWhere, "farmer id"));
      r.farmer = kademlia::NodeId(farmer);
      r.signed_at = absl::FromUnixMicros(p.signed_at_us());
      GNR_ASSIGN_OR_RETURN(r.nonce, Fixed<kNonceSize>(p.nonce(), kWhere, "nonce"));
      r.signature = ToBytes(V(p.signature()));
      GNR_RETURN_IF_ERROR(CheckPut(r));
      return r;
    }
    case pb::ShardMessage::kPutReply:
      return PutShardReply{m.put_reply().already_stored(), m.put_reply().free_bytes()};
    case pb::ShardMessage::kGet: {
      const pb::GetShard& p = m.get();
      GetShardRequest r;
      GNR_ASSIGN_OR_RETURN(r.shard_id, Fixed<kShardIdSize>(p.shard_id(), "get_shard", "shard id"));
      r.bucket_id = ToBytes(V(p.bucket_id()));
      r.first_leaf = p.first_leaf();
      r.leaf_count = p.leaf_count();
      GNR_RETURN_IF_ERROR(CheckGet(r));
      return r;
    }
    case pb::ShardMessage::kGetReply: {
      absl::StatusOr<crypto::MerkleRangeProof> proof =
          crypto::MerkleRangeProof::Decode(V(m.get_reply().range_proof()));
      if (!proof.ok()) return Annotate(proof.status(), "get_shard_reply range proof");
      return GetShardReply{*std::move(proof)};
    }
    case pb::ShardMessage::kSentinels: {
      const pb::ChallengeSentinels& p = m.sentinels();
      ChallengeSentinelsRequest r;
      GNR_ASSIGN_OR_RETURN(r.shard_id,
                           Fixed<kShardIdSize>(p.shard_id(), "challenge_sentinels", "shard id"));
      GNR_RETURN_IF_ERROR(CheckOffsets(p.offsets_size(), "challenge_sentinels", "offsets"));
      r.offsets.assign(p.offsets().begin(), p.offsets().end());
      return r;
    }
    case pb::ShardMessage::kSentinelsReply: {
      const std::string& values = m.sentinels_reply().values();
      if (values.size() % 32 != 0) {
        return Invalid("challenge_sentinels_reply",
                       absl::StrCat("values of ", values.size(), " bytes, not a multiple of 32"));
      }
      GNR_RETURN_IF_ERROR(CheckOffsets(values.size() / 32, "challenge_sentinels_reply", "values"));
      ChallengeSentinelsReply r;
      r.values.resize(values.size() / 32);
      for (size_t i = 0; i < r.values.size(); ++i) {
        std::copy(values.begin() + i * 32, values.begin() + (i + 1) * 32, r.values[i].begin());
      }
      return r;
    }
    case pb::ShardMessage::kMerkle: {
      ChallengeMerkleRequest r;
      GNR_ASSIGN_OR_RETURN(
          r.shard_id, Fixed<kShardIdSize>(m.merkle().shard_id(), "challenge_merkle", "shard id"));
      r.leaf_index = m.merkle().leaf_index();
      return r;
    }
    case pb::ShardMessage::kMerkleReply: {
      absl::StatusOr<crypto::MerkleProof> proof =
          crypto::MerkleProof::Decode(V(m.merkle_reply().proof()));
      if (!proof.ok()) return Annotate(proof.status(), "challenge_merkle_reply proof");
      return ChallengeMerkleReply{*std::move(proof)};
    }
    case pb::ShardMessage::kRemove: {
      constexpr std::string_view kWhere = "delete_shard";
      const pb::DeleteShard& p = m.remove();
      DeleteShardRequest r;
      GNR_ASSIGN_OR_RETURN(r.shard_id, Fixed<kShardIdSize>(p.shard_id(), kWhere, "shard id"));
      r.bucket_id = ToBytes(V(p.bucket_id()));
      GNR_ASSIGN_OR_RETURN(FixedBytes<20> farmer, Fixed<20>(p.farmer_id(), kWhere, "farmer id"));
      r.farmer = kademlia::NodeId(farmer);
      r.signed_at = absl::FromUnixMicros(p.signed_at_us());
      GNR_ASSIGN_OR_RETURN(r.nonce, Fixed<kNonceSize>(p.nonce(), kWhere, "nonce"));
      r.signature = ToBytes(V(p.signature()));
      GNR_RETURN_IF_ERROR(CheckDelete(r));
      return r;
    }
    case pb::ShardMessage::kRemoveReply:
      return DeleteShardReply{};
    case pb::ShardMessage::kStatShard: {
      StatShardRequest r;
      GNR_ASSIGN_OR_RETURN(
          r.shard_id, Fixed<kShardIdSize>(m.stat_shard().shard_id(), "stat_shard", "shard id"));
      return r;
    }
    case pb::ShardMessage::kStatShardReply: {
      constexpr std::string_view kWhere = "stat_shard_reply";
      const pb::StatShardReply& p = m.stat_shard_reply();
      StatShardReply r;
      GNR_ASSIGN_OR_RETURN(r.info.shard_id, Fixed<kShardIdSize>(p.shard_id(), kWhere, "shard id"));
      r.info.bucket_id = ToBytes(V(p.bucket_id()));
      r.info.size = p.size();
      GNR_ASSIGN_OR_RETURN(r.info.merkle_root, Fixed<32>(p.merkle_root(), kWhere, "Merkle root"));
      r.info.leaf_size = p.leaf_size();
      GNR_ASSIGN_OR_RETURN(r.info.merkle_kind, Kind(p.merkle_kind(), kWhere));
      GNR_ASSIGN_OR_RETURN(r.info.payer, Fixed<20>(p.payer(), kWhere, "payer"));
      r.info.stored_at = absl::FromUnixMicros(p.stored_at_us());
      GNR_RETURN_IF_ERROR(CheckInfo(r.info));
      return r;
    }
    case pb::ShardMessage::kStatNode:
      return StatNodeRequest{};
    case pb::ShardMessage::kStatNodeReply: {
      const pb::StatNodeReply& p = m.stat_node_reply();
      StatNodeReply r;
      r.status.capacity_bytes = p.capacity_bytes();
      r.status.used_bytes = p.used_bytes();
      r.status.shard_count = p.shard_count();
      r.status.accepting = p.accepting();
      r.status.software = p.software();
      GNR_RETURN_IF_ERROR(CheckStatus(r.status));
      return r;
    }
    case pb::ShardMessage::BODY_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("shard message has no body");
}

}  // namespace gnr::wire
