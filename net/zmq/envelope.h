#pragma once
// The transport envelope: the first frame of every gnrfs ZeroMQ message, added and removed by
// net/zmq so that replies can be matched to requests. Everything after it is opaque here.
//
// Message layout (ZeroMQ multipart; a ROUTER additionally sees its routing-id frame first):
//
//   frame 0  envelope, exactly 10 bytes:
//              byte 0     version, kEnvelopeVersion (1)
//              byte 1     kind: 1 = request, 2 = reply, 3 = error reply,
//                         4 = bulk hello (a request for a bulk session, net/zmq/bulk.h)
//              bytes 2-9  request id, unsigned 64-bit big-endian, chosen by the requester
//   frame 1  request / reply: the typed header (opaque to net/zmq, defined by net/wire)
//            error reply:     1 byte absl::StatusCode (1..16) + UTF-8 message
//   frame 2  optional payload (request / reply only), e.g. shard bytes
//
// Anything else (another frame count, a short envelope, an unknown version or kind) is
// malformed and dropped with a logged reason. Decoders here never assert on their input.

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::net_zmq {

inline constexpr size_t kEnvelopeSize = 10;
inline constexpr uint8_t kEnvelopeVersion = 1;
// Longest remote error message kept (longer ones are truncated when encoding and decoding).
inline constexpr size_t kMaxErrorMessageSize = 1024;

// kBulkHello only on the CURVE connection; kBulkUnknownSession only on the bulk one (the
// server's unsealed answer to a request of a session it does not know).
enum class FrameKind : uint8_t {
  kRequest = 1,
  kReply = 2,
  kError = 3,
  kBulkHello = 4,
  kBulkUnknownSession = 5,
};

struct Envelope {
  FrameKind kind = FrameKind::kRequest;
  uint64_t request_id = 0;
};

FixedBytes<kEnvelopeSize> EncodeEnvelope(const Envelope& envelope);

// InvalidArgument if `frame` is not a well-formed envelope (kinds 1-4; the message says why).
absl::StatusOr<Envelope> DecodeEnvelope(ByteView frame);

// Body of an error reply carrying `status` (must not be OK; an OK status is sent as kInternal).
Bytes EncodeErrorBody(const absl::Status& status);

// The status carried by an error body, never OK: an out-of-range code becomes kUnknown and an
// empty body kInternal. `context` (e.g. the peer endpoint) is prepended to the message.
absl::Status DecodeErrorBody(ByteView body, std::string_view context);

}  // namespace gnr::net_zmq
