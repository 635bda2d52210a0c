#include "fs/codec/encoder.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "crypto/merkle.h"
#include "crypto/sentinel.h"

namespace gnr::codec {
namespace {

// Writes one stored shard front to back: data bytes as they come, each sentinel value when
// the data position reaches its insertion point. Sentinel values come in batches from one
// keyed generator (one AES key schedule per shard).
class StoredShardWriter {
 public:
  StoredShardWriter(const crypto::SentinelKey& key, const SentinelMap& map, MutableByteView out)
      : values_(key), points_(map.insertion_points()), out_(out) {}

  // Appends the next data bytes, with the sentinels that sit before them.
  void Append(ByteView data) {
    while (!data.empty()) {
      EmitSentinelsAt(x_);
      size_t run = data.size();
      if (next_ < points_.size())
        run = static_cast<size_t>(std::min<uint64_t>(run, points_[next_] - x_));
      Put(data.first(run));
      x_ += run;
      data = data.subspan(run);
    }
  }

  // Writes the sentinels placed after the last data byte. Returns the bytes written in all.
  size_t Finish() {
    EmitSentinelsAt(x_);
    return pos_;
  }

  // Stored bytes written so far.
  size_t written() const { return pos_; }

 private:
  static constexpr size_t kBatch = 64;  // sentinel values generated per refill

  void Put(ByteView bytes) {
    std::memcpy(out_.data() + pos_, bytes.data(), bytes.size());
    pos_ += bytes.size();
  }

  void EmitSentinelsAt(uint64_t x) {
    while (next_ < points_.size() && points_[next_] <= x) {
      if (next_ - batch_first_ >= batch_count_) {
        batch_first_ = next_;
        batch_count_ = static_cast<size_t>(std::min<uint64_t>(kBatch, points_.size() - next_));
        values_.Fill(batch_first_, MutableByteView(batch_, batch_count_ * crypto::kSentinelSize));
      }
      // Adjacent sentinels (same insertion point) go out as one piece.
      size_t count = 1;
      while (next_ + count < points_.size() && points_[next_ + count] <= x &&
             next_ + count - batch_first_ < batch_count_) {
        ++count;
      }
      Put(ByteView(batch_ + (next_ - batch_first_) * crypto::kSentinelSize,
                   count * crypto::kSentinelSize));
      next_ += count;
    }
  }

  crypto::SentinelValueGenerator values_;
  std::span<const uint64_t> points_;
  MutableByteView out_;
  uint64_t x_ = 0;            // data bytes written
  size_t next_ = 0;           // next sentinel
  size_t pos_ = 0;            // stored bytes written
  uint64_t batch_first_ = 0;  // index of the first value in batch_
  size_t batch_count_ = 0;
  uint8_t batch_[kBatch * crypto::kSentinelSize];
};

// Bytes of each shard processed per step. The k+m chunks of scratch take about half of a
// 1 MiB L2, the rest holds the plaintext being read and the stored lines being written:
// AES, RS, the copy into the stored shards and the leaf hashes then all work on cached
// bytes, and the plaintext of each data shard is read in runs long enough for the hardware
// prefetcher (smaller chunks cost AES ~25% on cold plaintext).
size_t ChunkSize(int total_shards) {
  size_t c = (512 * 1024) / static_cast<size_t>(total_shards);
  c = std::clamp<size_t>(c, 4096, 128 * 1024);
  return c & ~size_t{4095};
}

// Hashes the Merkle leaves of the stored shards as they are completed, right after the
// encoder wrote them (still in cache). Leaves of all shards go to MerkleLeafHashes
// together, which hashes two at a time: ~1.9x the rate of hashing each shard's stream
// while copying it into place.
class LeafHashes {
 public:
  LeafHashes(size_t shards, size_t leaf_size, crypto::MerkleHashKind kind)
      : leaf_size_(leaf_size), kind_(kind), hashes_(shards), hashed_(shards, 0) {}

  // Hashes the leaves of shard t that lie wholly in its first written[t] bytes; with `last`,
  // also each shard's final, shorter leaf (written[t] is then its stored length).
  void HashWritten(std::span<const MutableByteView> shards, std::span<const size_t> written,
                   bool last) {
    leaves_.clear();
    owners_.clear();
    for (size_t t = 0; t < shards.size(); ++t) {
      const size_t end = last ? written[t] : written[t] / leaf_size_ * leaf_size_;
      for (size_t& pos = hashed_[t]; pos < end;) {
        const size_t n = std::min(leaf_size_, end - pos);
        leaves_.push_back(ByteView(shards[t].data() + pos, n));
        owners_.push_back(t);
        pos += n;
      }
    }
    scratch_.resize(leaves_.size());
    crypto::MerkleLeafHashes(leaves_, scratch_, kind_);
    for (size_t i = 0; i < leaves_.size(); ++i) hashes_[owners_[i]].push_back(scratch_[i]);
  }

  // The leaf hashes of shard t (after the last HashWritten).
  std::vector<crypto::Hash256> Take(size_t t) { return std::move(hashes_[t]); }

 private:
  size_t leaf_size_;
  crypto::MerkleHashKind kind_;
  std::vector<std::vector<crypto::Hash256>> hashes_;
  std::vector<size_t> hashed_;  // stored bytes of each shard already hashed
  std::vector<ByteView> leaves_;
  std::vector<size_t> owners_;
  std::vector<crypto::Hash256> scratch_;
};

}  // namespace

absl::Status WriteStoredShard(const crypto::SentinelKey& sentinel_key, const SentinelMap& map,
                              ByteView data, MutableByteView out) {
  if (data.size() != map.shard_length() || out.size() != map.stored_length()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored shard needs ", map.shard_length(), " data bytes and ",
                     map.stored_length(), " output bytes, got ", data.size(), " and ", out.size()));
  }
  StoredShardWriter writer(sentinel_key, map, out);
  writer.Append(data);
  writer.Finish();
  return absl::OkStatus();
}

absl::StatusOr<SegmentEncoder> SegmentEncoder::Create(const CodecParams& params,
                                                      const FileKey& file_key,
                                                      const FileNonce& nonce) {
  GNR_RETURN_IF_ERROR(ValidateParams(params));
  FileSecrets secrets = DeriveFileSecrets(file_key);
  GNR_ASSIGN_OR_RETURN(crypto::AesCtr ctr,
                       crypto::AesCtr::Create(secrets.data_key, secrets.data_iv));
  GNR_ASSIGN_OR_RETURN(crypto::ReedSolomon rs,
                       crypto::ReedSolomon::Create(params.data_shards, params.parity_shards));
  return SegmentEncoder(params, file_key, nonce, std::move(ctr), std::move(rs));
}

absl::Status SegmentEncoder::Encode(uint64_t index, ByteView plaintext, EncodedSegment& out) {
  const uint64_t offset = index * params_.segment_size;
  return EncodeWith(
      index, plaintext.size(),
      [&](uint64_t pos, MutableByteView dst) {
        ctr_.Apply(offset + pos, plaintext.subspan(pos, dst.size()), dst);
        return absl::OkStatus();
      },
      out);
}

absl::Status SegmentEncoder::Encode(uint64_t index, uint64_t length, FileSource& file,
                                    EncodedSegment& out) {
  const uint64_t offset = index * params_.segment_size;
  return EncodeWith(
      index, length,
      [&](uint64_t pos, MutableByteView dst) -> absl::Status {
        for (size_t got = 0; got < dst.size();) {
          MutableByteView rest = dst.subspan(got);
          GNR_ASSIGN_OR_RETURN(size_t n, file.ReadAt(offset + pos + got, rest));
          if (n == 0) {
            return absl::DataLossError(absl::StrCat("file source ended at byte ",
                                                    offset + pos + got, ", expected ",
                                                    offset + length, " bytes"));
          }
          if (n > rest.size()) return absl::InternalError("file source returned more than asked");
          got += n;
        }
        ctr_.Apply(offset + pos, dst);  // in place
        return absl::OkStatus();
      },
      out);
}

template <typename Fill>
absl::Status SegmentEncoder::EncodeWith(uint64_t index, uint64_t len, Fill fill,
                                        EncodedSegment& out) {
  const uint64_t seg_size = params_.segment_size;
  if (len == 0 || len > seg_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment plaintext must be 1..", seg_size, " bytes, got ", len));
  }
  if (index >= kMaxSegments || index * seg_size + len > kMaxFileSize) {
    return absl::InvalidArgumentError(absl::StrCat("segment index ", index, " is too large"));
  }
  const int k = params_.data_shards;
  const int n = params_.total_shards();
  const uint64_t shard_len = ShardLength(len, k);
  const uint64_t sentinels = SentinelCount(params_, shard_len);
  const uint64_t stored_len = shard_len + crypto::kSentinelSize * sentinels;

  out.index = index;
  out.manifest.plaintext_length = len;
  out.manifest.shard_length = shard_len;
  out.manifest.sentinel_count = sentinels;
  out.manifest.shards.assign(n, ShardManifest{});
  out.shards.resize(n);

  std::vector<crypto::SentinelKey> keys(n);
  std::vector<SentinelMap> maps;
  maps.reserve(n);
  std::vector<StoredShardWriter> writers;
  writers.reserve(n);
  std::vector<MutableByteView> stored(n);
  std::vector<size_t> written(n, 0);
  LeafHashes leaf_hashes(static_cast<size_t>(n), params_.leaf_size, params_.merkle_kind);
  for (int t = 0; t < n; ++t) {
    keys[t] = DeriveSentinelKey(file_key_, index, static_cast<uint32_t>(t));
    GNR_ASSIGN_OR_RETURN(SentinelMap map, SentinelMap::Create(keys[t], shard_len, sentinels));
    maps.push_back(std::move(map));
    out.shards[t].resize(stored_len);
    stored[t] = MutableByteView(out.shards[t]);
  }
  for (int t = 0; t < n; ++t) writers.emplace_back(keys[t], maps[t], stored[t]);

  const size_t chunk = ChunkSize(n);
  scratch_.resize(chunk * n);
  std::vector<ByteView> data_views(k);
  std::vector<MutableByteView> parity_views(n - k);
  for (uint64_t c = 0; c < shard_len; c += chunk) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(chunk, shard_len - c));
    for (int i = 0; i < k; ++i) {
      MutableByteView dst(scratch_.data() + i * chunk, step);
      const uint64_t pos = static_cast<uint64_t>(i) * shard_len + c;  // in the segment
      const size_t avail = pos < len ? static_cast<size_t>(std::min<uint64_t>(step, len - pos)) : 0;
      if (avail > 0) GNR_RETURN_IF_ERROR(fill(pos, dst.first(avail)));
      if (avail < step) std::memset(dst.data() + avail, 0, step - avail);
      data_views[i] = dst;
    }
    for (int j = 0; j < n - k; ++j) {
      parity_views[j] = MutableByteView(scratch_.data() + (k + j) * chunk, step);
    }
    GNR_RETURN_IF_ERROR(rs_.Encode(data_views, parity_views));
    for (int t = 0; t < n; ++t) {
      writers[t].Append(ByteView(scratch_.data() + t * chunk, step));
      written[t] = writers[t].written();
    }
    leaf_hashes.HashWritten(stored, written, /*last=*/false);
  }
  for (int t = 0; t < n; ++t) {
    written[t] = writers[t].Finish();
    if (written[t] != stored_len) return absl::InternalError("stored shard length mismatch");
  }
  leaf_hashes.HashWritten(stored, written, /*last=*/true);
  for (int t = 0; t < n; ++t) {
    GNR_ASSIGN_OR_RETURN(crypto::MerkleTree tree, crypto::MerkleTree::FromLeafHashes(
                                                      leaf_hashes.Take(t), params_.merkle_kind));
    ShardManifest& shard = out.manifest.shards[t];
    shard.generation = 0;
    shard.id = ComputeShardId(nonce_, index, static_cast<uint32_t>(t), 0);
    shard.stored_length = stored_len;
    shard.merkle_root = tree.root();
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> MemoryFileSource::ReadAt(uint64_t offset, MutableByteView out) {
  if (offset >= data_.size()) return 0;
  size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), data_.size() - offset));
  std::memcpy(out.data(), data_.data() + offset, n);
  return n;
}

absl::StatusOr<FileEncoder> FileEncoder::Create(const CodecParams& params, const FileKey& file_key,
                                                const FileNonce& nonce, uint64_t file_size) {
  if (file_size > kMaxFileSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("file size ", file_size, " exceeds the limit ", kMaxFileSize));
  }
  GNR_ASSIGN_OR_RETURN(SegmentEncoder encoder, SegmentEncoder::Create(params, file_key, nonce));
  if (SegmentCount(file_size, params.segment_size) > kMaxSegments) {
    return absl::InvalidArgumentError(absl::StrCat("a file of ", file_size,
                                                   " bytes needs more than ", kMaxSegments,
                                                   " segments; use a larger segment size"));
  }
  return FileEncoder(std::move(encoder), file_size);
}

absl::Status FileEncoder::Next(FileSource& source, EncodedSegment& out) {
  if (done()) return absl::FailedPreconditionError("all segments are already encoded");
  const uint64_t seg_size = encoder_.params().segment_size;
  const uint64_t len = SegmentPlaintextLength(file_size_, seg_size, next_);
  GNR_RETURN_IF_ERROR(encoder_.Encode(next_, len, source, out));
  segments_.push_back(out.manifest);
  ++next_;
  return absl::OkStatus();
}

absl::Status FileEncoder::Adopt(const SegmentManifest& segment) {
  if (done()) return absl::FailedPreconditionError("all segments are already encoded");
  const CodecParams& p = encoder_.params();
  const uint64_t len = SegmentPlaintextLength(file_size_, p.segment_size, next_);
  if (len != p.segment_size || segment.plaintext_length != len ||
      segment.shards.size() != static_cast<size_t>(p.total_shards())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segment ", next_, " cannot be adopted: it has ", segment.plaintext_length, " bytes in ",
        segment.shards.size(), " shards, the file needs ", len, " bytes in ", p.total_shards()));
  }
  segments_.push_back(segment);
  ++next_;
  return absl::OkStatus();
}

absl::StatusOr<FileManifest> FileEncoder::Finish() const {
  if (!done()) {
    return absl::FailedPreconditionError(absl::StrCat("file encoding not finished: ", next_, " of ",
                                                      segment_count_, " segments encoded"));
  }
  const CodecParams& p = encoder_.params();
  FileManifest m;
  m.version = kManifestVersion;
  m.file_size = file_size_;
  m.nonce = encoder_.nonce();
  m.data_shards = static_cast<uint32_t>(p.data_shards);
  m.parity_shards = static_cast<uint32_t>(p.parity_shards);
  m.segment_size = p.segment_size;
  m.leaf_size = p.leaf_size;
  m.merkle_kind = p.merkle_kind;
  m.group_size = p.group_size;
  m.segments = segments_;
  return m;
}

absl::StatusOr<FileManifest> EncodeFile(const CodecParams& params, const FileKey& file_key,
                                        const FileNonce& nonce, uint64_t file_size,
                                        FileSource& source, ShardSink& sink) {
  GNR_ASSIGN_OR_RETURN(FileEncoder encoder,
                       FileEncoder::Create(params, file_key, nonce, file_size));
  EncodedSegment segment;
  while (!encoder.done()) {
    GNR_RETURN_IF_ERROR(encoder.Next(source, segment));
    GNR_RETURN_IF_ERROR(sink.Put(segment));
  }
  return encoder.Finish();
}

}  // namespace gnr::codec
