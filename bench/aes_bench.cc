// Throughput of the symmetric ciphers on the file data path: AES-256-CTR (every segment)
// and AES-256-GCM (small records). Reports bytes/s; never asserts on time.

#include <benchmark/benchmark.h>

#include "common/bytes.h"
#include "crypto/aes.h"

namespace gnr::crypto {
namespace {

void BM_Aes256CtrApply(benchmark::State& state) {
  const Bytes key(32, 0x11);
  const Bytes iv(16, 0x22);
  AesCtr ctr = AesCtr::Create(key, iv).value();
  Bytes data(static_cast<size_t>(state.range(0)), 0x5a);
  uint64_t offset = 0;
  for (auto _ : state) {
    ctr.Apply(offset, data);
    offset += data.size();
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Aes256CtrApply)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);

// The same with an offset that is not a multiple of the block size.
void BM_Aes256CtrApplyUnaligned(benchmark::State& state) {
  AesCtr ctr = AesCtr::Create(Bytes(32, 0x11), Bytes(16, 0x22)).value();
  Bytes data(static_cast<size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    ctr.Apply(7, data);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Aes256CtrApplyUnaligned)->Arg(64 << 10);

// Create + Apply per call: what a caller pays if it does not keep the AesCtr.
void BM_Aes256CtrCreateAndApply(benchmark::State& state) {
  const Bytes key(32, 0x11);
  const Bytes iv(16, 0x22);
  Bytes data(static_cast<size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    AesCtr ctr = AesCtr::Create(key, iv).value();
    ctr.Apply(0, data);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Aes256CtrCreateAndApply)->Arg(4 << 10)->Arg(64 << 10);

void BM_Aes256GcmSeal(benchmark::State& state) {
  const Bytes key(32, 0x33);
  const Bytes nonce(kGcmNonceSize, 0x44);
  const Bytes plain(static_cast<size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    absl::StatusOr<Bytes> sealed = AesGcmSeal(key, nonce, plain);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Aes256GcmSeal)->Arg(4 << 10)->Arg(1 << 20);

void BM_Aes256GcmOpen(benchmark::State& state) {
  const Bytes key(32, 0x33);
  const Bytes nonce(kGcmNonceSize, 0x44);
  const Bytes sealed =
      AesGcmSeal(key, nonce, Bytes(static_cast<size_t>(state.range(0)), 0x5a)).value();
  for (auto _ : state) {
    absl::StatusOr<Bytes> plain = AesGcmOpen(key, nonce, sealed);
    benchmark::DoNotOptimize(plain);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Aes256GcmOpen)->Arg(4 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace gnr::crypto

BENCHMARK_MAIN();
