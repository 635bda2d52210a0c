#include "crypto/merkle.h"

#include <cryptopp/blake2.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"

namespace gnr::crypto {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kInnerPrefix = 0x01;
constexpr uint8_t kRootPrefix = 0x02;

constexpr uint8_t kProofTag = 0x01;
constexpr uint8_t kRangeProofTag = 0x02;
// A tree has at most 64 levels above the leaves (leaf_count < 2^64).
constexpr size_t kMaxProofSiblings = 64;
constexpr size_t kMaxRangeProofNodes = 2 * kMaxProofSiblings;

absl::Status CheckKind(MerkleHashKind kind) {
  if (kind != MerkleHashKind::kSha256 && kind != MerkleHashKind::kBlake2b256) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown Merkle hash kind ", static_cast<int>(kind)));
  }
  return absl::OkStatus();
}

// One reusable hash object (constructing a BLAKE2b state per node would cost more than
// hashing 65 bytes). Not thread-safe; one per call.
class NodeHasher {
 public:
  explicit NodeHasher(MerkleHashKind kind) {
    if (kind == MerkleHashKind::kBlake2b256) {
      h_ = std::make_unique<CryptoPP::BLAKE2b>(false, 32);
    } else {
      h_ = std::make_unique<CryptoPP::SHA256>();
    }
  }

  // Streaming leaf: BeginLeaf, Update*, Finish.
  void BeginLeaf() { h_->Update(&kLeafPrefix, 1); }
  void Update(ByteView data) { h_->Update(data.data(), data.size()); }
  Hash256 Finish() {
    Hash256 out;
    h_->Final(out.data());  // also restarts the hash
    return out;
  }

  Hash256 Leaf(ByteView leaf) {
    BeginLeaf();
    Update(leaf);
    return Finish();
  }
  Hash256 Inner(const Hash256& left, const Hash256& right) {
    h_->Update(&kInnerPrefix, 1);
    h_->Update(left.data(), left.size());
    h_->Update(right.data(), right.size());
    return Finish();
  }
  Hash256 Root(uint64_t leaf_count, const Hash256& top) {
    uint8_t header[9];
    header[0] = kRootPrefix;
    PutBigEndian64(leaf_count, MutableByteView(header + 1, 8));
    h_->Update(header, sizeof(header));
    h_->Update(top.data(), top.size());
    return Finish();
  }

 private:
  std::unique_ptr<CryptoPP::HashTransformation> h_;
};

// Number of proof nodes for the leaves [first, first + count) of a tree of `total` leaves
// (the caller has checked 1 <= count and first + count <= total). Walks the same shape as
// ProveRange and VerifyRange.
size_t RangeNodeCount(uint64_t first, uint64_t count, uint64_t total) {
  uint64_t lo = first;
  uint64_t hi = first + count;  // exclusive
  uint64_t width = total;
  size_t n = 0;
  while (width > 1) {
    if (lo % 2 == 1) ++n;
    if ((hi - 1) % 2 == 0 && hi < width) ++n;
    lo /= 2;
    hi = hi / 2 + hi % 2;
    width = width / 2 + width % 2;
  }
  return n;
}

absl::Status CheckRange(uint64_t first, uint64_t count, uint64_t total) {
  if (total == 0) return absl::InvalidArgumentError("Merkle tree must have at least one leaf");
  if (count == 0) return absl::InvalidArgumentError("Merkle range must not be empty");
  if (first >= total || count > total - first) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle range of ", count, " leaves at ", first,
                                                   " is outside the tree of ", total, " leaves"));
  }
  return absl::OkStatus();
}

// Recomputes the root from the leaf hashes of a range and the proof nodes. The shape has
// been checked (CheckRange, node count).
Hash256 ComputeRangeRoot(NodeHasher& hasher, std::span<const Hash256> leaf_hashes, uint64_t first,
                         uint64_t total, std::span<const Hash256> nodes) {
  std::vector<Hash256> level(leaf_hashes.begin(), leaf_hashes.end());
  std::vector<Hash256> next;
  uint64_t lo = first;
  uint64_t hi = first + leaf_hashes.size();
  uint64_t width = total;
  size_t used = 0;
  while (width > 1) {
    // `level` holds the nodes [lo, hi) of this level; extend it to whole pairs.
    const bool need_left = lo % 2 == 1;
    const bool need_right = (hi - 1) % 2 == 0 && hi < width;
    next.clear();
    next.reserve(level.size() / 2 + 2);
    size_t i = 0;
    if (need_left) {
      next.push_back(hasher.Inner(nodes[used++], level[0]));
      i = 1;
    }
    const Hash256* right = need_right ? &nodes[used++] : nullptr;
    for (; i < level.size(); i += 2) {
      if (i + 1 < level.size()) {
        next.push_back(hasher.Inner(level[i], level[i + 1]));
      } else if (right != nullptr) {
        next.push_back(hasher.Inner(level[i], *right));
      } else {
        next.push_back(level[i]);  // last node of an odd level: promoted
      }
    }
    level.swap(next);
    lo /= 2;
    hi = hi / 2 + hi % 2;
    width = width / 2 + width % 2;
  }
  return hasher.Root(total, level[0]);
}

void PutU64(Bytes& out, uint64_t v) {
  uint8_t b[8];
  PutBigEndian64(v, b);
  out.insert(out.end(), b, b + 8);
}

void PutNodes(Bytes& out, std::span<const Hash256> nodes) {
  for (const Hash256& h : nodes) out.insert(out.end(), h.begin(), h.end());
}

// Reads `count` nodes of 32 bytes from `in` (whose size the caller has checked).
std::vector<Hash256> GetNodes(ByteView in, size_t count) {
  std::vector<Hash256> nodes(count);
  for (size_t i = 0; i < count; ++i) std::memcpy(nodes[i].data(), in.data() + 32 * i, 32);
  return nodes;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Free functions

Hash256 MerkleLeafHash(ByteView leaf, MerkleHashKind kind) { return NodeHasher(kind).Leaf(leaf); }

uint64_t MerkleLeafCount(uint64_t data_size, size_t leaf_size) {
  if (leaf_size == 0) return 0;
  if (data_size == 0) return 1;
  return data_size / leaf_size + (data_size % leaf_size != 0 ? 1 : 0);
}

absl::Status VerifyMerkleRange(const Hash256& root, std::span<const Hash256> leaf_hashes,
                               const MerkleRangeProof& proof, MerkleHashKind kind) {
  GNR_RETURN_IF_ERROR(CheckKind(kind));
  GNR_RETURN_IF_ERROR(CheckRange(proof.first_leaf, proof.leaf_count_in_range, proof.total_leaves));
  if (leaf_hashes.size() != proof.leaf_count_in_range) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle range proof covers ",
                                                   proof.leaf_count_in_range, " leaves but ",
                                                   leaf_hashes.size(), " leaf hashes were given"));
  }
  const size_t expected =
      RangeNodeCount(proof.first_leaf, proof.leaf_count_in_range, proof.total_leaves);
  if (proof.nodes.size() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle range proof has ", proof.nodes.size(), " nodes, expected ", expected,
                     " for leaves [", proof.first_leaf, ", ",
                     proof.first_leaf + proof.leaf_count_in_range, ") of ", proof.total_leaves));
  }
  NodeHasher hasher(kind);
  Hash256 computed =
      ComputeRangeRoot(hasher, leaf_hashes, proof.first_leaf, proof.total_leaves, proof.nodes);
  if (computed != root) {
    return absl::DataLossError(absl::StrCat(
        "Merkle proof does not match root ", HexEncode(root), " (leaves [", proof.first_leaf, ", ",
        proof.first_leaf + proof.leaf_count_in_range, ") of ", proof.total_leaves, ")"));
  }
  return absl::OkStatus();
}

absl::Status VerifyMerkleProof(const Hash256& root, ByteView leaf, const MerkleProof& proof,
                               MerkleHashKind kind) {
  GNR_RETURN_IF_ERROR(CheckKind(kind));
  if (proof.leaf_count == 0) {
    return absl::InvalidArgumentError("Merkle proof leaf_count must be at least 1");
  }
  if (proof.leaf_index >= proof.leaf_count) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle proof leaf index ", proof.leaf_index,
                                                   " is out of range for ", proof.leaf_count,
                                                   " leaves"));
  }
  const size_t expected = RangeNodeCount(proof.leaf_index, 1, proof.leaf_count);
  if (proof.siblings.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle proof has ", proof.siblings.size(),
                                                   " siblings, expected ", expected, " for leaf ",
                                                   proof.leaf_index, " of ", proof.leaf_count));
  }
  NodeHasher hasher(kind);
  const Hash256 leaf_hash = hasher.Leaf(leaf);
  Hash256 computed = ComputeRangeRoot(hasher, std::span<const Hash256>(&leaf_hash, 1),
                                      proof.leaf_index, proof.leaf_count, proof.siblings);
  if (computed != root) {
    return absl::DataLossError(absl::StrCat("Merkle proof does not match root ", HexEncode(root),
                                            " (leaf ", proof.leaf_index, " of ", proof.leaf_count,
                                            ")"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Proof encodings

Bytes MerkleProof::Encode() const {
  Bytes out;
  out.reserve(18 + 32 * siblings.size());
  out.push_back(kProofTag);
  PutU64(out, leaf_index);
  PutU64(out, leaf_count);
  out.push_back(static_cast<uint8_t>(siblings.size()));
  PutNodes(out, siblings);
  return out;
}

absl::StatusOr<MerkleProof> MerkleProof::Decode(ByteView in) {
  constexpr size_t kHeader = 1 + 8 + 8 + 1;
  if (in.size() < kHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle proof is truncated: ", in.size(), " bytes, header needs ", kHeader));
  }
  if (in[0] != kProofTag) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a Merkle proof: tag 0x", HexEncode(in.first(1)), ", expected 0x01"));
  }
  MerkleProof proof;
  proof.leaf_index = GetBigEndian64(in.subspan(1, 8));
  proof.leaf_count = GetBigEndian64(in.subspan(9, 8));
  const size_t n = in[17];
  if (n > kMaxProofSiblings) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle proof has ", n, " siblings, at most 64 allowed"));
  }
  if (in.size() != kHeader + 32 * n) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle proof with ", n, " siblings must be ",
                                                   kHeader + 32 * n, " bytes, got ", in.size()));
  }
  if (proof.leaf_count == 0 || proof.leaf_index >= proof.leaf_count) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle proof leaf index ", proof.leaf_index,
                                                   " is out of range for ", proof.leaf_count,
                                                   " leaves"));
  }
  const size_t expected = RangeNodeCount(proof.leaf_index, 1, proof.leaf_count);
  if (n != expected) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle proof has ", n, " siblings, expected ",
                                                   expected, " for leaf ", proof.leaf_index, " of ",
                                                   proof.leaf_count));
  }
  proof.siblings = GetNodes(in.subspan(kHeader), n);
  return proof;
}

Bytes MerkleRangeProof::Encode() const {
  Bytes out;
  out.reserve(26 + 32 * nodes.size());
  out.push_back(kRangeProofTag);
  PutU64(out, first_leaf);
  PutU64(out, leaf_count_in_range);
  PutU64(out, total_leaves);
  out.push_back(static_cast<uint8_t>(nodes.size()));
  PutNodes(out, nodes);
  return out;
}

absl::StatusOr<MerkleRangeProof> MerkleRangeProof::Decode(ByteView in) {
  constexpr size_t kHeader = 1 + 8 + 8 + 8 + 1;
  if (in.size() < kHeader) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle range proof is truncated: ", in.size(),
                                                   " bytes, header needs ", kHeader));
  }
  if (in[0] != kRangeProofTag) {
    return absl::InvalidArgumentError(absl::StrCat("not a Merkle range proof: tag 0x",
                                                   HexEncode(in.first(1)), ", expected 0x02"));
  }
  MerkleRangeProof proof;
  proof.first_leaf = GetBigEndian64(in.subspan(1, 8));
  proof.leaf_count_in_range = GetBigEndian64(in.subspan(9, 8));
  proof.total_leaves = GetBigEndian64(in.subspan(17, 8));
  const size_t n = in[25];
  if (n > kMaxRangeProofNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle range proof has ", n, " nodes, at most 128 allowed"));
  }
  if (in.size() != kHeader + 32 * n) {
    return absl::InvalidArgumentError(absl::StrCat("Merkle range proof with ", n, " nodes must be ",
                                                   kHeader + 32 * n, " bytes, got ", in.size()));
  }
  GNR_RETURN_IF_ERROR(CheckRange(proof.first_leaf, proof.leaf_count_in_range, proof.total_leaves));
  const size_t expected =
      RangeNodeCount(proof.first_leaf, proof.leaf_count_in_range, proof.total_leaves);
  if (n != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle range proof has ", n, " nodes, expected ", expected));
  }
  proof.nodes = GetNodes(in.subspan(kHeader), n);
  return proof;
}

// ---------------------------------------------------------------------------------------
// MerkleTree

MerkleTree::MerkleTree(std::vector<std::vector<Hash256>> levels, MerkleHashKind kind)
    : levels_(std::move(levels)), kind_(kind) {
  NodeHasher hasher(kind_);
  while (levels_.back().size() > 1) {
    const std::vector<Hash256>& cur = levels_.back();
    std::vector<Hash256> next;
    next.reserve(cur.size() / 2 + 1);
    for (size_t i = 0; i < cur.size(); i += 2) {
      next.push_back(i + 1 < cur.size() ? hasher.Inner(cur[i], cur[i + 1]) : cur[i]);
    }
    levels_.push_back(std::move(next));
  }
  root_ = hasher.Root(levels_.front().size(), levels_.back()[0]);
}

absl::StatusOr<MerkleTree> MerkleTree::Build(ByteView data, size_t leaf_size, MerkleHashKind kind) {
  GNR_RETURN_IF_ERROR(CheckKind(kind));
  if (leaf_size == 0) return absl::InvalidArgumentError("Merkle leaf size must be at least 1");
  const uint64_t n = MerkleLeafCount(data.size(), leaf_size);
  std::vector<Hash256> leaves;
  leaves.reserve(n);
  NodeHasher hasher(kind);
  for (uint64_t i = 0; i < n; ++i) {
    const size_t offset = i * leaf_size;
    leaves.push_back(hasher.Leaf(data.subspan(offset, std::min(leaf_size, data.size() - offset))));
  }
  std::vector<std::vector<Hash256>> levels;
  levels.push_back(std::move(leaves));
  return MerkleTree(std::move(levels), kind);
}

absl::StatusOr<MerkleTree> MerkleTree::FromLeafHashes(std::vector<Hash256> leaf_hashes,
                                                      MerkleHashKind kind) {
  GNR_RETURN_IF_ERROR(CheckKind(kind));
  if (leaf_hashes.empty()) {
    return absl::InvalidArgumentError("Merkle tree needs at least one leaf hash");
  }
  std::vector<std::vector<Hash256>> levels;
  levels.push_back(std::move(leaf_hashes));
  return MerkleTree(std::move(levels), kind);
}

absl::StatusOr<MerkleProof> MerkleTree::Prove(uint64_t leaf_index) const {
  if (leaf_index >= leaf_count()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Merkle leaf index ", leaf_index, " is out of range for ", leaf_count(), " leaves"));
  }
  GNR_ASSIGN_OR_RETURN(MerkleRangeProof range, ProveRange(leaf_index, 1));
  MerkleProof proof;
  proof.leaf_index = leaf_index;
  proof.leaf_count = leaf_count();
  proof.siblings = std::move(range.nodes);
  return proof;
}

absl::StatusOr<MerkleRangeProof> MerkleTree::ProveRange(uint64_t first_leaf, uint64_t count) const {
  GNR_RETURN_IF_ERROR(CheckRange(first_leaf, count, leaf_count()));
  MerkleRangeProof proof;
  proof.first_leaf = first_leaf;
  proof.leaf_count_in_range = count;
  proof.total_leaves = leaf_count();
  uint64_t lo = first_leaf;
  uint64_t hi = first_leaf + count;
  for (size_t level = 0; level + 1 < levels_.size(); ++level) {
    const std::vector<Hash256>& nodes = levels_[level];
    if (lo % 2 == 1) proof.nodes.push_back(nodes[lo - 1]);
    if ((hi - 1) % 2 == 0 && hi < nodes.size()) proof.nodes.push_back(nodes[hi]);
    lo /= 2;
    hi = hi / 2 + hi % 2;
  }
  return proof;
}

// ---------------------------------------------------------------------------------------
// MerkleBuilder

struct MerkleBuilder::Impl {
  Impl(size_t leaf_size, MerkleHashKind kind) : leaf_size(leaf_size), kind(kind), hasher(kind) {}

  size_t leaf_size;
  MerkleHashKind kind;
  NodeHasher hasher;
  size_t in_leaf = 0;  // bytes of the current, unfinished leaf
  std::vector<Hash256> leaves;
};

MerkleBuilder::MerkleBuilder(size_t leaf_size, MerkleHashKind kind)
    : impl_(std::make_unique<Impl>(leaf_size, kind)) {}
MerkleBuilder::~MerkleBuilder() = default;
MerkleBuilder::MerkleBuilder(MerkleBuilder&&) noexcept = default;
MerkleBuilder& MerkleBuilder::operator=(MerkleBuilder&&) noexcept = default;

void MerkleBuilder::Update(ByteView data) {
  Impl& s = *impl_;
  if (s.leaf_size == 0) return;  // reported by Finish
  while (!data.empty()) {
    if (s.in_leaf == 0) s.hasher.BeginLeaf();
    const size_t take = std::min(s.leaf_size - s.in_leaf, data.size());
    s.hasher.Update(data.first(take));
    data = data.subspan(take);
    s.in_leaf += take;
    if (s.in_leaf == s.leaf_size) {
      s.leaves.push_back(s.hasher.Finish());
      s.in_leaf = 0;
    }
  }
}

absl::StatusOr<MerkleTree> MerkleBuilder::Finish() {
  Impl& s = *impl_;
  if (s.leaf_size == 0) return absl::InvalidArgumentError("Merkle leaf size must be at least 1");
  GNR_RETURN_IF_ERROR(CheckKind(s.kind));
  if (s.in_leaf > 0) {
    s.leaves.push_back(s.hasher.Finish());
    s.in_leaf = 0;
  }
  if (s.leaves.empty()) s.leaves.push_back(s.hasher.Leaf({}));
  std::vector<Hash256> leaves;
  leaves.swap(s.leaves);
  return MerkleTree::FromLeafHashes(std::move(leaves), s.kind);
}

}  // namespace gnr::crypto
