#include "fs/codec/manifest.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "fs/codec/layout.h"

namespace gnr::codec {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'N', 'R', 'M'};

absl::Status CheckParams(const FileManifest& m) {
  if (m.version != kManifestVersion && m.version != kManifestVersionSentinelGenerations) {
    return absl::UnimplementedError(absl::StrCat("unsupported file manifest version ", m.version,
                                                 " (this build reads ", kManifestVersion, " and ",
                                                 kManifestVersionSentinelGenerations, ")"));
  }
  CodecParams p;
  p.segment_size = m.segment_size;
  p.data_shards = static_cast<int>(std::min<uint32_t>(m.data_shards, 1000));
  p.parity_shards = static_cast<int>(std::min<uint32_t>(m.parity_shards, 1000));
  p.leaf_size = m.leaf_size;
  p.merkle_kind = m.merkle_kind;
  p.group_size = m.group_size;
  p.target_groups = 1;
  p.min_groups = 1;
  GNR_RETURN_IF_ERROR(ValidateParams(p));
  if (m.file_size > kMaxFileSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("file size ", m.file_size, " exceeds the limit ", kMaxFileSize));
  }
  uint64_t count = SegmentCount(m.file_size, m.segment_size);
  if (count > kMaxSegments) {
    return absl::InvalidArgumentError(
        absl::StrCat("file of ", m.file_size, " bytes in segments of ", m.segment_size,
                     " bytes needs ", count, " segments, more than the limit ", kMaxSegments));
  }
  return absl::OkStatus();
}

absl::Status CheckSegment(const FileManifest& m, uint64_t index, const SegmentManifest& seg,
                          bool check_ids) {
  uint64_t expected_len = SegmentPlaintextLength(m.file_size, m.segment_size, index);
  if (seg.plaintext_length != expected_len) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", index, " has plaintext length ",
                                                   seg.plaintext_length, ", expected ",
                                                   expected_len));
  }
  uint64_t expected_shard = ShardLength(seg.plaintext_length, m.data_shards);
  if (seg.shard_length != expected_shard) {
    return absl::InvalidArgumentError(absl::StrCat(
        "segment ", index, " has shard length ", seg.shard_length, ", expected ", expected_shard));
  }
  if (seg.sentinel_count > kMaxSentinelsPerShard) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", index, " has ", seg.sentinel_count,
                                                   " sentinels per shard, more than the limit ",
                                                   kMaxSentinelsPerShard));
  }
  if (seg.shards.size() != m.total_shards()) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", index, " lists ", seg.shards.size(),
                                                   " shards, expected k+m = ", m.total_shards()));
  }
  const uint64_t stored = seg.shard_length + crypto::kSentinelSize * seg.sentinel_count;
  for (uint32_t i = 0; i < seg.shards.size(); ++i) {
    const ShardManifest& shard = seg.shards[i];
    if (shard.stored_length != stored) {
      return absl::InvalidArgumentError(absl::StrCat("segment ", index, " shard ", i,
                                                     " has stored length ", shard.stored_length,
                                                     ", expected ", stored));
    }
    if (shard.sentinel_generation != 0 && m.version < kManifestVersionSentinelGenerations) {
      return absl::InvalidArgumentError(absl::StrCat(
          "segment ", index, " shard ", i, " has sentinel generation ", shard.sentinel_generation,
          ", which a version ", m.version, " manifest cannot record"));
    }
    if (check_ids && shard.id != ComputeShardId(m.nonce, index, i, shard.generation)) {
      return absl::InvalidArgumentError(
          absl::StrCat("segment ", index, " shard ", i,
                       " has a shard id that does not match its nonce, "
                       "position and generation ",
                       shard.generation));
    }
  }
  return absl::OkStatus();
}

// Bounds-checked big-endian reader over untrusted bytes.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  size_t remaining() const { return in_.size() - pos_; }
  ByteView Take(size_t n) {
    ByteView v = in_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  uint8_t U8() { return Take(1)[0]; }
  uint16_t U16() {
    ByteView v = Take(2);
    return static_cast<uint16_t>((v[0] << 8) | v[1]);
  }
  uint32_t U32() { return GetBigEndian32(Take(4)); }
  uint64_t U64() { return GetBigEndian64(Take(8)); }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

void PutU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void PutU32(Bytes& out, uint32_t v) {
  uint8_t b[4];
  PutBigEndian32(v, b);
  out.insert(out.end(), b, b + 4);
}
void PutU64(Bytes& out, uint64_t v) {
  uint8_t b[8];
  PutBigEndian64(v, b);
  out.insert(out.end(), b, b + 8);
}

}  // namespace

absl::Status ValidateManifest(const FileManifest& m) {
  GNR_RETURN_IF_ERROR(CheckParams(m));
  uint64_t count = SegmentCount(m.file_size, m.segment_size);
  if (m.segments.size() != count) {
    return absl::InvalidArgumentError(absl::StrCat("manifest lists ", m.segments.size(),
                                                   " segments, a file of ", m.file_size,
                                                   " bytes has ", count));
  }
  for (uint64_t i = 0; i < count; ++i) {
    GNR_RETURN_IF_ERROR(CheckSegment(m, i, m.segments[i], /*check_ids=*/true));
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> EncodeFileManifest(const FileManifest& m) {
  GNR_RETURN_IF_ERROR(ValidateManifest(m));
  Bytes out;
  const bool v2 = m.version >= kManifestVersionSentinelGenerations;
  const size_t shard_record = v2 ? kShardRecordSizeV2 : kShardRecordSize;
  out.reserve(kManifestHeaderSize +
              m.segments.size() * (kSegmentRecordHeaderSize + shard_record * m.total_shards()));
  out.insert(out.end(), kMagic, kMagic + 4);
  out.push_back(m.version);
  out.push_back(static_cast<uint8_t>(m.merkle_kind));
  out.push_back(static_cast<uint8_t>(m.data_shards));
  out.push_back(static_cast<uint8_t>(m.parity_shards));
  PutU16(out, static_cast<uint16_t>(m.group_size));
  PutU16(out, 0);  // reserved
  PutU32(out, m.segment_size);
  PutU32(out, m.leaf_size);
  PutU32(out, static_cast<uint32_t>(m.segments.size()));
  PutU64(out, m.file_size);
  Append(out, m.nonce);
  for (const SegmentManifest& seg : m.segments) {
    PutU32(out, static_cast<uint32_t>(seg.plaintext_length));
    PutU32(out, static_cast<uint32_t>(seg.shard_length));
    PutU32(out, static_cast<uint32_t>(seg.sentinel_count));
    for (const ShardManifest& shard : seg.shards) {
      PutU32(out, shard.generation);
      if (v2) PutU32(out, shard.sentinel_generation);
      Append(out, shard.id);
      PutU64(out, shard.stored_length);
      Append(out, shard.merkle_root);
    }
  }
  return out;
}

absl::StatusOr<FileManifest> DecodeFileManifest(ByteView bytes) {
  if (bytes.size() < 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("file manifest truncated: ", bytes.size(), " bytes"));
  }
  Reader r(bytes);
  if (std::memcmp(r.Take(4).data(), kMagic, 4) != 0) {
    return absl::InvalidArgumentError("not a file manifest (bad magic)");
  }
  FileManifest m;
  m.version = r.U8();
  if (m.version != kManifestVersion && m.version != kManifestVersionSentinelGenerations) {
    return absl::UnimplementedError(absl::StrCat("unsupported file manifest version ", m.version,
                                                 " (this build reads ", kManifestVersion, " and ",
                                                 kManifestVersionSentinelGenerations, ")"));
  }
  const bool v2 = m.version == kManifestVersionSentinelGenerations;
  if (bytes.size() < kManifestHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("file manifest header truncated: ", bytes.size(),
                                                   " of ", kManifestHeaderSize, " bytes"));
  }
  m.merkle_kind = static_cast<crypto::MerkleHashKind>(r.U8());
  m.data_shards = r.U8();
  m.parity_shards = r.U8();
  m.group_size = r.U16();
  if (uint16_t reserved = r.U16(); reserved != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("file manifest reserved field is ", reserved, ", must be 0"));
  }
  m.segment_size = r.U32();
  m.leaf_size = r.U32();
  uint32_t segment_count = r.U32();
  m.file_size = r.U64();
  std::memcpy(m.nonce.data(), r.Take(32).data(), 32);
  GNR_RETURN_IF_ERROR(CheckParams(m));

  uint64_t expected_count = SegmentCount(m.file_size, m.segment_size);
  if (segment_count != expected_count) {
    return absl::InvalidArgumentError(absl::StrCat("manifest lists ", segment_count,
                                                   " segments, a file of ", m.file_size,
                                                   " bytes has ", expected_count));
  }
  const uint64_t record = kSegmentRecordHeaderSize +
                          uint64_t{v2 ? kShardRecordSizeV2 : kShardRecordSize} * m.total_shards();
  const uint64_t body = record * segment_count;  // <= 2^24 * 3852: no overflow
  if (r.remaining() != body) {
    return absl::InvalidArgumentError(
        absl::StrCat("file manifest body is ", r.remaining(), " bytes, expected ", body, " for ",
                     segment_count, " segments of ", m.total_shards(), " shards"));
  }
  m.segments.resize(segment_count);
  for (uint32_t i = 0; i < segment_count; ++i) {
    SegmentManifest& seg = m.segments[i];
    seg.plaintext_length = r.U32();
    seg.shard_length = r.U32();
    seg.sentinel_count = r.U32();
    seg.shards.resize(m.total_shards());
    for (ShardManifest& shard : seg.shards) {
      shard.generation = r.U32();
      if (v2) shard.sentinel_generation = r.U32();
      std::memcpy(shard.id.data(), r.Take(32).data(), 32);
      shard.stored_length = r.U64();
      std::memcpy(shard.merkle_root.data(), r.Take(32).data(), 32);
    }
    GNR_RETURN_IF_ERROR(CheckSegment(m, i, seg, /*check_ids=*/true));
  }
  return m;
}

}  // namespace gnr::codec
