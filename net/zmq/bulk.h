#pragma once
// The bulk channel: shard bytes between two nodes without CurveZMQ's per-byte cost.
//
// Why (DESIGN.md section 5): shard payloads are already AES-encrypted by their owner and
// bound to a Merkle root that the receiver checks (a farmer hashes every PUT against the
// payer-signed root; a client verifies every GET leaf against the root in its catalog).
// Sealing them again with CURVE's XSalsa20-Poly1305 costs ~0.9 CPU-s per GiB on each end,
// which on the loopback devnet was a fifth of all the CPU an upload used. So a request the
// caller marks as bulk (net_zmq::Channel::kBulk) may travel on a second, NULL-mechanism
// ZeroMQ connection whose *headers* are sealed with AES-256-GCM under a session key
// agreed on the CURVE connection; only the payload frame goes in the clear.
//
// Handshake (on the CURVE connection, so both ends are authenticated): the client sends a
// kBulkHello envelope with an empty header; the server answers with a BulkOffer: a random
// session id, a random 256-bit key and the TCP port of its bulk ROUTER (same host as its
// CURVE endpoint). Servers without a bulk channel answer Unimplemented; the client then
// sends bulk requests over CURVE like any other.
//
// Bulk message layout (a ROUTER additionally sees its routing-id frame first):
//   frame 0  bulk envelope, exactly 26 bytes: version 1, kind (FrameKind: request, reply,
//            error, or kBulkUnknownSession), session id (16), request id (be64)
//   frame 1  AES-256-GCM(key, nonce, header or error body, aad) = ciphertext || 16-byte tag,
//            nonce = direction (1 request, 2 reply) || 0 0 0 || be64(request id),
//            aad   = frame 0 || be64(payload size)
//            (kBulkUnknownSession: empty, unsealed; the server has no key for the session)
//   frame 2  optional payload, in the clear
// The server accepts each session's request ids only in strictly increasing order (the
// client sends them in that order on one TCP stream), so a recorded request cannot be
// replayed; the nonce of a (key, direction, request id) is used once. A modified payload
// is not detected here but by the Merkle checks above; a modified header or reply is.

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "net/zmq/envelope.h"

namespace gnr::net_zmq {

inline constexpr size_t kBulkSessionIdSize = 16;
inline constexpr size_t kBulkKeySize = 32;
inline constexpr size_t kBulkEnvelopeSize = 2 + kBulkSessionIdSize + 8;
inline constexpr uint8_t kBulkEnvelopeVersion = 1;
inline constexpr size_t kBulkOfferSize = 1 + kBulkSessionIdSize + kBulkKeySize + 2;
inline constexpr uint8_t kBulkOfferVersion = 1;

using BulkSessionId = FixedBytes<kBulkSessionIdSize>;
using BulkKey = FixedBytes<kBulkKeySize>;

struct BulkEnvelope {
  FrameKind kind = FrameKind::kRequest;
  BulkSessionId session{};
  uint64_t request_id = 0;
};

FixedBytes<kBulkEnvelopeSize> EncodeBulkEnvelope(const BulkEnvelope& envelope);
// InvalidArgument unless `frame` is a well-formed bulk envelope (kind request, reply, error
// or kBulkUnknownSession).
absl::StatusOr<BulkEnvelope> DecodeBulkEnvelope(ByteView frame);

// Which way a sealed frame travels (part of the nonce, so a request never decrypts as a
// reply).
enum class BulkDirection : uint8_t { kRequest = 1, kReply = 2 };

// Seals frame 1 of a bulk message whose frame 0 is `envelope_frame` (the encoding of a
// BulkEnvelope with `request_id`) and whose payload frame has `payload_size` bytes.
Bytes SealBulkFrame(const BulkKey& key, BulkDirection direction, ByteView envelope_frame,
                    uint64_t request_id, uint64_t payload_size, ByteView body);
// Opens what SealBulkFrame sealed. DataLoss if anything (key, direction, envelope, request
// id, payload size, ciphertext or tag) differs.
absl::StatusOr<Bytes> OpenBulkFrame(const BulkKey& key, BulkDirection direction,
                                    ByteView envelope_frame, uint64_t request_id,
                                    uint64_t payload_size, ByteView sealed);

// The server's answer to a kBulkHello: version 1, session id, key, be16 port.
struct BulkOffer {
  BulkSessionId session{};
  BulkKey key{};
  uint16_t port = 0;
};
FixedBytes<kBulkOfferSize> EncodeBulkOffer(const BulkOffer& offer);
// InvalidArgument unless `header` is a well-formed offer with a port in 1-65535.
absl::StatusOr<BulkOffer> DecodeBulkOffer(ByteView header);

// "tcp://host:port" with the host of `endpoint` (a "tcp://host:port" endpoint) and `port`.
// InvalidArgument if `endpoint` has no port.
absl::StatusOr<std::string> EndpointWithPort(std::string_view endpoint, uint16_t port);

}  // namespace gnr::net_zmq
