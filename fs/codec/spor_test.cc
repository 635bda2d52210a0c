#include "fs/codec/spor.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "crypto/merkle.h"
#include "crypto/random.h"
#include "fs/codec/decoder.h"
#include "fs/codec/encoder.h"
#include "fs/codec/layout.h"
#include "fs/codec/memory_shard_store.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::codec {
namespace {

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng() >> 17);
  return out;
}

crypto::SentinelKey KeyFrom(std::mt19937_64& rng) {
  crypto::SentinelKey k;
  for (auto& b : k) b = static_cast<uint8_t>(rng());
  return k;
}

// A stored shard built from `data` with `sentinels` sentinels under `key`.
Bytes StoredShard(const crypto::SentinelKey& key, ByteView data, uint64_t sentinels) {
  absl::StatusOr<SentinelMap> map = SentinelMap::Create(key, data.size(), sentinels);
  EXPECT_OK(map);
  Bytes stored(map->stored_length());
  EXPECT_OK(WriteStoredShard(key, *map, data, stored));
  return stored;
}

TEST(SentinelChallenge, IntactShardsAlwaysPass) {
  std::mt19937_64 rng(1);
  const Bytes data = RandomBytes(rng, 100000);
  for (int shard = 0; shard < 20; ++shard) {
    const crypto::SentinelKey key = KeyFrom(rng);
    const uint32_t q = 1 + static_cast<uint32_t>(rng() % 10);
    const uint64_t s = q * (1 + rng() % 30) + rng() % q;  // leftovers belong to no group
    const uint64_t len = rng() % data.size();
    Bytes stored = StoredShard(key, ByteView(data).first(len), s);
    const uint64_t groups = crypto::FingerprintGroupCount(s, q);
    std::set<uint64_t> all_offsets;
    for (uint64_t g = 0; g < groups; ++g) {
      ASSERT_OK_AND_ASSIGN(SentinelChallenge c, MakeSentinelChallenge(key, len, s, q, g));
      EXPECT_EQ(c.group, g);
      ASSERT_EQ(c.offsets.size(), q);
      EXPECT_TRUE(std::ranges::is_sorted(c.offsets));
      for (uint64_t off : c.offsets) EXPECT_TRUE(all_offsets.insert(off).second);  // disjoint
      ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> answer,
                           AnswerSentinelChallenge(stored, c.offsets));
      ASSERT_OK_AND_ASSIGN(std::vector<size_t> bad, CheckSentinelAnswer(c, answer));
      EXPECT_TRUE(bad.empty());
    }
    EXPECT_STATUS(MakeSentinelChallenge(key, len, s, q, groups),
                  absl::StatusCode::kInvalidArgument);
  }
}

TEST(SentinelChallenge, AnswerChecksReportEachMismatch) {
  std::mt19937_64 rng(2);
  const crypto::SentinelKey key = KeyFrom(rng);
  const Bytes data = RandomBytes(rng, 5000);
  Bytes stored = StoredShard(key, data, 64);
  ASSERT_OK_AND_ASSIGN(SentinelChallenge c, MakeSentinelChallenge(key, 5000, 64, 8, 3));
  stored[c.offsets[2] + 31] ^= 1;
  stored[c.offsets[5]] ^= 0x80;
  ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> answer,
                       AnswerSentinelChallenge(stored, c.offsets));
  ASSERT_OK_AND_ASSIGN(std::vector<size_t> bad, CheckSentinelAnswer(c, answer));
  EXPECT_EQ(bad, (std::vector<size_t>{2, 5}));
  answer.pop_back();
  EXPECT_STATUS(CheckSentinelAnswer(c, answer), absl::StatusCode::kInvalidArgument);
  const uint64_t past[] = {stored.size() - 31};
  EXPECT_STATUS(AnswerSentinelChallenge(stored, past), absl::StatusCode::kOutOfRange);
}

TEST(SentinelChallenge, FromManifestMatchesEncodedShards) {
  CodecParams p;
  p.segment_size = 64 * 1024;
  p.leaf_size = 4096;
  std::mt19937_64 rng(3);
  const Bytes data = RandomBytes(rng, 100000);
  crypto::DeterministicRandom r(3);
  const FileKey key = r.Generate<32>();
  MemoryFileSource source(data);
  ASSERT_OK_AND_ASSIGN(FileEncoder enc, FileEncoder::Create(p, key, r.Generate<32>(), data.size()));
  std::vector<EncodedSegment> segments;
  while (!enc.done()) {
    segments.emplace_back();
    ASSERT_OK(enc.Next(source, segments.back()));
  }
  ASSERT_OK_AND_ASSIGN(FileManifest m, enc.Finish());
  for (uint64_t seg = 0; seg < m.segments.size(); ++seg) {
    const uint64_t groups = SentinelGroupCount(m, seg);
    EXPECT_EQ(groups, p.min_groups);  // tiny shards get the floor
    for (uint32_t shard = 0; shard < m.total_shards(); ++shard) {
      for (uint64_t g : {uint64_t{0}, groups - 1}) {
        ASSERT_OK_AND_ASSIGN(SentinelChallenge c, MakeSentinelChallenge(m, key, seg, shard, g));
        ASSERT_OK_AND_ASSIGN(auto answer,
                             AnswerSentinelChallenge(segments[seg].shards[shard], c.offsets));
        ASSERT_OK_AND_ASSIGN(auto bad, CheckSentinelAnswer(c, answer));
        EXPECT_TRUE(bad.empty());
      }
    }
  }
  EXPECT_STATUS(MakeSentinelChallenge(m, key, 9, 0, 0), absl::StatusCode::kInvalidArgument);
}

TEST(SentinelChallenge, GroupSelectionSkipsUsedGroupsAndWraps) {
  BlockHash block{};
  ShardId shard{};
  shard[0] = 7;
  const uint64_t G = 10;
  const uint64_t start = ChallengeSeed(block, shard) % G;
  ASSERT_OK_AND_ASSIGN(uint64_t g, SelectSentinelGroup(block, shard, G, {}));
  EXPECT_EQ(g, start);
  std::vector<uint64_t> used = {start, (start + 1) % G, start, 99};
  ASSERT_OK_AND_ASSIGN(g, SelectSentinelGroup(block, shard, G, used));
  EXPECT_EQ(g, (start + 2) % G);
  // Use every group but one, the one just before the start: selection wraps to it.
  used.clear();
  for (uint64_t i = 0; i < G; ++i) {
    if (i != (start + G - 1) % G) used.push_back(i);
  }
  ASSERT_OK_AND_ASSIGN(g, SelectSentinelGroup(block, shard, G, used));
  EXPECT_EQ(g, (start + G - 1) % G);
  used.push_back(g);
  EXPECT_STATUS(SelectSentinelGroup(block, shard, G, used), absl::StatusCode::kResourceExhausted);
  EXPECT_STATUS(SelectSentinelGroup(block, shard, 0, {}), absl::StatusCode::kInvalidArgument);

  // Successive block hashes spread over the groups.
  std::vector<int> hits(G);
  for (uint64_t b = 0; b < 10000; ++b) {
    PutBigEndian64(b, MutableByteView(block).first<8>());
    ASSERT_OK_AND_ASSIGN(g, SelectSentinelGroup(block, shard, G, {}));
    ++hits[g];
  }
  for (int h : hits) EXPECT_NEAR(h, 1000, 150);
}

// A farmer keeps only part of each shard: 1 % of the stored bytes are gone (zeroed or
// replaced by random bytes). A sentinel-group challenge must fail with probability
// 1 - (1 - e)^q; intact shards always pass.
TEST(SentinelChallenge, DetectionRateMatchesTheory) {
  std::mt19937_64 rng(4);
  constexpr uint32_t q = 8;
  constexpr uint64_t kGroups = 64;
  constexpr uint64_t kSentinels = kGroups * q;
  constexpr uint64_t kShardLen = (1 << 20) - kSentinels * 32;  // stored shard = 1 MiB
  constexpr int kRegions = 8;
  constexpr int kShards = 300;
  const Bytes data = RandomBytes(rng, kShardLen);
  uint64_t trials = 0, failures = 0;
  double e_sum = 0, deleted_sum = 0;
  for (int shard = 0; shard < kShards; ++shard) {
    const crypto::SentinelKey key = KeyFrom(rng);
    Bytes stored = StoredShard(key, data, kSentinels);
    ASSERT_EQ(stored.size(), 1u << 20);
    // Delete 1 % of the shard in kRegions regions at random places (the farmer does not
    // know where the sentinels are), zeroing or overwriting them with random bytes.
    const uint64_t region = stored.size() / 100 / kRegions;
    std::vector<bool> deleted(stored.size(), false);
    for (int i = 0; i < kRegions; ++i) {
      uint64_t at;
      do {
        at = rng() % (stored.size() - region);
      } while (deleted[at] || deleted[at + region - 1]);
      for (uint64_t b = at; b < at + region; ++b) {
        deleted[b] = true;
        stored[b] = shard % 2 == 0 ? 0 : static_cast<uint8_t>(rng());
      }
    }
    uint64_t deleted_bytes = 0;
    for (bool d : deleted) deleted_bytes += d ? 1 : 0;
    deleted_sum += static_cast<double>(deleted_bytes) / static_cast<double>(stored.size());
    // A sentinel is lost if any of its 32 bytes is: e is the fraction of possible sentinel
    // start offsets whose 32 bytes touch a deleted byte (the deleted fraction plus edges).
    uint64_t hit_starts = 0, window = 0;
    for (uint64_t o = 0; o < stored.size(); ++o) {
      window += deleted[o] ? 1 : 0;
      if (o >= 32) window -= deleted[o - 32] ? 1 : 0;
      if (o >= 31 && window > 0) ++hit_starts;
    }
    e_sum += static_cast<double>(hit_starts) / static_cast<double>(stored.size() - 31);
    for (uint64_t g = 0; g < kGroups; ++g) {
      ASSERT_OK_AND_ASSIGN(SentinelChallenge c,
                           MakeSentinelChallenge(key, kShardLen, kSentinels, q, g));
      ASSERT_OK_AND_ASSIGN(auto answer, AnswerSentinelChallenge(stored, c.offsets));
      ASSERT_OK_AND_ASSIGN(auto bad, CheckSentinelAnswer(c, answer));
      ++trials;
      if (!bad.empty()) ++failures;
    }
  }
  const double e = e_sum / kShards;
  const double p = 1 - std::pow(1 - e, q);
  const double rate = static_cast<double>(failures) / static_cast<double>(trials);
  const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(trials));
  std::printf(
      "deleted %.4f %% of each shard, sentinel loss probability e = %.4f %%: %llu of %llu "
      "challenges failed = %.3f %%, theory 1-(1-e)^%u = "
      "%.3f %% (sigma %.3f %%, %.2f sigma off)\n",
      deleted_sum / kShards * 100, e * 100, static_cast<unsigned long long>(failures),
      static_cast<unsigned long long>(trials), rate * 100, q, p * 100, sigma * 100,
      std::abs(rate - p) / sigma);
  EXPECT_NEAR(rate, p, 4 * sigma);
  EXPECT_NEAR(deleted_sum / kShards, 0.01, 0.0001);
}

// Sentinel bytes and ciphertext bytes of real stored shards have the same byte histogram:
// a chi-square test of homogeneity (2 x 256 table, 255 degrees of freedom) does not tell
// them apart; the same test does tell text from ciphertext (the test has teeth).
double ChiSquareHomogeneity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  double na = 0, nb = 0;
  for (int i = 0; i < 256; ++i) {
    na += static_cast<double>(a[i]);
    nb += static_cast<double>(b[i]);
  }
  double chi = 0;
  for (int i = 0; i < 256; ++i) {
    const double col = static_cast<double>(a[i] + b[i]);
    if (col == 0) continue;
    const double ea = col * na / (na + nb), eb = col * nb / (na + nb);
    chi += (a[i] - ea) * (a[i] - ea) / ea + (b[i] - eb) * (b[i] - eb) / eb;
  }
  return chi;
}

TEST(SentinelChallenge, SentinelsAreIndistinguishableFromCiphertext) {
  CodecParams p;
  p.segment_size = 1 << 20;
  p.leaf_size = 4096;
  p.min_groups = 64;
  crypto::DeterministicRandom r(5);
  const FileKey key = r.Generate<32>();
  const FileNonce nonce = r.Generate<32>();
  // Low-entropy plaintext (text-like) makes the test meaningful: only encryption hides it.
  Bytes plain(4 << 20);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>('a' + (i * 7 % 26));
  ASSERT_OK_AND_ASSIGN(SegmentEncoder enc, SegmentEncoder::Create(p, key, nonce));
  std::vector<uint64_t> sentinel_hist(256), data_hist(256), text_hist(256);
  for (uint64_t seg = 0; seg < 4; ++seg) {
    ASSERT_OK_AND_ASSIGN(EncodedSegment out,
                         enc.Encode(seg, ByteView(plain).subspan(seg << 20, 1 << 20)));
    for (uint32_t t = 0; t < out.shards.size(); ++t) {
      ASSERT_OK_AND_ASSIGN(SentinelMap map, SentinelMap::Create(DeriveSentinelKey(key, seg, t),
                                                                out.manifest.shard_length,
                                                                out.manifest.sentinel_count));
      std::vector<bool> is_sentinel(out.shards[t].size(), false);
      for (uint64_t j = 0; j < map.sentinel_count(); ++j) {
        for (uint64_t b = 0; b < 32; ++b) is_sentinel[map.SentinelOffset(j) + b] = true;
      }
      for (size_t i = 0; i < out.shards[t].size(); ++i) {
        (is_sentinel[i] ? sentinel_hist : data_hist)[out.shards[t][i]]++;
      }
    }
  }
  for (size_t i = 0; i < 1 << 20; ++i) text_hist[plain[i]]++;
  const double chi = ChiSquareHomogeneity(sentinel_hist, data_hist);
  const double chi_text = ChiSquareHomogeneity(sentinel_hist, text_hist);
  uint64_t ns = 0;
  for (uint64_t c : sentinel_hist) ns += c;
  // 255 degrees of freedom: the 99.9th percentile is 330.5.
  std::printf(
      "chi-square sentinel vs ciphertext bytes = %.1f (%llu sentinel bytes; 99.9%% "
      "critical 330.5); sentinel vs plaintext = %.0f\n",
      chi, static_cast<unsigned long long>(ns), chi_text);
  EXPECT_LT(chi, 330.5);
  EXPECT_GT(chi_text, 10000);
}

// Re-tagging (sentinel generation 1): the same data with fresh sentinels. Challenges of the
// new generation pass on the new bytes, the old generation's groups (revealed) say nothing
// about the new bytes, answers replayed from the old bytes fail, and the file still decodes
// identically through the manifest that records the new generation.
TEST(Retag, FreshSentinelsSameData) {
  CodecParams p;
  p.segment_size = 256 * 1024;
  p.data_shards = 2;
  p.parity_shards = 1;
  p.leaf_size = 4096;
  p.min_groups = 32;
  crypto::DeterministicRandom r(11);
  const FileKey key = r.Generate<32>();
  const FileNonce nonce = r.Generate<32>();
  const Bytes plain = r.Generate(300 * 1024);  // two segments
  MemoryFileSource src(plain);
  MemoryShardStore store(p.leaf_size, p.merkle_kind);
  struct Sink : ShardSink {
    MemoryShardStore* store;
    absl::Status Put(const EncodedSegment& s) override { return store->PutSegment(s); }
  } sink;
  sink.store = &store;
  ASSERT_OK_AND_ASSIGN(FileManifest m, EncodeFile(p, key, nonce, plain.size(), src, sink));
  const uint64_t seg = 1;
  const uint32_t t = 2;  // the parity shard
  const ShardManifest old_entry = m.segments[seg].shards[t];
  ASSERT_OK_AND_ASSIGN(Bytes old_stored, store.Get(old_entry.id));

  ASSERT_OK_AND_ASSIGN(RetaggedShard re, RetagStoredShard(m, key, seg, t, old_stored, 1));
  EXPECT_EQ(re.sentinel_generation, 1u);
  ASSERT_EQ(re.stored.size(), old_stored.size());
  EXPECT_NE(re.stored, old_stored);
  EXPECT_NE(re.merkle_root, old_entry.merkle_root);
  ASSERT_OK_AND_ASSIGN(crypto::MerkleTree tree,
                       crypto::MerkleTree::Build(re.stored, p.leaf_size, p.merkle_kind));
  EXPECT_EQ(tree.root(), re.merkle_root);
  // Same generation again, or a wrong-sized shard: refused.
  EXPECT_STATUS(RetagStoredShard(m, key, seg, t, old_stored, 0),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(RetagStoredShard(m, key, seg, t, ByteView(old_stored).first(10), 1),
                absl::StatusCode::kInvalidArgument);

  // The manifest after the re-tag (what the repairer commits).
  FileManifest m2 = m;
  m2.version = kManifestVersionSentinelGenerations;
  ShardManifest& entry = m2.segments[seg].shards[t];
  entry.generation = 1;
  entry.id = ComputeShardId(nonce, seg, t, 1);
  entry.sentinel_generation = 1;
  entry.merkle_root = re.merkle_root;
  ASSERT_OK_AND_ASSIGN(Bytes encoded, EncodeFileManifest(m2));
  ASSERT_OK_AND_ASSIGN(FileManifest decoded, DecodeFileManifest(encoded));
  EXPECT_EQ(decoded, m2);

  const uint64_t groups = SentinelGroupCount(m2, seg);
  ASSERT_GE(groups, 32u);
  uint64_t old_groups_failing = 0, replays_failing = 0;
  for (uint64_t g = 0; g < groups; ++g) {
    // New generation, new bytes: passes.
    ASSERT_OK_AND_ASSIGN(SentinelChallenge fresh, MakeSentinelChallenge(m2, key, seg, t, g));
    ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> a,
                         AnswerSentinelChallenge(re.stored, fresh.offsets));
    ASSERT_OK_AND_ASSIGN(std::vector<size_t> bad, CheckSentinelAnswer(fresh, a));
    EXPECT_TRUE(bad.empty()) << g;
    // A farmer answering from the old bytes (or replaying old answers) fails.
    ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> stale,
                         AnswerSentinelChallenge(old_stored, fresh.offsets));
    ASSERT_OK_AND_ASSIGN(bad, CheckSentinelAnswer(fresh, stale));
    if (!bad.empty()) ++replays_failing;
    // The old generation's group g (revealed before the re-tag) does not hold in the new
    // bytes: knowing it is useless.
    ASSERT_OK_AND_ASSIGN(SentinelChallenge old_g, MakeSentinelChallenge(m2, key, seg, t, g, 0));
    EXPECT_EQ(old_g.expected, MakeSentinelChallenge(m, key, seg, t, g)->expected);
    EXPECT_NE(old_g.expected, fresh.expected);
    ASSERT_OK_AND_ASSIGN(a, AnswerSentinelChallenge(re.stored, old_g.offsets));
    ASSERT_OK_AND_ASSIGN(bad, CheckSentinelAnswer(old_g, a));
    if (!bad.empty()) ++old_groups_failing;
  }
  EXPECT_EQ(replays_failing, groups);
  EXPECT_EQ(old_groups_failing, groups);

  // The file decodes identically with the re-tagged shard (also when it must be used), and
  // rebuilding the shard from the others under the new manifest gives the re-tagged bytes.
  ASSERT_OK(store.Put(entry.id, re.stored));
  store.Erase(old_entry.id);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FileReader> reader, FileReader::Create(m2, key));
  ASSERT_OK_AND_ASSIGN(Bytes rebuilt, reader->RebuildShard(seg, t, store));
  EXPECT_EQ(rebuilt, re.stored);
  store.Erase(m2.segments[seg].shards[0].id);  // force RS to use the re-tagged parity shard
  ReadReport report;
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadRange(m2, key, 0, plain.size(), store, &report));
  EXPECT_EQ(back, plain);
  EXPECT_GE(report.reconstructions, 1u);
  // With the old manifest (generation 0 and the old root recorded) the new bytes do not
  // verify, even under the old id: reads never return wrong bytes.
  ASSERT_OK(store.Put(old_entry.id, re.stored));
  EXPECT_STATUS(ReadRange(m, key, 0, plain.size(), store), absl::StatusCode::kDataLoss);
}

TEST(MerkleChallenge, LeafFromBlockHashAndVerification) {
  std::mt19937_64 rng(6);
  const Bytes stored = RandomBytes(rng, 10 * 1024 + 100);  // 11 leaves of 1 KiB, last short
  ASSERT_OK_AND_ASSIGN(crypto::MerkleTree tree, crypto::MerkleTree::Build(stored, 1024));
  ShardManifest shard;
  shard.id[3] = 9;
  shard.stored_length = stored.size();
  shard.merkle_root = tree.root();
  std::set<uint64_t> seen;
  for (uint64_t b = 0; b < 200; ++b) {
    BlockHash block{};
    PutBigEndian64(b * 7919, MutableByteView(block).first<8>());
    const uint64_t leaf = MerkleChallengeLeaf(block, shard.id, tree.leaf_count());
    ASSERT_LT(leaf, 11u);
    seen.insert(leaf);
    ByteRange bytes = LeafBytes({leaf, leaf + 1}, 1024, stored.size());
    ByteView leaf_bytes = ByteView(stored).subspan(bytes.begin, bytes.size());
    ASSERT_OK_AND_ASSIGN(crypto::MerkleProof proof, tree.Prove(leaf));
    EXPECT_OK(VerifyMerkleChallenge(shard, 1024, crypto::MerkleHashKind::kSha256, block, leaf_bytes,
                                    proof));
    // A different leaf (with its own valid proof) does not answer this challenge.
    const uint64_t other = (leaf + 1) % 11;
    ASSERT_OK_AND_ASSIGN(crypto::MerkleProof other_proof, tree.Prove(other));
    ByteRange ob = LeafBytes({other, other + 1}, 1024, stored.size());
    EXPECT_STATUS(VerifyMerkleChallenge(shard, 1024, crypto::MerkleHashKind::kSha256, block,
                                        ByteView(stored).subspan(ob.begin, ob.size()), other_proof),
                  absl::StatusCode::kDataLoss);
    // A modified leaf fails.
    Bytes bad(leaf_bytes.begin(), leaf_bytes.end());
    bad[bad.size() / 2] ^= 4;
    EXPECT_STATUS(
        VerifyMerkleChallenge(shard, 1024, crypto::MerkleHashKind::kSha256, block, bad, proof),
        absl::StatusCode::kDataLoss);
    // A truncated leaf fails.
    EXPECT_STATUS(VerifyMerkleChallenge(shard, 1024, crypto::MerkleHashKind::kSha256, block,
                                        leaf_bytes.first(leaf_bytes.size() - 1), proof),
                  absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(seen.size(), 11u);
  // A proof from a tree over a truncated shard does not verify against the real root.
  ASSERT_OK_AND_ASSIGN(crypto::MerkleTree short_tree,
                       crypto::MerkleTree::Build(ByteView(stored).first(9 * 1024), 1024));
  BlockHash block{};
  const uint64_t leaf = MerkleChallengeLeaf(block, shard.id, 9);
  ASSERT_OK_AND_ASSIGN(crypto::MerkleProof p, short_tree.Prove(leaf));
  EXPECT_STATUS(VerifyMerkleChallenge(shard, 1024, crypto::MerkleHashKind::kSha256, block,
                                      ByteView(stored).subspan(leaf * 1024, 1024), p),
                absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gnr::codec
