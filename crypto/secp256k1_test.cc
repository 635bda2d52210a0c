#include "crypto/secp256k1.h"

#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

constexpr std::string_view kOrderHex =
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

PrivateKey KeyFromHex(std::string_view hex) {
  absl::StatusOr<PrivateKey> key = PrivateKey::FromBytes(HexLiteral(hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

PrivateKey KeyOne() {
  return KeyFromHex("0000000000000000000000000000000000000000000000000000000000000001");
}

// n - v for a 32-byte big-endian v (0 < v < n).
FixedBytes<32> OrderMinus(const FixedBytes<32>& v) {
  Bytes n = HexLiteral(kOrderHex);
  FixedBytes<32> out;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = n[i] - v[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<uint8_t>(d + 256 * borrow);
  }
  return out;
}

TEST(PrivateKey, KnownEthereumAddressFromWeb3Docs) {
  PrivateKey key = KeyFromHex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  EXPECT_EQ(EthAddressToChecksumHex(EthereumAddress(key.GetPublicKey())),
            "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
}

TEST(PrivateKey, KeyOneIsTheGenerator) {
  PublicKey pub = KeyOne().GetPublicKey();
  EXPECT_EQ(HexEncode(pub.Compressed()),
            "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  EXPECT_EQ(HexEncode(pub.Uncompressed()),
            "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
  EXPECT_EQ(EthAddressToChecksumHex(EthereumAddress(pub)),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  // Bitcoin's hash160 of the compressed generator.
  EXPECT_EQ(HexEncode(NodeIdOf(pub)), "751e76e8199196d454941c45d1b3a323f1433bd6");
}

TEST(PrivateKey, FromBytesRejectsInvalidScalars) {
  EXPECT_STATUS(PrivateKey::FromBytes(Bytes(31, 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PrivateKey::FromBytes(Bytes(33, 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PrivateKey::FromBytes(Bytes(32, 0)), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PrivateKey::FromBytes(HexLiteral(kOrderHex)), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PrivateKey::FromBytes(Bytes(32, 0xff)), absl::StatusCode::kInvalidArgument);
  Bytes n_minus_1 = HexLiteral(kOrderHex);
  n_minus_1[31] -= 1;
  ASSERT_OK_AND_ASSIGN(PrivateKey max_key, PrivateKey::FromBytes(n_minus_1));
  EXPECT_EQ(ToBytes(max_key.bytes()), n_minus_1);
}

TEST(PrivateKey, GenerateIsReproducibleWithSeededRandom) {
  DeterministicRandom a(7), b(7), c(8);
  PrivateKey ka = PrivateKey::Generate(a);
  PrivateKey kb = PrivateKey::Generate(b);
  PrivateKey kc = PrivateKey::Generate(c);
  EXPECT_EQ(ka.bytes(), kb.bytes());
  EXPECT_NE(ka.bytes(), kc.bytes());
  EXPECT_NE(PrivateKey::Generate(OsRandom()).bytes(), PrivateKey::Generate(OsRandom()).bytes());
}

TEST(Sign, Rfc6979KnownVector) {
  // Widely used deterministic-ECDSA vector (python-ecdsa, trezor): key 1,
  // message SHA-256("Satoshi Nakamoto").
  RecoverableSignature sig = KeyOne().Sign(Sha256(AsBytes("Satoshi Nakamoto")));
  EXPECT_EQ(HexEncode(sig.r), "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8");
  EXPECT_EQ(HexEncode(sig.s), "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5");
}

TEST(Sign, DeterministicLowSAndRoundTrips) {
  DeterministicRandom rng(1);
  for (int i = 0; i < 50; ++i) {
    PrivateKey key = PrivateKey::Generate(rng);
    PublicKey pub = key.GetPublicKey();
    Hash256 digest = Keccak256(AsBytes("message " + std::to_string(i)));
    RecoverableSignature sig = key.Sign(digest);
    EXPECT_EQ(sig, key.Sign(digest));  // RFC 6979: no randomness
    EXPECT_LE(sig.recovery_id, 1);
    EXPECT_LT(sig.s[0], 0x80) << "high s";  // s <= n/2 < 2^255
    EXPECT_TRUE(VerifySignature(pub, digest, sig));

    ASSERT_OK_AND_ASSIGN(PublicKey recovered, RecoverPublicKey(digest, sig));
    EXPECT_EQ(recovered, pub);
    EXPECT_EQ(EthereumAddress(recovered), EthereumAddress(pub));

    ASSERT_OK_AND_ASSIGN(RecoverableSignature parsed,
                         RecoverableSignature::FromBytes(sig.ToBytes()));
    EXPECT_EQ(parsed, sig);

    // Another digest recovers another key and does not verify.
    Hash256 other = Keccak256(AsBytes("other " + std::to_string(i)));
    absl::StatusOr<PublicKey> wrong = RecoverPublicKey(other, sig);
    if (wrong.ok()) {
      EXPECT_FALSE(*wrong == pub);
    }
    EXPECT_FALSE(VerifySignature(pub, other, sig));
    // Another key does not verify.
    EXPECT_FALSE(VerifySignature(PrivateKey::Generate(rng).GetPublicKey(), digest, sig));
  }
}

TEST(Sign, HighSIsRejectedByVerifyButRecoverable) {
  PrivateKey key = KeyOne();
  Hash256 digest = Sha256(AsBytes("malleable"));
  RecoverableSignature sig = key.Sign(digest);
  RecoverableSignature high = sig;
  high.s = OrderMinus(sig.s);
  high.recovery_id = sig.recovery_id ^ 1;
  EXPECT_FALSE(VerifySignature(key.GetPublicKey(), digest, high));
  ASSERT_OK_AND_ASSIGN(PublicKey recovered, RecoverPublicKey(digest, high));
  EXPECT_EQ(recovered, key.GetPublicKey());
}

TEST(RecoverableSignature, EthereumLegacyV) {
  RecoverableSignature sig = KeyOne().Sign(Sha256(AsBytes("v")));
  FixedBytes<65> bytes = sig.ToBytes();
  EXPECT_EQ(bytes[64], sig.recovery_id);
  bytes[64] = static_cast<uint8_t>(27 + sig.recovery_id);
  ASSERT_OK_AND_ASSIGN(RecoverableSignature parsed, RecoverableSignature::FromBytes(bytes));
  EXPECT_EQ(parsed, sig);
}

TEST(RecoverableSignature, MalformedIsInvalidArgument) {
  RecoverableSignature good = KeyOne().Sign(Sha256(AsBytes("x")));
  FixedBytes<65> bytes = good.ToBytes();
  EXPECT_STATUS(RecoverableSignature::FromBytes(ByteView(bytes).first(64)),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(RecoverableSignature::FromBytes(Bytes(66, 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(RecoverableSignature::FromBytes({}), absl::StatusCode::kInvalidArgument);
  for (uint8_t v : {2, 5, 26, 29, 35, 255}) {
    FixedBytes<65> b = bytes;
    b[64] = v;
    EXPECT_STATUS(RecoverableSignature::FromBytes(b), absl::StatusCode::kInvalidArgument);
  }
  FixedBytes<65> zero_r = bytes;
  std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
  EXPECT_STATUS(RecoverableSignature::FromBytes(zero_r), absl::StatusCode::kInvalidArgument);
  FixedBytes<65> zero_s = bytes;
  std::fill(zero_s.begin() + 32, zero_s.begin() + 64, 0);
  EXPECT_STATUS(RecoverableSignature::FromBytes(zero_s), absl::StatusCode::kInvalidArgument);
  FixedBytes<65> s_is_n = bytes;
  Bytes n = HexLiteral(kOrderHex);
  std::copy(n.begin(), n.end(), s_is_n.begin() + 32);
  EXPECT_STATUS(RecoverableSignature::FromBytes(s_is_n), absl::StatusCode::kInvalidArgument);
  FixedBytes<65> s_max = bytes;
  std::fill(s_max.begin() + 32, s_max.begin() + 64, 0xff);
  EXPECT_STATUS(RecoverableSignature::FromBytes(s_max), absl::StatusCode::kInvalidArgument);

  // Hand-built values are checked at use.
  Hash256 digest = Sha256(AsBytes("x"));
  RecoverableSignature bad = good;
  bad.recovery_id = 5;
  EXPECT_STATUS(RecoverPublicKey(digest, bad), absl::StatusCode::kInvalidArgument);
  bad = good;
  bad.r = {};
  EXPECT_STATUS(RecoverPublicKey(digest, bad), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(VerifySignature(KeyOne().GetPublicKey(), digest, bad));
  bad = good;
  std::copy(n.begin(), n.end(), bad.s.begin());
  EXPECT_STATUS(RecoverPublicKey(digest, bad), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(VerifySignature(KeyOne().GetPublicKey(), digest, bad));
}

TEST(PublicKey, ParseRoundTripsBothEncodings) {
  DeterministicRandom rng(3);
  bool seen_even = false, seen_odd = false;
  for (int i = 0; i < 20; ++i) {
    PublicKey pub = PrivateKey::Generate(rng).GetPublicKey();
    FixedBytes<33> c = pub.Compressed();
    (c[0] == 0x02 ? seen_even : seen_odd) = true;
    ASSERT_OK_AND_ASSIGN(PublicKey from_c, PublicKey::Parse(c));
    ASSERT_OK_AND_ASSIGN(PublicKey from_u, PublicKey::Parse(pub.Uncompressed()));
    EXPECT_EQ(from_c, pub);
    EXPECT_EQ(from_u, pub);
    EXPECT_EQ(NodeIdOf(from_u), NodeIdOf(pub));
  }
  EXPECT_TRUE(seen_even && seen_odd);
}

TEST(PublicKey, MalformedIsInvalidArgument) {
  PublicKey g = KeyOne().GetPublicKey();
  EXPECT_STATUS(PublicKey::Parse({}), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PublicKey::Parse(ByteView(g.Compressed()).first(32)),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(PublicKey::Parse(Bytes(64, 4)), absl::StatusCode::kInvalidArgument);
  // Raw 64-byte X || Y without prefix.
  EXPECT_STATUS(PublicKey::Parse(ByteView(g.Uncompressed()).subspan(1)),
                absl::StatusCode::kInvalidArgument);
  FixedBytes<33> c = g.Compressed();
  c[0] = 0x05;
  EXPECT_STATUS(PublicKey::Parse(c), absl::StatusCode::kInvalidArgument);
  FixedBytes<65> u = g.Uncompressed();
  u[0] = 0x06;  // "hybrid" encoding
  EXPECT_STATUS(PublicKey::Parse(u), absl::StatusCode::kInvalidArgument);
  u = g.Uncompressed();
  u[64] ^= 1;  // off the curve
  EXPECT_STATUS(PublicKey::Parse(u), absl::StatusCode::kInvalidArgument);
  // X = p (not a field element).
  EXPECT_STATUS(PublicKey::Parse(HexLiteral(
                    "02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f")),
                absl::StatusCode::kInvalidArgument);
}

TEST(EthAddress, Eip55Examples) {
  for (std::string_view text :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    ASSERT_OK_AND_ASSIGN(EthAddress a, ParseEthAddress(text));
    EXPECT_EQ(EthAddressToChecksumHex(a), text);
  }
}

TEST(EthAddress, ParseAcceptsSingleCaseAndNoPrefix) {
  ASSERT_OK_AND_ASSIGN(EthAddress a, ParseEthAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
  ASSERT_OK_AND_ASSIGN(EthAddress b, ParseEthAddress("0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"));
  ASSERT_OK_AND_ASSIGN(EthAddress c, ParseEthAddress("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

TEST(EthAddress, ParseRejectsBadChecksumAndShape) {
  // One letter with the wrong case.
  EXPECT_STATUS(ParseEthAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseEthAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseEthAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00"),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseEthAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg"),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseEthAddress(""), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseEthAddress("0x"), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::crypto
