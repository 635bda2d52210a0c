#pragma once
// Binary Merkle trees over the fixed-size leaves of a byte string (stored shards: DESIGN.md
// section 4), with single-leaf proofs (Merkle challenges) and range proofs (GET_SHARD byte
// ranges). The proof encodings (wire format) are given at MerkleProof / MerkleRangeProof.
//
// Tree shape (the same shape as RFC 6962 / Certificate Transparency):
//   - The data is cut into consecutive `leaf_size` chunks; the last may be shorter. Empty
//     data is ONE empty leaf, so every tree has at least one leaf.
//   - leaf hash  = H(0x00 || leaf bytes)
//     inner node = H(0x01 || left || right)
//     A node without a right partner at the end of a level is promoted unchanged to the next
//     level (no duplication, so [a,b,c] and [a,b,c,c] have different roots: CVE-2012-2459).
//   - root = H(0x02 || be64(leaf_count) || top node). The leaf count is bound into the root,
//     so a proof that claims a different leaf count (for instance to pass off a truncated
//     shard) never verifies, and a verifier needs nothing but the root.
// H is SHA-256 or BLAKE2b-256 (MerkleHashKind); the kind is not encoded in the root, the
// catalog keeps it next to the root.
//
// Leaf sizes are not bound: a verifier that knows the shard's size checks the length of
// the leaves it receives (all leaf_size except possibly the last).
//
//   absl::StatusOr<MerkleTree> tree = MerkleTree::Build(shard);       // 64 KiB leaves
//   absl::StatusOr<MerkleProof> proof = tree->Prove(7);
//   absl::Status ok = VerifyMerkleProof(tree->root(), leaf7_bytes, *proof);
//
// Thread-safety: MerkleTree is immutable after construction (const methods are
// thread-safe); MerkleBuilder is not thread-safe. All free functions are thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/hash.h"

namespace gnr::crypto {

// Values are stable (persisted in the catalog).
enum class MerkleHashKind : uint8_t { kSha256 = 0, kBlake2b256 = 1 };

inline constexpr size_t kDefaultMerkleLeafSize = 64 * 1024;

// Proof that one leaf is at `leaf_index` of a tree of `leaf_count` leaves. `siblings` are
// the partner nodes from the leaf level upwards (levels where the node is promoted have no
// sibling), so siblings.size() <= 64.
struct MerkleProof {
  uint64_t leaf_index = 0;
  uint64_t leaf_count = 0;
  std::vector<Hash256> siblings;

  // Compact binary encoding (big-endian): tag 0x01, be64 leaf_index, be64 leaf_count,
  // u8 sibling count, 32 bytes per sibling.
  Bytes Encode() const;
  // Decodes untrusted bytes. InvalidArgument on truncation, trailing bytes, a wrong tag,
  // leaf_count == 0, leaf_index >= leaf_count, or a sibling count that does not match the
  // tree shape. Never asserts.
  static absl::StatusOr<MerkleProof> Decode(ByteView bytes);

  friend bool operator==(const MerkleProof&, const MerkleProof&) = default;
};

// Proof for the contiguous leaves [first_leaf, first_leaf + leaf_count_in_range) of a tree
// of `total_leaves` leaves: the minimal set of nodes outside the range needed to recompute
// the root, ordered level by level from the leaves up, and left before right within a level
// (at most 2 per level, so nodes.size() <= 128).
struct MerkleRangeProof {
  uint64_t first_leaf = 0;
  uint64_t leaf_count_in_range = 0;
  uint64_t total_leaves = 0;
  std::vector<Hash256> nodes;

  // Tag 0x02, be64 first_leaf, be64 leaf_count_in_range, be64 total_leaves, u8 node count,
  // 32 bytes per node.
  Bytes Encode() const;
  // Decodes untrusted bytes; same rules as MerkleProof::Decode (the range must be non-empty
  // and inside the tree, and the node count must match the shape).
  static absl::StatusOr<MerkleRangeProof> Decode(ByteView bytes);

  friend bool operator==(const MerkleRangeProof&, const MerkleRangeProof&) = default;
};

// A complete tree: all levels are kept (about 2 * leaf_count hashes, 64 bytes per leaf), so
// proofs are O(log n) lookups. Movable and copyable.
class MerkleTree {
 public:
  // Hashes `data` cut into `leaf_size` chunks. InvalidArgument if leaf_size == 0.
  static absl::StatusOr<MerkleTree> Build(ByteView data, size_t leaf_size = kDefaultMerkleLeafSize,
                                          MerkleHashKind kind = MerkleHashKind::kSha256);
  // Builds from already computed leaf hashes (MerkleLeafHash of each leaf), e.g. a farmer's
  // stored index. InvalidArgument if `leaf_hashes` is empty.
  static absl::StatusOr<MerkleTree> FromLeafHashes(std::vector<Hash256> leaf_hashes,
                                                   MerkleHashKind kind = MerkleHashKind::kSha256);

  const Hash256& root() const { return root_; }
  uint64_t leaf_count() const { return levels_.front().size(); }
  MerkleHashKind kind() const { return kind_; }
  // Leaf hashes in order (level 0 of the tree).
  std::span<const Hash256> leaf_hashes() const { return levels_.front(); }

  // InvalidArgument if leaf_index >= leaf_count().
  absl::StatusOr<MerkleProof> Prove(uint64_t leaf_index) const;
  // InvalidArgument if count == 0 or the range does not lie inside [0, leaf_count()).
  absl::StatusOr<MerkleRangeProof> ProveRange(uint64_t first_leaf, uint64_t count) const;

 private:
  MerkleTree(std::vector<std::vector<Hash256>> levels, MerkleHashKind kind);

  std::vector<std::vector<Hash256>> levels_;  // levels_[0] = leaves, back() = single top node
  MerkleHashKind kind_;
  Hash256 root_;
};

// H(0x00 || leaf).
Hash256 MerkleLeafHash(ByteView leaf, MerkleHashKind kind = MerkleHashKind::kSha256);

// MerkleLeafHash of each of `leaves` into `out` (the first min of both sizes). Faster than a
// call per leaf: with the CPU's SHA extensions, two SHA-256 leaves of the same length are
// hashed at once, at ~1.9x the rate of one.
void MerkleLeafHashes(std::span<const ByteView> leaves, std::span<Hash256> out,
                      MerkleHashKind kind = MerkleHashKind::kSha256);
// The leaf hashes of `data` cut into `leaf_size` pieces, the last one possibly shorter (one
// empty leaf for empty data, none if leaf_size == 0): level 0 of MerkleTree::Build(data).
std::vector<Hash256> MerkleLeafHashesOf(ByteView data, size_t leaf_size = kDefaultMerkleLeafSize,
                                        MerkleHashKind kind = MerkleHashKind::kSha256);

// Number of leaves of a tree over `data_size` bytes (at least 1). leaf_size must be >= 1
// (returns 0 otherwise).
uint64_t MerkleLeafCount(uint64_t data_size, size_t leaf_size = kDefaultMerkleLeafSize);

// OK if `leaf` is leaf proof.leaf_index of the tree with root `root`. InvalidArgument for a
// malformed proof (leaf_count 0, index out of range, wrong number of siblings); DataLoss
// ("Merkle proof does not match root ...") when the recomputed root differs.
absl::Status VerifyMerkleProof(const Hash256& root, ByteView leaf, const MerkleProof& proof,
                               MerkleHashKind kind = MerkleHashKind::kSha256);

// Same as VerifyMerkleProof for a run of leaves given by their hashes (MerkleLeafHash);
// leaf_hashes.size() must equal proof.leaf_count_in_range (InvalidArgument otherwise).
absl::Status VerifyMerkleRange(const Hash256& root, std::span<const Hash256> leaf_hashes,
                               const MerkleRangeProof& proof,
                               MerkleHashKind kind = MerkleHashKind::kSha256);

// Computes a tree while the bytes stream past, in any chunking, without keeping them.
// Memory: one hash per completed leaf. Full SHA-256 blocks are hashed straight from the
// caller's buffers, at any alignment (no staging copy).
//
//   MerkleBuilder b;
//   for (ByteView piece : pieces) b.Update(piece);
//   absl::StatusOr<MerkleTree> tree = b.Finish();
class MerkleBuilder {
 public:
  explicit MerkleBuilder(size_t leaf_size = kDefaultMerkleLeafSize,
                         MerkleHashKind kind = MerkleHashKind::kSha256);
  ~MerkleBuilder();
  MerkleBuilder(MerkleBuilder&&) noexcept;
  MerkleBuilder& operator=(MerkleBuilder&&) noexcept;

  // Whole leaves that start at a leaf boundary are hashed two at a time (MerkleLeafHashes):
  // feed pieces of several leaves where possible.
  void Update(ByteView data);
  // Equals MerkleTree::Build over the concatenation of all updates. InvalidArgument if
  // leaf_size == 0. Resets the builder for reuse.
  absl::StatusOr<MerkleTree> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gnr::crypto
