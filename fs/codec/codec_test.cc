// End-to-end properties of the codec: encode a file into shards, lose and corrupt shards,
// read random ranges back. The answer is always the exact original bytes, or DataLoss naming
// the segment when more than m shards of it are bad — never wrong bytes.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "crypto/aes.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "crypto/reed_solomon.h"
#include "fs/codec/decoder.h"
#include "fs/codec/encoder.h"
#include "fs/codec/keys.h"
#include "fs/codec/manifest.h"
#include "fs/codec/memory_shard_store.h"
#include "fs/codec/params.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::codec {
namespace {

#ifdef GNR_CODEC_TEST_SANITIZE
constexpr uint64_t kLargeFileSize = 24 * kMiB;  // ASan/UBSan are ~10x slower
#else
constexpr uint64_t kLargeFileSize = 200 * kMiB;
#endif

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes out(n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<uint8_t>(rng());
  return out;
}

class StoreSink final : public ShardSink {
 public:
  explicit StoreSink(MemoryShardStore& store) : store_(store) {}
  absl::Status Put(const EncodedSegment& segment) override {
    max_segment_bytes_ = std::max<uint64_t>(max_segment_bytes_, segment.manifest.plaintext_length);
    return store_.PutSegment(segment);
  }
  uint64_t max_segment_bytes_ = 0;

 private:
  MemoryShardStore& store_;
};

enum class Fault {
  kMissing,      // the farmer is gone
  kFlipBit,      // one bit of the returned leaves flipped
  kTruncate,     // the reply lacks its last bytes
  kSwap,         // the farmer answers with another shard's bytes and proof
  kBadProof,     // the proof is tampered with
  kWrongLeaves,  // the reply covers other leaves than asked
  kStoredRot,    // the farmer's copy rotted on disk (its own tree is consistent with the rot)
};
constexpr int kFaultKinds = 7;

const char* FaultName(Fault f) {
  switch (f) {
    case Fault::kMissing:
      return "missing";
    case Fault::kFlipBit:
      return "flip";
    case Fault::kTruncate:
      return "truncate";
    case Fault::kSwap:
      return "swap";
    case Fault::kBadProof:
      return "badproof";
    case Fault::kWrongLeaves:
      return "wrongleaves";
    case Fault::kStoredRot:
      return "rot";
  }
  return "?";
}

// Wraps a store and damages the replies of chosen shards.
class FaultySource final : public ShardSource {
 public:
  FaultySource(MemoryShardStore& store, const FileManifest& manifest, uint64_t seed)
      : store_(store), manifest_(manifest), rng_(seed) {}

  void SetFault(uint64_t segment, uint32_t shard, Fault f) { faults_[{segment, shard}] = f; }
  void Clear() { faults_.clear(); }

  std::vector<absl::StatusOr<StoredRangeReply>> Fetch(
      std::span<const StoredRangeRequest> requests) override {
    std::vector<absl::StatusOr<StoredRangeReply>> out;
    for (const StoredRangeRequest& original : requests) {
      ++fetches_;
      StoredRangeRequest req = original;
      auto it = faults_.find({req.segment, req.shard_index});
      std::optional<Fault> fault;
      if (it != faults_.end()) fault = it->second;
      if (fault == Fault::kMissing) {
        out.push_back(absl::UnavailableError("farmer gone"));
        continue;
      }
      if (fault == Fault::kSwap) {
        // Another shard of the same segment (or of the next one), same leaf range if possible.
        const SegmentManifest& seg = manifest_.segments[req.segment];
        uint32_t other = (req.shard_index + 1 + rng_() % (seg.shards.size() - 1)) %
                         static_cast<uint32_t>(seg.shards.size());
        if (seg.shards.size() == 1) other = req.shard_index;
        req.shard_id = seg.shards[other].id;
        if (req.shard_index == other && req.segment + 1 < manifest_.segments.size()) {
          req.shard_id = manifest_.segments[req.segment + 1].shards[0].id;
        }
      }
      if (fault == Fault::kWrongLeaves && req.leaves.begin > 0) {
        req.leaves.begin -= 1;
        req.leaves.end -= 1;
      } else if (fault == Fault::kWrongLeaves) {
        req.leaves.end += 1;  // may be out of range: then the store itself errs
      }
      if (fault == Fault::kStoredRot) {
        auto rotted = rotted_.find(req.shard_id);
        if (rotted == rotted_.end()) {
          absl::StatusOr<Bytes> bytes = store_.Get(req.shard_id);
          if (bytes.ok()) {
            Bytes b = *bytes;
            b[rng_() % b.size()] ^= 0x10;
            rotted = rotted_
                         .emplace(req.shard_id, std::make_unique<MemoryShardStore>(
                                                    manifest_.leaf_size, manifest_.merkle_kind))
                         .first;
            EXPECT_OK(rotted->second->Put(req.shard_id, std::move(b)));
          }
        }
        if (rotted != rotted_.end()) {
          out.push_back(std::move(rotted->second->Fetch(std::span(&req, 1))[0]));
          continue;
        }
      }
      absl::StatusOr<StoredRangeReply> reply = std::move(store_.Fetch(std::span(&req, 1))[0]);
      if (reply.ok() && fault.has_value()) {
        switch (*fault) {
          case Fault::kFlipBit:
            if (!reply->leaves.empty()) {
              reply->leaves[rng_() % reply->leaves.size()] ^=
                  static_cast<uint8_t>(1u << (rng_() % 8));
            }
            break;
          case Fault::kTruncate:
            reply->leaves.resize(reply->leaves.size() - 1 -
                                 rng_() % std::max<size_t>(1, reply->leaves.size() / 2));
            break;
          case Fault::kBadProof:
            if (!reply->proof.nodes.empty()) {
              reply->proof.nodes[rng_() % reply->proof.nodes.size()][rng_() % 32] ^= 1;
            } else {
              reply->proof.total_leaves += 1;
            }
            break;
          default:
            break;
        }
      }
      out.push_back(std::move(reply));
    }
    return out;
  }

  uint64_t fetches_ = 0;

 private:
  MemoryShardStore& store_;
  const FileManifest& manifest_;
  std::mt19937_64 rng_;
  std::map<std::pair<uint64_t, uint32_t>, Fault> faults_;
  std::map<ShardId, std::unique_ptr<MemoryShardStore>> rotted_;
};

struct Encoded {
  FileManifest manifest;
  std::unique_ptr<MemoryShardStore> store;
};

Encoded EncodeToStore(const CodecParams& params, const FileKey& key, const FileNonce& nonce,
                      ByteView data) {
  Encoded e;
  e.store = std::make_unique<MemoryShardStore>(params.leaf_size, params.merkle_kind);
  StoreSink sink(*e.store);
  MemoryFileSource source(data);
  absl::StatusOr<FileManifest> m = EncodeFile(params, key, nonce, data.size(), source, sink);
  EXPECT_OK(m);
  if (m.ok()) e.manifest = *std::move(m);
  EXPECT_LE(sink.max_segment_bytes_, params.segment_size);
  return e;
}

FileKey TestKey(uint64_t seed) {
  crypto::DeterministicRandom r(seed);
  return r.Generate<32>();
}

// --- Structure of one encoded segment --------------------------------------------------

// Encodes `plain` as segment `index` and checks every stored shard against a reference
// built step by step: CTR at the segment's file offset, zero-pad, split, RS, sentinels
// inserted by WriteStoredShard (whose layout SentinelMap.MatchesByteModel checks), each
// sentinel equal to crypto::SentinelValue at its offset, and the Merkle root of the whole.
void CheckAgainstReference(const CodecParams& p, const Bytes& plain, uint64_t index) {
  const int k = p.data_shards, n = p.total_shards();
  SCOPED_TRACE(::testing::Message() << k << "+" << p.parity_shards << ", " << plain.size()
                                    << " bytes, segment " << index);
  const FileKey key = TestKey(1);
  const FileNonce nonce = TestKey(2);
  ASSERT_OK_AND_ASSIGN(SegmentEncoder enc, SegmentEncoder::Create(p, key, nonce));
  ASSERT_OK_AND_ASSIGN(EncodedSegment seg, enc.Encode(index, plain));
  const uint64_t S = ShardLength(plain.size(), k);
  EXPECT_EQ(seg.manifest.shard_length, S);
  EXPECT_EQ(seg.manifest.sentinel_count, SentinelCount(p, S));
  ASSERT_EQ(seg.shards.size(), static_cast<size_t>(n));

  FileSecrets sec = DeriveFileSecrets(key);
  ASSERT_OK_AND_ASSIGN(Bytes cipher, crypto::AesCtrApply(sec.data_key, sec.data_iv,
                                                         index * uint64_t{p.segment_size}, plain));
  cipher.resize(k * S, 0);
  std::vector<Bytes> shards(n, Bytes(S));
  for (int i = 0; i < k; ++i) std::copy_n(cipher.begin() + i * S, S, shards[i].begin());
  ASSERT_OK_AND_ASSIGN(crypto::ReedSolomon rs, crypto::ReedSolomon::Create(k, p.parity_shards));
  std::vector<ByteView> dv(shards.begin(), shards.begin() + k);
  std::vector<MutableByteView> pv(shards.begin() + k, shards.end());
  ASSERT_OK(rs.Encode(dv, pv));

  for (uint32_t t = 0; t < static_cast<uint32_t>(n); ++t) {
    crypto::SentinelKey sk = DeriveSentinelKey(key, index, t);
    ASSERT_OK_AND_ASSIGN(SentinelMap map, SentinelMap::Create(sk, S, seg.manifest.sentinel_count));
    Bytes expected(map.stored_length());
    ASSERT_OK(WriteStoredShard(sk, map, shards[t], expected));
    EXPECT_EQ(seg.shards[t], expected) << "shard " << t;
    for (uint64_t j = 0; j < map.sentinel_count(); ++j) {
      const crypto::Hash256 v = crypto::SentinelValue(sk, j);
      ASSERT_TRUE(std::equal(v.begin(), v.end(), seg.shards[t].begin() + map.SentinelOffset(j)))
          << "shard " << t << " sentinel " << j;
    }
    ASSERT_OK_AND_ASSIGN(crypto::MerkleTree tree, crypto::MerkleTree::Build(expected, p.leaf_size));
    EXPECT_EQ(seg.manifest.shards[t].merkle_root, tree.root());
    EXPECT_EQ(seg.manifest.shards[t].id, ComputeShardId(nonce, index, t, 0));
    EXPECT_EQ(seg.manifest.shards[t].stored_length, expected.size());
  }
  // Reusing the output buffers gives the same result.
  EncodedSegment again = seg;
  ASSERT_OK(enc.Encode(index, plain, again));
  EXPECT_EQ(again.shards, seg.shards);
  EXPECT_EQ(again.manifest, seg.manifest);
}

TEST(Encoder, StoredShardsAreCiphertextPlusParityPlusSentinels) {
  CodecParams p;
  p.segment_size = 64 * 1024;
  p.data_shards = 3;
  p.parity_shards = 2;
  p.leaf_size = 1024;
  std::mt19937_64 rng(3);
  CheckAgainstReference(p, RandomBytes(rng, 50001), 5);  // not a multiple of k: padded
  ASSERT_OK_AND_ASSIGN(SegmentEncoder enc, SegmentEncoder::Create(p, TestKey(1), TestKey(2)));
  EXPECT_STATUS(enc.Encode(0, Bytes(p.segment_size + 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(enc.Encode(0, Bytes()), absl::StatusCode::kInvalidArgument);
}

// Shards longer than the encoder's internal chunk (tens of KiB), so chunk boundaries,
// sentinels at and across them, batches of sentinel values and Merkle leaves spanning
// chunks all occur; small leaves put leaf boundaries everywhere.
TEST(Encoder, MultiChunkSegmentsMatchTheReference) {
  std::mt19937_64 rng(4);
  struct Case {
    int k, m;
    uint32_t segment_size, leaf_size;
    size_t plain_size;
  };
  for (const Case& c :
       {Case{3, 2, 1 << 20, 1024, (1 << 20) - 7}, Case{10, 4, 4 << 20, 65536, 4 << 20},
        Case{4, 2, 2 << 20, 4096, 1500001}, Case{1, 1, 1 << 20, 64, 300000}}) {
    CodecParams p;
    p.segment_size = c.segment_size;
    p.data_shards = c.k;
    p.parity_shards = c.m;
    p.leaf_size = c.leaf_size;
    CheckAgainstReference(p, RandomBytes(rng, c.plain_size), 2);
  }
}

// A source that returns short reads, and one that ends early.
class ChoppySource final : public FileSource {
 public:
  ChoppySource(ByteView data, uint64_t cut) : data_(data), cut_(cut) {}
  absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) override {
    max_request_ = std::max<uint64_t>(max_request_, out.size());
    uint64_t end = std::min<uint64_t>(cut_, data_.size());
    if (offset >= end) return 0;
    size_t n = std::min<size_t>({out.size(), static_cast<size_t>(end - offset), 777});
    std::memcpy(out.data(), data_.data() + offset, n);
    return n;
  }
  uint64_t max_request_ = 0;

 private:
  ByteView data_;
  uint64_t cut_;
};

TEST(Encoder, FileEncoderReadsSegmentBySegment) {
  CodecParams p;
  p.segment_size = 8192;
  p.leaf_size = 512;
  std::mt19937_64 rng(4);
  const Bytes data = RandomBytes(rng, 30000);
  ChoppySource source(data, data.size());
  ASSERT_OK_AND_ASSIGN(FileEncoder enc,
                       FileEncoder::Create(p, TestKey(1), TestKey(2), data.size()));
  EXPECT_EQ(enc.segment_count(), 4u);
  EXPECT_STATUS(enc.Finish(), absl::StatusCode::kFailedPrecondition);
  EncodedSegment seg;
  while (!enc.done()) ASSERT_OK(enc.Next(source, seg));
  EXPECT_LE(source.max_request_, p.segment_size);  // memory bounded by one segment
  EXPECT_STATUS(enc.Next(source, seg), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(FileManifest m, enc.Finish());
  EXPECT_OK(ValidateManifest(m));
  EXPECT_EQ(m.segments.size(), 4u);
  EXPECT_EQ(m.segments[3].plaintext_length, 30000u - 3 * 8192);

  ChoppySource short_source(data, 20000);
  ASSERT_OK_AND_ASSIGN(FileEncoder enc2,
                       FileEncoder::Create(p, TestKey(1), TestKey(2), data.size()));
  absl::Status s;
  while (!enc2.done() && (s = enc2.Next(short_source, seg)).ok()) {
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

// Encoding from a file gives the same shards as encoding from a buffer, reading it in pieces
// of the encoder's steps (never a whole segment: the segment is not copied whole).
TEST(Encoder, EncodingFromAFileEqualsEncodingFromABuffer) {
  CodecParams p;
  p.segment_size = 4 << 20;
  p.data_shards = 4;
  p.parity_shards = 2;
  std::mt19937_64 rng(9);
  const Bytes data = RandomBytes(rng, p.segment_size + 1234567);
  ASSERT_OK_AND_ASSIGN(SegmentEncoder enc, SegmentEncoder::Create(p, TestKey(1), TestKey(2)));
  for (uint64_t index : {0, 1}) {
    const uint64_t len = index == 0 ? p.segment_size : data.size() - p.segment_size;
    ASSERT_OK_AND_ASSIGN(EncodedSegment from_buffer,
                         enc.Encode(index, ByteView(data).subspan(index * p.segment_size, len)));
    ChoppySource file(data, data.size());
    EncodedSegment from_file;
    ASSERT_OK(enc.Encode(index, len, file, from_file));
    EXPECT_EQ(from_file.manifest, from_buffer.manifest) << index;
    EXPECT_EQ(from_file.shards, from_buffer.shards) << index;
    EXPECT_LE(file.max_request_, 128u << 10) << index;
  }
  ChoppySource cut(data, p.segment_size - 1);
  EncodedSegment seg;
  EXPECT_STATUS(enc.Encode(0, p.segment_size, cut, seg), absl::StatusCode::kDataLoss);
}

TEST(Encoder, AdoptedSegmentsGiveTheSameManifest) {
  CodecParams p;
  p.segment_size = 8192;
  p.leaf_size = 512;
  std::mt19937_64 rng(5);
  const Bytes data = RandomBytes(rng, 30000);
  ChoppySource source(data, data.size());
  ASSERT_OK_AND_ASSIGN(FileEncoder whole,
                       FileEncoder::Create(p, TestKey(1), TestKey(2), data.size()));
  EncodedSegment seg;
  while (!whole.done()) ASSERT_OK(whole.Next(source, seg));
  ASSERT_OK_AND_ASSIGN(FileManifest expected, whole.Finish());

  // Segments 0 and 1 encoded on their own (as while the file was being written).
  ASSERT_OK_AND_ASSIGN(SegmentEncoder early, SegmentEncoder::Create(p, TestKey(1), TestKey(2)));
  ASSERT_OK_AND_ASSIGN(FileEncoder enc,
                       FileEncoder::Create(p, TestKey(1), TestKey(2), data.size()));
  for (uint64_t i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(EncodedSegment e, early.Encode(i, ByteView(data).subspan(i * 8192, 8192)));
    ASSERT_OK(enc.Adopt(e.manifest));
  }
  while (!enc.done()) ASSERT_OK(enc.Next(source, seg));
  ASSERT_OK_AND_ASSIGN(FileManifest m, enc.Finish());
  EXPECT_EQ(m, expected);
  EXPECT_STATUS(enc.Adopt(expected.segments[0]), absl::StatusCode::kFailedPrecondition);

  // Only full segments: the last one (short) must be encoded from the file.
  ASSERT_OK_AND_ASSIGN(FileEncoder enc2,
                       FileEncoder::Create(p, TestKey(1), TestKey(2), data.size()));
  for (int i = 0; i < 3; ++i) ASSERT_OK(enc2.Adopt(expected.segments[i]));
  EXPECT_STATUS(enc2.Adopt(expected.segments[2]), absl::StatusCode::kInvalidArgument);
}

TEST(Encoder, EmptyFileHasNoSegments) {
  CodecParams p;
  MemoryShardStore store;
  StoreSink sink(store);
  MemoryFileSource source({});
  ASSERT_OK_AND_ASSIGN(FileManifest m, EncodeFile(p, TestKey(1), TestKey(2), 0, source, sink));
  EXPECT_TRUE(m.segments.empty());
  EXPECT_EQ(store.size(), 0u);
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadRange(m, TestKey(1), 0, 0, store));
  EXPECT_TRUE(got.empty());
  EXPECT_STATUS(ReadRange(m, TestKey(1), 0, 1, store), absl::StatusCode::kOutOfRange);
}

// --- Decoding --------------------------------------------------------------------------

TEST(Decoder, HealthyReadsTouchOnlyTheDataShardsOfTheRange) {
  CodecParams p;
  p.segment_size = 64 * 1024;
  p.leaf_size = 1024;
  std::mt19937_64 rng(5);
  const Bytes data = RandomBytes(rng, 200000);
  const FileKey key = TestKey(1);
  Encoded e = EncodeToStore(p, key, TestKey(2), data);
  ASSERT_OK_AND_ASSIGN(auto reader, FileReader::Create(e.manifest, key));
  // [70000, 70100): segment 1, local [4464, 4564), S = 16384 -> shard 0 only.
  ReadReport report;
  ASSERT_OK_AND_ASSIGN(Bytes got, reader->Read(70000, 100, *e.store, &report));
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin() + 70000));
  EXPECT_EQ(report.requests, 1u);
  EXPECT_EQ(report.reconstructions, 0u);
  EXPECT_LE(report.fetched_bytes, 2 * 1024u);  // one or two 1 KiB leaves, not the shard
  // Whole file.
  report = {};
  ASSERT_OK_AND_ASSIGN(got, reader->Read(0, data.size(), *e.store, &report));
  EXPECT_EQ(got, data);
  EXPECT_EQ(report.requests, 4u * 4);  // 4 segments x 4 data shards, no parity
  EXPECT_EQ(report.reconstructions, 0u);
  EXPECT_TRUE(report.failures.empty());
  // Bounds.
  EXPECT_STATUS(reader->Read(199999, 2, *e.store), absl::StatusCode::kOutOfRange);
  EXPECT_STATUS(reader->Read(~uint64_t{0}, 2, *e.store), absl::StatusCode::kOutOfRange);
  ASSERT_OK_AND_ASSIGN(got, reader->Read(200000, 0, *e.store));
  EXPECT_TRUE(got.empty());
  EXPECT_STATUS(ReadRange(e.manifest, key, 5, 4, *e.store), absl::StatusCode::kInvalidArgument);
}

TEST(Decoder, WrongKeyGivesWrongPlaintextButVerifiedShards) {
  // The Merkle roots protect the ciphertext; the key is the caller's business. This test
  // pins down that a wrong key is not silently "repaired" into an error either.
  CodecParams p;
  p.segment_size = 8192;
  p.leaf_size = 256;
  std::mt19937_64 rng(6);
  const Bytes data = RandomBytes(rng, 10000);
  Encoded e = EncodeToStore(p, TestKey(1), TestKey(2), data);
  // With the wrong key the sentinel positions differ, so stored ranges are misread: the
  // reader must not crash; it returns bytes (garbage) or an error.
  absl::StatusOr<Bytes> got = ReadRange(e.manifest, TestKey(9), 0, data.size(), *e.store);
  if (got.ok()) {
    EXPECT_NE(*got, data);
  }
}

TEST(Decoder, EachFaultKindIsDetectedAndRepaired) {
  CodecParams p;
  p.segment_size = 16384;
  p.data_shards = 4;
  p.parity_shards = 2;
  p.leaf_size = 256;
  std::mt19937_64 rng(7);
  const Bytes data = RandomBytes(rng, 40000);
  const FileKey key = TestKey(3);
  Encoded e = EncodeToStore(p, key, TestKey(4), data);
  for (int f = 0; f < kFaultKinds; ++f) {
    for (uint32_t shard = 0; shard < 6; ++shard) {
      FaultySource source(*e.store, e.manifest, f * 10 + shard);
      source.SetFault(1, shard, static_cast<Fault>(f));
      ReadReport report;
      absl::StatusOr<Bytes> got = ReadRange(e.manifest, key, 0, data.size(), source, &report);
      ASSERT_OK(got);
      EXPECT_EQ(*got, data) << FaultName(static_cast<Fault>(f)) << " on shard " << shard;
      if (shard < 4) {
        ASSERT_EQ(report.failures.size(), 1u) << FaultName(static_cast<Fault>(f));
        EXPECT_EQ(report.failures[0].segment, 1u);
        EXPECT_EQ(report.failures[0].shard_index, shard);
        EXPECT_EQ(report.reconstructions, 1u);
      } else {
        EXPECT_TRUE(report.failures.empty());  // parity is never read when data is fine
      }
    }
  }
}

TEST(Decoder, MoreThanMBadShardsIsDataLossNamingTheSegment) {
  CodecParams p;
  p.segment_size = 8192;
  p.data_shards = 3;
  p.parity_shards = 2;
  p.leaf_size = 512;
  std::mt19937_64 rng(8);
  const Bytes data = RandomBytes(rng, 30000);
  const FileKey key = TestKey(5);
  Encoded e = EncodeToStore(p, key, TestKey(6), data);
  FaultySource source(*e.store, e.manifest, 1);
  source.SetFault(2, 0, Fault::kFlipBit);
  source.SetFault(2, 3, Fault::kMissing);
  source.SetFault(2, 4, Fault::kSwap);
  ReadReport report;
  absl::StatusOr<Bytes> got = ReadRange(e.manifest, key, 0, data.size(), source, &report);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  const std::string msg(got.status().message());
  EXPECT_NE(msg.find("segment 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shard 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shard 4"), std::string::npos) << msg;
  EXPECT_EQ(report.failures.size(), 3u);
  // Other segments still read fine, and so does a range of segment 2 on a healthy shard.
  ASSERT_OK_AND_ASSIGN(Bytes ok_part, ReadRange(e.manifest, key, 0, 16384, source));
  EXPECT_TRUE(std::equal(ok_part.begin(), ok_part.end(), data.begin()));
  const uint64_t S = e.manifest.segments[2].shard_length;
  ASSERT_OK_AND_ASSIGN(ok_part, ReadRange(e.manifest, key, 16384 + S, 16384 + S + 10, source));
  EXPECT_TRUE(std::equal(ok_part.begin(), ok_part.end(), data.begin() + 16384 + S));
}

TEST(Decoder, RebuildShardRecreatesTheExactStoredShard) {
  CodecParams p;
  p.segment_size = 16384;
  p.data_shards = 3;
  p.parity_shards = 2;
  p.leaf_size = 512;
  std::mt19937_64 rng(9);
  const Bytes data = RandomBytes(rng, 40000);
  const FileKey key = TestKey(7);
  Encoded e = EncodeToStore(p, key, TestKey(8), data);
  ASSERT_OK_AND_ASSIGN(auto reader, FileReader::Create(e.manifest, key));
  for (uint64_t seg = 0; seg < e.manifest.segments.size(); ++seg) {
    for (uint32_t t = 0; t < 5; ++t) {
      const ShardId id = e.manifest.segments[seg].shards[t].id;
      ASSERT_OK_AND_ASSIGN(Bytes original, e.store->Get(id));
      // The shard itself is rotten and one other shard is missing: still rebuildable.
      FaultySource source(*e.store, e.manifest, t);
      source.SetFault(seg, t, Fault::kFlipBit);
      source.SetFault(seg, (t + 1) % 5, Fault::kMissing);
      ReadReport report;
      ASSERT_OK_AND_ASSIGN(Bytes rebuilt, reader->RebuildShard(seg, t, source, &report));
      EXPECT_EQ(rebuilt, original) << "segment " << seg << " shard " << t;
      EXPECT_LE(report.failures.size(), 1u);  // the missing one, if it was asked
      for (const auto& f : report.failures) EXPECT_NE(f.shard_index, t);  // target never read
      // Two other shards bad as well: only 2 of the 3 needed remain.
      source.SetFault(seg, (t + 2) % 5, Fault::kSwap);
      EXPECT_STATUS(reader->RebuildShard(seg, t, source), absl::StatusCode::kDataLoss);
    }
  }
  // With the wrong key the result cannot match the root.
  ASSERT_OK_AND_ASSIGN(auto wrong, FileReader::Create(e.manifest, TestKey(70)));
  EXPECT_STATUS(wrong->RebuildShard(0, 0, *e.store), absl::StatusCode::kDataLoss);
  EXPECT_STATUS(reader->RebuildShard(0, 5, *e.store), absl::StatusCode::kInvalidArgument);
}

// The main property test.
struct PropertyCase {
  CodecParams params;
  uint64_t size;
};

void RunProperty(const PropertyCase& c, uint64_t seed, int ranges, int* data_loss_seen,
                 int* repaired_seen) {
  std::mt19937_64 rng(seed);
  const Bytes data = RandomBytes(rng, c.size);
  const FileKey key = TestKey(seed);
  const FileNonce nonce = TestKey(seed + 1);
  Encoded e = EncodeToStore(c.params, key, nonce, data);
  ASSERT_EQ(e.manifest.file_size, c.size);
  // The manifest survives its encoding.
  ASSERT_OK_AND_ASSIGN(Bytes encoded, EncodeFileManifest(e.manifest));
  ASSERT_OK_AND_ASSIGN(FileManifest decoded, DecodeFileManifest(encoded));
  ASSERT_EQ(decoded, e.manifest);
  ASSERT_OK_AND_ASSIGN(auto reader, FileReader::Create(decoded, key));

  const uint32_t m = e.manifest.parity_shards;
  const uint32_t n = e.manifest.total_shards();
  for (int r = 0; r < ranges; ++r) {
    uint64_t a = c.size == 0 ? 0 : rng() % (c.size + 1);
    uint64_t len;
    switch (rng() % 4) {
      case 0:
        len = rng() % 64;
        break;
      case 1:
        len = rng() % (4 * c.params.segment_size + 1);
        break;
      case 2:
        len = c.size - a;
        break;
      default:
        len = rng() % (c.params.leaf_size * 3 + 1);
        break;
    }
    len = std::min(len, c.size - a);
    FaultySource source(*e.store, e.manifest, rng());
    // Damage a random number of shards in each touched segment: usually <= m.
    std::map<uint64_t, uint32_t> bad_per_segment;
    for (const SegmentSlice& s : SplitFileRange(c.size, c.params.segment_size, {a, a + len})) {
      uint32_t bad = static_cast<uint32_t>(rng() % (m + 1));
      if (rng() % 8 == 0) bad = m + 1 + static_cast<uint32_t>(rng() % 2);
      bad = std::min(bad, n);
      std::vector<uint32_t> idx(n);
      for (uint32_t i = 0; i < n; ++i) idx[i] = i;
      std::shuffle(idx.begin(), idx.end(), rng);
      for (uint32_t i = 0; i < bad; ++i) {
        source.SetFault(s.segment, idx[i], static_cast<Fault>(rng() % kFaultKinds));
      }
      bad_per_segment[s.segment] = bad;
    }
    ReadReport report;
    absl::StatusOr<Bytes> got = reader->Read(a, len, source, &report);
    bool must_succeed = true;
    for (auto [seg, bad] : bad_per_segment) must_succeed &= bad <= m;
    if (got.ok()) {
      // Never wrong bytes.
      ASSERT_EQ(got->size(), len);
      ASSERT_TRUE(std::equal(got->begin(), got->end(), data.begin() + a))
          << "WRONG BYTES: size " << c.size << " range [" << a << ", +" << len << ")";
      if (report.reconstructions > 0) ++*repaired_seen;
    } else {
      ASSERT_FALSE(must_succeed) << got.status() << " size " << c.size << " range [" << a << ", +"
                                 << len << ")";
      ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
      EXPECT_NE(std::string(got.status().message()).find("segment "), std::string::npos);
      ++*data_loss_seen;
    }
  }
}

TEST(CodecProperty, RandomFilesRangesLossesAndCorruption) {
  std::mt19937_64 rng(20261121);
  int data_loss = 0, repaired = 0, cases = 0;
  const uint32_t segment_sizes[] = {4096, 8192, 65536, 262144, 1048576};
  const uint32_t leaf_sizes[] = {64, 256, 1024, 4096, 65536};
  for (int iter = 0; iter < 120; ++iter) {
    PropertyCase c;
    c.params.segment_size = segment_sizes[rng() % 5];
    c.params.leaf_size = leaf_sizes[rng() % 5];
    c.params.data_shards = 1 + static_cast<int>(rng() % 8);
    c.params.parity_shards = 1 + static_cast<int>(rng() % 4);
    if (iter % 10 == 0) {
      c.params.data_shards = 10;
      c.params.parity_shards = 4;
    }
    c.params.group_size = 1 + static_cast<uint32_t>(rng() % 8);
    c.params.min_groups = 1 + static_cast<uint32_t>(rng() % 16);
    // Sizes: log-uniform up to ~4 MiB, with exact edge cases mixed in.
    switch (rng() % 6) {
      case 0:
        c.size = rng() % 16;
        break;
      case 1:
        c.size = c.params.segment_size * (1 + rng() % 3) + (rng() % 3) - 1;
        break;
      default:
        c.size = static_cast<uint64_t>(std::exp2(static_cast<double>(rng() % 2200) / 100.0));
        break;
    }
    SCOPED_TRACE(::testing::Message()
                 << "iter " << iter << " size " << c.size << " seg " << c.params.segment_size
                 << " leaf " << c.params.leaf_size << " k " << c.params.data_shards << " m "
                 << c.params.parity_shards);
    RunProperty(c, rng(), 12, &data_loss, &repaired);
    if (HasFatalFailure()) return;
    ++cases;
  }
  std::printf("%d files, %d reads rebuilt with RS, %d reads refused with DataLoss\n", cases,
              repaired, data_loss);
  EXPECT_GT(repaired, 100);
  EXPECT_GT(data_loss, 10);
}

TEST(CodecProperty, LargeFileAtDefaults) {
  PropertyCase c;  // 64 MiB segments, 4+2, 64 KiB leaves
  c.size = kLargeFileSize + 12345;
  int data_loss = 0, repaired = 0;
  RunProperty(c, 99, 16, &data_loss, &repaired);
  std::printf("large file of %llu bytes: %d reads rebuilt, %d refused\n",
              static_cast<unsigned long long>(c.size), repaired, data_loss);
}

TEST(CodecProperty, LargeFileSmallSegments10Plus4) {
  PropertyCase c;
  c.params.segment_size = 1 << 20;
  c.params.data_shards = 10;
  c.params.parity_shards = 4;
  c.params.leaf_size = 4096;
  c.size = kLargeFileSize / 8 + 777;
  int data_loss = 0, repaired = 0;
  RunProperty(c, 100, 24, &data_loss, &repaired);
}

}  // namespace
}  // namespace gnr::codec
