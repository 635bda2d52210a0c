// Fuzzes the decoder of Genaro-native special-transaction payloads (JSON from any chain or
// file): it must never crash, and whatever it accepts re-encodes to a payload that decodes
// to the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chain-client/genaro_native.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<gnr::chain::GenaroSpecialTxInput> in = gnr::chain::DecodeGenaroPayload(text);
  if (!in.ok()) return 0;
  absl::StatusOr<std::string> again = gnr::chain::EncodeGenaroPayload(*in);
  if (!again.ok()) std::abort();
  absl::StatusOr<gnr::chain::GenaroSpecialTxInput> back = gnr::chain::DecodeGenaroPayload(*again);
  if (!back.ok() || !(*back == *in)) std::abort();
  return 0;
}
