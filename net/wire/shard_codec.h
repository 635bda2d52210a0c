#pragma once
// Messages and codecs of the shard protocol (DESIGN.md section 5). Wire format: docs/wire.md
// ("Shard protocol"), schema net/wire/shard.proto. Bulk bytes travel in the payload frame:
// the shard of a PUT, the leaves of a GET reply, the leaf of a Merkle challenge reply.
//
// Decoders never throw or assert; every failure is InvalidArgument saying what is wrong.
// Encoders check the same limits. Thread-safe free functions.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "net/kademlia/node_id.h"

namespace gnr::wire {

// Limits of the protocol.
inline constexpr size_t kShardIdSize = 32;
inline constexpr size_t kMaxBucketIdSize = 255;
inline constexpr uint64_t kMaxShardSize = 64ull << 20;  // PUT payload and GET reply payload
inline constexpr uint32_t kMinLeafSize = 1024;
inline constexpr uint32_t kMaxLeafSize = 16u << 20;
inline constexpr size_t kMaxChallengeOffsets = 1024;
inline constexpr size_t kNonceSize = 16;
inline constexpr size_t kSignatureSize = 65;
inline constexpr size_t kMaxSoftwareSize = 64;

using ShardId = FixedBytes<kShardIdSize>;
using Nonce = FixedBytes<kNonceSize>;
using Address = FixedBytes<20>;  // Ethereum address of a payer

// What a farmer keeps about one stored shard (STAT of a shard).
struct ShardInfo {
  ShardId shard_id{};
  Bytes bucket_id = {};
  uint64_t size = 0;  // stored bytes (data + sentinels)
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = 0;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  Address payer{};                           // who signed the PUT (only they may delete)
  absl::Time stored_at = absl::UnixEpoch();  // when it was acknowledged (microseconds)

  friend bool operator==(const ShardInfo&, const ShardInfo&) = default;
};

// A farmer's state (STAT of the node).
struct NodeStatus {
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t shard_count = 0;
  bool accepting = true;      // false while pausing/draining: PUT_SHARD is refused
  std::string software = {};  // informational, at most kMaxSoftwareSize bytes

  uint64_t free_bytes() const {
    return used_bytes >= capacity_bytes ? 0 : capacity_bytes - used_bytes;
  }
  friend bool operator==(const NodeStatus&, const NodeStatus&) = default;
};

// PUT_SHARD header; the payload frame is the stored shard (exactly `size` bytes).
struct PutShardRequest {
  Bytes bucket_id = {};  // 1..255 bytes
  ShardId shard_id{};
  uint64_t size = 0;  // 1..kMaxShardSize
  crypto::Hash256 merkle_root{};
  uint32_t leaf_size = 0;  // kMinLeafSize..kMaxLeafSize
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  kademlia::NodeId farmer = {};  // the farmer the payer signed for
  absl::Time signed_at = absl::UnixEpoch();
  Nonce nonce{};
  Bytes signature = {};  // 65 bytes
  friend bool operator==(const PutShardRequest&, const PutShardRequest&) = default;
};
struct PutShardReply {
  bool already_stored = false;
  uint64_t free_bytes = 0;
  friend bool operator==(const PutShardReply&, const PutShardReply&) = default;
};

// GET_SHARD: leaves [first_leaf, first_leaf + leaf_count). The reply's payload frame holds
// the leaf bytes.
struct GetShardRequest {
  ShardId shard_id{};
  Bytes bucket_id = {};  // 0..255 bytes
  uint64_t first_leaf = 0;
  uint64_t leaf_count = 0;  // >= 1
  friend bool operator==(const GetShardRequest&, const GetShardRequest&) = default;
};
struct GetShardReply {
  crypto::MerkleRangeProof proof = {};
  friend bool operator==(const GetShardReply&, const GetShardReply&) = default;
};

struct ChallengeSentinelsRequest {
  ShardId shard_id{};
  std::vector<uint64_t> offsets = {};  // 1..kMaxChallengeOffsets
  friend bool operator==(const ChallengeSentinelsRequest&,
                         const ChallengeSentinelsRequest&) = default;
};
struct ChallengeSentinelsReply {
  std::vector<crypto::Hash256> values = {};  // 1..kMaxChallengeOffsets
  friend bool operator==(const ChallengeSentinelsReply&, const ChallengeSentinelsReply&) = default;
};

// CHALLENGE_MERKLE; the reply's payload frame is the leaf.
struct ChallengeMerkleRequest {
  ShardId shard_id{};
  uint64_t leaf_index = 0;
  friend bool operator==(const ChallengeMerkleRequest&, const ChallengeMerkleRequest&) = default;
};
struct ChallengeMerkleReply {
  crypto::MerkleProof proof = {};
  friend bool operator==(const ChallengeMerkleReply&, const ChallengeMerkleReply&) = default;
};

struct DeleteShardRequest {
  ShardId shard_id{};
  Bytes bucket_id = {};  // 1..255 bytes
  kademlia::NodeId farmer = {};
  absl::Time signed_at = absl::UnixEpoch();
  Nonce nonce{};
  Bytes signature = {};  // 65 bytes
  friend bool operator==(const DeleteShardRequest&, const DeleteShardRequest&) = default;
};
struct DeleteShardReply {
  friend bool operator==(const DeleteShardReply&, const DeleteShardReply&) = default;
};

struct StatShardRequest {
  ShardId shard_id{};
  friend bool operator==(const StatShardRequest&, const StatShardRequest&) = default;
};
struct StatShardReply {
  ShardInfo info = {};
  friend bool operator==(const StatShardReply&, const StatShardReply&) = default;
};
struct StatNodeRequest {
  friend bool operator==(const StatNodeRequest&, const StatNodeRequest&) = default;
};
struct StatNodeReply {
  NodeStatus status = {};
  friend bool operator==(const StatNodeReply&, const StatNodeReply&) = default;
};

// Requests at even indices, their replies right after.
using ShardMessage =
    std::variant<PutShardRequest, PutShardReply, GetShardRequest, GetShardReply,
                 ChallengeSentinelsRequest, ChallengeSentinelsReply, ChallengeMerkleRequest,
                 ChallengeMerkleReply, DeleteShardRequest, DeleteShardReply, StatShardRequest,
                 StatShardReply, StatNodeRequest, StatNodeReply>;

inline bool IsShardRequest(const ShardMessage& m) { return m.index() % 2 == 0; }
// "PUT_SHARD", "PUT_SHARD_REPLY", "GET_SHARD", ... for logs.
std::string_view ShardMessageName(const ShardMessage& m);

// Encodes with the 2-byte protocol prefix. InvalidArgument for fields over the limits.
absl::StatusOr<Bytes> EncodeShardMessage(const ShardMessage& message);

// Decodes a header frame of protocol kShard: prefix, size, protobuf, exactly one body, and
// every field: ids 32 bytes, farmer ids 20, roots 32, nonces 16, signatures 65, bucket ids
// <= 255 (>= 1 where required), sizes and leaf sizes in range, leaf_count >= 1 and the
// range inside 2^63, offsets/values counts 1..1024, values 32 bytes each, proofs that
// decode (crypto::MerkleProof / MerkleRangeProof), Merkle kinds known, software <= 64.
absl::StatusOr<ShardMessage> DecodeShardMessage(ByteView header);

}  // namespace gnr::wire
