// Fuzzes the transport envelope and error-body decoders (net/zmq/envelope.h) and the bulk
// channel's envelope, offer and sealed-frame decoders (net/zmq/bulk.h): the first frame of
// every message, the body of every error reply, a hello's offer and every bulk frame come
// straight from a peer. They must never crash; accepted envelopes and offers re-encode to
// the same bytes, a decoded error body is never OK and keeps its message within the
// documented bound, and no input opens as a sealed frame under a key it was not sealed with.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/bytes.h"
#include "net/zmq/bulk.h"
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

  absl::StatusOr<BulkEnvelope> bulk = DecodeBulkEnvelope(in);
  if (bulk.ok()) {
    FixedBytes<kBulkEnvelopeSize> again = EncodeBulkEnvelope(*bulk);
    if (size != kBulkEnvelopeSize || !std::equal(again.begin(), again.end(), data))
      __builtin_trap();
  }
  absl::StatusOr<BulkOffer> offer = DecodeBulkOffer(in);
  if (offer.ok()) {
    FixedBytes<kBulkOfferSize> again = EncodeBulkOffer(*offer);
    if (size != kBulkOfferSize || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  }
  // Forging a sealed frame without the key must fail (the tag is 128 bits).
  const BulkKey key{};
  FixedBytes<kBulkEnvelopeSize> bulk_frame = EncodeBulkEnvelope({});
  if (OpenBulkFrame(key, BulkDirection::kRequest, bulk_frame, 0, 0, in).ok()) __builtin_trap();

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
