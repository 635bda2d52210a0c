#pragma once
// 160-bit Kademlia identifiers: node ids and record keys live in the same space and are
// compared by XOR distance.
//
// A node id is RIPEMD160(SHA256(compressed secp256k1 public key)) (crypto::NodeIdOf); a record
// key is derived per record kind (net/kademlia/record.h). NodeId is a small value type
// (20 bytes), cheap to copy, hashable (absl::Hash) and totally ordered by its big-endian
// value; thread-compatible.
//
//   NodeId a = NodeId::Random(rng);
//   NodeId d = a ^ b;                        // XOR distance, also a NodeId
//   bool closer = CloserTo(target, a, b);    // |a ^ target| < |b ^ target|

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/random.h"

namespace gnr::kademlia {

class NodeId {
 public:
  static constexpr size_t kBytes = 20;
  static constexpr size_t kBits = 160;

  // The all-zero id.
  constexpr NodeId() = default;
  explicit constexpr NodeId(const FixedBytes<kBytes>& bytes) : bytes_(bytes) {}

  // InvalidArgument unless `bytes` is exactly 20 bytes long.
  static absl::StatusOr<NodeId> FromBytes(ByteView bytes);
  // 40 hex digits (optional 0x prefix). InvalidArgument otherwise.
  static absl::StatusOr<NodeId> FromHex(std::string_view hex);
  // A uniformly random id.
  static NodeId Random(crypto::Random& rng);
  // A random id that shares exactly its first `prefix_bits` bits with `base` and differs
  // from it at bit `prefix_bits` (so that CommonPrefixLength(base, id) == prefix_bits).
  // With `prefix_bits` == 160 returns `base`. Bits after the differing one are random.
  static NodeId RandomWithCommonPrefix(const NodeId& base, size_t prefix_bits, crypto::Random& rng);
  // A random id that shares at least its first `prefix_bits` bits with `base`.
  static NodeId RandomWithPrefix(const NodeId& base, size_t prefix_bits, crypto::Random& rng);

  const FixedBytes<kBytes>& bytes() const { return bytes_; }
  ByteView view() const { return bytes_; }

  // Bit `i` counted from the most significant bit of byte 0 (i < 160).
  bool Bit(size_t i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1; }

  // Number of leading bits shared with `other` (160 when equal).
  size_t CommonPrefixLength(const NodeId& other) const;

  bool IsZero() const;

  // 40 lower-case hex digits.
  std::string ToHex() const;
  // The first 8 hex digits, for logs.
  std::string ShortHex() const;

  // XOR distance.
  friend NodeId operator^(const NodeId& a, const NodeId& b) {
    NodeId out;
    for (size_t i = 0; i < kBytes; ++i) out.bytes_[i] = a.bytes_[i] ^ b.bytes_[i];
    return out;
  }
  friend bool operator==(const NodeId& a, const NodeId& b) {
    return (a.Word(0) ^ b.Word(0)) == 0 && (a.Word(1) ^ b.Word(1)) == 0 &&
           (a.Tail() ^ b.Tail()) == 0;
  }
  friend std::strong_ordering operator<=>(const NodeId& a, const NodeId& b) = default;

  template <typename H>
  friend H AbslHashValue(H h, const NodeId& id) {
    return H::combine_contiguous(std::move(h), id.bytes_.data(), id.bytes_.size());
  }

  // Big-endian 64-bit words 0 and 1 (bytes 0-7, 8-15) and the 32-bit tail (bytes 16-19):
  // fast comparisons.
  uint64_t Word(size_t i) const {
    uint64_t w;
    std::memcpy(&w, bytes_.data() + 8 * i, 8);
    return __builtin_bswap64(w);
  }
  uint32_t Tail() const {
    uint32_t w;
    std::memcpy(&w, bytes_.data() + 16, 4);
    return __builtin_bswap32(w);
  }

 private:
  FixedBytes<kBytes> bytes_{};
};

// Record keys share the id space.
using Key = NodeId;

// True iff `a` is strictly closer to `target` than `b` by XOR distance.
inline bool CloserTo(const NodeId& target, const NodeId& a, const NodeId& b) {
  for (size_t i = 0; i < 2; ++i) {
    uint64_t t = target.Word(i);
    uint64_t dx = a.Word(i) ^ t;
    uint64_t dy = b.Word(i) ^ t;
    if (dx != dy) return dx < dy;
  }
  uint32_t t = target.Tail();
  return (a.Tail() ^ t) < (b.Tail() ^ t);
}

// Orders ids by distance to a fixed target (closest first); for std::sort and friends.
class DistanceLess {
 public:
  explicit DistanceLess(const NodeId& target) : target_(target) {}
  bool operator()(const NodeId& a, const NodeId& b) const { return CloserTo(target_, a, b); }

 private:
  NodeId target_;
};

// Key derivation shared by records and tools: the first 20 bytes of SHA-256(parts...).
NodeId HashToKey(std::initializer_list<ByteView> parts);

}  // namespace gnr::kademlia
