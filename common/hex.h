#pragma once
// Hexadecimal encoding. Decoding is for untrusted input: it returns a Status, never asserts.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr {

// Lower-case hex without prefix: {0xab, 0x01} -> "ab01".
std::string HexEncode(ByteView bytes);

// Lower-case hex with "0x" prefix (the Ethereum JSON-RPC convention).
std::string HexEncode0x(ByteView bytes);

// Decodes hex digits (either case). An optional "0x"/"0X" prefix is accepted. Errors:
// InvalidArgument on an odd number of digits or a non-hex character (the message names the
// offending position).
absl::StatusOr<Bytes> HexDecode(std::string_view hex);

// Like HexDecode but requires exactly N bytes.
template <size_t N>
absl::StatusOr<FixedBytes<N>> HexDecodeFixed(std::string_view hex);

// Decodes a hex literal known at compile time to be valid (tests, constants). Aborts on
// malformed input: never use it on untrusted data.
Bytes HexLiteral(std::string_view hex);

}  // namespace gnr

#include "common/hex_inl.h"
