#pragma once
// Content keys (DESIGN.md section 2) and shard identifiers. Every derivation is
// HKDF-SHA256 with an empty salt and info = ASCII label || context; the labels are listed in
// docs/formats.md ("Keys") and are part of the format: changing one makes every stored
// file unreadable.
//
//   wallet private key --"gnr root"--> root key
//   root key --"gnr bucket" || bucket id--> bucket key
//   bucket key --"gnr file" || file nonce--> file key       (nonce: 32 random bytes/version)
//   file key --"gnr data key"--> AES-256-CTR key;  --"gnr data iv"--> CTR initial block
//   file key --"gnr inline key"--> AES-256-GCM key of inline blobs
//   file key --"gnr sentinel" || be64(segment) || be32(shard index)--> sentinel key of
//       sentinel generation 0 (every shard as first written)
//   file key --"gnr sentinel" || be64(segment) || be32(shard index) || be32(g)--> sentinel key
//       of sentinel generation g >= 1 (a shard re-tagged g times: fresh sentinels)
//
// All functions are pure and thread-safe. Keys are plain values: callers that keep them in
// memory for long should wipe them when done.

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/random.h"
#include "crypto/sentinel.h"

namespace gnr::codec {

using RootKey = FixedBytes<32>;
using BucketKey = FixedBytes<32>;
using FileKey = FixedBytes<32>;
using FileNonce = FixedBytes<32>;
// SHA-256("gnr shard" || file nonce || be64(segment) || be32(shard index) ||
// be32(generation)): names a stored shard on the network (DHT placement key, GET_SHARD,
// challenges). Reveals nothing about the file key.
using ShardId = FixedBytes<32>;

inline constexpr size_t kMaxBucketIdSize = 255;

// root = HKDF(wallet private key, info "gnr root"). InvalidArgument if the key is empty.
absl::StatusOr<RootKey> DeriveRootKey(ByteView wallet_private_key);

// bucket key = HKDF(root, info "gnr bucket" || bucket id). InvalidArgument unless the bucket
// id is 1..255 bytes.
absl::StatusOr<BucketKey> DeriveBucketKey(const RootKey& root, ByteView bucket_id);

// file key = HKDF(bucket key, info "gnr file" || nonce).
FileKey DeriveFileKey(const BucketKey& bucket_key, const FileNonce& nonce);

// A fresh random file nonce (one per file version, kept in the manifest/catalog).
FileNonce NewFileNonce(crypto::Random& random);

// The per-file working keys derived from a file key.
struct FileSecrets {
  FileKey file_key{};
  FixedBytes<32> data_key{};    // AES-256-CTR key of the segment data
  FixedBytes<16> data_iv{};     // CTR initial counter block; stream offset = file byte offset
  FixedBytes<32> inline_key{};  // AES-256-GCM key of an inline blob
};
FileSecrets DeriveFileSecrets(const FileKey& file_key);

// Key of the sentinels of shard `shard_index` of segment `segment` in sentinel generation
// `sentinel_generation` (positions, values and fingerprint groups all come from it; see
// crypto/sentinel.h). Generation 0 keeps the original info string (no generation suffix),
// so every shard written before re-tagging existed keeps its key; generation g >= 1 appends
// be32(g), giving independent keys, hence fresh positions and values ("re-tagging": the
// revealed groups of older generations say nothing about the new ones). The sentinel
// generation is distinct from ShardManifest::generation (the placement generation in the
// shard id): a repair that keeps the sentinels bumps only the latter.
crypto::SentinelKey DeriveSentinelKey(const FileKey& file_key, uint64_t segment,
                                      uint32_t shard_index, uint32_t sentinel_generation = 0);

ShardId ComputeShardId(const FileNonce& nonce, uint64_t segment, uint32_t shard_index,
                       uint32_t generation);

}  // namespace gnr::codec
