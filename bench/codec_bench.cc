// Codec throughput (one thread) in MB/s of plaintext, next to its single stages measured on
// the same 64 MiB segment in the same run:
//   AesCtr         AES-256-CTR over the plaintext
//   ReedSolomon    RS(k, m) parity of the k data shards
//   Sha256         SHA-256 over the plaintext
//   MerkleStored   the Merkle trees the encoder must build: over the k+m stored shards
//                  ((k+m)/k times the plaintext), reported per plaintext byte
//   Encode         SegmentEncoder::Encode (AES + RS + sentinels + Merkle, fused)
//   Decode         FileReader::Read of the whole segment from healthy shards (Merkle
//                  verification of the k data shards + sentinel stripping + AES)
//   DecodeDegraded the same with data shard 0 missing (RS reconstruction)
// At the end it prints encode / slowest stage. Never asserts on time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "crypto/aes.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "crypto/reed_solomon.h"
#include "fs/codec/decoder.h"
#include "fs/codec/encoder.h"
#include "fs/codec/memory_shard_store.h"

namespace gnr::codec {
namespace {

constexpr size_t kSegment = 64 << 20;

const Bytes& Plaintext() {
  static const Bytes* data = [] {
    crypto::DeterministicRandom rng(1);
    return new Bytes(rng.Generate(kSegment));
  }();
  return *data;
}

const FileKey kKey = [] {
  FileKey k;
  k.fill(7);
  return k;
}();
const FileNonce kNonce = [] {
  FileNonce n;
  n.fill(9);
  return n;
}();

CodecParams Params(int k, int m) {
  CodecParams p;
  p.data_shards = k;
  p.parity_shards = m;
  return p;
}

void SetPlaintextBytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kSegment);
}

void BM_AesCtr(benchmark::State& state) {
  Bytes buf = Plaintext();
  FileSecrets s = DeriveFileSecrets(kKey);
  crypto::AesCtr ctr = crypto::AesCtr::Create(s.data_key, s.data_iv).value();
  for (auto _ : state) {
    ctr.Apply(0, buf);
    benchmark::ClobberMemory();
  }
  SetPlaintextBytes(state);
}
BENCHMARK(BM_AesCtr)->Unit(benchmark::kMillisecond);

void BM_ReedSolomon(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0)), m = static_cast<int>(state.range(1));
  crypto::ReedSolomon rs = crypto::ReedSolomon::Create(k, m).value();
  const size_t shard = kSegment / k;
  Bytes parity(shard * m);
  std::vector<ByteView> data;
  for (int i = 0; i < k; ++i) data.push_back(ByteView(Plaintext()).subspan(i * shard, shard));
  std::vector<MutableByteView> par;
  for (int j = 0; j < m; ++j) par.push_back(MutableByteView(parity).subspan(j * shard, shard));
  for (auto _ : state) {
    benchmark::DoNotOptimize(rs.Encode(data, par));
    benchmark::ClobberMemory();
  }
  SetPlaintextBytes(state);
}
BENCHMARK(BM_ReedSolomon)->Args({4, 2})->Args({10, 4})->Unit(benchmark::kMillisecond);

void BM_Sha256(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sha256(Plaintext()));
  SetPlaintextBytes(state);
}
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);

void BM_MerkleStored(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0)), m = static_cast<int>(state.range(1));
  // (k+m)/k times the plaintext, hashed as k+m trees of one shard each.
  const size_t shard = kSegment / k;
  Bytes stored(shard * (k + m));
  for (size_t i = 0; i < stored.size(); ++i) stored[i] = Plaintext()[i % kSegment];
  for (auto _ : state) {
    for (int t = 0; t < k + m; ++t) {
      crypto::MerkleBuilder b;
      b.Update(ByteView(stored).subspan(t * shard, shard));
      benchmark::DoNotOptimize(b.Finish());
    }
  }
  SetPlaintextBytes(state);
}
BENCHMARK(BM_MerkleStored)->Args({4, 2})->Args({10, 4})->Unit(benchmark::kMillisecond);

void BM_Encode(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0)), m = static_cast<int>(state.range(1));
  SegmentEncoder enc = SegmentEncoder::Create(Params(k, m), kKey, kNonce).value();
  EncodedSegment out;
  if (!enc.Encode(0, Plaintext(), out).ok()) state.SkipWithError("encode failed");
  for (auto _ : state) {
    if (!enc.Encode(0, Plaintext(), out).ok()) state.SkipWithError("encode failed");
  }
  SetPlaintextBytes(state);
}
BENCHMARK(BM_Encode)->Args({4, 2})->Args({10, 4})->Unit(benchmark::kMillisecond);

void Decode(benchmark::State& state, bool degraded) {
  const int k = static_cast<int>(state.range(0)), m = static_cast<int>(state.range(1));
  CodecParams p = Params(k, m);
  SegmentEncoder enc = SegmentEncoder::Create(p, kKey, kNonce).value();
  EncodedSegment seg = enc.Encode(0, Plaintext()).value();
  MemoryShardStore store(p.leaf_size);
  if (!store.PutSegment(seg).ok()) state.SkipWithError("store failed");
  if (degraded) store.Erase(seg.manifest.shards[0].id);
  FileManifest manifest;
  manifest.file_size = kSegment;
  manifest.nonce = kNonce;
  manifest.data_shards = k;
  manifest.parity_shards = m;
  manifest.segment_size = p.segment_size;
  manifest.leaf_size = p.leaf_size;
  manifest.group_size = p.group_size;
  manifest.segments.push_back(seg.manifest);
  auto reader = FileReader::Create(manifest, kKey).value();
  Bytes out(kSegment);
  for (auto _ : state) {
    if (!reader->Read(0, out, store).ok()) state.SkipWithError("decode failed");
  }
  if (out != Plaintext()) state.SkipWithError("decoded bytes differ");
  SetPlaintextBytes(state);
}
void BM_Decode(benchmark::State& state) { Decode(state, false); }
void BM_DecodeDegraded(benchmark::State& state) { Decode(state, true); }
BENCHMARK(BM_Decode)->Args({4, 2})->Args({10, 4})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeDegraded)->Args({4, 2})->Args({10, 4})->Unit(benchmark::kMillisecond);

// Console output plus a summary of the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) mbps_[r.benchmark_name()] = it->second.value / 1e6;
    }
  }
  void PrintSummary() const {
    auto get = [&](const std::string& name) {
      auto it = mbps_.find(name);
      return it == mbps_.end() ? 0.0 : it->second;
    };
    for (const char* km : {"4/2", "10/4"}) {
      const std::string a = std::string("/") + km + "/min_time";  // unused form guard
      (void)a;
      const double aes = get("BM_AesCtr");
      const double sha = get("BM_Sha256");
      const double rs = get(std::string("BM_ReedSolomon/") + km);
      const double merkle = get(std::string("BM_MerkleStored/") + km);
      const double enc = get(std::string("BM_Encode/") + km);
      const double dec = get(std::string("BM_Decode/") + km);
      const double deg = get(std::string("BM_DecodeDegraded/") + km);
      if (enc == 0) continue;
      const double slowest = std::min({aes, sha, rs});
      std::printf(
          "RS(%s): encode %.0f MB/s, decode %.0f MB/s (degraded %.0f) | AES-CTR %.0f, RS %.0f, "
          "SHA-256 %.0f MB/s | encode / slowest stage (%.0f) = %.2f | encode / Merkle over the "
          "stored shards (%.0f, the hashing the format requires) = %.2f\n",
          km, enc, dec, deg, aes, rs, sha, slowest, enc / slowest, merkle, enc / merkle);
    }
  }

 private:
  std::map<std::string, double> mbps_;
};

}  // namespace
}  // namespace gnr::codec

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  gnr::codec::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
