#include "crypto/hash.h"

#include <cryptopp/blake2.h>
#include <cryptopp/hmac.h>
#include <cryptopp/keccak.h>
#include <cryptopp/ripemd.h>
#include <cryptopp/sha.h>

#include "absl/strings/str_cat.h"

namespace gnr::crypto {
namespace {

template <typename H, size_t N>
FixedBytes<N> Digest(std::initializer_list<ByteView> parts) {
  H h;
  for (ByteView p : parts) h.Update(p.data(), p.size());
  FixedBytes<N> out;
  h.Final(out.data());
  return out;
}

}  // namespace

Hash256 Sha256(ByteView data) { return Digest<CryptoPP::SHA256, 32>({data}); }
Hash256 Sha256(std::initializer_list<ByteView> parts) {
  return Digest<CryptoPP::SHA256, 32>(parts);
}

Hash256 Keccak256(ByteView data) { return Digest<CryptoPP::Keccak_256, 32>({data}); }
Hash256 Keccak256(std::initializer_list<ByteView> parts) {
  return Digest<CryptoPP::Keccak_256, 32>(parts);
}

Hash160 Ripemd160(ByteView data) { return Digest<CryptoPP::RIPEMD160, 20>({data}); }

absl::StatusOr<Bytes> Blake2b(ByteView data, size_t digest_size, ByteView key) {
  if (digest_size < 1 || digest_size > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("BLAKE2b digest size must be 1..64 bytes, got ", digest_size));
  }
  if (key.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("BLAKE2b key must be at most 64 bytes, got ", key.size()));
  }
  CryptoPP::BLAKE2b h(key.data(), key.size(), nullptr, 0, nullptr, 0, false,
                      static_cast<unsigned int>(digest_size));
  h.Update(data.data(), data.size());
  Bytes out(digest_size);
  h.Final(out.data());
  return out;
}

Hash256 Blake2b256(ByteView data) {
  CryptoPP::BLAKE2b h(false, 32);
  h.Update(data.data(), data.size());
  Hash256 out;
  h.Final(out.data());
  return out;
}

Hash256 HmacSha256(ByteView key, ByteView data) {
  CryptoPP::HMAC<CryptoPP::SHA256> mac(key.data(), key.size());
  mac.Update(data.data(), data.size());
  Hash256 out;
  mac.Final(out.data());
  return out;
}

struct Sha256Hasher::Impl {
  CryptoPP::SHA256 h;
};
Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {}
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;
void Sha256Hasher::Update(ByteView data) { impl_->h.Update(data.data(), data.size()); }
Hash256 Sha256Hasher::Finish() {
  Hash256 out;
  impl_->h.Final(out.data());
  return out;
}

struct Keccak256Hasher::Impl {
  CryptoPP::Keccak_256 h;
};
Keccak256Hasher::Keccak256Hasher() : impl_(std::make_unique<Impl>()) {}
Keccak256Hasher::~Keccak256Hasher() = default;
Keccak256Hasher::Keccak256Hasher(Keccak256Hasher&&) noexcept = default;
Keccak256Hasher& Keccak256Hasher::operator=(Keccak256Hasher&&) noexcept = default;
void Keccak256Hasher::Update(ByteView data) { impl_->h.Update(data.data(), data.size()); }
Hash256 Keccak256Hasher::Finish() {
  Hash256 out;
  impl_->h.Final(out.data());
  return out;
}

}  // namespace gnr::crypto
