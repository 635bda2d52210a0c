#include "crypto/aes.h"

#include <cryptopp/aes.h>
#include <cryptopp/cpu.h>
#include <cryptopp/gcm.h>
#include <cryptopp/secblock.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <exception>
#include <new>

#include "absl/strings/str_cat.h"

namespace gnr::crypto {
namespace {

absl::Status CheckKeySize(ByteView key) {
  if (key.size() == 16 || key.size() == 24 || key.size() == 32) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("AES key must be 16, 24 or 32 bytes, got ", key.size()));
}

// Crypto++ may read through a non-null pointer even for length 0 in debug builds; give it a
// valid one for empty views.
const uint8_t* DataOrEmpty(ByteView v) {
  static const uint8_t kEmpty[1] = {0};
  return v.empty() ? kEmpty : v.data();
}

// Whether Rijndael::Enc::AdvancedProcessBlocks on a shared const object is safe from many
// threads. With AES-NI it only reads the expanded key (checked in Crypto++ 8.7's
// rijndael.cpp). Its SSE2 assembly path writes a `mutable` scratch block, so without AES-NI
// each call expands the key again into a cipher of its own (~0.2 us).
bool SharedCipherIsThreadSafe() {
#if defined(CRYPTOPP_AESNI_AVAILABLE)
  static const bool kAesNi = CryptoPP::HasAESNI();
  return kAesNi;
#else
  return false;
#endif
}

// counter += delta, as a 128-bit big-endian integer wrapping modulo 2^128.
void AddToCounter(uint8_t* counter, uint64_t delta) {
  unsigned carry = 0;
  for (int i = kAesBlockSize - 1; i >= 0; --i) {
    unsigned sum = counter[i] + static_cast<unsigned>(delta & 0xff) + carry;
    counter[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
    delta >>= 8;
    if (delta == 0 && carry == 0) break;
  }
}

// out[i] = in[i] ^ AES(counter)[skip + i] for i < n (skip + n <= 16). Does not advance the
// counter.
void XorPartialBlock(const CryptoPP::AES::Encryption& cipher, const uint8_t* counter, size_t skip,
                     const uint8_t* in, uint8_t* out, size_t n) {
  alignas(16) uint8_t keystream[kAesBlockSize];
  cipher.ProcessBlock(counter, keystream);
  for (size_t i = 0; i < n; ++i) out[i] = in[i] ^ keystream[skip + i];
  CryptoPP::SecureWipeBuffer(keystream, kAesBlockSize);
}

// Counter mode over [offset, offset + n) with the given expanded key.
void CtrApply(const CryptoPP::AES::Encryption& cipher, const FixedBytes<kAesCtrIvSize>& iv,
              uint64_t offset, const uint8_t* in, uint8_t* out, size_t n) {
  if (n == 0) return;
  alignas(16) uint8_t counter[kAesBlockSize];
  std::memcpy(counter, iv.data(), kAesBlockSize);
  AddToCounter(counter, offset / kAesBlockSize);

  // A leading partial block when the offset is not block aligned.
  const size_t skip = offset % kAesBlockSize;
  if (skip != 0) {
    const size_t take = std::min(n, kAesBlockSize - skip);
    XorPartialBlock(cipher, counter, skip, in, out, take);
    in += take;
    out += take;
    n -= take;
    AddToCounter(counter, 1);
  }

  // Whole blocks in bulk. Crypto++'s BT_InBlockIsCounter only increments the last counter
  // byte (without carry), so each bulk call stops where that byte would wrap and the carry
  // into the higher bytes is done here.
  constexpr CryptoPP::word32 kFlags = CryptoPP::BlockTransformation::BT_InBlockIsCounter |
                                      CryptoPP::BlockTransformation::BT_AllowParallel;
  while (n >= kAesBlockSize) {
    const uint8_t low = counter[kAesBlockSize - 1];
    const size_t blocks = std::min<size_t>(n / kAesBlockSize, 256 - low);
    const size_t bytes = blocks * kAesBlockSize;
    // xorBlocks = in: out = AES(counter) ^ in; works in place (in == out).
    cipher.AdvancedProcessBlocks(counter, in, out, bytes, kFlags);
    counter[kAesBlockSize - 1] = low;  // whatever the implementation left there
    AddToCounter(counter, blocks);
    in += bytes;
    out += bytes;
    n -= bytes;
  }

  // A trailing partial block.
  if (n != 0) XorPartialBlock(cipher, counter, 0, in, out, n);
  CryptoPP::SecureWipeBuffer(counter, kAesBlockSize);
}

}  // namespace

struct AesCtr::Impl {
  Impl(ByteView key_bytes, ByteView iv_bytes)
      : cipher(key_bytes.data(), key_bytes.size()), key(key_bytes.data(), key_bytes.size()) {
    std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
  }

  CryptoPP::AES::Encryption cipher;  // expanded key; shared when thread-safe
  CryptoPP::SecByteBlock key;        // raw key, for per-call ciphers otherwise
  FixedBytes<kAesCtrIvSize> iv;
};

absl::StatusOr<AesCtr> AesCtr::Create(ByteView key, ByteView iv) {
  if (absl::Status s = CheckKeySize(key); !s.ok()) return s;
  if (iv.size() != kAesCtrIvSize) {
    return absl::InvalidArgumentError(absl::StrCat("AES-CTR iv must be 16 bytes, got ", iv.size()));
  }
  try {
    return AesCtr(std::make_shared<const Impl>(key, iv));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("AES-CTR: out of memory");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("AES-CTR key setup failed: ", e.what()));
  }
}

void AesCtr::Apply(uint64_t offset, MutableByteView data) const {
  Apply(offset, ByteView(data), data);
}

void AesCtr::Apply(uint64_t offset, ByteView in, MutableByteView out) const {
  assert(in.size() == out.size());
  const size_t n = std::min(in.size(), out.size());
  if (n == 0) return;
  if (SharedCipherIsThreadSafe()) {
    CtrApply(impl_->cipher, impl_->iv, offset, in.data(), out.data(), n);
  } else {
    const CryptoPP::AES::Encryption local(impl_->key.data(), impl_->key.size());
    CtrApply(local, impl_->iv, offset, in.data(), out.data(), n);
  }
}

size_t AesCtr::key_size() const { return impl_->key.size(); }

absl::StatusOr<Bytes> AesCtrApply(ByteView key, ByteView iv, uint64_t offset, ByteView in) {
  absl::StatusOr<AesCtr> ctr = AesCtr::Create(key, iv);
  if (!ctr.ok()) return ctr.status();
  Bytes out(in.size());
  ctr->Apply(offset, in, out);
  return out;
}

namespace {

absl::Status CheckGcmSizes(ByteView key, ByteView nonce) {
  if (absl::Status s = CheckKeySize(key); !s.ok()) return s;
  if (nonce.size() != kGcmNonceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM nonce must be 12 bytes, got ", nonce.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Bytes> AesGcmSeal(ByteView key, ByteView nonce, ByteView plaintext, ByteView aad) {
  if (absl::Status s = CheckGcmSizes(key, nonce); !s.ok()) return s;
  try {
    CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
    gcm.SetKeyWithIV(key.data(), key.size(), nonce.data(), nonce.size());
    Bytes sealed(plaintext.size() + kGcmTagSize);
    gcm.EncryptAndAuthenticate(sealed.data(), sealed.data() + plaintext.size(), kGcmTagSize,
                               nonce.data(), static_cast<int>(nonce.size()), DataOrEmpty(aad),
                               aad.size(), DataOrEmpty(plaintext), plaintext.size());
    return sealed;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("AES-GCM seal: out of memory");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("AES-GCM seal failed: ", e.what()));
  }
}

absl::StatusOr<Bytes> AesGcmOpen(ByteView key, ByteView nonce, ByteView sealed, ByteView aad) {
  if (absl::Status s = CheckGcmSizes(key, nonce); !s.ok()) return s;
  if (sealed.size() < kGcmTagSize) {
    return absl::DataLossError(absl::StrCat("AES-GCM authentication failed: input of ",
                                            sealed.size(),
                                            " bytes is shorter than the 16-byte tag"));
  }
  const size_t text_size = sealed.size() - kGcmTagSize;
  try {
    CryptoPP::GCM<CryptoPP::AES>::Decryption gcm;
    gcm.SetKeyWithIV(key.data(), key.size(), nonce.data(), nonce.size());
    Bytes plaintext(text_size);
    // Crypto++ wants a writable, non-null output even for an empty message.
    uint8_t empty_out[1];
    uint8_t* out = text_size == 0 ? empty_out : plaintext.data();
    const bool ok = gcm.DecryptAndVerify(out, sealed.data() + text_size, kGcmTagSize, nonce.data(),
                                         static_cast<int>(nonce.size()), DataOrEmpty(aad),
                                         aad.size(), sealed.data(), text_size);
    if (!ok) {
      CryptoPP::SecureWipeBuffer(plaintext.data(), plaintext.size());
      return absl::DataLossError(
          "AES-GCM authentication failed: wrong key, nonce or associated data, or the "
          "ciphertext or tag was modified");
    }
    return plaintext;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("AES-GCM open: out of memory");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("AES-GCM open failed: ", e.what()));
  }
}

}  // namespace gnr::crypto
