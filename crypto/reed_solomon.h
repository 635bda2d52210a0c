#pragma once
// Systematic Reed-Solomon erasure coding over GF(2^8) (Jerasure 2.0 + GF-Complete, SIMD).
//
// RS(k, m) turns k equal-size data shards into m parity shards so that any k of the k+m
// shards rebuild all the others. The data shards are stored unchanged (systematic code);
// parity shard j is a fixed GF(2^8) linear combination of the data shards, byte by byte, so
// shards of any size (including 0) are accepted and the code is the same for every size.
//
// The coding matrix is Jerasure's systematic Vandermonde-derived matrix for w = 8
// (reed_sol_vandermonde_coding_matrix(k, m, 8)); parity bytes are therefore stable across
// releases and are part of the on-disk/wire format of stored shards.
//
// Example:
//   GNR_ASSIGN_OR_RETURN(auto rs, crypto::ReedSolomon::Create(4, 2));
//   std::vector<ByteView> data = ...;          // 4 views of n bytes each
//   std::vector<MutableByteView> parity = ...; // 2 views of n bytes each
//   GNR_RETURN_IF_ERROR(rs.Encode(data, parity));
//   ...
//   std::vector<MutableByteView> shards = ...; // 6 views of n bytes, data then parity
//   bool present[6] = {true, false, true, true, false, true};
//   GNR_RETURN_IF_ERROR(rs.Reconstruct(shards, present));  // rebuilds shards 1 and 4

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::crypto {

// Immutable after Create; thread-safe: Encode and Reconstruct are const and may run
// concurrently on the same object (on disjoint output buffers). Cheap to copy and move
// (copies share the cached coding matrix).
class ReedSolomon {
 public:
  static constexpr int kMaxDataShards = 32;
  static constexpr int kMaxParityShards = 16;

  // InvalidArgument unless 1 <= k <= kMaxDataShards and 1 <= m <= kMaxParityShards (the
  // message states the limits).
  static absl::StatusOr<ReedSolomon> Create(int k, int m);

  int k() const { return k_; }
  int m() const { return m_; }

  // Computes the parity of `data` into `parity`.
  // `data`: exactly k views, all of the same size n (any n >= 0). `parity`: exactly m
  // writable views of size n, not overlapping `data` or each other. The data shards are
  // read in place, never written. InvalidArgument on wrong counts or sizes, in which case
  // nothing is written.
  // Performance: fastest when every shard starts at the same address mod 16 (e.g. shards
  // of a size that is a multiple of 16 cut from one malloc'ed buffer); a source whose
  // alignment differs from its destination's is staged through a small stack buffer.
  absl::Status Encode(std::span<const ByteView> data,
                      std::span<const MutableByteView> parity) const;

  // Rebuilds missing shards in place.
  // `shards`: exactly k+m views of equal size, in order (data 0..k-1, then parity 0..m-1);
  // `present`: k+m flags, present[i] says whether shards[i] holds valid bytes (a bool array
  // or std::array<bool, N>; std::vector<bool> has no contiguous storage). Every missing
  // shard is overwritten with its correct contents, or only the missing data shards when
  // `data_only` is true (missing parity shards are then left untouched). Present shards are
  // only read. Views must not overlap.
  // Errors (nothing is written in either case):
  //   - DataLossError when fewer than k shards are present ("need k shards, have N").
  //   - InvalidArgument on wrong counts or unequal sizes.
  // With all shards present this is a no-op returning OK. Shards marked present are
  // trusted: corrupted bytes in them yield corrupted output (verify shards with their
  // Merkle roots first).
  absl::Status Reconstruct(std::span<const MutableByteView> shards, std::span<const bool> present,
                           bool data_only = false) const;

 private:
  struct Matrix;

  ReedSolomon(int k, int m, std::shared_ptr<const Matrix> matrix)
      : k_(k), m_(m), matrix_(std::move(matrix)) {}

  int k_;
  int m_;
  // The field and the m x k coding matrix over GF(2^8), shared by copies.
  std::shared_ptr<const Matrix> matrix_;
};

}  // namespace gnr::crypto
