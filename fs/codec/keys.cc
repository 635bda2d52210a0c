#include "fs/codec/keys.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"

namespace gnr::codec {
namespace {

// HKDF-SHA256 with an empty salt and info = label || context. The output length is a
// compile-time constant in [1, 8160], the only failure case of HkdfSha256, so this cannot
// fail.
template <size_t N>
FixedBytes<N> Derive(ByteView ikm, std::string_view label, ByteView context = {}) {
  Bytes info = Concat({AsBytes(label), context});
  absl::StatusOr<Bytes> out = crypto::HkdfSha256(ikm, {}, info, N);
  FixedBytes<N> key{};
  if (out.ok() && out->size() == N) std::copy(out->begin(), out->end(), key.begin());
  return key;
}

}  // namespace

absl::StatusOr<RootKey> DeriveRootKey(ByteView wallet_private_key) {
  if (wallet_private_key.empty()) {
    return absl::InvalidArgumentError("wallet private key is empty");
  }
  return Derive<32>(wallet_private_key, "gnr root");
}

absl::StatusOr<BucketKey> DeriveBucketKey(const RootKey& root, ByteView bucket_id) {
  if (bucket_id.empty() || bucket_id.size() > kMaxBucketIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("bucket id must be 1..", kMaxBucketIdSize, " bytes, got ", bucket_id.size()));
  }
  return Derive<32>(root, "gnr bucket", bucket_id);
}

FileKey DeriveFileKey(const BucketKey& bucket_key, const FileNonce& nonce) {
  return Derive<32>(bucket_key, "gnr file", nonce);
}

FileNonce NewFileNonce(crypto::Random& random) { return random.Generate<32>(); }

FileSecrets DeriveFileSecrets(const FileKey& file_key) {
  FileSecrets s;
  s.file_key = file_key;
  s.data_key = Derive<32>(file_key, "gnr data key");
  s.data_iv = Derive<16>(file_key, "gnr data iv");
  s.inline_key = Derive<32>(file_key, "gnr inline key");
  return s;
}

crypto::SentinelKey DeriveSentinelKey(const FileKey& file_key, uint64_t segment,
                                      uint32_t shard_index, uint32_t sentinel_generation) {
  FixedBytes<16> context;
  PutBigEndian64(segment, MutableByteView(context).first<8>());
  PutBigEndian32(shard_index, MutableByteView(context).subspan<8, 4>());
  PutBigEndian32(sentinel_generation, MutableByteView(context).subspan<12, 4>());
  // Generation 0 is the original derivation, without the suffix (docs/formats.md §1).
  const ByteView info = ByteView(context).first(sentinel_generation == 0 ? 12 : 16);
  return Derive<32>(file_key, "gnr sentinel", info);
}

ShardId ComputeShardId(const FileNonce& nonce, uint64_t segment, uint32_t shard_index,
                       uint32_t generation) {
  FixedBytes<16> tail;
  PutBigEndian64(segment, MutableByteView(tail).first<8>());
  PutBigEndian32(shard_index, MutableByteView(tail).subspan<8, 4>());
  PutBigEndian32(generation, MutableByteView(tail).subspan<12, 4>());
  return crypto::Sha256({AsBytes("gnr shard"), nonce, tail});
}

}  // namespace gnr::codec
