#pragma once
// Encoding: plaintext segments -> stored shards + manifest (DESIGN.md section 3, write path).
//
// Per segment of L bytes at file offset o (o = segment index * segment size):
//   1. AES-256-CTR with the file's data key, keystream offset o (so any byte range of the
//      file can later be decrypted alone);
//   2. cut into k data shards of S = ceil(L/k) bytes (the last zero-padded), and RS(k, m)
//      parity;
//   3. into each of the k+m shards insert its s sentinels (SentinelMap, values
//      crypto::SentinelValue) -> the stored shard;
//   4. the Merkle root of each stored shard.
// The work runs in cache-sized chunks (encrypt k chunk slices, RS them, write each of the
// k+m chunks into its stored shard with its sentinels, then hash the leaves that chunk
// completed, two at a time: crypto::MerkleLeafHashes), so each plaintext byte is read once
// from memory and each stored byte written once and hashed while in cache. Sentinel values
// come in bulk from one keyed generator per shard. Throughput and its definition:
// docs/formats.md §8.
//
// Memory is bounded per segment: FileEncoder holds the k+m stored shards of one segment at a
// time, whatever the file size; it reads the plaintext step by step, never a whole segment.
//
// Thread-safety: SegmentEncoder and FileEncoder are not thread-safe (they own scratch
// buffers); use one per thread. They are movable.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/aes.h"
#include "crypto/reed_solomon.h"
#include "fs/codec/keys.h"
#include "fs/codec/layout.h"
#include "fs/codec/manifest.h"
#include "fs/codec/params.h"

namespace gnr::codec {

// The output of encoding one segment.
struct EncodedSegment {
  uint64_t index = 0;
  SegmentManifest manifest;
  // The k+m stored shards (data shards first), each manifest.shards[i].stored_length bytes.
  std::vector<Bytes> shards;
};

// Writes a stored shard: `data` (S bytes) with the sentinels of `map` (values from
// `sentinel_key`) inserted, into `out` (exactly map.stored_length() bytes). Used by the
// encoder and by the repairer to rebuild a lost shard. InvalidArgument on size mismatch.
absl::Status WriteStoredShard(const crypto::SentinelKey& sentinel_key, const SentinelMap& map,
                              ByteView data, MutableByteView out);

// Random-access source of a file's plaintext (a staging file, a buffer).
class FileSource {
 public:
  virtual ~FileSource() = default;
  // Reads up to out.size() bytes at `offset`; returns the number read, which is less than
  // out.size() only at the end of the file.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) = 0;
};

// A FileSource over a buffer the caller keeps alive.
class MemoryFileSource final : public FileSource {
 public:
  explicit MemoryFileSource(ByteView data) : data_(data) {}
  absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) override;

 private:
  ByteView data_;
};

// Encodes segments of one file version. Create once per file (it derives the keys and sets
// up AES and RS), then Encode each segment.
class SegmentEncoder {
 public:
  // InvalidArgument if ValidateParams(params) fails.
  static absl::StatusOr<SegmentEncoder> Create(const CodecParams& params, const FileKey& file_key,
                                               const FileNonce& nonce);

  // Encodes segment `index` whose plaintext is `plaintext` (1..segment_size bytes; all but a
  // file's last segment must be exactly segment_size). `out` is overwritten; its shard
  // buffers are reused, so passing the same EncodedSegment again avoids reallocation.
  // InvalidArgument on a bad size.
  absl::Status Encode(uint64_t index, ByteView plaintext, EncodedSegment& out);
  absl::StatusOr<EncodedSegment> Encode(uint64_t index, ByteView plaintext) {
    EncodedSegment out;
    absl::Status s = Encode(index, plaintext, out);
    if (!s.ok()) return s;
    return out;
  }
  // The same for the `length` plaintext bytes of segment `index` in `file` (from byte
  // index * segment_size on), read piece by piece as the encoder's cache-sized steps need
  // them: the segment is never copied whole, so its bytes cross memory once. DataLoss if
  // the file ends early; errors of `file` are passed through.
  absl::Status Encode(uint64_t index, uint64_t length, FileSource& file, EncodedSegment& out);

  const CodecParams& params() const { return params_; }
  const FileNonce& nonce() const { return nonce_; }

 private:
  // Encode's body. fill(pos, dst) puts the ciphertext of the segment's plaintext bytes
  // [pos, pos + dst.size()) into dst.
  template <typename Fill>
  absl::Status EncodeWith(uint64_t index, uint64_t len, Fill fill, EncodedSegment& out);

  SegmentEncoder(const CodecParams& params, const FileKey& file_key, const FileNonce& nonce,
                 crypto::AesCtr ctr, crypto::ReedSolomon rs)
      : params_(params),
        file_key_(file_key),
        nonce_(nonce),
        ctr_(std::move(ctr)),
        rs_(std::move(rs)) {}

  CodecParams params_;
  FileKey file_key_;
  FileNonce nonce_;
  crypto::AesCtr ctr_;
  crypto::ReedSolomon rs_;
  Bytes scratch_;  // (k+m) chunk buffers
};

// Encodes a whole file segment by segment, pulling plaintext from a FileSource:
//
//   GNR_ASSIGN_OR_RETURN(FileEncoder enc, FileEncoder::Create(params, key, nonce, size));
//   EncodedSegment seg;
//   while (!enc.done()) {
//     GNR_RETURN_IF_ERROR(enc.Next(source, seg));
//     ... upload seg.shards (they stay valid until the next call to Next with `seg`) ...
//   }
//   GNR_ASSIGN_OR_RETURN(FileManifest manifest, enc.Finish());
class FileEncoder {
 public:
  // InvalidArgument on bad params, or a file_size above kMaxFileSize. Files below the
  // inline threshold may still be sharded (the caller decides; see ShouldInline).
  static absl::StatusOr<FileEncoder> Create(const CodecParams& params, const FileKey& file_key,
                                            const FileNonce& nonce, uint64_t file_size);

  bool done() const { return next_ >= segment_count_; }
  uint64_t next_segment() const { return next_; }
  uint64_t segment_count() const { return segment_count_; }

  // Reads and encodes the next segment into `out`. DataLoss if the source ends before
  // file_size; errors of the source are passed through. FailedPrecondition when done().
  absl::Status Next(FileSource& source, EncodedSegment& out);

  // Takes segment next_segment(), encoded earlier by a SegmentEncoder with this encoder's
  // params, key and nonce from the same plaintext, instead of encoding it again (the drive
  // encodes full segments while a file is still being written). FailedPrecondition when
  // done(); InvalidArgument unless `segment` is a full segment (only a file's last segment
  // may be shorter) with k + m shards.
  absl::Status Adopt(const SegmentManifest& segment);

  // The manifest, once every segment is encoded (FailedPrecondition before).
  absl::StatusOr<FileManifest> Finish() const;

 private:
  FileEncoder(SegmentEncoder encoder, uint64_t file_size)
      : encoder_(std::move(encoder)),
        file_size_(file_size),
        segment_count_(SegmentCount(file_size, encoder_.params().segment_size)) {}

  SegmentEncoder encoder_;
  uint64_t file_size_;
  uint64_t segment_count_;
  uint64_t next_ = 0;
  std::vector<SegmentManifest> segments_;
};

// Receives the shards of each encoded segment (e.g. the upload scheduler).
class ShardSink {
 public:
  virtual ~ShardSink() = default;
  // `segment` and its buffers are valid only during the call.
  virtual absl::Status Put(const EncodedSegment& segment) = 0;
};

// Convenience: FileEncoder over the whole file, each segment handed to `sink`.
absl::StatusOr<FileManifest> EncodeFile(const CodecParams& params, const FileKey& file_key,
                                        const FileNonce& nonce, uint64_t file_size,
                                        FileSource& source, ShardSink& sink);

}  // namespace gnr::codec
