// Fuzzes the block header decoder (RLP headers, 15 to 21 fields): it must never crash, and a
// header it accepts must re-encode to exactly the input bytes (so its hash is the hash of
// the input).
#include <cstddef>
#include <cstdint>

#include "chain-client/block_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gnr;
  using namespace gnr::chain;
  const ByteView in(data, size);
  absl::StatusOr<BlockHeader> header = DecodeBlockHeader(in);
  if (!header.ok()) return 0;
  if (header->Encode() != Bytes(in.begin(), in.end())) __builtin_trap();
  if (header->Hash() != crypto::Keccak256(in)) __builtin_trap();
  (void)header->Validate();
  return 0;
}
