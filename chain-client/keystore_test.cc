#include "chain-client/keystore.h"

#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

// Test vectors: "Web3 Secret Storage Definition", section "Test Vectors" (ethereum.org/
// developers/docs/data-structures-and-encoding/web3-secret-storage). Both decrypt with the
// password "testpassword" to the same private key.
constexpr char kPassword[] = "testpassword";
constexpr char kPrivateKey[] = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

constexpr char kPbkdf2Vector[] = R"({
  "crypto" : {
    "cipher" : "aes-128-ctr",
    "cipherparams" : { "iv" : "6087dab2f9fdbbfaddc31a909735c1e6" },
    "ciphertext" : "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
    "kdf" : "pbkdf2",
    "kdfparams" : {
      "c" : 262144,
      "dklen" : 32,
      "prf" : "hmac-sha256",
      "salt" : "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
    },
    "mac" : "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
  },
  "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  "version" : 3
})";

constexpr char kScryptVector[] = R"({
  "crypto" : {
    "cipher" : "aes-128-ctr",
    "cipherparams" : { "iv" : "83dbcc02d8ccb40e466191a123791e0e" },
    "ciphertext" : "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
    "kdf" : "scrypt",
    "kdfparams" : {
      "dklen" : 32,
      "n" : 262144,
      "p" : 8,
      "r" : 1,
      "salt" : "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"
    },
    "mac" : "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
  },
  "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  "version" : 3
})";

KeystoreOptions FastScrypt() {
  KeystoreOptions o;
  o.scrypt = {.n = 1024, .r = 8, .p = 1};
  return o;
}

TEST(Keystore, DecryptsSpecPbkdf2Vector) {
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key, DecryptKeystore(kPbkdf2Vector, kPassword));
  EXPECT_EQ(HexEncode(key.bytes()), kPrivateKey);
}

TEST(Keystore, DecryptsSpecScryptVector) {
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key, DecryptKeystore(kScryptVector, kPassword));
  EXPECT_EQ(HexEncode(key.bytes()), kPrivateKey);
}

TEST(Keystore, WrongPasswordIsAClearError) {
  absl::StatusOr<crypto::PrivateKey> key = DecryptKeystore(kPbkdf2Vector, "testpassworD");
  EXPECT_STATUS(key, absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(key.status().message(), "wrong password or corrupted keystore (MAC mismatch)");
}

TEST(Keystore, WritesWhatItReadsBackWithScryptAndPbkdf2) {
  crypto::DeterministicRandom rng(7);
  crypto::PrivateKey key = *crypto::PrivateKey::FromBytes(HexLiteral(kPrivateKey));
  ASSERT_OK_AND_ASSIGN(std::string json, EncryptKeystore(key, "pw", rng, FastScrypt()));
  nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["version"], 3);
  EXPECT_EQ(parsed["crypto"]["cipher"], "aes-128-ctr");
  EXPECT_EQ(parsed["crypto"]["kdf"], "scrypt");
  EXPECT_EQ(parsed["crypto"]["kdfparams"]["n"], 1024);
  EXPECT_EQ(parsed["crypto"]["kdfparams"]["salt"].get<std::string>().size(), 64u);
  std::string id = parsed["id"];
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');  // UUID version 4
  EXPECT_EQ(parsed["address"], HexEncode(crypto::EthereumAddress(key.GetPublicKey())));
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey back, DecryptKeystore(json, "pw"));
  EXPECT_EQ(back.bytes(), key.bytes());
  EXPECT_STATUS(DecryptKeystore(json, "pw2"), absl::StatusCode::kPermissionDenied);

  // A second keystore of the same key uses a fresh salt and IV.
  ASSERT_OK_AND_ASSIGN(std::string json2, EncryptKeystore(key, "pw", rng, FastScrypt()));
  EXPECT_NE(nlohmann::json::parse(json2)["crypto"]["ciphertext"], parsed["crypto"]["ciphertext"]);

  KeystoreOptions pbkdf2;
  pbkdf2.kdf = KeystoreOptions::Kdf::kPbkdf2;
  pbkdf2.pbkdf2_iterations = 1000;
  ASSERT_OK_AND_ASSIGN(std::string json3, EncryptKeystore(key, "pw", rng, pbkdf2));
  EXPECT_EQ(nlohmann::json::parse(json3)["crypto"]["kdfparams"]["c"], 1000);
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey back3, DecryptKeystore(json3, "pw"));
  EXPECT_EQ(back3.bytes(), key.bytes());

  ASSERT_OK_AND_ASSIGN(KeystoreInfo info, ReadKeystoreInfo(json));
  EXPECT_EQ(info.address, crypto::EthereumAddress(key.GetPublicKey()));
  EXPECT_EQ(info.id, id);
}

TEST(Keystore, RejectsBadScryptOptionsOnWrite) {
  crypto::DeterministicRandom rng(1);
  crypto::PrivateKey key = *crypto::PrivateKey::FromBytes(HexLiteral(kPrivateKey));
  KeystoreOptions bad;
  bad.scrypt = {.n = 1000, .r = 8, .p = 1};
  EXPECT_STATUS(EncryptKeystore(key, "pw", rng, bad), absl::StatusCode::kInvalidArgument);
}

std::string Mutate(const char* json, const std::function<void(nlohmann::json&)>& f) {
  nlohmann::json j = nlohmann::json::parse(json);
  f(j);
  return j.dump();
}

void ExpectInvalid(const std::string& json, std::string_view fragment) {
  absl::StatusOr<crypto::PrivateKey> key = DecryptKeystore(json, kPassword);
  EXPECT_STATUS(key, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(key.status().message()).find(fragment), std::string::npos) << key.status();
}

TEST(Keystore, MalformedFilesNameTheField) {
  ExpectInvalid("{", "not valid JSON");
  ExpectInvalid("[]", "JSON object");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j.erase("version"); }), "\"version\"");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["version"] = 1; }), "version 1");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j.erase("crypto"); }), "\"crypto\"");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["cipher"] = "aes-128-cbc"; }),
                "aes-128-cbc");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["cipherparams"].erase("iv"); }),
                "crypto.cipherparams.iv");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["cipherparams"]["iv"] = "00"; }),
                "must be 16 bytes");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["ciphertext"] = "zz"; }),
                "crypto.ciphertext");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["mac"] = 5; }),
                "crypto.mac\" must be a string");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["kdf"] = "argon2"; }), "argon2");
  ExpectInvalid(
      Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["kdfparams"]["prf"] = "hmac-sha512"; }),
      "hmac-sha512");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["kdfparams"]["c"] = -1; }),
                "crypto.kdfparams.c");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["kdfparams"]["c"] = 1u << 30; }),
                "iteration count");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["crypto"]["kdfparams"]["dklen"] = 16; }),
                "dklen");
  // Hostile scrypt parameters are refused before any work is done.
  ExpectInvalid(
      Mutate(kScryptVector, [](auto& j) { j["crypto"]["kdfparams"]["n"] = uint64_t{1} << 40; }),
      "outside the accepted bounds");
  ExpectInvalid(Mutate(kScryptVector, [](auto& j) { j["crypto"]["kdfparams"]["p"] = 100000; }),
                "outside the accepted bounds");
  ExpectInvalid(Mutate(kScryptVector, [](auto& j) { j["crypto"]["kdfparams"]["n"] = 1000; }),
                "power of two");
  ExpectInvalid(Mutate(kPbkdf2Vector, [](auto& j) { j["address"] = "0x1234"; }), "address");
}

TEST(Keystore, AcceptsCapitalizedCryptoAndChecksAddress) {
  std::string capital = Mutate(kPbkdf2Vector, [](auto& j) {
    j["Crypto"] = j["crypto"];
    j.erase("crypto");
  });
  EXPECT_OK(DecryptKeystore(capital, kPassword));
  crypto::PrivateKey key = *crypto::PrivateKey::FromBytes(HexLiteral(kPrivateKey));
  std::string right = Mutate(kPbkdf2Vector, [&](auto& j) {
    j["address"] = HexEncode(crypto::EthereumAddress(key.GetPublicKey()));
  });
  EXPECT_OK(DecryptKeystore(right, kPassword));
  std::string wrong = Mutate(kPbkdf2Vector, [](auto& j) { j["address"] = std::string(40, 'a'); });
  EXPECT_STATUS(DecryptKeystore(wrong, kPassword), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gnr::chain
