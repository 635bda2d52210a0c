#pragma once
// Template definitions for common/hex.h.

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gnr {

template <size_t N>
absl::StatusOr<FixedBytes<N>> HexDecodeFixed(std::string_view hex) {
  absl::StatusOr<Bytes> bytes = HexDecode(hex);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != N) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", N, " bytes of hex, got ", bytes->size()));
  }
  FixedBytes<N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace gnr
