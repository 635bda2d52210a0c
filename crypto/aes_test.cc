#include "crypto/aes.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/hex.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

// NIST SP 800-38A, Appendix F.5 (CTR): the same four plaintext blocks and initial counter
// block are used for every key size.
constexpr char kNistCounter[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
constexpr char kNistPlaintext[] =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";

struct CtrVector {
  const char* name;
  const char* key;
  const char* ciphertext;
};

const CtrVector kNistCtrVectors[] = {
    // F.5.1 CTR-AES128.Encrypt / F.5.2 CTR-AES128.Decrypt.
    {"AES128", "2b7e151628aed2a6abf7158809cf4f3c",
     "874d6191b620e3261bef6864990db6ce"
     "9806f66b7970fdff8617187bb9fffdff"
     "5ae4df3edbd5d35e5b4f09020db03eab"
     "1e031dda2fbe03d1792170a0f3009cee"},
    // F.5.3 CTR-AES192.Encrypt / F.5.4 CTR-AES192.Decrypt.
    {"AES192", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
     "1abc932417521ca24f2b0459fe7e6e0b"
     "090339ec0aa6faefd5ccc2c6f4ce8e94"
     "1e36b26bd1ebc670d1bd1d665620abf7"
     "4f78a7f6d29809585a97daec58c6b050"},
    // F.5.5 CTR-AES256.Encrypt / F.5.6 CTR-AES256.Decrypt.
    {"AES256", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
     "601ec313775789a5b7a7f504bbf3d228"
     "f443e3ca4d62b59aca84e990cacaf5c5"
     "2b0930daa23de94ce87017ba2d84988d"
     "dfc9c58db67aada613c2dd08457941a6"},
};

TEST(AesCtr, NistSp80038aEncrypt) {
  for (const CtrVector& v : kNistCtrVectors) {
    SCOPED_TRACE(v.name);
    ASSERT_OK_AND_ASSIGN(Bytes out, AesCtrApply(HexLiteral(v.key), HexLiteral(kNistCounter), 0,
                                                HexLiteral(kNistPlaintext)));
    EXPECT_EQ(HexEncode(out), v.ciphertext);
  }
}

TEST(AesCtr, NistSp80038aDecrypt) {
  for (const CtrVector& v : kNistCtrVectors) {
    SCOPED_TRACE(v.name);
    ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(HexLiteral(v.key), HexLiteral(kNistCounter)));
    Bytes data = HexLiteral(v.ciphertext);
    ctr.Apply(0, data);
    EXPECT_EQ(HexEncode(data), kNistPlaintext);
  }
}

TEST(AesCtr, NistVectorsBlockByBlockAndByteByByte) {
  const CtrVector& v = kNistCtrVectors[2];
  ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(HexLiteral(v.key), HexLiteral(kNistCounter)));
  const Bytes plain = HexLiteral(kNistPlaintext);
  const Bytes cipher = HexLiteral(v.ciphertext);
  for (size_t step : {1, 3, 16, 17}) {
    SCOPED_TRACE(step);
    Bytes out(plain.size());
    for (size_t off = 0; off < plain.size(); off += step) {
      const size_t n = std::min(step, plain.size() - off);
      ctr.Apply(off, ByteView(plain).subspan(off, n), MutableByteView(out).subspan(off, n));
    }
    EXPECT_EQ(out, cipher);
  }
}

TEST(AesCtr, KeySizeIsReported) {
  ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(Bytes(24, 1), Bytes(16, 0)));
  EXPECT_EQ(ctr.key_size(), 24u);
}

// Applying the cipher to any sub-range alone gives the same bytes as that range of one
// whole-stream call, including unaligned offsets and counters about to carry or wrap.
TEST(AesCtr, RandomAccessMatchesWholeStream) {
  DeterministicRandom rng(7);
  for (int trial = 0; trial < 8; ++trial) {
    const Bytes key = rng.Generate(trial % 2 ? 16 : 32);
    Bytes iv = rng.Generate(16);
    if (trial >= 4) {
      // Counters near the 64-bit and 128-bit wrap points.
      for (size_t i = 8; i < 16; ++i) iv[i] = 0xff;
      if (trial >= 6) {
        for (size_t i = 0; i < 16; ++i) iv[i] = 0xff;
      }
      iv[15] = static_cast<uint8_t>(0xf0 + trial);
    }
    ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(key, iv));
    const Bytes plain = rng.Generate(20000);
    Bytes whole(plain.size());
    ctr.Apply(0, plain, whole);
    for (int i = 0; i < 200; ++i) {
      const size_t off = rng.NextU64() % plain.size();
      const size_t max_len = plain.size() - off;
      const size_t len = (i % 3 == 0) ? rng.NextU64() % std::min<size_t>(max_len + 1, 40)
                                      : rng.NextU64() % (max_len + 1);
      Bytes part(plain.begin() + off, plain.begin() + off + len);
      ctr.Apply(off, part);
      ASSERT_EQ(part, Bytes(whole.begin() + off, whole.begin() + off + len))
          << "trial " << trial << " off " << off << " len " << len;
    }
  }
}

TEST(AesCtr, ApplyTwiceRestoresAndOutOfPlaceEqualsInPlace) {
  ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(Bytes(32, 9), Bytes(16, 3)));
  DeterministicRandom rng(1);
  const Bytes plain = rng.Generate(100000);
  Bytes out(plain.size());
  ctr.Apply(12345, plain, out);
  EXPECT_NE(out, plain);
  Bytes in_place = plain;
  ctr.Apply(12345, in_place);
  EXPECT_EQ(in_place, out);
  ctr.Apply(12345, out);
  EXPECT_EQ(out, plain);
}

// The counter is one 128-bit big-endian integer: the block at stream offset 16 * k uses
// counter iv + k, with carries across every byte and wrap-around at 2^128. Checked against
// a single-block encryption at offset 0 with the expected counter as iv.
TEST(AesCtr, CounterCarriesAcrossAllBytes) {
  const Bytes key = HexLiteral("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  struct Case {
    const char* iv;
    uint64_t block;
    const char* expected_counter;
  };
  const Case cases[] = {
      {"000000000000000000000000000000ff", 1, "00000000000000000000000000000100"},
      {"0000000000000000ffffffffffffffff", 1, "00000000000000010000000000000000"},
      {"0000000000000000fffffffffffffff0", 0x20, "00000000000000010000000000000010"},
      {"00000000000000fffffffffffffffffe", 3, "00000000000001000000000000000001"},
      {"ffffffffffffffffffffffffffffffff", 1, "00000000000000000000000000000000"},
      {"fffffffffffffffffffffffffffffffe", 5, "00000000000000000000000000000003"},
      // The largest block reachable with a 64-bit byte offset is 2^60 - 1.
      {"00000000000000000000000000000000", 0x0fffffffffffffffull,
       "00000000000000000fffffffffffffff"},
      {"0000000000000000f000000000000001", 0x0fffffffffffffffull,
       "00000000000000010000000000000000"},
      {"ffffffffffffffffffffffffffffffff", 0x0fffffffffffffffull,
       "00000000000000000ffffffffffffffe"},
  };
  const Bytes zero_block(16, 0);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.iv);
    ASSERT_OK_AND_ASSIGN(Bytes expected,
                         AesCtrApply(key, HexLiteral(c.expected_counter), 0, zero_block));
    ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(key, HexLiteral(c.iv)));
    // Directly at the block, and one unaligned byte range ending in it.
    Bytes block(16, 0);
    ctr.Apply(c.block * 16, block);
    EXPECT_EQ(HexEncode(block), HexEncode(expected));
    Bytes tail(9, 0);
    ctr.Apply(c.block * 16 + 7, tail);
    EXPECT_EQ(HexEncode(tail), HexEncode(ByteView(expected).subspan(7)));
    // Reached by streaming through the boundary in one bulk call (small block indexes).
    if (c.block <= 64) {
      Bytes stream((c.block + 1) * 16, 0);
      ctr.Apply(0, stream);
      EXPECT_EQ(HexEncode(ByteView(stream).subspan(c.block * 16)), HexEncode(expected));
    }
  }
}

// A bulk call that crosses several wraps of the low counter byte and a 64-bit carry agrees
// with block-at-a-time calls.
TEST(AesCtr, BulkCallAcrossCounterWrapsMatchesSingleBlocks) {
  ASSERT_OK_AND_ASSIGN(
      AesCtr ctr, AesCtr::Create(Bytes(16, 0x42), HexLiteral("0102030405060708fffffffffffffe10")));
  Bytes bulk(16 * 1000 + 5, 0);
  ctr.Apply(7, bulk);
  Bytes pieces(bulk.size(), 0);
  for (size_t off = 0; off < pieces.size(); off += 16) {
    const size_t n = std::min<size_t>(16, pieces.size() - off);
    ctr.Apply(7 + off, MutableByteView(pieces).subspan(off, n));
  }
  EXPECT_EQ(bulk, pieces);
}

TEST(AesCtr, HugeOffsetsWork) {
  ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(Bytes(32, 1), Bytes(16, 0xff)));
  Bytes whole(64, 0);
  ctr.Apply(UINT64_MAX - 63, whole);
  Bytes tail(10, 0);
  ctr.Apply(UINT64_MAX - 9, tail);
  EXPECT_EQ(tail, Bytes(whole.end() - 10, whole.end()));
}

TEST(AesCtr, EmptyInputIsNoOp) {
  ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(Bytes(16, 1), Bytes(16, 0)));
  Bytes empty;
  ctr.Apply(5, empty);
  ASSERT_OK_AND_ASSIGN(Bytes out, AesCtrApply(Bytes(16, 1), Bytes(16, 0), 3, {}));
  EXPECT_TRUE(out.empty());
}

TEST(AesCtr, CopiesAndConcurrentUseAgree) {
  ASSERT_OK_AND_ASSIGN(AesCtr ctr, AesCtr::Create(Bytes(32, 5), Bytes(16, 6)));
  const Bytes plain(1 << 16, 0xab);
  Bytes expected(plain.size());
  ctr.Apply(100, plain, expected);
  std::vector<Bytes> results(4, Bytes(plain.size()));
  std::vector<std::thread> threads;
  for (auto& r : results) {
    threads.emplace_back([&ctr, &plain, &r] {
      for (int i = 0; i < 20; ++i) ctr.Apply(100, plain, r);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
  AesCtr copy = ctr;
  Bytes from_copy(plain.size());
  copy.Apply(100, plain, from_copy);
  EXPECT_EQ(from_copy, expected);
}

TEST(AesCtr, RejectsBadSizes) {
  for (size_t n : {0, 1, 7, 15, 17, 20, 31, 33, 64}) {
    absl::StatusOr<AesCtr> ctr = AesCtr::Create(Bytes(n, 0), Bytes(16, 0));
    EXPECT_STATUS(ctr, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(ctr.status().message())
                  .find("AES key must be 16, 24 or 32 bytes, got " + std::to_string(n)),
              std::string::npos)
        << ctr.status();
  }
  for (size_t n : {0, 8, 12, 15, 17, 32}) {
    absl::StatusOr<AesCtr> ctr = AesCtr::Create(Bytes(16, 0), Bytes(n, 0));
    EXPECT_STATUS(ctr, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(ctr.status().message()).find("iv must be 16 bytes"), std::string::npos)
        << ctr.status();
  }
  EXPECT_STATUS(AesCtrApply(Bytes(10, 0), Bytes(16, 0), 0, Bytes(5, 0)),
                absl::StatusCode::kInvalidArgument);
}

// GCM test vectors from McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)",
// revised 2005, Appendix B (test cases 2-4 for AES-128, 13-16 for AES-256).
struct GcmVector {
  int test_case;
  const char* key;
  const char* nonce;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

constexpr char kGcmPlain64[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr char kGcmPlain60[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr char kGcmAad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

const GcmVector kGcmVectors[] = {
    {2, "00000000000000000000000000000000", "000000000000000000000000",
     "00000000000000000000000000000000", "", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {3, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", kGcmPlain64, "",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {4, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", kGcmPlain60, kGcmAad,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {13, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {14, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {15, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", kGcmPlain64, "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {16, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", kGcmPlain60, kGcmAad,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AesGcm, McGrewViegaVectorsSeal) {
  for (const GcmVector& v : kGcmVectors) {
    SCOPED_TRACE(v.test_case);
    ASSERT_OK_AND_ASSIGN(Bytes sealed, AesGcmSeal(HexLiteral(v.key), HexLiteral(v.nonce),
                                                  HexLiteral(v.plaintext), HexLiteral(v.aad)));
    EXPECT_EQ(HexEncode(sealed), std::string(v.ciphertext) + v.tag);
  }
}

TEST(AesGcm, McGrewViegaVectorsOpen) {
  for (const GcmVector& v : kGcmVectors) {
    SCOPED_TRACE(v.test_case);
    const Bytes sealed = HexLiteral(std::string(v.ciphertext) + v.tag);
    ASSERT_OK_AND_ASSIGN(
        Bytes plain, AesGcmOpen(HexLiteral(v.key), HexLiteral(v.nonce), sealed, HexLiteral(v.aad)));
    EXPECT_EQ(HexEncode(plain), v.plaintext);
  }
}

void ExpectAuthFailure(const absl::StatusOr<Bytes>& r) {
  EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find("AES-GCM authentication failed"),
            std::string::npos)
      << r.status();
}

TEST(AesGcm, TamperingAnyByteFails) {
  const GcmVector& v = kGcmVectors[6];  // test case 16: has aad and a partial block
  const Bytes key = HexLiteral(v.key);
  const Bytes nonce = HexLiteral(v.nonce);
  const Bytes aad = HexLiteral(v.aad);
  const Bytes sealed = HexLiteral(std::string(v.ciphertext) + v.tag);
  ASSERT_OK(AesGcmOpen(key, nonce, sealed, aad));
  for (size_t i = 0; i < sealed.size(); ++i) {
    SCOPED_TRACE(i);
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    ExpectAuthFailure(AesGcmOpen(key, nonce, bad, aad));
  }
  for (size_t i = 0; i < aad.size(); ++i) {
    Bytes bad = aad;
    bad[i] ^= 0x80;
    ExpectAuthFailure(AesGcmOpen(key, nonce, sealed, bad));
  }
  for (size_t i = 0; i < nonce.size(); ++i) {
    Bytes bad = nonce;
    bad[i] ^= 0x10;
    ExpectAuthFailure(AesGcmOpen(key, bad, sealed, aad));
  }
  for (size_t i = 0; i < key.size(); ++i) {
    Bytes bad = key;
    bad[i] ^= 0x04;
    ExpectAuthFailure(AesGcmOpen(bad, nonce, sealed, aad));
  }
  ExpectAuthFailure(AesGcmOpen(key, nonce, sealed, {}));  // aad dropped
  Bytes longer_aad = aad;
  longer_aad.push_back(0);
  ExpectAuthFailure(AesGcmOpen(key, nonce, sealed, longer_aad));
}

TEST(AesGcm, TruncatedOrExtendedInputFails) {
  const Bytes key(32, 7);
  const Bytes nonce(12, 8);
  ASSERT_OK_AND_ASSIGN(Bytes sealed, AesGcmSeal(key, nonce, ToBytes("hello, gnrfs"), {}));
  ASSERT_EQ(sealed.size(), 12 + kGcmTagSize);
  for (size_t n = 0; n < sealed.size(); ++n) {
    SCOPED_TRACE(n);
    ExpectAuthFailure(AesGcmOpen(key, nonce, ByteView(sealed).first(n)));
  }
  Bytes extended = sealed;
  extended.push_back(0);
  ExpectAuthFailure(AesGcmOpen(key, nonce, extended));
}

TEST(AesGcm, RoundTripVariousSizes) {
  DeterministicRandom rng(3);
  for (size_t key_size : {16, 24, 32}) {
    for (size_t n : {0, 1, 15, 16, 17, 255, 4096, 100000}) {
      const Bytes key = rng.Generate(key_size);
      const Bytes nonce = rng.Generate(kGcmNonceSize);
      const Bytes plain = rng.Generate(n);
      const Bytes aad = rng.Generate(n % 40);
      ASSERT_OK_AND_ASSIGN(Bytes sealed, AesGcmSeal(key, nonce, plain, aad));
      ASSERT_EQ(sealed.size(), n + kGcmTagSize);
      ASSERT_OK_AND_ASSIGN(Bytes opened, AesGcmOpen(key, nonce, sealed, aad));
      EXPECT_EQ(opened, plain);
    }
  }
}

TEST(AesGcm, RejectsBadSizes) {
  for (size_t n : {0, 8, 15, 33}) {
    absl::StatusOr<Bytes> r = AesGcmSeal(Bytes(n, 0), Bytes(12, 0), Bytes(4, 0));
    EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(r.status().message()).find("AES key must be 16, 24 or 32 bytes"),
              std::string::npos);
    EXPECT_STATUS(AesGcmOpen(Bytes(n, 0), Bytes(12, 0), Bytes(20, 0)),
                  absl::StatusCode::kInvalidArgument);
  }
  for (size_t n : {0, 8, 11, 13, 16}) {
    absl::StatusOr<Bytes> r = AesGcmSeal(Bytes(32, 0), Bytes(n, 0), Bytes(4, 0));
    EXPECT_STATUS(r, absl::StatusCode::kInvalidArgument);
    EXPECT_NE(
        std::string(r.status().message()).find("nonce must be 12 bytes, got " + std::to_string(n)),
        std::string::npos);
    EXPECT_STATUS(AesGcmOpen(Bytes(32, 0), Bytes(n, 0), Bytes(20, 0)),
                  absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace gnr::crypto
