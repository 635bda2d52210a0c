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
//   - KeyedStream(key, dom)  = AES-256-CTR keystream, AES key = HMAC-SHA256(key,
//     "gnr keyed stream" || 0x00 || dom), initial counter block all zero, the counter a
//     128-bit big-endian integer; 64-bit words are read big-endian. Uniform(bound) uses
//     rejection sampling (no modulo bias).
//   - SentinelValue(key, j)  = bytes [32j, 32j + 32) of KeyedStream(key, "sentinel values"),
//     i.e. AES-256(K', be128(2j)) || AES-256(K', be128(2j + 1)) with K' the stream key of
//     that domain. Why this is a PRF: K' = HMAC-SHA256(key, label) is pseudorandom (HMAC is
//     a PRF), AES-256 under a pseudorandom key is a PRP and hence a PRF (switching lemma:
//     advantage <= q^2 / 2^129 for q blocks, below 2^-74 for the <= 2^27 value blocks of a
//     shard), and distinct j give distinct counter blocks. The domain label separates K'
//     from the position and group streams of the same key. One key schedule yields all
//     values of a shard at AES-NI speed (SentinelValueGenerator). (Before any shard was
//     stored, values were HMAC-SHA256(key, "gnr sentinel value" || be64(j)): a re-keyed
//     HMAC per sentinel, 10-13% of encode time.)
//   - SelectDistinctPositions: Floyd's algorithm over KeyedStream(key, "positions").
//   - Fingerprint groups: Fisher–Yates shuffle of [0, sentinel_count) with
//     KeyedStream(key, "fingerprint groups"); group g = shuffled[g*q, (g+1)*q).
//
// Thread-safety: free functions are pure and thread-safe; KeyedStream and
// SentinelValueGenerator are not thread-safe.

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
// without `key` (see top of file). Derives the stream key each call (~1 us); use
// SentinelValueGenerator for many values of one key.
Hash256 SentinelValue(const SentinelKey& key, uint64_t index);

// The sentinel values of one key, in bulk: the stream key is derived and expanded once,
// then values cost one AES-256 block per 16 bytes (AES-NI, several GB/s). Random access.
// Not thread-safe; movable.
//
//   SentinelValueGenerator gen(key);
//   uint8_t values[64 * kSentinelSize];
//   gen.Fill(first, values);  // values of sentinels first .. first + 63
class SentinelValueGenerator {
 public:
  explicit SentinelValueGenerator(const SentinelKey& key);
  ~SentinelValueGenerator();
  SentinelValueGenerator(SentinelValueGenerator&&) noexcept;
  SentinelValueGenerator& operator=(SentinelValueGenerator&&) noexcept;

  // Writes the values of sentinels first, first + 1, ... back to back into `out`, i.e. the
  // stream bytes [32 * first, 32 * first + out.size()); a size that is not a multiple of 32
  // ends with a prefix of a value. Any `first` (the counter is 128 bits wide).
  void Fill(uint64_t first, MutableByteView out);
  // == SentinelValue(key, index).
  Hash256 Value(uint64_t index);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

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
