#pragma once
// Key derivation functions: HKDF-SHA256 for deriving keys from keys (wallet -> root ->
// bucket -> file keys), and the password-based scrypt and PBKDF2-HMAC-SHA256 used by
// Web3 Secret Storage keystores. All functions are pure and thread-safe.
//
//   GNR_ASSIGN_OR_RETURN(auto root, HkdfSha256Fixed<32>(wallet_key, {}, AsBytes("gnr root")));

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::crypto {

// Largest HKDF-SHA256 output: 255 blocks of 32 bytes (RFC 5869 section 2.3).
inline constexpr size_t kHkdfSha256MaxLength = 255 * 32;

// HKDF-SHA256 (RFC 5869): extract with `salt` (empty means 32 zero bytes, as the RFC says),
// then expand with `info` to `length` bytes. InvalidArgument unless 1 <= length <= 8160.
absl::StatusOr<Bytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length);

// HkdfSha256 with the output length fixed at compile time.
template <size_t N>
absl::StatusOr<FixedBytes<N>> HkdfSha256Fixed(ByteView ikm, ByteView salt, ByteView info) {
  static_assert(N >= 1 && N <= kHkdfSha256MaxLength, "HKDF-SHA256 length must be 1..8160");
  absl::StatusOr<Bytes> out = HkdfSha256(ikm, salt, info, N);
  if (!out.ok()) return out.status();
  FixedBytes<N> fixed{};
  std::copy(out->begin(), out->end(), fixed.begin());
  return fixed;
}

// scrypt cost parameters (RFC 7914): CPU/memory cost n, block size r, parallelism p.
// Web3 keystores commonly use {262144, 8, 1} (256 MiB) or {4096, 8, 6} ("light").
struct ScryptParams {
  uint64_t n = 0;
  uint32_t r = 0;
  uint32_t p = 0;
};

// Largest scrypt working memory we accept (128 * r * n bytes): untrusted keystore files
// must not be able to make us allocate without bound.
inline constexpr uint64_t kScryptMaxMemory = uint64_t{2} << 30;  // 2 GiB

// scrypt (RFC 7914) of `password` and `salt`, `length` bytes. Memory use is about
// 128 * r * n bytes; time grows with n * r * p (n = 2^18, r = 8, p = 1 takes about one
// CPU-second here).
// InvalidArgument (the message names the bad parameter) unless: n is a power of two > 1,
// r >= 1, p >= 1, 128 * r * n <= 2 GiB, 128 * r * p <= 2 GiB (which implies RFC 7914's
// r * p < 2^30), 1 <= length.
// ResourceExhausted if the working memory cannot be allocated.
absl::StatusOr<Bytes> Scrypt(ByteView password, ByteView salt, const ScryptParams& params,
                             size_t length);

// PBKDF2-HMAC-SHA256 (RFC 8018) of `password` and `salt`, `length` bytes.
// InvalidArgument unless iterations >= 1 and length >= 1.
absl::StatusOr<Bytes> Pbkdf2HmacSha256(ByteView password, ByteView salt, uint32_t iterations,
                                       size_t length);

}  // namespace gnr::crypto
