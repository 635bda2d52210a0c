#include "common/hex.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace gnr {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HexEncode(ByteView bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string HexEncode0x(ByteView bytes) { return absl::StrCat("0x", HexEncode(bytes)); }

absl::StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has an odd number of digits (", hex.size(), ")"));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
      return absl::InvalidArgumentError(
          absl::StrCat("invalid hex character at position ", pos));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

Bytes HexLiteral(std::string_view hex) {
  absl::StatusOr<Bytes> out = HexDecode(hex);
  if (!out.ok()) {
    std::fprintf(stderr, "HexLiteral: %s\n", out.status().ToString().c_str());
    std::abort();
  }
  return *std::move(out);
}

}  // namespace gnr
