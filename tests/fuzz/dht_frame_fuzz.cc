// Fuzzes the DHT decoders (untrusted header frames from any peer, record blobs from seeds and
// configuration): they must never crash, and anything they accept must re-encode and decode
// to the same value.
#include <cstddef>
#include <cstdint>

#include "net/wire/dht_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gnr;
  const ByteView in(data, size);
  if (absl::StatusOr<wire::DhtFrame> frame = wire::DecodeDhtFrame(in); frame.ok()) {
    absl::StatusOr<Bytes> again = wire::EncodeDhtFrame(*frame);
    if (!again.ok()) __builtin_trap();
    absl::StatusOr<wire::DhtFrame> back = wire::DecodeDhtFrame(*again);
    if (!back.ok() || back->message != frame->message || back->sender != frame->sender ||
        back->contact_records != frame->contact_records) {
      __builtin_trap();
    }
  }
  if (absl::StatusOr<kademlia::Record> record = wire::DecodeRecord(in); record.ok()) {
    absl::StatusOr<Bytes> again = wire::EncodeRecord(*record);
    if (!again.ok()) __builtin_trap();
    absl::StatusOr<kademlia::Record> back = wire::DecodeRecord(*again);
    if (!back.ok() || *back != *record) __builtin_trap();
  }
  // The same bytes behind a DHT prefix.
  Bytes framed = {1, 1};
  Append(framed, in);
  (void)wire::DecodeDhtFrame(framed);
  return 0;
}
