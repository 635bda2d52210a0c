// Merkle tree construction over a 64 MiB shard with 64 KiB leaves (the default shard
// layout, DESIGN.md section 4), in bytes/s. The tree costs one hash pass over the data plus
// ~2 hashes of 65 bytes per leaf, so it should run at the speed of the hash itself
// (crypto_bench BM_Sha256 / BM_Blake2b256).
#include <benchmark/benchmark.h>

#include <algorithm>

#include "crypto/merkle.h"
#include "crypto/random.h"

namespace gnr::crypto {
namespace {

constexpr size_t kShardSize = 64 << 20;

const Bytes& Shard() {
  static const Bytes* const data = [] {
    DeterministicRandom rng(1);
    return new Bytes(rng.Generate(kShardSize));
  }();
  return *data;
}

void BM_MerkleBuild(benchmark::State& state, MerkleHashKind kind) {
  const Bytes& data = Shard();
  for (auto _ : state) {
    absl::StatusOr<MerkleTree> tree = MerkleTree::Build(data, kDefaultMerkleLeafSize, kind);
    benchmark::DoNotOptimize(tree->root());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(data.size()));
}
BENCHMARK_CAPTURE(BM_MerkleBuild, sha256, MerkleHashKind::kSha256)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MerkleBuild, blake2b256, MerkleHashKind::kBlake2b256)
    ->Unit(benchmark::kMillisecond);

// Streaming in 1 MiB pieces, as the write path feeds it.
void BM_MerkleBuilderStreaming(benchmark::State& state, MerkleHashKind kind) {
  const Bytes& data = Shard();
  constexpr size_t kPiece = 1 << 20;
  for (auto _ : state) {
    MerkleBuilder builder(kDefaultMerkleLeafSize, kind);
    for (size_t pos = 0; pos < data.size(); pos += kPiece) {
      builder.Update(ByteView(data).subspan(pos, std::min(kPiece, data.size() - pos)));
    }
    absl::StatusOr<MerkleTree> tree = builder.Finish();
    benchmark::DoNotOptimize(tree->root());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(data.size()));
}
BENCHMARK_CAPTURE(BM_MerkleBuilderStreaming, sha256, MerkleHashKind::kSha256)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MerkleBuilderStreaming, blake2b256, MerkleHashKind::kBlake2b256)
    ->Unit(benchmark::kMillisecond);

// Verifying a GET_SHARD range of 16 leaves (1 MiB) against the root, leaf hashing included.
void BM_MerkleVerifyRange(benchmark::State& state) {
  const Bytes& data = Shard();
  absl::StatusOr<MerkleTree> tree = MerkleTree::Build(data);
  constexpr uint64_t kFirst = 333;
  constexpr uint64_t kCount = 16;
  absl::StatusOr<MerkleRangeProof> proof = tree->ProveRange(kFirst, kCount);
  ByteView range =
      ByteView(data).subspan(kFirst * kDefaultMerkleLeafSize, kCount * kDefaultMerkleLeafSize);
  for (auto _ : state) {
    std::vector<Hash256> leaves = MerkleLeafHashesOf(range);
    benchmark::DoNotOptimize(VerifyMerkleRange(tree->root(), leaves, *proof));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(range.size()));
}
BENCHMARK(BM_MerkleVerifyRange);

}  // namespace
}  // namespace gnr::crypto

BENCHMARK_MAIN();
