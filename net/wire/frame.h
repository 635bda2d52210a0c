#pragma once
// The typed header frame of every gnrfs request and reply (frame 1 after net/zmq's
// envelope, see net/zmq/envelope.h and docs/wire.md):
//
//   byte 0     protocol: 1 = DHT (dht_codec.h), 2 = shard protocol (shard_codec.h)
//   byte 1     schema version, kWireVersion (1)
//   bytes 2..  the protocol's protobuf message (net/wire/*.proto)
//
// The header is at most kMaxHeaderSize bytes; bulk bytes (shards, leaves) travel in the
// payload frame. Thread-safe free functions; decoders never assert on their input.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::wire {

enum class Protocol : uint8_t { kDht = 1, kShard = 2 };
inline constexpr uint8_t kWireVersion = 1;
inline constexpr size_t kFramePrefixSize = 2;
// Largest header frame of either protocol (a FIND_NODE reply with 20 contact records is
// ~6 KiB; a sentinel answer of 1024 values is 32 KiB).
inline constexpr size_t kMaxHeaderSize = 64 * 1024;

std::string_view ProtocolName(Protocol protocol);

// The protocol of a header frame. InvalidArgument if it is shorter than the prefix, larger
// than kMaxHeaderSize, names an unknown protocol or another schema version.
absl::StatusOr<Protocol> PeekProtocol(ByteView header);

// OK if `endpoint` is syntactically a TCP endpoint "tcp://host:port" (1..255 bytes,
// printable ASCII without spaces, a port 1..65535). net/zmq checks more before connecting.
absl::Status ValidateEndpointSyntax(std::string_view endpoint);

}  // namespace gnr::wire
