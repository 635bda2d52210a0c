#pragma once
// FileManifest: everything needed to find, verify and decode the shards of one file version
// (except the file key): sizes, RS parameters, sentinel counts, shard ids and Merkle roots.
// The catalog stores it; the binary encodings (versions 1 and 2) are specified in
// docs/formats.md ("File manifest"). Version 2 adds each shard's sentinel generation (a
// re-tagged shard); a manifest whose shards all have sentinel generation 0 is written as
// version 1, byte for byte as before.
//
// DecodeFileManifest takes untrusted bytes (catalog snapshots come back from the network):
// it checks every size, count and derived field, never asserts, and the manifests it
// returns are safe to feed to the layout math, the encoder and the decoder.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "fs/codec/keys.h"
#include "fs/codec/params.h"

namespace gnr::codec {

// The version new files are written with (all sentinel generations 0).
inline constexpr uint8_t kManifestVersion = 1;
// The version needed once any shard has a sentinel generation > 0 (re-tagged), and the
// newest this build reads.
inline constexpr uint8_t kManifestVersionSentinelGenerations = 2;
// Largest file a manifest describes (1 PiB) and most segments it lists.
inline constexpr uint64_t kMaxFileSize = uint64_t{1} << 50;
inline constexpr uint64_t kMaxSegments = uint64_t{1} << 24;
// Encoded sizes (bytes).
inline constexpr size_t kManifestHeaderSize = 64;
inline constexpr size_t kSegmentRecordHeaderSize = 12;
inline constexpr size_t kShardRecordSize = 76;    // version 1
inline constexpr size_t kShardRecordSizeV2 = 80;  // version 2: + be32(sentinel generation)

struct ShardManifest {
  // Bumped when the shard is re-placed after a repair; part of the shard id.
  uint32_t generation = 0;
  ShardId id{};                // ComputeShardId(nonce, segment, index, generation)
  uint64_t stored_length = 0;  // shard_length + 32 * sentinel_count
  crypto::Hash256 merkle_root{};
  // Which sentinels the stored shard carries: DeriveSentinelKey(file key, segment, index,
  // sentinel_generation). Bumped by a re-tag (fresh sentinels, new bytes and Merkle root);
  // 0 for every shard as first encoded. Needs manifest version 2 when nonzero.
  uint32_t sentinel_generation = 0;

  friend bool operator==(const ShardManifest&, const ShardManifest&) = default;
};

struct SegmentManifest {
  uint64_t plaintext_length = 0;      // L (segment_size except for the last segment)
  uint64_t shard_length = 0;          // S = ceil(L / k): unpadded data bytes per shard
  uint64_t sentinel_count = 0;        // s, the same for all k+m shards of the segment
  std::vector<ShardManifest> shards;  // k data shards, then m parity shards

  friend bool operator==(const SegmentManifest&, const SegmentManifest&) = default;
};

struct FileManifest {
  uint8_t version = kManifestVersion;
  uint64_t file_size = 0;
  FileNonce nonce{};
  uint32_t data_shards = 0;    // k
  uint32_t parity_shards = 0;  // m
  uint32_t segment_size = 0;
  uint32_t leaf_size = 0;
  crypto::MerkleHashKind merkle_kind = crypto::MerkleHashKind::kSha256;
  uint32_t group_size = 0;  // q
  std::vector<SegmentManifest> segments;

  uint32_t total_shards() const { return data_shards + parity_shards; }

  friend bool operator==(const FileManifest&, const FileManifest&) = default;
};

// Checks the internal consistency of a manifest (the same rules as the decoder: parameter
// ranges, segment count and lengths derived from the file size, stored lengths, shard ids,
// no sentinel generation in a version-1 manifest). InvalidArgument naming the first
// problem; Unimplemented for a version other than 1 and 2.
absl::Status ValidateManifest(const FileManifest& manifest);

// Encodes in manifest.version (1 or 2). The manifest must be valid (ValidateManifest);
// InvalidArgument otherwise.
absl::StatusOr<Bytes> EncodeFileManifest(const FileManifest& manifest);

// Decodes untrusted bytes. InvalidArgument on a bad magic, truncation, trailing bytes,
// nonzero reserved fields or any inconsistency ValidateManifest rejects; Unimplemented on an
// unknown version. Allocation is bounded by the input size.
absl::StatusOr<FileManifest> DecodeFileManifest(ByteView bytes);

}  // namespace gnr::codec
