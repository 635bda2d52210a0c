#include "crypto/hash.h"

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

TEST(Sha256, NistVectors) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, PartsAndIncrementalMatchOneShot) {
  Hash256 whole = Sha256(AsBytes("hello world"));
  EXPECT_EQ(Sha256({AsBytes("hello"), AsBytes(" "), AsBytes("world")}), whole);
  Sha256Hasher h;
  h.Update(AsBytes("hello "));
  h.Update(AsBytes("world"));
  EXPECT_EQ(h.Finish(), whole);
  h.Update(AsBytes("hello world"));  // reusable after Finish
  EXPECT_EQ(h.Finish(), whole);
}

TEST(Keccak256, EthereumValuesNotSha3) {
  EXPECT_EQ(HexEncode(Keccak256(AsBytes(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(HexEncode(Keccak256(AsBytes("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  Keccak256Hasher h;
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Finish(), Keccak256(AsBytes("abc")));
}

TEST(Ripemd160, ReferenceVectors) {
  // From the RIPEMD-160 authors' page (Dobbertin, Bosselaers, Preneel).
  EXPECT_EQ(HexEncode(Ripemd160(AsBytes(""))), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
  EXPECT_EQ(HexEncode(Ripemd160(AsBytes("abc"))), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
  EXPECT_EQ(HexEncode(Ripemd160(AsBytes("message digest"))),
            "5d0689ef49d2fae572b881b123a85ffa21595f36");
  EXPECT_EQ(HexEncode(Ripemd160(AsBytes(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "12a053384a9c0c88e405a06c27dcf49ada62eb2b");
}

TEST(Blake2b, Rfc7693Vector) {
  // RFC 7693 Appendix A: BLAKE2b-512("abc").
  ASSERT_OK_AND_ASSIGN(Bytes d, Blake2b(AsBytes("abc"), 64));
  EXPECT_EQ(HexEncode(d),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
  ASSERT_OK_AND_ASSIGN(Bytes d32, Blake2b(AsBytes("abc"), 32));
  EXPECT_EQ(ToBytes(ByteView(Blake2b256(AsBytes("abc")))), d32);
}

TEST(Blake2b, RejectsBadSizes) {
  EXPECT_STATUS(Blake2b(AsBytes("x"), 0), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(Blake2b(AsBytes("x"), 65), absl::StatusCode::kInvalidArgument);
  Bytes long_key(65, 1);
  EXPECT_STATUS(Blake2b(AsBytes("x"), 32, long_key), absl::StatusCode::kInvalidArgument);
}

TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace gnr::crypto
