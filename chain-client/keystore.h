#pragma once
// Web3 Secret Storage v3 keystores (ethereum.org, "Web3 secret storage definition"): the
// JSON files geth, ethers and MetaMask use for wallet keys, so a gnrfs wallet can be moved to
// and from those tools.
//
// Format: the private key is encrypted with AES-128-CTR under the first 16 bytes of a key
// derived from the password with scrypt (or PBKDF2-HMAC-SHA256); integrity is
// mac = keccak256(derived_key[16:32] || ciphertext).
//
//   std::string json = *EncryptKeystore(key, password, crypto::OsRandom());
//   GNR_ASSIGN_OR_RETURN(crypto::PrivateKey key, DecryptKeystore(json, password));
//
// All functions are thread-safe. Key derivation is deliberately slow: with the default
// parameters (scrypt n=262144, r=8, p=1, as geth's "standard") it takes ~1 s and 256 MiB.
// Keystore files are untrusted input: KDF parameters are bounded (see kKeystoreMax*) so a
// hostile file cannot make us spend unbounded memory or time.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "crypto/secp256k1.h"

namespace gnr::chain {

struct KeystoreOptions {
  enum class Kdf { kScrypt, kPbkdf2 };
  Kdf kdf = Kdf::kScrypt;
  // geth's StandardScryptN/P; tests pass a small n for speed.
  crypto::ScryptParams scrypt = {.n = 262144, .r = 8, .p = 1};
  uint32_t pbkdf2_iterations = 262144;
};

// Bounds on KDF parameters read from files (generous: geth's standard is n=2^18).
inline constexpr uint64_t kKeystoreMaxScryptN = uint64_t{1} << 22;
inline constexpr uint64_t kKeystoreMaxScryptWork = uint64_t{1} << 26;  // n * r * p
inline constexpr uint64_t kKeystoreMaxPbkdf2Iterations = 10'000'000;

// Encrypts `key` under `password` and returns the keystore JSON (with "address", "id" (a
// random UUID v4) and "version": 3). Salt (32 bytes), IV and UUID come from `rng`.
// InvalidArgument if the options are invalid (e.g. scrypt n not a power of two).
absl::StatusOr<std::string> EncryptKeystore(const crypto::PrivateKey& key,
                                            std::string_view password, crypto::Random& rng,
                                            const KeystoreOptions& options = {});

// Decrypts a v3 keystore. Errors:
//   InvalidArgument  malformed JSON, a missing or ill-typed field (the message names it), an
//                    unsupported version, cipher, kdf or prf, or KDF parameters out of bounds;
//   PermissionDenied "wrong password or corrupted keystore (MAC mismatch)";
//   DataLoss         the MAC verifies but the key is invalid, or the file's "address" does not
//                    match the decrypted key.
absl::StatusOr<crypto::PrivateKey> DecryptKeystore(std::string_view json,
                                                   std::string_view password);

// What can be read without the password.
struct KeystoreInfo {
  std::optional<crypto::EthAddress> address;  // the optional "address" field
  std::string id;                             // the "id" field (may be empty)
};
// InvalidArgument on malformed JSON or a malformed "address".
absl::StatusOr<KeystoreInfo> ReadKeystoreInfo(std::string_view json);

}  // namespace gnr::chain
