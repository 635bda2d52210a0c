#pragma once
// Sentinel proof-of-retrievability primitives (Juels–Kaliski; DESIGN.md section 4). Generic
// building blocks; fs/codec decides where sentinels go in a shard and fs/audit which groups
// it asks for.
//
// Everything here is a deterministic function of a 32-byte SentinelKey, and the exact
// algorithms below are part of the stored format: a shard written by one version must be
// auditable by every later version. Do not change them without a format version bump.
//
// Primitives (all keyed, all outputs unpredictable without the key):
//   - SentinelValue(key, j)  = HMAC-SHA256(key, "gnr sentinel value" || be64(j)).
//   - KeyedStream(key, dom)  = AES-256-CTR keystream, AES key = HMAC-SHA256(key,
//     "gnr keyed stream" || 0x00 || dom), initial counter block all zero; 64-bit words are
//     read big-endian. Uniform(bound) uses rejection sampling (no modulo bias).
//   - SelectDistinctPositions: Floyd's algorithm over KeyedStream(key, "positions").
//   - Fingerprint groups: Fisher–Yates shuffle of [0, sentinel_count) with
//     KeyedStream(key, "fingerprint groups"); group g = shuffled[g*q, (g+1)*q).
//
// Thread-safety: free functions are pure and thread-safe; a KeyedStream is not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/hash.h"

namespace gnr::crypto {

inline constexpr size_t kSentinelSize = 32;
using SentinelKey = FixedBytes<32>;

// Upper bounds on the sizes the functions below accept (InvalidArgument beyond): they bound
// memory (8 bytes per element) and time.
inline constexpr uint64_t kMaxSentinelPositions = uint64_t{1} << 26;
inline constexpr uint64_t kMaxFingerprintSentinels = uint64_t{1} << 26;

// The value of sentinel `index`: 32 bytes indistinguishable from ciphertext to anyone
// without `key`. HMAC-SHA256 (see top of file).
Hash256 SentinelValue(const SentinelKey& key, uint64_t index);

// A deterministic keyed random stream (a DRBG without reseeding). Different `domain`
// strings give independent streams from one key. Not thread-safe; movable.
//
//   KeyedStream s(key, "positions");
//   uint64_t die = s.Uniform(6);  // 0..5, unbiased
class KeyedStream {
 public:
  KeyedStream(const SentinelKey& key, std::string_view domain);
  ~KeyedStream();
  KeyedStream(KeyedStream&&) noexcept;
  KeyedStream& operator=(KeyedStream&&) noexcept;

  void Fill(MutableByteView out);
  uint64_t Next64();
  // Uniform in [0, bound), by rejection sampling. Returns 0 when bound is 0 or 1.
  uint64_t Uniform(uint64_t bound);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `count` distinct values in [0, domain_size), sorted ascending; a uniformly random subset
// determined by `key`. InvalidArgument if count > domain_size or count >
// kMaxSentinelPositions. Cost O(count log count) time, O(count) memory (or domain_size/8
// bytes for a dense bitmap when that is smaller); a few ms for 10^4 of 10^8.
absl::StatusOr<std::vector<uint64_t>> SelectDistinctPositions(const SentinelKey& key,
                                                              uint64_t domain_size, uint64_t count);

// Number of fingerprint groups of `group_size` sentinels: floor(sentinel_count /
// group_size); 0 when group_size is 0. The sentinel_count % group_size leftover sentinels
// belong to no group.
uint64_t FingerprintGroupCount(uint64_t sentinel_count, uint32_t group_size);

// The sentinel indices (in [0, sentinel_count), sorted ascending) of group `group`. The
// groups are a keyed pseudo-random partition: every index is in at most one group, and
// every index is in exactly one group when group_size divides sentinel_count.
// InvalidArgument if group_size == 0, sentinel_count > kMaxFingerprintSentinels, or group
// >= FingerprintGroupCount(...). Cost: the whole shuffle is computed per call, O(
// sentinel_count) time and memory (~0.1 ms for 10^4 sentinels); use FingerprintGroups to
// get all of them at once.
absl::StatusOr<std::vector<uint64_t>> FingerprintGroupMembers(const SentinelKey& key,
                                                              uint64_t sentinel_count,
                                                              uint32_t group_size, uint64_t group);

// All groups, groups[g] == *FingerprintGroupMembers(key, sentinel_count, group_size, g).
// Same errors as FingerprintGroupMembers (except for `group`).
absl::StatusOr<std::vector<std::vector<uint64_t>>> FingerprintGroups(const SentinelKey& key,
                                                                     uint64_t sentinel_count,
                                                                     uint32_t group_size);

}  // namespace gnr::crypto
