#include "crypto/merkle.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/hex.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::crypto {
namespace {

constexpr MerkleHashKind kKinds[] = {MerkleHashKind::kSha256, MerkleHashKind::kBlake2b256};

Bytes Pattern(size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i % 251);
  return out;
}

ByteView Leaf(ByteView data, size_t leaf_size, uint64_t i) {
  if (data.empty()) return {};
  size_t off = i * leaf_size;
  return data.subspan(off, std::min(leaf_size, data.size() - off));
}

Hash256 Node(MerkleHashKind kind, ByteView bytes) {
  if (kind == MerkleHashKind::kSha256) return Sha256(bytes);
  return Blake2b256(bytes);
}

// An independent, recursive formulation of the same tree (RFC 6962 split at the largest
// power of two below n) to check the level-by-level implementation.
Hash256 ReferenceTop(MerkleHashKind kind, std::span<const Hash256> leaves) {
  if (leaves.size() == 1) return leaves[0];
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  Hash256 l = ReferenceTop(kind, leaves.first(k));
  Hash256 r = ReferenceTop(kind, leaves.subspan(k));
  Bytes buf = {0x01};
  Append(buf, l);
  Append(buf, r);
  return Node(kind, buf);
}

Hash256 ReferenceRoot(MerkleHashKind kind, ByteView data, size_t leaf_size) {
  std::vector<Hash256> leaves;
  for (uint64_t i = 0; i < MerkleLeafCount(data.size(), leaf_size); ++i) {
    Bytes buf = {0x00};
    Append(buf, Leaf(data, leaf_size, i));
    leaves.push_back(Node(kind, buf));
  }
  Bytes buf = {0x02};
  FixedBytes<8> n;
  PutBigEndian64(leaves.size(), n);
  Append(buf, n);
  Append(buf, ReferenceTop(kind, leaves));
  return Node(kind, buf);
}

TEST(Merkle, GoldenRoots) {
  // Computed with an independent Python implementation (hashlib).
  Bytes d = Pattern(1000);
  struct Case {
    MerkleHashKind kind;
    Bytes data;
    size_t leaf_size;
    std::string_view root;
  } cases[] = {
      {MerkleHashKind::kSha256,
       {},
       64,
       "5cc26cdeaf1949b023361937a0119ed5d1f0cd9fba7d5577f2da20280f29cc64"},
      {MerkleHashKind::kSha256, ToBytes("abc"), 1,
       "7d36854b375536f2bb96cbc87f12825048cc9888d457bfa7a25e1b30df5f6da8"},
      {MerkleHashKind::kSha256, d, 64,
       "562b4048fa7cc8d3e8877d7368d03bb361a3932f3ffb5b8427e203ebbecdc247"},
      {MerkleHashKind::kBlake2b256,
       {},
       64,
       "2a2125ac4bcd9633ed10dae46bd70c3c1d086f5751c4a4c86dfca3dd5c204585"},
      {MerkleHashKind::kBlake2b256, ToBytes("abc"), 1,
       "6bc4749c0ae5ef2b9e478c77b00535bac601b3d2a3bfea0bf30846fd7ae25565"},
      {MerkleHashKind::kBlake2b256, d, 64,
       "cbfdad859a66726aa3399bf77ef548d3a0884c1549b500e1a23b5e099056ff4f"},
  };
  for (const Case& c : cases) {
    ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(c.data, c.leaf_size, c.kind));
    EXPECT_EQ(HexEncode(tree.root()), c.root);
  }
}

TEST(Merkle, MatchesReferenceShape) {
  for (MerkleHashKind kind : kKinds) {
    for (size_t n = 0; n <= 70; ++n) {
      Bytes data = Pattern(n * 3 + n % 2);
      ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(data, 3, kind));
      EXPECT_EQ(tree.root(), ReferenceRoot(kind, data, 3)) << n;
      EXPECT_EQ(tree.leaf_count(), MerkleLeafCount(data.size(), 3));
    }
  }
}

TEST(Merkle, EmptyDataIsOneEmptyLeaf) {
  ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build({}));
  EXPECT_EQ(tree.leaf_count(), 1u);
  EXPECT_EQ(tree.leaf_hashes()[0], MerkleLeafHash({}));
  ASSERT_OK_AND_ASSIGN(MerkleProof proof, tree.Prove(0));
  EXPECT_TRUE(proof.siblings.empty());
  EXPECT_OK(VerifyMerkleProof(tree.root(), {}, proof));
  EXPECT_EQ(MerkleLeafCount(0, 64), 1u);
  EXPECT_EQ(MerkleLeafCount(64, 64), 1u);
  EXPECT_EQ(MerkleLeafCount(65, 64), 2u);
  EXPECT_EQ(MerkleLeafCount(10, 0), 0u);
}

TEST(Merkle, NoDuplicationAmbiguity) {
  // CVE-2012-2459: with last-node duplication [a,b,c] and [a,b,c,c] share a root.
  ASSERT_OK_AND_ASSIGN(MerkleTree three, MerkleTree::Build(AsBytes("abc"), 1));
  ASSERT_OK_AND_ASSIGN(MerkleTree four, MerkleTree::Build(AsBytes("abcc"), 1));
  EXPECT_NE(three.root(), four.root());
  // Leaf count is bound: the same top over a different count gives another root.
  std::vector<Hash256> leaves(three.leaf_hashes().begin(), three.leaf_hashes().end());
  ASSERT_OK_AND_ASSIGN(MerkleTree again, MerkleTree::FromLeafHashes(leaves));
  EXPECT_EQ(again.root(), three.root());
}

TEST(Merkle, KindsDiffer) {
  ASSERT_OK_AND_ASSIGN(MerkleTree a, MerkleTree::Build(AsBytes("data"), 2));
  ASSERT_OK_AND_ASSIGN(MerkleTree b,
                       MerkleTree::Build(AsBytes("data"), 2, MerkleHashKind::kBlake2b256));
  EXPECT_NE(a.root(), b.root());
  EXPECT_EQ(b.kind(), MerkleHashKind::kBlake2b256);
}

TEST(Merkle, BadArguments) {
  EXPECT_STATUS(MerkleTree::Build(AsBytes("x"), 0), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(MerkleTree::Build(AsBytes("x"), 1, static_cast<MerkleHashKind>(9)),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(MerkleTree::FromLeafHashes({}), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(Pattern(10), 2));
  EXPECT_STATUS(tree.Prove(5), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(tree.ProveRange(0, 0), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(tree.ProveRange(4, 2), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(tree.ProveRange(5, 1), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(tree.ProveRange(1, UINT64_MAX), absl::StatusCode::kInvalidArgument);
  MerkleBuilder zero(0);
  zero.Update(AsBytes("abc"));
  EXPECT_STATUS(zero.Finish(), absl::StatusCode::kInvalidArgument);
}

// Every leaf of trees over data of the given sizes proves and verifies; tampering fails.
void CheckAllLeafProofs(size_t data_size, size_t leaf_size, MerkleHashKind kind) {
  SCOPED_TRACE(::testing::Message() << "size " << data_size << " leaf " << leaf_size);
  Bytes data = Pattern(data_size);
  ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(data, leaf_size, kind));
  const uint64_t n = tree.leaf_count();
  for (uint64_t i = 0; i < n; ++i) {
    ASSERT_OK_AND_ASSIGN(MerkleProof proof, tree.Prove(i));
    EXPECT_EQ(proof.leaf_index, i);
    EXPECT_EQ(proof.leaf_count, n);
    ByteView leaf = Leaf(data, leaf_size, i);
    ASSERT_OK(VerifyMerkleProof(tree.root(), leaf, proof, kind));

    // Through the wire encoding.
    ASSERT_OK_AND_ASSIGN(MerkleProof decoded, MerkleProof::Decode(proof.Encode()));
    EXPECT_EQ(decoded, proof);

    // Flipped bit in the leaf.
    if (!leaf.empty()) {
      Bytes bad(leaf.begin(), leaf.end());
      bad[bad.size() / 2] ^= 0x10;
      EXPECT_STATUS(VerifyMerkleProof(tree.root(), bad, proof, kind), absl::StatusCode::kDataLoss);
    }
    // Flipped bit in every sibling.
    for (size_t s = 0; s < proof.siblings.size(); ++s) {
      MerkleProof bad = proof;
      bad.siblings[s][s % 32] ^= 0x01;
      EXPECT_STATUS(VerifyMerkleProof(tree.root(), leaf, bad, kind), absl::StatusCode::kDataLoss);
    }
    // Flipped bit in the root.
    Hash256 bad_root = tree.root();
    bad_root[31] ^= 0x80;
    EXPECT_STATUS(VerifyMerkleProof(bad_root, leaf, proof, kind), absl::StatusCode::kDataLoss);
    // Wrong index or leaf count never verifies.
    for (uint64_t other_count : {n - 1, n + 1, 2 * n, n + 2}) {
      if (other_count == 0 || other_count == n) continue;
      MerkleProof bad = proof;
      bad.leaf_count = other_count;
      EXPECT_FALSE(VerifyMerkleProof(tree.root(), leaf, bad, kind).ok()) << other_count;
    }
    if (n > 1) {
      MerkleProof bad = proof;
      bad.leaf_index = (i + 1) % n;
      EXPECT_FALSE(VerifyMerkleProof(tree.root(), leaf, bad, kind).ok());
    }
    // Missing or extra sibling.
    MerkleProof extra = proof;
    extra.siblings.push_back(Hash256{});
    EXPECT_STATUS(VerifyMerkleProof(tree.root(), leaf, extra, kind),
                  absl::StatusCode::kInvalidArgument);
    if (!proof.siblings.empty()) {
      MerkleProof missing = proof;
      missing.siblings.pop_back();
      EXPECT_STATUS(VerifyMerkleProof(tree.root(), leaf, missing, kind),
                    absl::StatusCode::kInvalidArgument);
    }
  }
  MerkleProof out_of_range{n, n, {}};
  EXPECT_STATUS(VerifyMerkleProof(tree.root(), {}, out_of_range, kind),
                absl::StatusCode::kInvalidArgument);
}

TEST(Merkle, SingleLeafProofsSmallSizes) {
  constexpr size_t kLeaf = 64;
  for (MerkleHashKind kind : kKinds) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{5}, kLeaf - 1, kLeaf,
                        kLeaf + 1, 2 * kLeaf - 1, 2 * kLeaf + 1, 3 * kLeaf, 5 * kLeaf + 7}) {
      CheckAllLeafProofs(size, kLeaf, kind);
    }
  }
}

TEST(Merkle, SingleLeafProofsManyLeaves) {
  for (size_t leaves :
       {size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5}, size_t{7}, size_t{8}, size_t{9},
        size_t{16}, size_t{17}, size_t{31}, size_t{33}, size_t{100}, size_t{257}}) {
    CheckAllLeafProofs(leaves * 4 - (leaves % 3 == 0 ? 1 : 0), 4, MerkleHashKind::kSha256);
  }
}

void CheckRange(const MerkleTree& tree, uint64_t first, uint64_t count) {
  SCOPED_TRACE(::testing::Message()
               << "range " << first << "+" << count << " of " << tree.leaf_count());
  ASSERT_OK_AND_ASSIGN(MerkleRangeProof proof, tree.ProveRange(first, count));
  EXPECT_LE(proof.nodes.size(), 128u);
  std::span<const Hash256> leaves = tree.leaf_hashes().subspan(first, count);
  ASSERT_OK(VerifyMerkleRange(tree.root(), leaves, proof, tree.kind()));

  ASSERT_OK_AND_ASSIGN(MerkleRangeProof decoded, MerkleRangeProof::Decode(proof.Encode()));
  EXPECT_EQ(decoded, proof);

  Hash256 bad_root = tree.root();
  bad_root[0] ^= 1;
  EXPECT_STATUS(VerifyMerkleRange(bad_root, leaves, proof, tree.kind()),
                absl::StatusCode::kDataLoss);
  std::vector<Hash256> bad_leaves(leaves.begin(), leaves.end());
  bad_leaves[count / 2][7] ^= 4;
  EXPECT_STATUS(VerifyMerkleRange(tree.root(), bad_leaves, proof, tree.kind()),
                absl::StatusCode::kDataLoss);
  for (size_t s = 0; s < proof.nodes.size(); ++s) {
    MerkleRangeProof bad = proof;
    bad.nodes[s][31 - s % 32] ^= 0x40;
    EXPECT_STATUS(VerifyMerkleRange(tree.root(), leaves, bad, tree.kind()),
                  absl::StatusCode::kDataLoss);
  }
  MerkleRangeProof bad_total = proof;
  bad_total.total_leaves += 1;
  EXPECT_FALSE(VerifyMerkleRange(tree.root(), leaves, bad_total, tree.kind()).ok());
  // Wrong number of leaf hashes.
  EXPECT_STATUS(VerifyMerkleRange(tree.root(), leaves.first(count - 1), proof, tree.kind()),
                absl::StatusCode::kInvalidArgument);
  // A single-leaf range proof is exactly the single-leaf proof.
  if (count == 1) {
    ASSERT_OK_AND_ASSIGN(MerkleProof single, tree.Prove(first));
    EXPECT_EQ(single.siblings, proof.nodes);
  }
}

TEST(Merkle, RangeProofsExhaustiveSmallTrees) {
  for (MerkleHashKind kind : kKinds) {
    for (size_t n = 1; n <= 19; ++n) {
      ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(Pattern(n * 2), 2, kind));
      ASSERT_EQ(tree.leaf_count(), n);
      for (uint64_t first = 0; first < n; ++first) {
        for (uint64_t count = 1; first + count <= n; ++count) CheckRange(tree, first, count);
      }
    }
  }
}

TEST(Merkle, RangeProofsRandomRangesLargeTree) {
  DeterministicRandom rng(11);
  for (size_t n : {size_t{1000}, size_t{1023}, size_t{1025}, size_t{4097}}) {
    std::vector<Hash256> leaves(n);
    for (Hash256& h : leaves) h = rng.Generate<32>();
    ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::FromLeafHashes(leaves));
    for (int trial = 0; trial < 40; ++trial) {
      uint64_t first = rng.NextU64() % n;
      uint64_t count = 1 + rng.NextU64() % std::min<uint64_t>(n - first, 64);
      CheckRange(tree, first, count);
    }
    CheckRange(tree, 0, n);
  }
}

TEST(Merkle, ProofDecodeRejectsTruncatedAndGarbage) {
  ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(Pattern(1000), 10));
  ASSERT_OK_AND_ASSIGN(MerkleProof proof, tree.Prove(37));
  Bytes enc = proof.Encode();
  for (size_t len = 0; len < enc.size(); ++len) {
    EXPECT_STATUS(MerkleProof::Decode(ByteView(enc).first(len)),
                  absl::StatusCode::kInvalidArgument);
  }
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_STATUS(MerkleProof::Decode(trailing), absl::StatusCode::kInvalidArgument);
  Bytes wrong_tag = enc;
  wrong_tag[0] = 0x02;
  EXPECT_STATUS(MerkleProof::Decode(wrong_tag), absl::StatusCode::kInvalidArgument);
  Bytes index_too_big = enc;
  index_too_big[8] = 200;  // low byte of leaf_index >= 100 leaves
  EXPECT_STATUS(MerkleProof::Decode(index_too_big), absl::StatusCode::kInvalidArgument);
  Bytes zero_count = enc;
  std::fill(zero_count.begin() + 9, zero_count.begin() + 17, 0);
  EXPECT_STATUS(MerkleProof::Decode(zero_count), absl::StatusCode::kInvalidArgument);
  Bytes count_mismatch = enc;  // 100 leaves but one sibling fewer
  count_mismatch[17] -= 1;
  count_mismatch.resize(count_mismatch.size() - 32);
  EXPECT_STATUS(MerkleProof::Decode(count_mismatch), absl::StatusCode::kInvalidArgument);

  ASSERT_OK_AND_ASSIGN(MerkleRangeProof range, tree.ProveRange(10, 20));
  Bytes renc = range.Encode();
  for (size_t len = 0; len < renc.size(); ++len) {
    EXPECT_STATUS(MerkleRangeProof::Decode(ByteView(renc).first(len)),
                  absl::StatusCode::kInvalidArgument);
  }
  EXPECT_STATUS(MerkleRangeProof::Decode(enc), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(MerkleProof::Decode(renc), absl::StatusCode::kInvalidArgument);

  // Random garbage never crashes; whatever decodes re-encodes to the same bytes.
  DeterministicRandom rng(5);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk = rng.Generate(rng.NextU64() % 200);
    if (!junk.empty()) junk[0] = static_cast<uint8_t>(1 + i % 2);
    absl::StatusOr<MerkleProof> p = MerkleProof::Decode(junk);
    if (p.ok()) {
      EXPECT_EQ(p->Encode(), junk);
    }
    absl::StatusOr<MerkleRangeProof> r = MerkleRangeProof::Decode(junk);
    if (r.ok()) {
      EXPECT_EQ(r->Encode(), junk);
    }
  }
}

TEST(Merkle, DecodeAcceptsHugeConsistentTrees) {
  // leaf_count near 2^64: exactly one sibling count is consistent with the shape; it
  // decodes, and verifying it does not overflow.
  int decodable = 0;
  for (size_t s = 0; s <= 64; ++s) {
    MerkleProof proof{UINT64_MAX - 1, UINT64_MAX, std::vector<Hash256>(s)};
    absl::StatusOr<MerkleProof> decoded = MerkleProof::Decode(proof.Encode());
    if (!decoded.ok()) continue;
    ++decodable;
    EXPECT_STATUS(VerifyMerkleProof(Hash256{}, AsBytes("x"), *decoded),
                  absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(decodable, 1);
  MerkleRangeProof range{0, UINT64_MAX, UINT64_MAX, {}};
  ASSERT_OK_AND_ASSIGN(MerkleRangeProof r, MerkleRangeProof::Decode(range.Encode()));
  EXPECT_TRUE(r.nodes.empty());
}

TEST(MerkleBuilder, RandomChunkingEqualsBuild) {
  DeterministicRandom rng(99);
  for (MerkleHashKind kind : kKinds) {
    for (size_t leaf_size : {size_t{1}, size_t{7}, size_t{64}, size_t{4096}}) {
      for (size_t size : {size_t{0}, size_t{1}, leaf_size - 1, leaf_size, leaf_size + 1,
                          size_t{10000}, size_t{65537}}) {
        Bytes data = rng.Generate(size);
        ASSERT_OK_AND_ASSIGN(MerkleTree expected, MerkleTree::Build(data, leaf_size, kind));
        MerkleBuilder builder(leaf_size, kind);
        size_t pos = 0;
        while (pos < data.size()) {
          size_t n = std::min<size_t>(data.size() - pos, rng.NextU64() % (3 * leaf_size + 2));
          builder.Update(ByteView(data).subspan(pos, n));
          pos += n;
        }
        ASSERT_OK_AND_ASSIGN(MerkleTree built, builder.Finish());
        EXPECT_EQ(built.root(), expected.root()) << leaf_size << " " << size;
        EXPECT_EQ(built.leaf_count(), expected.leaf_count());
        // The builder is reusable after Finish.
        builder.Update(data);
        ASSERT_OK_AND_ASSIGN(MerkleTree again, builder.Finish());
        EXPECT_EQ(again.root(), expected.root());
      }
    }
  }
}

// The leaf hash of every length around the 64-byte block boundaries, from buffers at every
// alignment, equals SHA-256 of the prefixed leaf computed by crypto::Sha256 (Crypto++): the
// Merkle code runs its own SHA-256 where the CPU has the SHA extensions.
TEST(Merkle, LeafHashIsSha256OfPrefixedLeafAtAnyLengthAndAlignment) {
  DeterministicRandom rng(5);
  const Bytes data = rng.Generate(1100);
  for (size_t offset = 0; offset < 5; ++offset) {
    for (size_t len = 0; len + offset <= data.size(); ++len) {
      ByteView leaf = ByteView(data).subspan(offset, len);
      Bytes prefixed = {0x00};
      Append(prefixed, leaf);
      ASSERT_EQ(MerkleLeafHash(leaf), Sha256(prefixed)) << offset << " " << len;
    }
  }
}

// Leaves hashed together (two at once where they have the same length) give the hash of each
// alone, at every length around the block boundaries of the prefixed leaf, from buffers at
// different alignments, in runs mixing equal and unequal lengths.
TEST(Merkle, LeafHashesEqualOneAtATime) {
  DeterministicRandom rng(7);
  const Bytes data = rng.Generate(5 * 1100 + 16);
  for (MerkleHashKind kind : kKinds) {
    for (size_t len = 0; len <= 1000; len += (len < 200 ? 1 : 37)) {
      std::vector<ByteView> leaves;
      for (size_t j = 0; j < 5; ++j) {
        // Lengths len, len, len, len + 1, len: pairs of equal and of unequal lengths.
        const size_t n = j == 3 ? len + 1 : len;
        leaves.push_back(ByteView(data).subspan(j * 1100 + j, n));
      }
      std::vector<Hash256> hashes(leaves.size());
      MerkleLeafHashes(leaves, hashes, kind);
      for (size_t j = 0; j < leaves.size(); ++j) {
        ASSERT_EQ(hashes[j], MerkleLeafHash(leaves[j], kind)) << len << " " << j;
      }
    }
  }
}

TEST(Merkle, LeafHashesOfDataAreLevelZeroOfBuild) {
  DeterministicRandom rng(8);
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, size_t{3 * 4096 + 5}, size_t{8 * 4096}}) {
    const Bytes data = rng.Generate(size);
    ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(data, 4096));
    const std::vector<Hash256> hashes = MerkleLeafHashesOf(data, 4096);
    EXPECT_TRUE(std::equal(hashes.begin(), hashes.end(), tree.leaf_hashes().begin(),
                           tree.leaf_hashes().end()))
        << size;
    EXPECT_EQ(tree.root(), ReferenceRoot(MerkleHashKind::kSha256, data, 4096)) << size;
  }
  EXPECT_TRUE(MerkleLeafHashesOf(rng.Generate(10), 0).empty());
}

TEST(MerkleBuilder, MisalignedPiecesOfDefaultLeaves) {
  // Pieces at odd addresses and odd sizes crossing leaf boundaries, as the codec feeds them.
  DeterministicRandom rng(6);
  const Bytes data = rng.Generate(5 * kDefaultMerkleLeafSize + 12345 + 3);
  const ByteView shard = ByteView(data).subspan(3);
  MerkleBuilder builder;
  for (size_t pos = 0; pos < shard.size();) {
    const size_t n = std::min<size_t>(shard.size() - pos, 1 + rng.NextU64() % 70000);
    builder.Update(shard.subspan(pos, n));
    pos += n;
  }
  ASSERT_OK_AND_ASSIGN(MerkleTree built, builder.Finish());
  EXPECT_EQ(built.root(), ReferenceRoot(MerkleHashKind::kSha256, shard, kDefaultMerkleLeafSize));
}

TEST(Merkle, DefaultLeafSizeOnMegabytes) {
  Bytes data = Pattern(3 * kDefaultMerkleLeafSize + 100);
  ASSERT_OK_AND_ASSIGN(MerkleTree tree, MerkleTree::Build(data));
  EXPECT_EQ(tree.leaf_count(), 4u);
  EXPECT_EQ(tree.root(), ReferenceRoot(MerkleHashKind::kSha256, data, kDefaultMerkleLeafSize));
  ASSERT_OK_AND_ASSIGN(MerkleProof proof, tree.Prove(3));
  EXPECT_OK(
      VerifyMerkleProof(tree.root(), ByteView(data).subspan(3 * kDefaultMerkleLeafSize), proof));
}

}  // namespace
}  // namespace gnr::crypto
