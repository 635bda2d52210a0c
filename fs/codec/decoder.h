#pragma once
// Decoding: any byte range [a, b) of a file back from its stored shards (DESIGN.md section
// 3, read path), verifying every byte and never returning wrong bytes.
//
// For each segment the range touches:
//   1. the range maps to data ranges of one or more data shards (shard i holds segment
//      ciphertext [i*S, (i+1)*S)), each to one stored range (data + inner sentinels) and to
//      the Merkle leaves covering it;
//   2. those leaves are fetched from the data shards (one batch through ShardSource) with a
//      range proof, and every leaf is checked against the shard's root in the manifest:
//      wrong, truncated, swapped or missing shards are detected here;
//   3. if a data shard failed, the same data range is fetched from other shards (data
//      shards first, then parity) until k verify, and Reed-Solomon rebuilds the failed
//      slices (RS works position by position, so a sub-range of k shards is enough);
//   4. sentinels are stripped and only the requested bytes are decrypted.
// Each shard's sentinel positions come from the sentinel key of the sentinel generation its
// manifest entry records (ShardManifest::sentinel_generation: a re-tagged shard differs).
// More than m bad shards of a segment (for the range needed) -> DataLoss naming the
// segment and each shard's failure.
//
// Thread-safety: FileReader is immutable except for an internal, mutex-guarded cache of
// sentinel maps: Read may be called from many threads at once. The ShardSource must then
// be thread-safe too.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "crypto/aes.h"
#include "crypto/merkle.h"
#include "crypto/reed_solomon.h"
#include "fs/codec/keys.h"
#include "fs/codec/layout.h"
#include "fs/codec/manifest.h"

namespace gnr::codec {

// Asks for the Merkle leaves `leaves` of a stored shard (they cover the stored byte range
// `stored`, which is what the reader needs).
struct StoredRangeRequest {
  uint64_t segment = 0;
  uint32_t shard_index = 0;
  ShardId shard_id{};
  ByteRange stored;  // stored bytes wanted
  ByteRange leaves;  // leaves [begin, end) covering `stored`: the reply must hold exactly these
};

// A farmer's answer: the bytes of the requested leaves, concatenated (every leaf is
// leaf_size bytes except the shard's last), and a proof for them against the shard's root.
// Untrusted: the reader checks everything.
struct StoredRangeReply {
  Bytes leaves;
  crypto::MerkleRangeProof proof;
};

// Where shard bytes come from (the network's GET_SHARD; an in-memory store in tests).
class ShardSource {
 public:
  virtual ~ShardSource() = default;
  // Answers every request (same order, same count). Implementations should run the requests
  // concurrently; each reply is independent: a failed request (farmer unreachable, shard
  // unknown) is an error status in its slot. A reply vector of the wrong size fails all.
  virtual std::vector<absl::StatusOr<StoredRangeReply>> Fetch(
      std::span<const StoredRangeRequest> requests) = 0;
};

// Checks a reply against the request and the shard's manifest entry: leaf bytes of the
// right length, a proof for exactly the requested leaves of a tree of the right size, and
// the leaves hashing to the root. DataLoss describing the mismatch otherwise.
absl::Status VerifyStoredRangeReply(const StoredRangeRequest& request,
                                    const StoredRangeReply& reply, const ShardManifest& shard,
                                    uint64_t leaf_size, crypto::MerkleHashKind kind);

// What a read did; lets the caller report bad shards to the auditor/repairer.
struct ReadReport {
  struct Failure {
    uint64_t segment = 0;
    uint32_t shard_index = 0;
    absl::Status status;
  };
  uint64_t requests = 0;          // stored ranges asked for
  uint64_t fetched_bytes = 0;     // leaf bytes received and verified
  uint64_t reconstructions = 0;   // segment ranges rebuilt with Reed-Solomon
  std::vector<Failure> failures;  // every shard that failed, with why
};

class FileReader {
 public:
  // InvalidArgument if the manifest is invalid (ValidateManifest).
  static absl::StatusOr<std::unique_ptr<FileReader>> Create(FileManifest manifest,
                                                            const FileKey& file_key);

  const FileManifest& manifest() const { return manifest_; }

  // Reads file bytes [offset, offset + out.size()) into `out`. OutOfRange if the range
  // goes past the end of the file; DataLoss (naming the segment and the failed shards) if
  // more than m shards of a segment are unusable for the range; on any error `out` holds
  // no meaningful data. `report`, if not null, receives what happened (also on error).
  absl::Status Read(uint64_t offset, MutableByteView out, ShardSource& source,
                    ReadReport* report = nullptr) const;
  absl::StatusOr<Bytes> Read(uint64_t offset, uint64_t length, ShardSource& source,
                             ReadReport* report = nullptr) const;

  // Rebuilds stored shard `shard_index` of `segment` (for the repairer) from k other
  // shards' verified data, with the sentinels of its recorded sentinel generation, and checks it
  // against the manifest's Merkle root. DataLoss if fewer than k other shards verify or the result
  // does not match the root (wrong file key). The shard itself is never read.
  absl::StatusOr<Bytes> RebuildShard(uint64_t segment, uint32_t shard_index, ShardSource& source,
                                     ReadReport* report = nullptr) const;

  // The sentinel positions of one shard (cached; computing them costs ~0.5 ms for a 16 MiB
  // shard). InvalidArgument on an index out of range.
  absl::StatusOr<std::shared_ptr<const SentinelMap>> GetSentinelMap(uint64_t segment,
                                                                    uint32_t shard_index) const;

 private:
  FileReader(FileManifest manifest, const FileKey& file_key, crypto::AesCtr ctr,
             crypto::ReedSolomon rs)
      : manifest_(std::move(manifest)),
        file_key_(file_key),
        ctr_(std::move(ctr)),
        rs_(std::move(rs)) {}

  struct FetchItem;
  struct SegmentState;
  // Fetches, verifies and extracts each item's data range into its destination; marks and
  // reports failures. Returns per-item success.
  std::vector<bool> FetchVerified(SegmentState& state, std::span<const FetchItem> items,
                                  ShardSource& source) const;
  // Fetches `range` from shards that are neither bad nor present (data shards first) until
  // k are present; then points every non-present view at a scratch buffer. DataLoss if
  // fewer than k shards verify.
  absl::Status GatherShards(SegmentState& state, ByteRange range, std::span<MutableByteView> views,
                            std::span<bool> present, std::vector<Bytes>& buffers,
                            ShardSource& source) const;
  absl::Status ReadSegment(uint64_t segment, ByteRange local, MutableByteView out,
                           ShardSource& source, ReadReport& report) const;

  static constexpr size_t kMaxCachedMaps = 256;

  const FileManifest manifest_;
  const FileKey file_key_;
  const crypto::AesCtr ctr_;
  const crypto::ReedSolomon rs_;
  mutable absl::Mutex mu_;
  mutable std::map<std::pair<uint64_t, uint32_t>, std::shared_ptr<const SentinelMap>> maps_
      ABSL_GUARDED_BY(mu_);
};

// One-shot convenience: FileReader::Create(manifest, key)->Read(begin, end - begin, source).
// InvalidArgument if end < begin.
absl::StatusOr<Bytes> ReadRange(const FileManifest& manifest, const FileKey& file_key,
                                uint64_t begin, uint64_t end, ShardSource& source,
                                ReadReport* report = nullptr);

}  // namespace gnr::codec
