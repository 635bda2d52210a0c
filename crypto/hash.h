#pragma once
// Cryptographic hashes. All functions are pure and thread-safe.
//
// SHA-256 uses the CPU's SHA extensions (SHA-NI) when present (Crypto++ dispatches at run
// time). Keccak-256 is Ethereum's (original Keccak padding 0x01), not FIPS-202 SHA3-256.

#include <initializer_list>
#include <memory>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::crypto {

using Hash256 = FixedBytes<32>;
using Hash160 = FixedBytes<20>;

Hash256 Sha256(ByteView data);
// SHA-256 of the concatenation of `parts` (no copy).
Hash256 Sha256(std::initializer_list<ByteView> parts);

Hash256 Keccak256(ByteView data);
Hash256 Keccak256(std::initializer_list<ByteView> parts);

Hash160 Ripemd160(ByteView data);

// BLAKE2b with a digest of `digest_size` bytes (1..64) and an optional key (0..64 bytes).
// InvalidArgument on sizes out of range.
absl::StatusOr<Bytes> Blake2b(ByteView data, size_t digest_size = 32, ByteView key = {});
// BLAKE2b-256, unkeyed.
Hash256 Blake2b256(ByteView data);

// HMAC-SHA256 with a key of any length.
Hash256 HmacSha256(ByteView key, ByteView data);

// Incremental SHA-256 for data that arrives in pieces. Not thread-safe; movable.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;

  void Update(ByteView data);
  // Returns the digest and resets the hasher for reuse.
  Hash256 Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Incremental Keccak-256 (Ethereum). Not thread-safe; movable.
class Keccak256Hasher {
 public:
  Keccak256Hasher();
  ~Keccak256Hasher();
  Keccak256Hasher(Keccak256Hasher&&) noexcept;
  Keccak256Hasher& operator=(Keccak256Hasher&&) noexcept;

  void Update(ByteView data);
  Hash256 Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gnr::crypto
