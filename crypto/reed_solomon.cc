#include "crypto/reed_solomon.h"

#include <jerasure.h>
#include <jerasure/reed_sol.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

// How the library is used, and why not jerasure_matrix_encode/decode directly:
//  - Jerasure builds the coding matrix (reed_sol_vandermonde_coding_matrix) and inverts the
//    k x k survivor matrices (jerasure_invert_matrix); both are pure functions of small int
//    matrices once the GF(2^8) field exists.
//  - The byte work goes through GF-Complete's region multiply (the gf_t that Jerasure's
//    galois layer owns, SSSE3 split tables), called from our own cache-blocked loop. We do
//    not call jerasure_matrix_encode/dotprod because (a) they update process-global
//    statistics counters without synchronisation (a data race when two codecs run at
//    once), (b) they take int sizes, and (c) GF-Complete asserts (aborts) when source and
//    destination differ in alignment mod 16 and reads/writes out of bounds for regions
//    shorter than their alignment head. Our loop only ever hands GF-Complete regions whose
//    source and destination are both 16-byte aligned and whose length is a multiple of 16;
//    unaligned heads, tails and mismatched sources are handled here.
//  - Jerasure's galois layer initialises its field lazily through a global pointer, which
//    is not thread-safe; we initialise it exactly once (a function-local static) before any
//    other Jerasure call, after which every Jerasure/GF-Complete call we make only reads it.

namespace gnr::crypto {

namespace {

constexpr int kW = 8;  // GF(2^8)
constexpr size_t kAlign = 16;
// Bytes of each shard processed per pass: the parity/output blocks stay in L1 while the k
// input blocks stream through L2.
constexpr size_t kBlockSize = 16 << 10;
// Staging buffer for sources whose alignment differs from their destination's.
constexpr size_t kBounceSize = 4 << 10;

struct Field {
  gf_t* gf = nullptr;
  // mul[a][b] = a * b in GF(2^8), for unaligned heads and tails.
  std::array<std::array<uint8_t, 256>, 256> mul;
};

// Returns the process-wide field, initialising Jerasure's default w=8 field on first use
// (thread-safe), or nullptr if GF-Complete could not initialise it.
const Field* GetField() {
  static const Field* const field = []() -> const Field* {
    if (galois_init_default_field(kW) != 0) return nullptr;
    gf_t* gf = galois_get_field_ptr(kW);
    if (gf == nullptr || gf->multiply.w32 == nullptr || gf->multiply_region.w32 == nullptr) {
      return nullptr;
    }
    auto* f = new Field;  // Leaked on purpose: lives for the process, like the gf_t.
    f->gf = gf;
    for (int a = 0; a < 256; ++a) {
      for (int b = 0; b < 256; ++b) {
        f->mul[a][b] = static_cast<uint8_t>(gf->multiply.w32(gf, a, b));
      }
    }
    return f;
  }();
  return field;
}

void ScalarMul(const Field& f, uint8_t coef, const uint8_t* src, uint8_t* dst, size_t n, bool add) {
  const std::array<uint8_t, 256>& row = f.mul[coef];
  if (add) {
    for (size_t i = 0; i < n; ++i) dst[i] ^= row[src[i]];
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = row[src[i]];
  }
}

// dst[0, n) = coef * src[0, n), or dst ^= coef * src when `add`. n <= kBlockSize.
// src and dst must not overlap.
void MulRegion(const Field& f, uint8_t coef, const uint8_t* src, uint8_t* dst, size_t n, bool add) {
  if (n == 0) return;
  if (coef == 0) {
    if (!add) std::memset(dst, 0, n);
    return;
  }
  size_t head = (kAlign - reinterpret_cast<uintptr_t>(dst) % kAlign) % kAlign;
  head = std::min(head, n);
  ScalarMul(f, coef, src, dst, head, add);
  src += head;
  dst += head;
  n -= head;
  const size_t body = n & ~(kAlign - 1);
  gf_t* gf = f.gf;
  if (body > 0) {
    if (reinterpret_cast<uintptr_t>(src) % kAlign == 0) {
      // GF-Complete does not write its source when src != dest.
      gf->multiply_region.w32(gf, const_cast<uint8_t*>(src), dst, coef, static_cast<int>(body),
                              add ? 1 : 0);
    } else {
      alignas(kAlign) uint8_t bounce[kBounceSize];
      for (size_t off = 0; off < body; off += kBounceSize) {
        const size_t len = std::min(kBounceSize, body - off);
        std::memcpy(bounce, src + off, len);
        gf->multiply_region.w32(gf, bounce, dst + off, coef, static_cast<int>(len), add ? 1 : 0);
      }
    }
  }
  ScalarMul(f, coef, src + body, dst + body, n - body, add);
}

std::string Name(int k, int m) { return absl::StrCat("RS(", k, ",", m, ")"); }

}  // namespace

struct ReedSolomon::Matrix {
  const Field* field;
  // m x k coding matrix, row-major: parity r = sum_i coding[r*k + i] * data i.
  std::vector<uint8_t> coding;
};

absl::StatusOr<ReedSolomon> ReedSolomon::Create(int k, int m) {
  if (k < 1 || k > kMaxDataShards || m < 1 || m > kMaxParityShards) {
    return absl::InvalidArgumentError(absl::StrCat("Reed-Solomon needs 1 <= k <= ", kMaxDataShards,
                                                   " data shards and 1 <= m <= ", kMaxParityShards,
                                                   " parity shards, got k=", k, " m=", m));
  }
  const Field* field = GetField();
  if (field == nullptr) {
    return absl::InternalError("GF-Complete could not initialise GF(2^8)");
  }
  // Systematic Vandermonde-derived matrix: [I; C] is obtained from an extended Vandermonde
  // matrix on distinct points by column operations, so every k of its k+m rows are
  // independent (MDS) for k+m <= 257 when w = 8.
  int* raw = reed_sol_vandermonde_coding_matrix(k, m, kW);
  if (raw == nullptr) {
    return absl::InternalError(
        absl::StrCat("Jerasure could not build the ", Name(k, m), " coding matrix"));
  }
  auto matrix = std::make_shared<Matrix>();
  matrix->field = field;
  matrix->coding.resize(static_cast<size_t>(k) * m);
  for (size_t i = 0; i < matrix->coding.size(); ++i) {
    matrix->coding[i] = static_cast<uint8_t>(raw[i]);
  }
  std::free(raw);
  return ReedSolomon(k, m, std::move(matrix));
}

absl::Status ReedSolomon::Encode(std::span<const ByteView> data,
                                 std::span<const MutableByteView> parity) const {
  if (data.size() != static_cast<size_t>(k_) || parity.size() != static_cast<size_t>(m_)) {
    return absl::InvalidArgumentError(absl::StrCat(Name(k_, m_), " encode needs ", k_, " data and ",
                                                   m_, " parity shards, got ", data.size(), " and ",
                                                   parity.size()));
  }
  const size_t size = data[0].size();
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i].size() != size) {
      return absl::InvalidArgumentError(absl::StrCat(Name(k_, m_), " encode: data shard ", i,
                                                     " has ", data[i].size(),
                                                     " bytes, data shard 0 has ", size));
    }
  }
  for (size_t r = 0; r < parity.size(); ++r) {
    if (parity[r].size() != size) {
      return absl::InvalidArgumentError(absl::StrCat(Name(k_, m_), " encode: parity shard ", r,
                                                     " has ", parity[r].size(),
                                                     " bytes, data shards have ", size));
    }
  }
  const Field& f = *matrix_->field;
  const uint8_t* coding = matrix_->coding.data();
  for (size_t off = 0; off < size; off += kBlockSize) {
    const size_t len = std::min(kBlockSize, size - off);
    for (int r = 0; r < m_; ++r) {
      uint8_t* out = parity[r].data() + off;
      for (int i = 0; i < k_; ++i) {
        MulRegion(f, coding[r * k_ + i], data[i].data() + off, out, len, i > 0);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReedSolomon::Reconstruct(std::span<const MutableByteView> shards,
                                      std::span<const bool> present, bool data_only) const {
  const size_t n = static_cast<size_t>(k_ + m_);
  if (shards.size() != n || present.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(Name(k_, m_), " reconstruct needs ", n,
                                                   " shards and presence flags, got ",
                                                   shards.size(), " and ", present.size()));
  }
  const size_t size = shards[0].size();
  for (size_t i = 0; i < n; ++i) {
    if (shards[i].size() != size) {
      return absl::InvalidArgumentError(absl::StrCat(Name(k_, m_), " reconstruct: shard ", i,
                                                     " has ", shards[i].size(),
                                                     " bytes, shard 0 has ", size));
    }
  }
  std::vector<int> survivors;  // the first k present shards, in index order
  std::vector<int> missing_data;
  std::vector<int> missing_parity;
  std::vector<int> missing_all;
  for (int i = 0; i < k_ + m_; ++i) {
    if (present[i]) {
      if (static_cast<int>(survivors.size()) < k_) survivors.push_back(i);
    } else {
      missing_all.push_back(i);
      (i < k_ ? missing_data : missing_parity).push_back(i);
    }
  }
  const int have = k_ + m_ - static_cast<int>(missing_all.size());
  if (have < k_) {
    return absl::DataLossError(absl::StrCat(Name(k_, m_), " cannot reconstruct: need ", k_,
                                            " shards, have ", have, " (missing shards ",
                                            absl::StrJoin(missing_all, ", "), ")"));
  }
  if (data_only) missing_parity.clear();
  if ((missing_data.empty() && missing_parity.empty()) || size == 0) return absl::OkStatus();

  const Field& f = *matrix_->field;
  const uint8_t* coding = matrix_->coding.data();

  // decode[i*k + j]: missing data shard missing_data[i] = sum_j decode[i*k+j] * survivor j.
  std::vector<uint8_t> decode;
  if (!missing_data.empty()) {
    // Rows of the generator [I; C] for the survivors, inverted.
    std::vector<int> sub(static_cast<size_t>(k_) * k_, 0);
    for (int row = 0; row < k_; ++row) {
      const int id = survivors[row];
      for (int col = 0; col < k_; ++col) {
        sub[row * k_ + col] = id < k_ ? (id == col ? 1 : 0) : coding[(id - k_) * k_ + col];
      }
    }
    std::vector<int> inv(static_cast<size_t>(k_) * k_, 0);
    if (jerasure_invert_matrix(sub.data(), inv.data(), k_, kW) != 0) {
      // Cannot happen for an MDS matrix; never write garbage if it somehow does.
      return absl::InternalError(absl::StrCat(Name(k_, m_), " decoding matrix is singular"));
    }
    decode.reserve(missing_data.size() * k_);
    for (int id : missing_data) {
      for (int col = 0; col < k_; ++col) decode.push_back(static_cast<uint8_t>(inv[id * k_ + col]));
    }
  }

  for (size_t off = 0; off < size; off += kBlockSize) {
    const size_t len = std::min(kBlockSize, size - off);
    for (size_t i = 0; i < missing_data.size(); ++i) {
      uint8_t* out = shards[missing_data[i]].data() + off;
      for (int j = 0; j < k_; ++j) {
        MulRegion(f, decode[i * k_ + j], shards[survivors[j]].data() + off, out, len, j > 0);
      }
    }
    // All data shards of this block are now valid; re-encode the lost parity from them.
    for (int id : missing_parity) {
      const int r = id - k_;
      uint8_t* out = shards[id].data() + off;
      for (int i = 0; i < k_; ++i) {
        MulRegion(f, coding[r * k_ + i], shards[i].data() + off, out, len, i > 0);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace gnr::crypto
