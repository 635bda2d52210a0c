#pragma once
// Byte counts as people write them, for --capacity and status output.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace gnr::farmer {

// Parses "500G", "1.5T", "750GB", "64MiB", "1048576". Suffixes K, M, G, T, P (and KiB, MiB,
// GiB, TiB, PiB) are powers of 1024, as df -h and dd use them; KB, MB, GB, TB, PB are powers
// of 1000, as disk vendors use them. Case-insensitive; an optional "B" alone means bytes.
// InvalidArgument with the reason for anything else, zero included.
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);

// "1.5 GiB"-style rendering (powers of 1024, one decimal); exact below 1 KiB ("512 B").
std::string HumanBytes(uint64_t bytes);

}  // namespace gnr::farmer
