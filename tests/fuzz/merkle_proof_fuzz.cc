// Fuzzes the Merkle proof decoders (untrusted bytes from GET_SHARD and CHALLENGE_MERKLE
// replies): they must never crash, anything they accept must re-encode to the same bytes,
// and verifying an accepted proof must return a Status, never crash.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "crypto/merkle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gnr;
  using namespace gnr::crypto;
  const ByteView in(data, size);
  const Hash256 root{};

  if (absl::StatusOr<MerkleProof> proof = MerkleProof::Decode(in); proof.ok()) {
    if (proof->Encode() != Bytes(in.begin(), in.end())) __builtin_trap();
    if (VerifyMerkleProof(root, in, *proof).ok()) __builtin_trap();  // all-zero root
    (void)VerifyMerkleProof(root, in, *proof, MerkleHashKind::kBlake2b256);
  }
  if (absl::StatusOr<MerkleRangeProof> range = MerkleRangeProof::Decode(in); range.ok()) {
    if (range->Encode() != Bytes(in.begin(), in.end())) __builtin_trap();
    if (range->leaf_count_in_range <= 1024) {
      std::vector<Hash256> leaves(range->leaf_count_in_range);
      if (VerifyMerkleRange(root, leaves, *range).ok()) __builtin_trap();
    }
  }
  return 0;
}
