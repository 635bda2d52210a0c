// Shard protocol throughput over loopback (DESIGN.md section 10), next to the raw transport
// moving the same bytes in the same run:
//
//   BM_RawTransfer         net_zmq::Transport (CURVE) requests carrying 16 MiB payloads,
//                          answered at once, 4 in flight: the ceiling for PUT.
//   BM_RawTransferReply    the same bytes in the replies: the ceiling for GET.
//   BM_PutOneFarmer        PUT_SHARD of 16 MiB shards through ShardClient -> ShardServer ->
//                          MemoryShardService (which checks each Merkle root: one SHA-256 pass
//                          over the bytes, as a farmer does), 4 in flight.
//   BM_GetOneFarmer        GET_SHARD of whole 16 MiB shards (256 leaves + range proof).
//   BM_PutSixFarmers       one 4+2 segment: 6 shards of 16 MiB to 6 farmers in parallel.
//   BM_GetSixFarmers       6 whole shards from 6 farmers in parallel.
//
// Bytes/s are wall-clock (UseRealTime); cpu_s_per_GiB is the CPU of the whole process (client
// and farmers share it here) per GiB moved. Nothing here asserts on time.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <future>
#include <memory>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "net/node/host.h"
#include "net/shard/memory_shard_service.h"
#include "net/shard/placement.h"
#include "net/shard/shard_client.h"
#include "net/shard/shard_server.h"
#include "net/zmq/transport.h"

namespace gnr::shard {
namespace {

constexpr size_t kShardSize = 16 << 20;
constexpr int kInFlight = 4;

double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void Report(benchmark::State& state, double cpu_start, uint64_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  if (bytes > 0) {
    state.counters["cpu_s_per_GiB"] = (ProcessCpuSeconds() - cpu_start) / (bytes / double(1 << 30));
  }
}

crypto::PrivateKey Key(uint64_t seed) {
  crypto::DeterministicRandom rng(seed);
  return crypto::PrivateKey::Generate(rng);
}

struct Farmer {
  Farmer(uint64_t seed, bool verify_root) {
    service = std::make_unique<MemoryShardService>(
        MemoryShardService::Options{.capacity_bytes = 8ull << 30, .verify_root = verify_root});
    node::HostOptions o;
    o.node_key = Key(seed);
    server = *ShardServer::Create(
        *service, {.self = kademlia::NodeIdOfPublicKey(o.node_key.GetPublicKey().Compressed())});
    o.shard_handler = [s = server.get()](const net_zmq::PeerInfo& from, net_zmq::Message m,
                                         net_zmq::Responder r) {
      s->Handle(from, std::move(m), r);
    };
    host = *node::Host::Start(std::move(o));
  }
  ~Farmer() {
    host.reset();
    server.reset();
  }
  std::unique_ptr<MemoryShardService> service;
  std::unique_ptr<ShardServer> server;
  std::unique_ptr<node::Host> host;
};

struct Shard {
  ShardId id{};
  crypto::Hash256 root{};
  net_zmq::SharedBytes data;
};

Shard MakeShard(uint64_t seed) {
  crypto::DeterministicRandom rng(seed);
  Shard s;
  Bytes bytes = rng.Generate(kShardSize);
  s.id = crypto::Sha256(bytes);
  s.root = crypto::MerkleTree::Build(bytes)->root();
  s.data = net_zmq::SharedBytes(std::move(bytes));
  return s;
}

struct ClientSide {
  ClientSide() : signer(Key(9)) {
    crypto::DeterministicRandom rng(10);
    net_zmq::Options o;
    o.keys = *net_zmq::GenerateCurveKeyPair(rng);
    transport = *net_zmq::Transport::Start(std::move(o));
    client = std::make_unique<ShardClient>(
        ShardClientOptions{.transport = transport.get(), .signer = &signer});
  }
  PrivateKeySigner signer;
  std::unique_ptr<net_zmq::Transport> transport;
  std::unique_ptr<ShardClient> client;
};

// Puts shards[i] on farmers[i % n] concurrently and waits; then deletes them (not timed
// separately: a delete is one small round trip).
void PutAndDelete(ShardClient& client, const std::vector<FarmerAddress>& farmers,
                  const std::vector<Shard>& shards, benchmark::State& state) {
  absl::BlockingCounter puts(static_cast<int>(shards.size()));
  for (size_t i = 0; i < shards.size(); ++i) {
    client.Put(farmers[i % farmers.size()],
               PutShardArgs{ToBytes("bench"), shards[i].id, shards[i].root, 64 * 1024,
                            crypto::MerkleHashKind::kSha256, shards[i].data},
               [&](absl::StatusOr<PutShardAck> ack) {
                 if (!ack.ok() || ack->already_stored) {
                   state.SkipWithError(ack.ok() ? "already stored" : "put failed");
                 }
                 puts.DecrementCount();
               });
  }
  puts.Wait();
  absl::BlockingCounter deletes(static_cast<int>(shards.size()));
  for (size_t i = 0; i < shards.size(); ++i) {
    client.Delete(farmers[i % farmers.size()], shards[i].id, AsBytes("bench"),
                  [&](absl::Status) { deletes.DecrementCount(); });
  }
  deletes.Wait();
}

void GetAll(ShardClient& client, const std::vector<FarmerAddress>& farmers,
            const std::vector<Shard>& shards, benchmark::State& state) {
  absl::BlockingCounter gets(static_cast<int>(shards.size()));
  const uint64_t leaves = crypto::MerkleLeafCount(kShardSize);
  for (size_t i = 0; i < shards.size(); ++i) {
    client.GetRange(farmers[i % farmers.size()], GetRangeArgs{shards[i].id, {}, 0, leaves},
                    [&](absl::StatusOr<GetRangeReply> reply) {
                      if (!reply.ok() || reply->leaves.size() != kShardSize) {
                        state.SkipWithError("get failed");
                      }
                      gets.DecrementCount();
                    });
  }
  gets.Wait();
}

std::vector<Shard>& Shards() {
  static auto* shards = [] {
    auto* v = new std::vector<Shard>;
    for (int i = 0; i < 6; ++i) v->push_back(MakeShard(100 + i));
    return v;
  }();
  return *shards;
}

void BM_RawTransfer(benchmark::State& state) {
  const bool in_reply = state.range(0) == 1;
  const Shard& shard = Shards()[0];
  net_zmq::Options server_options;
  crypto::DeterministicRandom rng(1);
  server_options.keys = *net_zmq::GenerateCurveKeyPair(rng);
  server_options.handler = [&](const net_zmq::PeerInfo&, net_zmq::Message,
                               net_zmq::Responder responder) {
    responder.Respond({Bytes{'o', 'k'}, in_reply ? shard.data : net_zmq::SharedBytes()});
  };
  auto server = *net_zmq::Transport::Start(std::move(server_options));
  ClientSide side;
  const double cpu = ProcessCpuSeconds();
  uint64_t bytes = 0;
  for (auto _ : state) {
    absl::BlockingCounter done(kInFlight);
    for (int i = 0; i < kInFlight; ++i) {
      side.transport->SendRequest(server->address(),
                                  {Bytes{'x'}, in_reply ? net_zmq::SharedBytes() : shard.data},
                                  absl::Seconds(30), [&](absl::StatusOr<net_zmq::Message> r) {
                                    if (!r.ok()) state.SkipWithError("transfer failed");
                                    done.DecrementCount();
                                  });
    }
    done.Wait();
    bytes += kInFlight * kShardSize;
  }
  Report(state, cpu, bytes);
}
BENCHMARK(BM_RawTransfer)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("in_reply")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_PutOneFarmer(benchmark::State& state) {
  Farmer farmer(1, true);
  ClientSide side;
  std::vector<Shard> shards(Shards().begin(), Shards().begin() + kInFlight);
  const double cpu = ProcessCpuSeconds();
  uint64_t bytes = 0;
  for (auto _ : state) {
    PutAndDelete(*side.client, {farmer.host->contact()}, shards, state);
    bytes += shards.size() * kShardSize;
  }
  Report(state, cpu, bytes);
}
BENCHMARK(BM_PutOneFarmer)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_GetOneFarmer(benchmark::State& state) {
  Farmer farmer(1, false);
  ClientSide side;
  std::vector<Shard> shards(Shards().begin(), Shards().begin() + kInFlight);
  for (const Shard& s : shards) {
    (void)side.client->PutSync(farmer.host->contact(), {ToBytes("bench"), s.id, s.root, 64 * 1024,
                                                        crypto::MerkleHashKind::kSha256, s.data});
  }
  const double cpu = ProcessCpuSeconds();
  uint64_t bytes = 0;
  for (auto _ : state) {
    GetAll(*side.client, {farmer.host->contact()}, shards, state);
    bytes += shards.size() * kShardSize;
  }
  Report(state, cpu, bytes);
}
BENCHMARK(BM_GetOneFarmer)->UseRealTime()->Unit(benchmark::kMillisecond);

std::vector<std::unique_ptr<Farmer>> SixFarmers() {
  std::vector<std::unique_ptr<Farmer>> farmers;
  for (int i = 0; i < 6; ++i) farmers.push_back(std::make_unique<Farmer>(20 + i, true));
  return farmers;
}

void BM_PutSixFarmers(benchmark::State& state) {
  auto farmers = SixFarmers();
  std::vector<FarmerAddress> to;
  for (auto& f : farmers) to.push_back(f->host->contact());
  ClientSide side;
  const double cpu = ProcessCpuSeconds();
  uint64_t bytes = 0;
  for (auto _ : state) {
    PutAndDelete(*side.client, to, Shards(), state);
    bytes += Shards().size() * kShardSize;
  }
  Report(state, cpu, bytes);
}
BENCHMARK(BM_PutSixFarmers)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_GetSixFarmers(benchmark::State& state) {
  auto farmers = SixFarmers();
  std::vector<FarmerAddress> to;
  for (auto& f : farmers) to.push_back(f->host->contact());
  ClientSide side;
  for (size_t i = 0; i < Shards().size(); ++i) {
    const Shard& s = Shards()[i];
    (void)side.client->PutSync(to[i], {ToBytes("bench"), s.id, s.root, 64 * 1024,
                                       crypto::MerkleHashKind::kSha256, s.data});
  }
  const double cpu = ProcessCpuSeconds();
  uint64_t bytes = 0;
  for (auto _ : state) {
    GetAll(*side.client, to, Shards(), state);
    bytes += Shards().size() * kShardSize;
  }
  Report(state, cpu, bytes);
}
BENCHMARK(BM_GetSixFarmers)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gnr::shard

BENCHMARK_MAIN();
