// Throughput of the crypto primitives on the data path, in bytes/s (Google Benchmark prints
// MB/s as bytes_per_second). Compare with `openssl speed -evp aes-256-ctr` / `sha256`
// measured in the same run (scripts/bench does both).
#include <benchmark/benchmark.h>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace gnr::crypto {
namespace {

Bytes Input(size_t n) {
  DeterministicRandom rng(1);
  return rng.Generate(n);
}

void BM_Sha256(benchmark::State& state) {
  Bytes data = Input(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64 << 10)->Arg(1 << 20);

void BM_Blake2b256(benchmark::State& state) {
  Bytes data = Input(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Blake2b256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Blake2b256)->Arg(1 << 20);

void BM_Keccak256(benchmark::State& state) {
  Bytes data = Input(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Keccak256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Keccak256)->Arg(1 << 20);

}  // namespace
}  // namespace gnr::crypto

BENCHMARK_MAIN();
