#include "fs/codec/inline_blob.h"

#include "crypto/random.h"
#include "fs/codec/params.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::codec {
namespace {

TEST(InlineBlob, RoundTripsEverySmallSize) {
  crypto::DeterministicRandom r(1);
  const FileKey key = r.Generate<32>();
  for (size_t n : {0, 1, 15, 16, 17, 100, 4095, 4096}) {
    const Bytes plain = r.Generate(n);
    ASSERT_OK_AND_ASSIGN(Bytes blob, SealInlineBlob(key, plain, r));
    EXPECT_EQ(blob.size(), n + kInlineBlobOverhead);
    ASSERT_OK_AND_ASSIGN(Bytes back, OpenInlineBlob(key, blob));
    EXPECT_EQ(back, plain);
  }
}

TEST(InlineBlob, FreshNonceEachTime) {
  crypto::DeterministicRandom r(2);
  const FileKey key = r.Generate<32>();
  const Bytes plain(10, 7);
  ASSERT_OK_AND_ASSIGN(Bytes a, SealInlineBlob(key, plain, r));
  ASSERT_OK_AND_ASSIGN(Bytes b, SealInlineBlob(key, plain, r));
  EXPECT_NE(a, b);
}

TEST(InlineBlob, TamperingAndMalformedInputs) {
  crypto::DeterministicRandom r(3);
  const FileKey key = r.Generate<32>();
  const Bytes plain = r.Generate(50);
  ASSERT_OK_AND_ASSIGN(const Bytes blob, SealInlineBlob(key, plain, r));
  // Any single-bit flip after the version byte is caught by GCM (or the size check).
  for (size_t i = 5; i < blob.size(); ++i) {
    Bytes bad = blob;
    bad[i] ^= 0x04;
    absl::StatusOr<Bytes> out = OpenInlineBlob(key, bad);
    EXPECT_FALSE(out.ok()) << i;
  }
  FileKey other = key;
  other[0] ^= 1;
  EXPECT_STATUS(OpenInlineBlob(other, blob), absl::StatusCode::kDataLoss);
  Bytes bad = blob;
  bad[0] = 'X';
  EXPECT_STATUS(OpenInlineBlob(key, bad), absl::StatusCode::kInvalidArgument);
  bad = blob;
  bad[4] = 2;
  EXPECT_STATUS(OpenInlineBlob(key, bad), absl::StatusCode::kUnimplemented);
  for (size_t n = 0; n < kInlineBlobOverhead; ++n) {
    EXPECT_FALSE(OpenInlineBlob(key, ByteView(blob).first(n)).ok()) << n;
  }
  // Shortening the ciphertext and fixing the size field up still fails authentication.
  bad = Bytes(blob.begin(), blob.end() - 1);
  PutBigEndian64(49, MutableByteView(bad).subspan(5, 8));
  EXPECT_STATUS(OpenInlineBlob(key, bad), absl::StatusCode::kDataLoss);
  EXPECT_STATUS(SealInlineBlob(key, Bytes(kMaxInlineThreshold + 1), r),
                absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::codec
