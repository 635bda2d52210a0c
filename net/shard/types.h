#pragma once
// Vocabulary of the shard protocol (DESIGN.md sections 4 and 5), shared by the service side
// (net/shard/shard_service.h, implemented by net/farmer) and the client side
// (net/shard/shard_client.h). Plain value types; no I/O.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/secp256k1.h"
#include "net/kademlia/node_id.h"
#include "net/wire/shard_codec.h"

namespace gnr::shard {

// Names a stored shard on the network (== codec::ShardId: SHA-256 over the file nonce,
// segment, shard index and generation). Also the shard's DHT placement key.
using ShardId = FixedBytes<32>;
// The payer: the Ethereum address of the wallet key that signs PUT_SHARD / DELETE_SHARD.
using PayerAddress = crypto::EthAddress;
// A farmer's node id (RIPEMD160(SHA256(compressed node key))).
using NodeId = kademlia::NodeId;

// Protocol limits, enforced by the codecs (net/wire) and the server.
inline constexpr size_t kMaxBucketIdSize = wire::kMaxBucketIdSize;
// Largest shard a PUT_SHARD may carry and largest leaf payload a GET_SHARD reply may carry.
inline constexpr uint64_t kMaxShardSize = wire::kMaxShardSize;
inline constexpr uint32_t kMinLeafSize = wire::kMinLeafSize;
inline constexpr uint32_t kMaxLeafSize = wire::kMaxLeafSize;
// Offsets per CHALLENGE_SENTINELS.
inline constexpr size_t kMaxChallengeOffsets = wire::kMaxChallengeOffsets;
// Sentinel values are 32 bytes.
inline constexpr size_t kSentinelSize = 32;

// What the farmer keeps about one stored shard (answer to STAT of a shard): shard id, bucket
// id, stored size, Merkle root, leaf size and hash kind, payer address, when it was stored.
using ShardInfo = wire::ShardInfo;
// A farmer's state (answer to STAT of the node): capacity, used, shard count, accepting,
// software; free_bytes().
using NodeStatus = wire::NodeStatus;

}  // namespace gnr::shard
