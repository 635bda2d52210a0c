#pragma once
// The text form of a farmer's address that the drive keeps with each shard placement (the
// catalog's farmer hint): "<endpoint>#<64 hex CURVE server key>", e.g.
// "tcp://10.0.0.7:4100#ab01…". With it a client reaches the farmer that stores a shard
// without a DHT lookup. It is only a hint: the farmer's signed DHT contact record is the
// authority, and a stale hint fails like an unreachable farmer.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "net/kademlia/node_id.h"
#include "net/shard/shard_client.h"

namespace gnr::shard {

std::string EncodeContactHint(const FarmerAddress& address);

// The address `hint` names for farmer `id`. InvalidArgument (quoting the hint) when it has no
// endpoint or no well-formed "#<64 hex>" CURVE key.
absl::StatusOr<FarmerAddress> ParseContactHint(const kademlia::NodeId& id, std::string_view hint);

}  // namespace gnr::shard
