// Fuzzes the transport envelope and error-body decoders (net/zmq/envelope.h): the first frame
// of every message and the body of every error reply come straight from a peer. They must
// never crash; an accepted envelope re-encodes to the same 10 bytes, and a decoded error body
// is never OK and keeps its message within the documented bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/bytes.h"
#include "net/zmq/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gnr;
  using namespace gnr::net_zmq;
  const ByteView in(data, size);

  absl::StatusOr<Envelope> envelope = DecodeEnvelope(in);
  if (envelope.ok()) {
    FixedBytes<kEnvelopeSize> again = EncodeEnvelope(*envelope);
    if (size != kEnvelopeSize || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  }

  const std::string context = "tcp://127.0.0.1:1";
  absl::Status remote = DecodeErrorBody(in, context);
  if (remote.ok()) __builtin_trap();
  // The context is prepended; the peer's part is bounded.
  if (remote.message().size() > context.size() + kMaxErrorMessageSize + 64) __builtin_trap();
  // Whatever we decoded re-encodes into a body that decodes to the same code.
  absl::Status back = DecodeErrorBody(EncodeErrorBody(remote), "");
  if (back.code() != remote.code()) __builtin_trap();
  return 0;
}
