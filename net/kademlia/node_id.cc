#include "net/kademlia/node_id.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "crypto/hash.h"

namespace gnr::kademlia {

absl::StatusOr<NodeId> NodeId::FromBytes(ByteView bytes) {
  if (bytes.size() != kBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("node id must be ", kBytes, " bytes, got ", bytes.size()));
  }
  FixedBytes<kBytes> b;
  std::copy(bytes.begin(), bytes.end(), b.begin());
  return NodeId(b);
}

absl::StatusOr<NodeId> NodeId::FromHex(std::string_view hex) {
  absl::StatusOr<FixedBytes<kBytes>> b = HexDecodeFixed<kBytes>(hex);
  if (!b.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad node id: ", b.status().message()));
  }
  return NodeId(*b);
}

NodeId NodeId::Random(crypto::Random& rng) { return NodeId(rng.Generate<kBytes>()); }

NodeId NodeId::RandomWithPrefix(const NodeId& base, size_t prefix_bits, crypto::Random& rng) {
  if (prefix_bits >= kBits) return base;
  NodeId out = Random(rng);
  size_t full = prefix_bits / 8;
  std::copy(base.bytes_.begin(), base.bytes_.begin() + full, out.bytes_.begin());
  size_t rem = prefix_bits % 8;
  if (rem != 0) {
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rem));
    out.bytes_[full] = (base.bytes_[full] & mask) | (out.bytes_[full] & ~mask);
  }
  return out;
}

NodeId NodeId::RandomWithCommonPrefix(const NodeId& base, size_t prefix_bits, crypto::Random& rng) {
  if (prefix_bits >= kBits) return base;
  NodeId out = RandomWithPrefix(base, prefix_bits, rng);
  uint8_t bit = static_cast<uint8_t>(0x80 >> (prefix_bits % 8));
  out.bytes_[prefix_bits / 8] = static_cast<uint8_t>((out.bytes_[prefix_bits / 8] & ~bit) |
                                                     (~base.bytes_[prefix_bits / 8] & bit));
  return out;
}

size_t NodeId::CommonPrefixLength(const NodeId& other) const {
  for (size_t i = 0; i < kBytes; ++i) {
    uint8_t x = bytes_[i] ^ other.bytes_[i];
    if (x != 0) return i * 8 + static_cast<size_t>(std::countl_zero(x));
  }
  return kBits;
}

bool NodeId::IsZero() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t b) { return b == 0; });
}

std::string NodeId::ToHex() const { return HexEncode(bytes_); }

std::string NodeId::ShortHex() const { return HexEncode(ByteView(bytes_).first(4)); }

NodeId HashToKey(std::initializer_list<ByteView> parts) {
  crypto::Hash256 h = crypto::Sha256(parts);
  FixedBytes<NodeId::kBytes> b;
  std::copy(h.begin(), h.begin() + NodeId::kBytes, b.begin());
  return NodeId(b);
}

}  // namespace gnr::kademlia
