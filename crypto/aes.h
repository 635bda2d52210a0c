#pragma once
// AES symmetric encryption: counter mode with random access (the data path of every file,
// and AES-128-CTR for Web3 keystores) and AES-GCM (authenticated, for small records).
//
// Keys are 16, 24 or 32 bytes (AES-128/192/256). All functions are pure; AesCtr is
// immutable after creation, so one instance may be used from many threads at once.
// Hardware AES (AES-NI) is used when the CPU has it (Crypto++ dispatches at run time).
//
//   GNR_ASSIGN_OR_RETURN(AesCtr ctr, AesCtr::Create(file_key, iv));
//   ctr.Apply(segment_offset, buffer);  // encrypts or decrypts `buffer` in place

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::crypto {

inline constexpr size_t kAesBlockSize = 16;
inline constexpr size_t kAesCtrIvSize = 16;

// AES in counter mode with random access.
//
// `iv` is the 16-byte initial counter block. The keystream byte at stream offset `o` is byte
// o % 16 of AES(key, iv + o / 16), where the addition treats the block as a 128-bit
// big-endian integer (the carry runs across all 16 bytes and wraps modulo 2^128). Hence
// applying the cipher to a range [off, off + n) alone gives exactly the same bytes as the
// same range of the whole stream; offsets need not be multiples of 16. This is the counter
// layout of NIST SP 800-38A and of Web3 keystores ("aes-128-ctr").
//
// Encryption and decryption are the same operation. Counter mode gives no integrity: pair
// it with a MAC or Merkle root. Never reuse a (key, iv) pair for two different plaintexts.
//
// Thread-safe: all methods are const and may run concurrently. Copies are cheap (they
// share the immutable expanded key) and remain valid independently of the original.
class AesCtr {
 public:
  // InvalidArgument if the key is not 16, 24 or 32 bytes or the iv is not 16 bytes.
  // The key bytes are copied; the caller may wipe its buffer afterwards.
  static absl::StatusOr<AesCtr> Create(ByteView key, ByteView iv);

  // XORs the keystream starting at stream offset `offset` into `data`, in place.
  void Apply(uint64_t offset, MutableByteView data) const;
  // out = in XOR keystream[offset, offset + in.size()). Requires in.size() == out.size()
  // (only the first min(in.size(), out.size()) bytes are processed otherwise). `in` and
  // `out` may be the same buffer (exact alias) but must not otherwise overlap.
  void Apply(uint64_t offset, ByteView in, MutableByteView out) const;

  // Key size in bytes (16, 24 or 32).
  size_t key_size() const;

 private:
  struct Impl;
  explicit AesCtr(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  std::shared_ptr<const Impl> impl_;  // never null
};

// One-shot convenience: AesCtr::Create(key, iv) then Apply(offset, in) into a new buffer.
absl::StatusOr<Bytes> AesCtrApply(ByteView key, ByteView iv, uint64_t offset, ByteView in);

inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// AES-GCM encryption (NIST SP 800-38D) with a 12-byte nonce and a 16-byte tag. Returns
// ciphertext || tag (plaintext.size() + 16 bytes). `aad` is authenticated, not encrypted.
// Never reuse a (key, nonce) pair. InvalidArgument on a bad key or nonce size.
absl::StatusOr<Bytes> AesGcmSeal(ByteView key, ByteView nonce, ByteView plaintext,
                                 ByteView aad = {});

// AES-GCM decryption of `sealed` = ciphertext || tag, produced by AesGcmSeal with the same
// key, nonce and aad. Returns the plaintext only if the tag verifies.
// Errors: InvalidArgument on a bad key or nonce size; DataLoss ("AES-GCM authentication
// failed ...") if the tag does not verify — wrong key, nonce, aad, a modified ciphertext or
// tag, or an input shorter than the tag.
absl::StatusOr<Bytes> AesGcmOpen(ByteView key, ByteView nonce, ByteView sealed, ByteView aad = {});

}  // namespace gnr::crypto
