#include "crypto/merkle.h"

#include <cryptopp/blake2.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define GNR_MERKLE_SHANI 1
#endif

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

// ---------------------------------------------------------------------------------------
// SHA-256 on the x86 SHA extensions, reading the input where it lies.
//
// Why not Crypto++ here: its SHA-NI code is as fast on input whose 64-byte blocks start at
// 4-byte aligned addresses, but any other input goes one block at a time through a copy
// into its own buffer. A Merkle leaf is H(0x00 || leaf): the one-byte prefix puts every
// block boundary of an aligned leaf at an odd address, which cost ~12% of the hash rate.
// The kernel below loads with unaligned loads, so the rate does not depend on alignment.
// Outputs are plain SHA-256 (the tests compare with crypto::Sha256).

#ifdef GNR_MERKLE_SHANI
bool DetectShaNi() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3 = (c & (1u << 9)) != 0;
  const bool sse41 = (c & (1u << 19)) != 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool sha = (b & (1u << 29)) != 0;
  return ssse3 && sse41 && sha;
}

alignas(16) constexpr uint32_t kSha256K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// One message being hashed by ShaNiBlocks: its state H0..H7 (in the usual order) and its
// next input block (any alignment).
struct ShaNiLane {
  uint32_t* state;
  const uint8_t* in;
};

// Runs the compression function over `blocks` consecutive 64-byte blocks of each lane's
// message, the lanes interleaved. One message is bound by the latency of the round
// instructions, so a second independent one runs in the idle cycles: two lanes hash ~1.9x
// as many bytes per second as one (measured on Zen 4; the Linux kernel's fs-verity pairs
// messages the same way), more lanes gain nothing.
template <size_t kLanes>
__attribute__((target("sha,sse4.1,ssse3"))) void ShaNiBlocks(std::array<ShaNiLane, kLanes> lanes,
                                                             size_t blocks) {
  // Big-endian message words: reverse the bytes of each 32-bit lane.
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  // The instructions keep the state as two registers, lanes high to low: ABEF and CDGH.
  __m128i abef[kLanes], cdgh[kLanes];
  for (size_t l = 0; l < kLanes; ++l) {
    __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes[l].state));
    __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes[l].state + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    abef[l] = _mm_alignr_epi8(cdab, efgh, 8);
    cdgh[l] = _mm_blend_epi16(efgh, cdab, 0xF0);
  }
  for (; blocks > 0; --blocks) {
    __m128i abef_in[kLanes], cdgh_in[kLanes];
    // msg[l][i % 4] holds message words W[4i .. 4i+3] of round group i of lane l.
    __m128i msg[kLanes][4];
    for (size_t l = 0; l < kLanes; ++l) {
      abef_in[l] = abef[l];
      cdgh_in[l] = cdgh[l];
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(kSha256K + 4 * i));
#pragma GCC unroll 2
      for (size_t l = 0; l < kLanes; ++l) {
        __m128i* m = msg[l];
        if (i < 4) {
          m[i] = _mm_shuffle_epi8(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(lanes[l].in + 16 * i)), bswap);
        } else {
          // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] for t = 4i .. 4i+3.
          __m128i w = _mm_sha256msg1_epu32(m[i % 4], m[(i + 1) % 4]);
          w = _mm_add_epi32(w, _mm_alignr_epi8(m[(i + 3) % 4], m[(i + 2) % 4], 4));
          m[i % 4] = _mm_sha256msg2_epu32(w, m[(i + 3) % 4]);
        }
        const __m128i wk = _mm_add_epi32(m[i % 4], k);
        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);  // two rounds; now the new ABEF
        abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(wk, 0x0E));
      }
    }
    for (size_t l = 0; l < kLanes; ++l) {
      abef[l] = _mm_add_epi32(abef[l], abef_in[l]);
      cdgh[l] = _mm_add_epi32(cdgh[l], cdgh_in[l]);
      lanes[l].in += 64;
    }
  }
  for (size_t l = 0; l < kLanes; ++l) {
    const __m128i feba = _mm_shuffle_epi32(abef[l], 0x1B);
    const __m128i dchg = _mm_shuffle_epi32(cdgh[l], 0xB1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes[l].state), _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes[l].state + 4),
                     _mm_alignr_epi8(dchg, feba, 8));
  }
}
#endif  // GNR_MERKLE_SHANI

bool HaveShaNi() {
#ifdef GNR_MERKLE_SHANI
  static const bool have = DetectShaNi();
  return have;
#else
  return false;
#endif
}

constexpr uint32_t kSha256Init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The padded end of a message of `length` bytes whose last `tail.size()` (< 64) bytes are
// `tail`: writes 1 or 2 blocks to `out` and returns how many.
size_t ShaLastBlocks(ByteView tail, uint64_t length, uint8_t out[128]) {
  const size_t n = tail.size();
  const size_t blocks = n + 1 + 8 <= 64 ? 1 : 2;
  std::memcpy(out, tail.data(), n);
  out[n] = 0x80;
  std::memset(out + n + 1, 0, 64 * blocks - 8 - (n + 1));
  PutBigEndian64(length * 8, MutableByteView(out + 64 * blocks - 8, 8));
  return blocks;
}

void ShaDigest(const uint32_t state[8], uint8_t out[32]) {
  for (int i = 0; i < 8; ++i) PutBigEndian32(state[i], MutableByteView(out + 4 * i, 4));
}

// Streaming SHA-256 over ShaNiBlocks; only constructed when HaveShaNi(). Full blocks are
// hashed from the caller's buffer; only a partial block is copied.
class ShaNiSha256 {
 public:
  ShaNiSha256() { Reset(); }

  void Update(const uint8_t* p, size_t n) {
    if (n == 0) return;  // p may be null
    length_ += n;
    if (buffered_ > 0) {
      const size_t take = std::min(n, sizeof(block_) - buffered_);
      std::memcpy(block_ + buffered_, p, take);
      buffered_ += take;
      p += take;
      n -= take;
      if (buffered_ < sizeof(block_)) return;
      Compress(block_, 1);
      buffered_ = 0;
    }
    if (n >= 64) {
      Compress(p, n / 64);
      p += n & ~size_t{63};
      n &= 63;
    }
    if (n > 0) {
      std::memcpy(block_, p, n);
      buffered_ = n;
    }
  }

  // Writes the digest and resets for the next message.
  void Final(uint8_t out[32]) {
    uint8_t last[128];
    const size_t blocks = ShaLastBlocks(ByteView(block_, buffered_), length_, last);
    Compress(last, blocks);
    ShaDigest(state_, out);
    Reset();
  }

 private:
  void Reset() {
    std::memcpy(state_, kSha256Init, sizeof(state_));
    buffered_ = 0;
    length_ = 0;
  }
  void Compress(const uint8_t* p, size_t blocks) {
#ifdef GNR_MERKLE_SHANI
    ShaNiBlocks<1>({ShaNiLane{state_, p}}, blocks);
#else
    (void)p;
    (void)blocks;
#endif
  }

  uint32_t state_[8];
  uint8_t block_[64];
  size_t buffered_;
  uint64_t length_;
};

// One reusable hash object (constructing a BLAKE2b state per node would cost more than
// hashing 65 bytes). SHA-256 runs on ShaNiSha256 when the CPU has the SHA extensions, on
// Crypto++ otherwise. Not thread-safe; one per call.
class NodeHasher {
 public:
  explicit NodeHasher(MerkleHashKind kind) {
    if (kind == MerkleHashKind::kBlake2b256) {
      h_ = std::make_unique<CryptoPP::BLAKE2b>(false, 32);
    } else if (HaveShaNi()) {
      sha_ = std::make_unique<ShaNiSha256>();
    } else {
      h_ = std::make_unique<CryptoPP::SHA256>();
    }
  }

  // Streaming leaf: BeginLeaf, Update*, Finish.
  void BeginLeaf() { Put(&kLeafPrefix, 1); }
  void Update(ByteView data) { Put(data.data(), data.size()); }
  Hash256 Finish() {
    Hash256 out;
    if (sha_ != nullptr) {
      sha_->Final(out.data());
    } else {
      h_->Final(out.data());  // also restarts the hash
    }
    return out;
  }

  Hash256 Leaf(ByteView leaf) {
    BeginLeaf();
    Update(leaf);
    return Finish();
  }
  Hash256 Inner(const Hash256& left, const Hash256& right) {
    uint8_t buf[1 + 2 * 32];
    buf[0] = kInnerPrefix;
    std::memcpy(buf + 1, left.data(), left.size());
    std::memcpy(buf + 1 + 32, right.data(), right.size());
    Put(buf, sizeof(buf));
    return Finish();
  }
  Hash256 Root(uint64_t leaf_count, const Hash256& top) {
    uint8_t buf[9 + 32];
    buf[0] = kRootPrefix;
    PutBigEndian64(leaf_count, MutableByteView(buf + 1, 8));
    std::memcpy(buf + 9, top.data(), top.size());
    Put(buf, sizeof(buf));
    return Finish();
  }

 private:
  void Put(const uint8_t* p, size_t n) {
    if (sha_ != nullptr) {
      sha_->Update(p, n);
    } else {
      h_->Update(p, n);
    }
  }

  std::unique_ptr<ShaNiSha256> sha_;                 // SHA-256 with SHA-NI, or
  std::unique_ptr<CryptoPP::HashTransformation> h_;  // Crypto++ (BLAKE2b, SHA-256)
};

// H(0x00 || a) and H(0x00 || b) for two leaves of the same length, at least 63 bytes, in
// two ShaNiBlocks lanes. Only called when HaveShaNi().
void ShaNiLeafPair(ByteView a, ByteView b, Hash256& hash_a, Hash256& hash_b) {
#ifdef GNR_MERKLE_SHANI
  const size_t len = a.size();
  uint32_t state[2][8];
  std::memcpy(state[0], kSha256Init, sizeof(kSha256Init));
  std::memcpy(state[1], kSha256Init, sizeof(kSha256Init));
  // The prefix byte shifts the leaf by one: its first block is assembled here, every later
  // full block is read where it lies.
  uint8_t first[2][64];
  first[0][0] = first[1][0] = kLeafPrefix;
  std::memcpy(first[0] + 1, a.data(), 63);
  std::memcpy(first[1] + 1, b.data(), 63);
  ShaNiBlocks<2>({ShaNiLane{state[0], first[0]}, {state[1], first[1]}}, 1);
  const size_t body = (len - 63) / 64;
  ShaNiBlocks<2>({ShaNiLane{state[0], a.data() + 63}, {state[1], b.data() + 63}}, body);
  const size_t hashed = 63 + 64 * body;
  uint8_t last[2][128];
  const size_t blocks = ShaLastBlocks(a.subspan(hashed), len + 1, last[0]);
  ShaLastBlocks(b.subspan(hashed), len + 1, last[1]);
  ShaNiBlocks<2>({ShaNiLane{state[0], last[0]}, {state[1], last[1]}}, blocks);
  ShaDigest(state[0], hash_a.data());
  ShaDigest(state[1], hash_b.data());
#else
  (void)a;
  (void)b;
  (void)hash_a;
  (void)hash_b;
#endif
}

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

void MerkleLeafHashes(std::span<const ByteView> leaves, std::span<Hash256> out,
                      MerkleHashKind kind) {
  const size_t n = std::min(leaves.size(), out.size());
  const bool pairs = kind == MerkleHashKind::kSha256 && HaveShaNi();
  std::optional<NodeHasher> hasher;
  for (size_t i = 0; i < n; ++i) {
    if (pairs && i + 1 < n && leaves[i].size() >= 63 && leaves[i + 1].size() == leaves[i].size()) {
      ShaNiLeafPair(leaves[i], leaves[i + 1], out[i], out[i + 1]);
      ++i;
      continue;
    }
    if (!hasher.has_value()) hasher.emplace(kind);
    out[i] = hasher->Leaf(leaves[i]);
  }
}

std::vector<Hash256> MerkleLeafHashesOf(ByteView data, size_t leaf_size, MerkleHashKind kind) {
  const uint64_t count = MerkleLeafCount(data.size(), leaf_size);
  std::vector<ByteView> leaves;
  leaves.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const size_t offset = i * leaf_size;
    leaves.push_back(data.subspan(offset, std::min(leaf_size, data.size() - offset)));
  }
  std::vector<Hash256> hashes(leaves.size());
  MerkleLeafHashes(leaves, hashes, kind);
  return hashes;
}

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
  std::vector<Hash256> leaves = MerkleLeafHashesOf(data, leaf_size, kind);
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
    if (s.in_leaf == 0 && data.size() >= 2 * s.leaf_size) {
      // Whole leaves: hashed two at a time.
      const ByteView whole = data.first(data.size() / s.leaf_size * s.leaf_size);
      const std::vector<Hash256> hashes = MerkleLeafHashesOf(whole, s.leaf_size, s.kind);
      s.leaves.insert(s.leaves.end(), hashes.begin(), hashes.end());
      data = data.subspan(whole.size());
      continue;
    }
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
