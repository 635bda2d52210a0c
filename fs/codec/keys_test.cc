#include "fs/codec/keys.h"

#include <algorithm>
#include <set>

#include "common/hex.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::codec {
namespace {

// Golden values computed independently (Python hmac/hashlib HKDF-SHA256, empty salt,
// info = label || context): they pin every label of docs/formats.md.
TEST(Keys, GoldenDerivationChain) {
  const Bytes wallet(32, 0x01);
  ASSERT_OK_AND_ASSIGN(RootKey root, DeriveRootKey(wallet));
  EXPECT_EQ(HexEncode(root), "6cad78e0981390a670ce6ae332a5aa6fbd847a3826fef4c3053f4e82016f4672");
  ASSERT_OK_AND_ASSIGN(BucketKey bucket, DeriveBucketKey(root, AsBytes("photos")));
  EXPECT_EQ(HexEncode(bucket), "7452874fc7ffda256044977ef08c0032184a420118e9e6cce294e716c0bc2b7f");
  FileNonce nonce;
  for (int i = 0; i < 32; ++i) nonce[i] = static_cast<uint8_t>(i);
  const FileKey file = DeriveFileKey(bucket, nonce);
  EXPECT_EQ(HexEncode(file), "0084815ed88f1bf9842d4acd4c245b65f9cab7fbff26bf0553deef6718b04290");
  const FileSecrets s = DeriveFileSecrets(file);
  EXPECT_EQ(s.file_key, file);
  EXPECT_EQ(HexEncode(s.data_key),
            "b7defd75ca5de0b33375a4e18c4e9136853e0b726984102a400c08ac10a19656");
  EXPECT_EQ(HexEncode(s.data_iv), "77345d925a52050c673977f17a141741");
  EXPECT_EQ(HexEncode(s.inline_key),
            "2fa1c8f473a771c86943db8a8b2fde550bde127a3a789a7bf6b68eeb8a6cf1b4");
  EXPECT_EQ(HexEncode(DeriveSentinelKey(file, 3, 5)),
            "99989a444498b737246610e80d9037d42e035e89dbc00d0fd581648303971ddf");
}

// Sentinel generations (re-tagging): generation 0 is byte-for-byte the original
// derivation, g >= 1 appends be32(g) to the info. Golden values from Python's hmac/hashlib.
TEST(Keys, SentinelGenerationGoldenAndCompatible) {
  FileKey file{};
  const Bytes golden =
      HexLiteral("0084815ed88f1bf9842d4acd4c245b65f9cab7fbff26bf0553deef6718b04290");
  std::copy(golden.begin(), golden.end(), file.begin());
  EXPECT_EQ(HexEncode(DeriveSentinelKey(file, 3, 5, 0)),
            "99989a444498b737246610e80d9037d42e035e89dbc00d0fd581648303971ddf");
  EXPECT_EQ(DeriveSentinelKey(file, 3, 5, 0), DeriveSentinelKey(file, 3, 5));
  EXPECT_EQ(HexEncode(DeriveSentinelKey(file, 3, 5, 1)),
            "6c2b899e9ff2ede040f00df3b679c9554b011c7052bd81c60ad6c04db971afc6");
  EXPECT_EQ(HexEncode(DeriveSentinelKey(file, 3, 5, 7)),
            "8e1a6e6e304c50614ee2749fb69be159d730ef680dee0db58f0ddedb08f5bd17");
  // Deterministic, and every generation differs from the others.
  std::set<crypto::SentinelKey> keys;
  for (uint32_t g = 0; g < 50; ++g) {
    EXPECT_EQ(DeriveSentinelKey(file, 3, 5, g), DeriveSentinelKey(file, 3, 5, g));
    EXPECT_TRUE(keys.insert(DeriveSentinelKey(file, 3, 5, g)).second) << g;
  }
  // A generation never collides with another shard's key.
  EXPECT_NE(DeriveSentinelKey(file, 3, 5, 1), DeriveSentinelKey(file, 3, 6, 0));
  EXPECT_NE(DeriveSentinelKey(file, 3, 5, 1), DeriveSentinelKey(file, 4, 5, 0));
}

TEST(Keys, BadInputs) {
  EXPECT_STATUS(DeriveRootKey({}), absl::StatusCode::kInvalidArgument);
  RootKey root{};
  EXPECT_STATUS(DeriveBucketKey(root, {}), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DeriveBucketKey(root, Bytes(256, 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(DeriveBucketKey(root, Bytes(255, 1)));
}

TEST(Keys, EverySentinelKeyIsDistinct) {
  crypto::DeterministicRandom r(1);
  const FileKey file = r.Generate<32>();
  std::set<crypto::SentinelKey> keys;
  for (uint64_t seg = 0; seg < 20; ++seg) {
    for (uint32_t shard = 0; shard < 20; ++shard) {
      EXPECT_TRUE(keys.insert(DeriveSentinelKey(file, seg, shard)).second);
    }
  }
  // Distinct nonces give distinct file keys.
  const BucketKey bucket = r.Generate<32>();
  EXPECT_NE(DeriveFileKey(bucket, NewFileNonce(r)), DeriveFileKey(bucket, NewFileNonce(r)));
}

}  // namespace
}  // namespace gnr::codec
