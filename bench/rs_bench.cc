// Reed-Solomon throughput in bytes/s of segment data (segment = k data shards), for the
// codes and segment sizes gnrfs uses. Encode computes all m parity shards; decode rebuilds
// lost data shards from survivors (2 lost for 4+2, m = 4 lost for 10+4), the worst case for
// a read that lost farmers.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "crypto/random.h"
#include "crypto/reed_solomon.h"

namespace gnr::crypto {
namespace {

struct Fixture {
  ReedSolomon rs;
  std::vector<Bytes> shards;  // k data then m parity

  std::vector<ByteView> Data() const {
    return std::vector<ByteView>(shards.begin(), shards.begin() + rs.k());
  }
  std::vector<MutableByteView> Parity() {
    return std::vector<MutableByteView>(shards.begin() + rs.k(), shards.end());
  }
  std::vector<MutableByteView> All() {
    return std::vector<MutableByteView>(shards.begin(), shards.end());
  }
};

// Benchmarks take (k, m, segment bytes); shard size = segment / k.
Fixture Make(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const int m = static_cast<int>(state.range(1));
  const size_t shard = static_cast<size_t>(state.range(2)) / k;
  auto rs = ReedSolomon::Create(k, m);
  if (!rs.ok()) std::abort();
  Fixture f{*std::move(rs), {}};
  DeterministicRandom rng(1);
  for (int i = 0; i < k; ++i) f.shards.push_back(rng.Generate(shard));
  for (int i = 0; i < m; ++i) f.shards.push_back(Bytes(shard));
  if (!f.rs.Encode(f.Data(), f.Parity()).ok()) std::abort();
  return f;
}

void SetCounters(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(2));
  state.SetLabel(std::to_string(state.range(0)) + "+" + std::to_string(state.range(1)) + " " +
                 std::to_string(state.range(2) >> 20) + "MiB");
}

void BM_RsEncode(benchmark::State& state) {
  Fixture f = Make(state);
  std::vector<ByteView> data = f.Data();
  std::vector<MutableByteView> parity = f.Parity();
  for (auto _ : state) {
    if (!f.rs.Encode(data, parity).ok()) std::abort();
    benchmark::ClobberMemory();
  }
  SetCounters(state);
}

void BM_RsDecode(benchmark::State& state) {
  Fixture f = Make(state);
  const int k = f.rs.k(), m = f.rs.m();
  const int lost = m < 2 ? m : (k == 4 ? 2 : m);  // 4+2: 2 lost data shards; 10+4: 4
  std::vector<bool> present_vec(k + m, true);
  for (int i = 0; i < lost; ++i) present_vec[i] = false;
  std::unique_ptr<bool[]> present(new bool[k + m]);
  for (int i = 0; i < k + m; ++i) present[i] = present_vec[i];
  std::vector<MutableByteView> all = f.All();
  for (auto _ : state) {
    if (!f.rs.Reconstruct(all, std::span<const bool>(present.get(), k + m)).ok()) std::abort();
    benchmark::ClobberMemory();
  }
  SetCounters(state);
}

void Codes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"k", "m", "segment"});
  for (auto [k, m] : {std::pair{4, 2}, std::pair{10, 4}}) {
    for (int64_t segment : {int64_t{1} << 20, int64_t{16} << 20}) b->Args({k, m, segment});
  }
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_RsEncode)->Apply(Codes);
BENCHMARK(BM_RsDecode)->Apply(Codes);

}  // namespace
}  // namespace gnr::crypto

BENCHMARK_MAIN();
