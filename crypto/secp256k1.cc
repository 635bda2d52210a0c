#include "crypto/secp256k1.h"

#include <cryptopp/misc.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"

namespace gnr::crypto {
namespace {

// The process-wide context. libsecp256k1 contexts are safe to share between threads for
// every operation except randomize/clone/destroy, which only happen here, once. It is
// never destroyed (other static destructors may still sign).
const secp256k1_context* Context() {
  static const secp256k1_context* const ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    // Blinding of the signing/keygen scalar multiplications against side channels.
    FixedBytes<32> seed = OsRandom().Generate<32>();
    int randomized = secp256k1_context_randomize(c, seed.data());
    (void)randomized;  // Only fails on a static context; c is not one.
    CryptoPP::SecureWipeBuffer(seed.data(), seed.size());
    return c;
  }();
  return ctx;
}

// True iff `v` is a scalar in [1, n-1] (also the valid range of r and s).
bool IsValidScalar(const FixedBytes<32>& v) {
  return secp256k1_ec_seckey_verify(Context(), v.data()) == 1;
}

FixedBytes<65> SerializeUncompressed(const secp256k1_pubkey& key) {
  FixedBytes<65> out;
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(Context(), out.data(), &len, &key, SECP256K1_EC_UNCOMPRESSED);
  return out;
}

bool ToLibKey(const FixedBytes<65>& uncompressed, secp256k1_pubkey* key) {
  return secp256k1_ec_pubkey_parse(Context(), key, uncompressed.data(), uncompressed.size()) == 1;
}

absl::Status CheckSignatureScalars(const RecoverableSignature& sig) {
  if (!IsValidScalar(sig.r)) {
    return absl::InvalidArgumentError("signature r must be in [1, n-1] (secp256k1 order n)");
  }
  if (!IsValidScalar(sig.s)) {
    return absl::InvalidArgumentError("signature s must be in [1, n-1] (secp256k1 order n)");
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RecoverableSignature

FixedBytes<65> RecoverableSignature::ToBytes() const {
  FixedBytes<65> out;
  std::memcpy(out.data(), r.data(), 32);
  std::memcpy(out.data() + 32, s.data(), 32);
  out[64] = recovery_id;
  return out;
}

absl::StatusOr<RecoverableSignature> RecoverableSignature::FromBytes(ByteView b) {
  if (b.size() != 65) {
    return absl::InvalidArgumentError(
        absl::StrCat("recoverable signature must be 65 bytes (r || s || v), got ", b.size()));
  }
  RecoverableSignature sig;
  std::memcpy(sig.r.data(), b.data(), 32);
  std::memcpy(sig.s.data(), b.data() + 32, 32);
  uint8_t v = b[64];
  if (v == 27 || v == 28) v -= 27;
  if (v > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature recovery byte v must be 0, 1, 27 or 28, got ", b[64]));
  }
  sig.recovery_id = v;
  GNR_RETURN_IF_ERROR(CheckSignatureScalars(sig));
  return sig;
}

// ---------------------------------------------------------------------------------------
// PublicKey

absl::StatusOr<PublicKey> PublicKey::Parse(ByteView sec1) {
  if (sec1.size() == 33) {
    if (sec1[0] != 0x02 && sec1[0] != 0x03) {
      return absl::InvalidArgumentError(absl::StrCat(
          "compressed public key must start with 0x02 or 0x03, got 0x", HexEncode(sec1.first(1))));
    }
  } else if (sec1.size() == 65) {
    // libsecp256k1 would also take the "hybrid" 0x06/0x07 forms; nobody should send them.
    if (sec1[0] != 0x04) {
      return absl::InvalidArgumentError(absl::StrCat(
          "uncompressed public key must start with 0x04, got 0x", HexEncode(sec1.first(1))));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "public key must be 33 (compressed) or 65 (uncompressed) bytes, got ", sec1.size()));
  }
  secp256k1_pubkey key;
  if (secp256k1_ec_pubkey_parse(Context(), &key, sec1.data(), sec1.size()) != 1) {
    return absl::InvalidArgumentError("public key is not a point on secp256k1");
  }
  return PublicKey(SerializeUncompressed(key));
}

FixedBytes<33> PublicKey::Compressed() const {
  FixedBytes<33> out;
  out[0] = (uncompressed_[64] & 1) ? 0x03 : 0x02;
  std::memcpy(out.data() + 1, uncompressed_.data() + 1, 32);
  return out;
}

// ---------------------------------------------------------------------------------------
// PrivateKey

PrivateKey PrivateKey::Generate(Random& rng) {
  // A random 256-bit value is >= n with probability ~2^-128; loop anyway.
  for (;;) {
    FixedBytes<32> candidate = rng.Generate<32>();
    if (IsValidScalar(candidate)) {
      PrivateKey key(candidate);
      CryptoPP::SecureWipeBuffer(candidate.data(), candidate.size());
      return key;
    }
  }
}

absl::StatusOr<PrivateKey> PrivateKey::FromBytes(ByteView b) {
  if (b.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("private key must be 32 bytes, got ", b.size()));
  }
  FixedBytes<32> secret;
  std::memcpy(secret.data(), b.data(), 32);
  if (!IsValidScalar(secret)) {
    CryptoPP::SecureWipeBuffer(secret.data(), secret.size());
    return absl::InvalidArgumentError("private key must be in [1, n-1] (secp256k1 order n)");
  }
  PrivateKey key(secret);
  CryptoPP::SecureWipeBuffer(secret.data(), secret.size());
  return key;
}

PrivateKey::~PrivateKey() { CryptoPP::SecureWipeBuffer(secret_.data(), secret_.size()); }

PublicKey PrivateKey::GetPublicKey() const {
  secp256k1_pubkey key;
  // Cannot fail: secret_ was validated on construction.
  int ok = secp256k1_ec_pubkey_create(Context(), &key, secret_.data());
  (void)ok;
  return PublicKey(SerializeUncompressed(key));
}

RecoverableSignature PrivateKey::Sign(const Hash256& digest) const {
  secp256k1_ecdsa_recoverable_signature lib_sig;
  // Default nonce function = RFC 6979 (HMAC-SHA256); libsecp256k1 always emits low s.
  // Cannot fail for a valid key (the nonce loop retries internally).
  int ok = secp256k1_ecdsa_sign_recoverable(Context(), &lib_sig, digest.data(), secret_.data(),
                                            nullptr, nullptr);
  (void)ok;
  FixedBytes<64> compact;
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), compact.data(), &recid,
                                                          &lib_sig);
  RecoverableSignature sig;
  std::memcpy(sig.r.data(), compact.data(), 32);
  std::memcpy(sig.s.data(), compact.data() + 32, 32);
  sig.recovery_id = static_cast<uint8_t>(recid);
  return sig;
}

// ---------------------------------------------------------------------------------------
// Recovery and verification

absl::StatusOr<PublicKey> RecoverPublicKey(const Hash256& digest, const RecoverableSignature& sig) {
  if (sig.recovery_id > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature recovery id must be 0 or 1, got ", sig.recovery_id));
  }
  GNR_RETURN_IF_ERROR(CheckSignatureScalars(sig));
  FixedBytes<64> compact;
  std::memcpy(compact.data(), sig.r.data(), 32);
  std::memcpy(compact.data() + 32, sig.s.data(), 32);
  secp256k1_ecdsa_recoverable_signature lib_sig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(Context(), &lib_sig, compact.data(),
                                                          sig.recovery_id) != 1) {
    return absl::InvalidArgumentError("malformed recoverable signature");
  }
  secp256k1_pubkey key;
  if (secp256k1_ecdsa_recover(Context(), &key, &lib_sig, digest.data()) != 1) {
    return absl::InvalidArgumentError("signature does not recover to any public key");
  }
  return PublicKey(SerializeUncompressed(key));
}

bool VerifySignature(const PublicKey& key, const Hash256& digest, const RecoverableSignature& sig) {
  FixedBytes<64> compact;
  std::memcpy(compact.data(), sig.r.data(), 32);
  std::memcpy(compact.data() + 32, sig.s.data(), 32);
  secp256k1_ecdsa_signature lib_sig;
  if (secp256k1_ecdsa_signature_parse_compact(Context(), &lib_sig, compact.data()) != 1) {
    return false;  // r or s >= n
  }
  secp256k1_pubkey lib_key;
  if (!ToLibKey(key.Uncompressed(), &lib_key)) return false;
  // Rejects r == 0, s == 0 and high s.
  return secp256k1_ecdsa_verify(Context(), &lib_sig, digest.data(), &lib_key) == 1;
}

// ---------------------------------------------------------------------------------------
// Ethereum addresses and node ids

EthAddress EthereumAddress(const PublicKey& key) {
  FixedBytes<65> u = key.Uncompressed();
  Hash256 h = Keccak256(ByteView(u).subspan(1));
  EthAddress out;
  std::memcpy(out.data(), h.data() + 12, 20);
  return out;
}

std::string EthAddressToChecksumHex(const EthAddress& address) {
  std::string hex = HexEncode(address);  // lower case
  Hash256 h = Keccak256(AsBytes(hex));
  for (size_t i = 0; i < hex.size(); ++i) {
    uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
    if (hex[i] >= 'a' && hex[i] <= 'f' && nibble >= 8) hex[i] = static_cast<char>(hex[i] - 32);
  }
  return "0x" + hex;
}

absl::StatusOr<EthAddress> ParseEthAddress(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
  }
  if (digits.size() != 40) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ethereum address must be 40 hex digits, got ", digits.size()));
  }
  absl::StatusOr<EthAddress> address = HexDecodeFixed<20>(digits);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ethereum address is not hex: ", address.status().message()));
  }
  bool has_lower = false;
  bool has_upper = false;
  for (char c : digits) {
    has_lower |= (c >= 'a' && c <= 'f');
    has_upper |= (c >= 'A' && c <= 'F');
  }
  if (has_lower && has_upper) {
    std::string expected = EthAddressToChecksumHex(*address);
    if (std::string_view(expected).substr(2) != digits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Ethereum address has a bad EIP-55 checksum (mixed case must be ", expected, ")"));
    }
  }
  return address;
}

NodeId NodeIdOf(const PublicKey& key) {
  FixedBytes<33> compressed = key.Compressed();
  Hash256 sha = Sha256(compressed);
  return Ripemd160(sha);
}

}  // namespace gnr::crypto
