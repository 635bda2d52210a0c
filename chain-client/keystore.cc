#include "chain-client/keystore.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/aes.h"
#include "crypto/hash.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {
namespace {

using Json = nlohmann::json;

constexpr size_t kMinDkLen = 32;
constexpr size_t kMaxDkLen = 64;

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("keystore: ", AbslView(what)));
}

absl::StatusOr<const Json*> Field(const Json& obj, std::string_view path, const char* name) {
  if (!obj.is_object()) return Bad(absl::StrCat("\"", AbslView(path), "\" is not an object"));
  auto it = obj.find(name);
  if (it == obj.end()) {
    return Bad(
        absl::StrCat("missing field \"", AbslView(path), path.empty() ? "" : ".", name, "\""));
  }
  return &*it;
}

absl::StatusOr<std::string> StringField(const Json& obj, std::string_view path, const char* name) {
  GNR_ASSIGN_OR_RETURN(const Json* v, Field(obj, path, name));
  if (!v->is_string()) {
    return Bad(absl::StrCat("field \"", AbslView(path), path.empty() ? "" : ".", name,
                            "\" must be a string"));
  }
  return v->get<std::string>();
}

absl::StatusOr<uint64_t> UintField(const Json& obj, std::string_view path, const char* name) {
  GNR_ASSIGN_OR_RETURN(const Json* v, Field(obj, path, name));
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
    return Bad(absl::StrCat("field \"", AbslView(path), path.empty() ? "" : ".", name,
                            "\" must be a non-negative integer"));
  }
  return v->get<uint64_t>();
}

absl::StatusOr<Bytes> HexField(const Json& obj, std::string_view path, const char* name,
                               std::optional<size_t> size = std::nullopt) {
  GNR_ASSIGN_OR_RETURN(std::string s, StringField(obj, path, name));
  absl::StatusOr<Bytes> b = HexDecode(s);
  std::string full = absl::StrCat(AbslView(path), path.empty() ? "" : ".", name);
  if (!b.ok()) return Bad(absl::StrCat("field \"", full, "\" is not hex: ", b.status().message()));
  if (size && b->size() != *size) {
    return Bad(absl::StrCat("field \"", full, "\" must be ", *size, " bytes, got ", b->size()));
  }
  return b;
}

// The "crypto" object; some writers (old MyEtherWallet) capitalize it.
absl::StatusOr<const Json*> CryptoObject(const Json& root) {
  auto it = root.find("crypto");
  if (it == root.end()) it = root.find("Crypto");
  if (it == root.end()) return Bad("missing field \"crypto\"");
  if (!it->is_object()) return Bad("field \"crypto\" must be an object");
  return &*it;
}

absl::StatusOr<Bytes> DeriveKey(const Json& crypto_obj, std::string_view password) {
  GNR_ASSIGN_OR_RETURN(std::string kdf, StringField(crypto_obj, "crypto", "kdf"));
  GNR_ASSIGN_OR_RETURN(const Json* params, Field(crypto_obj, "crypto", "kdfparams"));
  if (!params->is_object()) return Bad("field \"crypto.kdfparams\" must be an object");
  const std::string path = "crypto.kdfparams";
  GNR_ASSIGN_OR_RETURN(uint64_t dklen, UintField(*params, path, "dklen"));
  if (dklen < kMinDkLen || dklen > kMaxDkLen) {
    return Bad(absl::StrCat("crypto.kdfparams.dklen must be 32..64, got ", dklen));
  }
  GNR_ASSIGN_OR_RETURN(Bytes salt, HexField(*params, path, "salt"));
  absl::StatusOr<Bytes> key;
  if (kdf == "scrypt") {
    GNR_ASSIGN_OR_RETURN(uint64_t n, UintField(*params, path, "n"));
    GNR_ASSIGN_OR_RETURN(uint64_t r, UintField(*params, path, "r"));
    GNR_ASSIGN_OR_RETURN(uint64_t p, UintField(*params, path, "p"));
    if (n > kKeystoreMaxScryptN || r == 0 || p == 0 || r > (1u << 16) || p > (1u << 16) ||
        n * r * p > kKeystoreMaxScryptWork) {
      return Bad(absl::StrCat("scrypt parameters n=", n, " r=", r, " p=", p,
                              " are outside the accepted bounds (n <= ", kKeystoreMaxScryptN,
                              ", n*r*p <= ", kKeystoreMaxScryptWork, ")"));
    }
    key = crypto::Scrypt(
        AsBytes(password), salt,
        crypto::ScryptParams{n, static_cast<uint32_t>(r), static_cast<uint32_t>(p)}, dklen);
  } else if (kdf == "pbkdf2") {
    GNR_ASSIGN_OR_RETURN(std::string prf, StringField(*params, path, "prf"));
    if (prf != "hmac-sha256") {
      return Bad(absl::StrCat("unsupported pbkdf2 prf \"", prf, "\" (only hmac-sha256)"));
    }
    GNR_ASSIGN_OR_RETURN(uint64_t c, UintField(*params, path, "c"));
    if (c == 0 || c > kKeystoreMaxPbkdf2Iterations) {
      return Bad(absl::StrCat("pbkdf2 iteration count ", c, " is outside 1..",
                              kKeystoreMaxPbkdf2Iterations));
    }
    key = crypto::Pbkdf2HmacSha256(AsBytes(password), salt, static_cast<uint32_t>(c), dklen);
  } else {
    return Bad(absl::StrCat("unsupported kdf \"", kdf, "\" (scrypt or pbkdf2)"));
  }
  if (!key.ok()) return Annotate(key.status(), "keystore key derivation");
  return key;
}

std::string Uuid4(crypto::Random& rng) {
  FixedBytes<16> b = rng.Generate<16>();
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = HexEncode(b);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

absl::StatusOr<Json> ParseJson(std::string_view json) {
  Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Bad("not valid JSON");
  if (!root.is_object()) return Bad("top level must be a JSON object");
  return root;
}

absl::StatusOr<std::optional<crypto::EthAddress>> AddressField(const Json& root) {
  auto it = root.find("address");
  if (it == root.end() || it->is_null()) return std::optional<crypto::EthAddress>();
  if (!it->is_string()) return Bad("field \"address\" must be a string");
  // Keystores store it as lower-case hex without 0x; accept any case or prefix (checksum
  // case is verified if mixed).
  absl::StatusOr<crypto::EthAddress> a = crypto::ParseEthAddress(it->get<std::string>());
  if (!a.ok()) return Bad(absl::StrCat("field \"address\": ", a.status().message()));
  return std::optional<crypto::EthAddress>(*a);
}

}  // namespace

absl::StatusOr<std::string> EncryptKeystore(const crypto::PrivateKey& key,
                                            std::string_view password, crypto::Random& rng,
                                            const KeystoreOptions& options) {
  const Bytes salt = rng.Generate(32);
  const Bytes iv = rng.Generate(crypto::kAesCtrIvSize);
  Json kdfparams;
  absl::StatusOr<Bytes> derived;
  if (options.kdf == KeystoreOptions::Kdf::kScrypt) {
    derived = crypto::Scrypt(AsBytes(password), salt, options.scrypt, 32);
    kdfparams = {{"dklen", 32},
                 {"n", options.scrypt.n},
                 {"p", options.scrypt.p},
                 {"r", options.scrypt.r},
                 {"salt", HexEncode(salt)}};
  } else {
    derived = crypto::Pbkdf2HmacSha256(AsBytes(password), salt, options.pbkdf2_iterations, 32);
    kdfparams = {{"c", options.pbkdf2_iterations},
                 {"dklen", 32},
                 {"prf", "hmac-sha256"},
                 {"salt", HexEncode(salt)}};
  }
  if (!derived.ok()) return Annotate(derived.status(), "keystore key derivation");
  GNR_ASSIGN_OR_RETURN(Bytes ciphertext,
                       crypto::AesCtrApply(ByteView(*derived).first(16), iv, 0, key.bytes()));
  crypto::Hash256 mac = crypto::Keccak256({ByteView(*derived).subspan(16, 16), ciphertext});
  std::fill(derived->begin(), derived->end(), 0);

  std::string address = HexEncode(crypto::EthereumAddress(key.GetPublicKey()));
  Json root = {{"address", address},
               {"crypto",
                {{"cipher", "aes-128-ctr"},
                 {"ciphertext", HexEncode(ciphertext)},
                 {"cipherparams", {{"iv", HexEncode(iv)}}},
                 {"kdf", options.kdf == KeystoreOptions::Kdf::kScrypt ? "scrypt" : "pbkdf2"},
                 {"kdfparams", kdfparams},
                 {"mac", HexEncode(mac)}}},
               {"id", Uuid4(rng)},
               {"version", 3}};
  return root.dump();
}

absl::StatusOr<crypto::PrivateKey> DecryptKeystore(std::string_view json,
                                                   std::string_view password) {
  GNR_ASSIGN_OR_RETURN(Json root, ParseJson(json));
  GNR_ASSIGN_OR_RETURN(uint64_t version, UintField(root, "", "version"));
  if (version != 3) {
    return Bad(absl::StrCat("unsupported keystore version ", version, " (only 3)"));
  }
  GNR_ASSIGN_OR_RETURN(const Json* crypto_obj, CryptoObject(root));
  GNR_ASSIGN_OR_RETURN(std::string cipher, StringField(*crypto_obj, "crypto", "cipher"));
  if (cipher != "aes-128-ctr") {
    return Bad(absl::StrCat("unsupported cipher \"", cipher, "\" (only aes-128-ctr)"));
  }
  GNR_ASSIGN_OR_RETURN(const Json* cipherparams, Field(*crypto_obj, "crypto", "cipherparams"));
  GNR_ASSIGN_OR_RETURN(Bytes iv, HexField(*cipherparams, "crypto.cipherparams", "iv", 16));
  GNR_ASSIGN_OR_RETURN(Bytes ciphertext, HexField(*crypto_obj, "crypto", "ciphertext", 32));
  GNR_ASSIGN_OR_RETURN(Bytes mac, HexField(*crypto_obj, "crypto", "mac", 32));
  GNR_ASSIGN_OR_RETURN(std::optional<crypto::EthAddress> address, AddressField(root));

  GNR_ASSIGN_OR_RETURN(Bytes derived, DeriveKey(*crypto_obj, password));
  crypto::Hash256 expected = crypto::Keccak256({ByteView(derived).subspan(16, 16), ciphertext});
  if (!ConstantTimeEqual(expected, mac)) {
    std::fill(derived.begin(), derived.end(), 0);
    return absl::PermissionDeniedError("wrong password or corrupted keystore (MAC mismatch)");
  }
  absl::StatusOr<Bytes> secret =
      crypto::AesCtrApply(ByteView(derived).first(16), iv, 0, ciphertext);
  std::fill(derived.begin(), derived.end(), 0);
  if (!secret.ok()) return Annotate(secret.status(), "keystore decryption");
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::FromBytes(*secret);
  std::fill(secret->begin(), secret->end(), 0);
  if (!key.ok()) {
    return absl::DataLossError(
        absl::StrCat("keystore decrypts to an invalid private key: ", key.status().message()));
  }
  if (address) {
    crypto::EthAddress actual = crypto::EthereumAddress(key->GetPublicKey());
    if (actual != *address) {
      return absl::DataLossError(absl::StrCat(
          "keystore \"address\" ", crypto::EthAddressToChecksumHex(*address),
          " does not match its key's address ", crypto::EthAddressToChecksumHex(actual)));
    }
  }
  return key;
}

absl::StatusOr<KeystoreInfo> ReadKeystoreInfo(std::string_view json) {
  GNR_ASSIGN_OR_RETURN(Json root, ParseJson(json));
  KeystoreInfo info;
  GNR_ASSIGN_OR_RETURN(info.address, AddressField(root));
  auto id = root.find("id");
  if (id != root.end() && id->is_string()) info.id = id->get<std::string>();
  return info;
}

}  // namespace gnr::chain
