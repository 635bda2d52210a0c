#include "crypto/kdf.h"

#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

bool MessageContains(const absl::Status& s, const std::string& needle) {
  return std::string(s.message()).find(needle) != std::string::npos;
}

// RFC 5869, Appendix A, test cases 1-3 (SHA-256).
TEST(HkdfSha256, Rfc5869TestCase1) {
  ASSERT_OK_AND_ASSIGN(
      Bytes okm,
      HkdfSha256(HexLiteral("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                 HexLiteral("000102030405060708090a0b0c"), HexLiteral("f0f1f2f3f4f5f6f7f8f9"), 42));
  EXPECT_EQ(HexEncode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(HkdfSha256, Rfc5869TestCase2) {
  Bytes ikm, salt, info;
  for (int i = 0x00; i <= 0x4f; ++i) ikm.push_back(static_cast<uint8_t>(i));
  for (int i = 0x60; i <= 0xaf; ++i) salt.push_back(static_cast<uint8_t>(i));
  for (int i = 0xb0; i <= 0xff; ++i) info.push_back(static_cast<uint8_t>(i));
  ASSERT_OK_AND_ASSIGN(Bytes okm, HkdfSha256(ikm, salt, info, 82));
  EXPECT_EQ(HexEncode(okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(HkdfSha256, Rfc5869TestCase3EmptySaltAndInfo) {
  const Bytes ikm = HexLiteral("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const std::string expected =
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
      "9d201395faa4b61a96c8";
  ASSERT_OK_AND_ASSIGN(Bytes okm, HkdfSha256(ikm, {}, {}, 42));
  EXPECT_EQ(HexEncode(okm), expected);
  // RFC 5869 section 2.2: a missing salt is HashLen zero bytes.
  ASSERT_OK_AND_ASSIGN(Bytes okm_zero_salt, HkdfSha256(ikm, Bytes(32, 0), {}, 42));
  EXPECT_EQ(HexEncode(okm_zero_salt), expected);
}

TEST(HkdfSha256, FixedMatchesDynamicAndPrefixesAgree) {
  const Bytes ikm = ToBytes("wallet key");
  ASSERT_OK_AND_ASSIGN(auto fixed, HkdfSha256Fixed<32>(ikm, {}, AsBytes("gnr root")));
  ASSERT_OK_AND_ASSIGN(Bytes dynamic, HkdfSha256(ikm, {}, AsBytes("gnr root"), 32));
  EXPECT_EQ(Bytes(fixed.begin(), fixed.end()), dynamic);
  ASSERT_OK_AND_ASSIGN(Bytes longest, HkdfSha256(ikm, {}, AsBytes("gnr root"), 8160));
  EXPECT_EQ(Bytes(longest.begin(), longest.begin() + 32), dynamic);
  ASSERT_OK_AND_ASSIGN(Bytes other_info, HkdfSha256(ikm, {}, AsBytes("gnr root2"), 32));
  EXPECT_NE(other_info, dynamic);
}

TEST(HkdfSha256, RejectsBadLength) {
  for (size_t n : {size_t{0}, size_t{8161}, size_t{1} << 40}) {
    absl::StatusOr<Bytes> r = HkdfSha256(Bytes(32, 1), {}, {}, n);
    EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(MessageContains(
        r.status(), "HKDF-SHA256 length must be 1..8160 bytes, got " + std::to_string(n)))
        << r.status();
  }
  EXPECT_OK(HkdfSha256(Bytes(32, 1), {}, {}, 1));
}

// RFC 7914 section 12 (scrypt test vectors). The fourth vector (N=1048576, r=8, p=16) needs
// 1 GiB and several seconds, so the N=16384 one stands in for large N.
TEST(Scrypt, Rfc7914EmptyPasswordAndSalt) {
  ASSERT_OK_AND_ASSIGN(Bytes dk, Scrypt({}, {}, {.n = 16, .r = 1, .p = 1}, 64));
  EXPECT_EQ(HexEncode(dk),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
}

TEST(Scrypt, Rfc7914PasswordNaCl) {
  ASSERT_OK_AND_ASSIGN(
      Bytes dk, Scrypt(AsBytes("password"), AsBytes("NaCl"), {.n = 1024, .r = 8, .p = 16}, 64));
  EXPECT_EQ(HexEncode(dk),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(Scrypt, Rfc7914PleaseLetMeIn) {
  ASSERT_OK_AND_ASSIGN(Bytes dk, Scrypt(AsBytes("pleaseletmein"), AsBytes("SodiumChloride"),
                                        {.n = 16384, .r = 8, .p = 1}, 64));
  EXPECT_EQ(HexEncode(dk),
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
            "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
}

TEST(Scrypt, RejectsBadParameters) {
  struct Case {
    ScryptParams params;
    size_t length;
    const char* message;
  };
  const Case cases[] = {
      {{.n = 0, .r = 8, .p = 1}, 32, "scrypt n must be a power of two greater than 1, got 0"},
      {{.n = 1, .r = 8, .p = 1}, 32, "scrypt n must be a power of two greater than 1, got 1"},
      {{.n = 1000, .r = 8, .p = 1}, 32, "scrypt n must be a power of two"},
      {{.n = 3, .r = 8, .p = 1}, 32, "scrypt n must be a power of two"},
      {{.n = 1024, .r = 0, .p = 1}, 32, "scrypt r must be at least 1"},
      {{.n = 1024, .r = 8, .p = 0}, 32, "scrypt p must be at least 1"},
      // 128 * 8 * 2^22 = 4 GiB.
      {{.n = uint64_t{1} << 22, .r = 8, .p = 1}, 32, "exceeds the 2 GiB limit"},
      {{.n = uint64_t{1} << 63, .r = 8, .p = 1}, 32, "exceeds the 2 GiB limit"},
      {{.n = 2, .r = 0xffffffff, .p = 1}, 32, "exceeds the 2 GiB limit"},
      {{.n = 16, .r = 1 << 15, .p = 1 << 15}, 32, "128 * r * p exceeds the 2 GiB limit"},
      {{.n = 16, .r = 1, .p = 1 << 25}, 32, "128 * r * p exceeds the 2 GiB limit"},
      {{.n = 16, .r = 1, .p = 1}, 0, "scrypt length must be at least 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    absl::StatusOr<Bytes> r = Scrypt(AsBytes("pw"), AsBytes("salt"), c.params, c.length);
    EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(MessageContains(r.status(), c.message)) << r.status();
  }
}

TEST(Scrypt, SmallestLegalParametersWork) {
  EXPECT_OK(Scrypt(AsBytes("pw"), AsBytes("salt"), {.n = 2, .r = 1, .p = 1}, 1));
}

// RFC 7914 section 11 (PBKDF2-HMAC-SHA256 test vectors).
TEST(Pbkdf2HmacSha256, Rfc7914OneIteration) {
  ASSERT_OK_AND_ASSIGN(Bytes dk, Pbkdf2HmacSha256(AsBytes("passwd"), AsBytes("salt"), 1, 64));
  EXPECT_EQ(HexEncode(dk),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
}

TEST(Pbkdf2HmacSha256, Rfc7914EightyThousandIterations) {
  ASSERT_OK_AND_ASSIGN(Bytes dk, Pbkdf2HmacSha256(AsBytes("Password"), AsBytes("NaCl"), 80000, 64));
  EXPECT_EQ(HexEncode(dk),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
            "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
}

TEST(Pbkdf2HmacSha256, RejectsBadParameters) {
  absl::StatusOr<Bytes> r = Pbkdf2HmacSha256(AsBytes("pw"), AsBytes("salt"), 0, 32);
  EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageContains(r.status(), "iterations must be at least 1")) << r.status();
  r = Pbkdf2HmacSha256(AsBytes("pw"), AsBytes("salt"), 1, 0);
  EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageContains(r.status(), "length must be at least 1")) << r.status();
  EXPECT_OK(Pbkdf2HmacSha256({}, {}, 1, 1));
}

}  // namespace
}  // namespace gnr::crypto
