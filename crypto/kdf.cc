#include "crypto/kdf.h"

#include <cryptopp/hkdf.h>
#include <cryptopp/pwdbased.h>
#include <cryptopp/scrypt.h>
#include <cryptopp/sha.h>

#include <exception>
#include <new>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr::crypto {
namespace {

// Crypto++ asserts (in debug builds) on null pointers even for length 0.
const uint8_t* DataOrEmpty(ByteView v) {
  static const uint8_t kEmpty[1] = {0};
  return v.empty() ? kEmpty : v.data();
}

absl::Status FromException(std::string_view what, const std::exception& e) {
  return absl::InternalError(absl::StrCat(AbslView(what), " failed: ", e.what()));
}

}  // namespace

absl::StatusOr<Bytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  if (length < 1 || length > kHkdfSha256MaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("HKDF-SHA256 length must be 1..8160 bytes, got ", length));
  }
  try {
    Bytes out(length);
    CryptoPP::HKDF<CryptoPP::SHA256> hkdf;
    // An empty (non-null) salt is an empty HMAC key, which HMAC pads to the same block as
    // the RFC's default of HashLen zero bytes.
    hkdf.DeriveKey(out.data(), out.size(), DataOrEmpty(ikm), ikm.size(), DataOrEmpty(salt),
                   salt.size(), DataOrEmpty(info), info.size());
    return out;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("HKDF-SHA256: out of memory");
  } catch (const std::exception& e) {
    return FromException("HKDF-SHA256", e);
  }
}

absl::StatusOr<Bytes> Scrypt(ByteView password, ByteView salt, const ScryptParams& params,
                             size_t length) {
  const uint64_t n = params.n;
  const uint64_t r = params.r;
  const uint64_t p = params.p;
  if (n < 2 || (n & (n - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt n must be a power of two greater than 1, got ", n));
  }
  if (r < 1) return absl::InvalidArgumentError("scrypt r must be at least 1, got 0");
  if (p < 1) return absl::InvalidArgumentError("scrypt p must be at least 1, got 0");
  // 128 * r * n without overflow (r < 2^32, so 128 * r < 2^39).
  if (n > kScryptMaxMemory / (128 * r)) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt memory 128 * r * n exceeds the 2 GiB limit (n=", n, ", r=", r, ")"));
  }
  // This also keeps r * p far below RFC 7914's limit of 2^30.
  if (p > kScryptMaxMemory / (128 * r)) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt memory 128 * r * p exceeds the 2 GiB limit (r=", r, ", p=", p, ")"));
  }
  if (length < 1) return absl::InvalidArgumentError("scrypt length must be at least 1 byte");

  try {
    Bytes out(length);
    // Crypto++ runs the p lanes one after another (no OpenMP in Debian's build), so the
    // working memory is 128 * r * n for V plus 128 * r * p for B.
    CryptoPP::Scrypt scrypt;
    scrypt.DeriveKey(out.data(), out.size(), DataOrEmpty(password), password.size(),
                     DataOrEmpty(salt), salt.size(), n, r, p);
    return out;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("scrypt: cannot allocate ", 128 * r * n, " bytes of working memory"));
  } catch (const std::exception& e) {
    return FromException("scrypt", e);
  }
}

absl::StatusOr<Bytes> Pbkdf2HmacSha256(ByteView password, ByteView salt, uint32_t iterations,
                                       size_t length) {
  if (iterations < 1) {
    return absl::InvalidArgumentError("PBKDF2 iterations must be at least 1, got 0");
  }
  if (length < 1) return absl::InvalidArgumentError("PBKDF2 length must be at least 1 byte");
  try {
    Bytes out(length);
    CryptoPP::PKCS5_PBKDF2_HMAC<CryptoPP::SHA256> pbkdf2;
    pbkdf2.DeriveKey(out.data(), out.size(), /*purpose=*/0, DataOrEmpty(password), password.size(),
                     DataOrEmpty(salt), salt.size(), iterations);
    return out;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("PBKDF2: out of memory");
  } catch (const std::exception& e) {
    return FromException("PBKDF2-HMAC-SHA256", e);
  }
}

}  // namespace gnr::crypto
