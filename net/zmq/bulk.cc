#include "net/zmq/bulk.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "crypto/aes.h"

namespace gnr::net_zmq {
namespace {

FixedBytes<crypto::kGcmNonceSize> BulkNonce(BulkDirection direction, uint64_t request_id) {
  FixedBytes<crypto::kGcmNonceSize> nonce{};
  nonce[0] = static_cast<uint8_t>(direction);
  PutBigEndian64(request_id, MutableByteView(nonce).subspan(4, 8));
  return nonce;
}

Bytes BulkAad(ByteView envelope_frame, uint64_t payload_size) {
  Bytes aad(envelope_frame.begin(), envelope_frame.end());
  FixedBytes<8> size;
  PutBigEndian64(payload_size, size);
  aad.insert(aad.end(), size.begin(), size.end());
  return aad;
}

}  // namespace

FixedBytes<kBulkEnvelopeSize> EncodeBulkEnvelope(const BulkEnvelope& envelope) {
  FixedBytes<kBulkEnvelopeSize> out{};
  out[0] = kBulkEnvelopeVersion;
  out[1] = static_cast<uint8_t>(envelope.kind);
  std::copy(envelope.session.begin(), envelope.session.end(), out.begin() + 2);
  PutBigEndian64(envelope.request_id, MutableByteView(out).subspan(2 + kBulkSessionIdSize, 8));
  return out;
}

absl::StatusOr<BulkEnvelope> DecodeBulkEnvelope(ByteView frame) {
  if (frame.size() != kBulkEnvelopeSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("bulk envelope must be ", kBulkEnvelopeSize, " bytes, got ", frame.size()));
  }
  if (frame[0] != kBulkEnvelopeVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported bulk envelope version ", frame[0],
                                                   " (expected ", kBulkEnvelopeVersion, ")"));
  }
  const auto kind = static_cast<FrameKind>(frame[1]);
  if (kind != FrameKind::kRequest && kind != FrameKind::kReply && kind != FrameKind::kError &&
      kind != FrameKind::kBulkUnknownSession) {
    return absl::InvalidArgumentError(absl::StrCat("unknown bulk frame kind ", frame[1]));
  }
  BulkEnvelope envelope;
  envelope.kind = kind;
  std::copy_n(frame.begin() + 2, kBulkSessionIdSize, envelope.session.begin());
  envelope.request_id = GetBigEndian64(frame.subspan(2 + kBulkSessionIdSize, 8));
  return envelope;
}

Bytes SealBulkFrame(const BulkKey& key, BulkDirection direction, ByteView envelope_frame,
                    uint64_t request_id, uint64_t payload_size, ByteView body) {
  // The key and nonce sizes are fixed by the types, so sealing cannot fail.
  absl::StatusOr<Bytes> sealed = crypto::AesGcmSeal(key, BulkNonce(direction, request_id), body,
                                                    BulkAad(envelope_frame, payload_size));
  return sealed.ok() ? *std::move(sealed) : Bytes();
}

absl::StatusOr<Bytes> OpenBulkFrame(const BulkKey& key, BulkDirection direction,
                                    ByteView envelope_frame, uint64_t request_id,
                                    uint64_t payload_size, ByteView sealed) {
  absl::StatusOr<Bytes> body = crypto::AesGcmOpen(key, BulkNonce(direction, request_id), sealed,
                                                  BulkAad(envelope_frame, payload_size));
  if (!body.ok()) {
    return absl::DataLossError(
        absl::StrCat("bulk frame does not authenticate: ", body.status().message()));
  }
  return body;
}

FixedBytes<kBulkOfferSize> EncodeBulkOffer(const BulkOffer& offer) {
  FixedBytes<kBulkOfferSize> out{};
  out[0] = kBulkOfferVersion;
  auto it = std::copy(offer.session.begin(), offer.session.end(), out.begin() + 1);
  it = std::copy(offer.key.begin(), offer.key.end(), it);
  *it++ = static_cast<uint8_t>(offer.port >> 8);
  *it = static_cast<uint8_t>(offer.port & 0xff);
  return out;
}

absl::StatusOr<BulkOffer> DecodeBulkOffer(ByteView header) {
  if (header.size() != kBulkOfferSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("bulk offer must be ", kBulkOfferSize, " bytes, got ", header.size()));
  }
  if (header[0] != kBulkOfferVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported bulk offer version ", header[0]));
  }
  BulkOffer offer;
  auto it = header.begin() + 1;
  std::copy_n(it, kBulkSessionIdSize, offer.session.begin());
  it += kBulkSessionIdSize;
  std::copy_n(it, kBulkKeySize, offer.key.begin());
  it += kBulkKeySize;
  offer.port = static_cast<uint16_t>((it[0] << 8) | it[1]);
  if (offer.port == 0) return absl::InvalidArgumentError("bulk offer has port 0");
  return offer;
}

absl::StatusOr<std::string> EndpointWithPort(std::string_view endpoint, uint16_t port) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= endpoint.size() ||
      endpoint.substr(0, colon).find("//") == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", AbslView(endpoint.substr(0, 100)), "\" has no port"));
  }
  return absl::StrCat(AbslView(endpoint.substr(0, colon + 1)), port);
}

}  // namespace gnr::net_zmq
