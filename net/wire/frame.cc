#include "net/wire/frame.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace gnr::wire {

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kDht:
      return "dht";
    case Protocol::kShard:
      return "shard";
  }
  return "unknown";
}

absl::StatusOr<Protocol> PeekProtocol(ByteView header) {
  if (header.size() < kFramePrefixSize) {
    return absl::InvalidArgumentError(absl::StrCat("header frame of ", header.size(),
                                                   " bytes is shorter than its 2-byte prefix"));
  }
  if (header.size() > kMaxHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("header frame of ", header.size(),
                                                   " bytes exceeds the limit of ", kMaxHeaderSize));
  }
  if (header[0] != static_cast<uint8_t>(Protocol::kDht) &&
      header[0] != static_cast<uint8_t>(Protocol::kShard)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown protocol ", static_cast<int>(header[0]),
                                                   " in header frame (1 = dht, 2 = shard)"));
  }
  if (header[1] != kWireVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported wire version ",
                                                   static_cast<int>(header[1]),
                                                   " (this node speaks ", kWireVersion, ")"));
  }
  return static_cast<Protocol>(header[0]);
}

absl::Status ValidateEndpointSyntax(std::string_view endpoint) {
  constexpr std::string_view kScheme = "tcp://";
  if (endpoint.empty() || endpoint.size() > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint must be 1..255 bytes, got ", endpoint.size()));
  }
  for (char c : endpoint) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError("endpoint has a space or non-printable character");
    }
  }
  if (endpoint.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError("endpoint must start with tcp://");
  }
  std::string_view rest = endpoint.substr(kScheme.size());
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError("endpoint must be tcp://host:port");
  }
  std::string_view port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || port.empty() || value == 0 ||
      value > 65535) {
    return absl::InvalidArgumentError("endpoint port must be 1..65535");
  }
  return absl::OkStatus();
}

}  // namespace gnr::wire
