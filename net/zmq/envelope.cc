#include "net/zmq/envelope.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr::net_zmq {

FixedBytes<kEnvelopeSize> EncodeEnvelope(const Envelope& envelope) {
  FixedBytes<kEnvelopeSize> out{};
  out[0] = kEnvelopeVersion;
  out[1] = static_cast<uint8_t>(envelope.kind);
  PutBigEndian64(envelope.request_id, MutableByteView(out).subspan(2, 8));
  return out;
}

absl::StatusOr<Envelope> DecodeEnvelope(ByteView frame) {
  if (frame.size() != kEnvelopeSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope must be ", kEnvelopeSize, " bytes, got ", frame.size()));
  }
  if (frame[0] != kEnvelopeVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported envelope version ", frame[0],
                                                   " (expected ", kEnvelopeVersion, ")"));
  }
  if (frame[1] < static_cast<uint8_t>(FrameKind::kRequest) ||
      frame[1] > static_cast<uint8_t>(FrameKind::kBulkHello)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown frame kind ", frame[1]));
  }
  Envelope envelope;
  envelope.kind = static_cast<FrameKind>(frame[1]);
  envelope.request_id = GetBigEndian64(frame.subspan(2, 8));
  return envelope;
}

Bytes EncodeErrorBody(const absl::Status& status) {
  absl::StatusCode code = status.ok() ? absl::StatusCode::kInternal : status.code();
  std::string_view message =
      status.ok() ? std::string_view("OK status sent as an error") : StdView(status.message());
  message = message.substr(0, kMaxErrorMessageSize);
  Bytes body;
  body.reserve(1 + message.size());
  body.push_back(static_cast<uint8_t>(code));
  Append(body, AsBytes(message));
  return body;
}

absl::Status DecodeErrorBody(ByteView body, std::string_view context) {
  if (body.empty()) {
    return absl::InternalError(absl::StrCat(AbslView(context), ": empty error reply"));
  }
  absl::StatusCode code = absl::StatusCode::kUnknown;
  if (body[0] >= 1 && body[0] <= 16) code = static_cast<absl::StatusCode>(body[0]);
  std::string_view message = AsStringView(body.subspan(1));
  message = message.substr(0, kMaxErrorMessageSize);
  return absl::Status(code, absl::StrCat(AbslView(context), ": ", AbslView(message)));
}

}  // namespace gnr::net_zmq
