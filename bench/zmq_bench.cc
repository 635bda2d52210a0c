// ZeroMQ over loopback TCP: the reference figure the shard benches are compared to.
//
// BM_RawZmq/<size>/<curve>/<zero_copy>: a PUSH socket streams `size`-byte messages to a PULL
// socket in another thread (raw libzmq, no framing of ours), with or without CURVE, copying
// each payload into the message (zmq_msg_init_size + memcpy, what zmq_send does) or handing
// ZeroMQ the buffer (zmq_msg_init_data). Each iteration moves 64 MiB and waits until the
// receiver has all of it.
//
// BM_TransportPut / BM_TransportGet: the same bytes through net_zmq::Transport (CURVE,
// envelope, request ids, a window of requests in flight): payload in the request (PUT) or in
// the reply (GET).
//
// Bytes/s are wall-clock (UseRealTime): the work happens in ZeroMQ's and the loop's threads.
// The counter cpu_s_per_GiB is the CPU time of the whole process (both ends, every thread) per
// GiB moved; it is steadier than bytes/s on a shared machine.
// This bench includes zmq.h directly, as the transport does: it measures libzmq itself.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <zmq.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "crypto/random.h"
#include "net/zmq/curve.h"
#include "net/zmq/transport.h"

namespace gnr::net_zmq {
namespace {

constexpr size_t kBytesPerIteration = 64 << 20;

// CPU seconds used by this process so far (all threads, user + system).
double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void ReportCpu(benchmark::State& state, double cpu_seconds, uint64_t bytes) {
  if (bytes > 0) state.counters["cpu_s_per_GiB"] = cpu_seconds / (bytes / double(1 << 30));
}

Bytes Pattern(size_t size) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 131 + 7);
  return out;
}

// Counts received messages; the benchmark waits for a target count.
class Receiver {
 public:
  explicit Receiver(void* socket) : socket_(socket), thread_([this] { Run(); }) {}
  ~Receiver() { thread_.join(); }

  void WaitFor(uint64_t target) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return received_ >= target; };
    mu_.Await(absl::Condition(&reached));
  }

 private:
  void Run() {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (;;) {
      if (zmq_msg_recv(&msg, socket_, 0) < 0) break;
      bool last = zmq_msg_size(&msg) == 0;  // the empty message ends the run
      absl::MutexLock lock(&mu_);
      ++received_;
      if (last) break;
    }
    zmq_msg_close(&msg);
  }

  void* socket_;
  absl::Mutex mu_;
  uint64_t received_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts after the members above exist
};

void NoFree(void*, void*) {}

void BM_RawZmq(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const bool curve = state.range(1) != 0;
  const bool zero_copy = state.range(2) != 0;
  crypto::DeterministicRandom random(7);
  CurveKeyPair server_keys = *GenerateCurveKeyPair(random);
  CurveKeyPair client_keys = *GenerateCurveKeyPair(random);

  void* context = zmq_ctx_new();
  void* pull = zmq_socket(context, ZMQ_PULL);
  void* push = zmq_socket(context, ZMQ_PUSH);
  int hwm = 64;
  int linger = 0;
  for (void* s : {pull, push}) {
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
  }
  if (curve) {
    int one = 1;
    zmq_setsockopt(pull, ZMQ_CURVE_SERVER, &one, sizeof(one));
    zmq_setsockopt(pull, ZMQ_CURVE_SECRETKEY, server_keys.secret_key.data(), 32);
    zmq_setsockopt(push, ZMQ_CURVE_SERVERKEY, server_keys.public_key.data(), 32);
    zmq_setsockopt(push, ZMQ_CURVE_PUBLICKEY, client_keys.public_key.data(), 32);
    zmq_setsockopt(push, ZMQ_CURVE_SECRETKEY, client_keys.secret_key.data(), 32);
  }
  zmq_bind(pull, "tcp://127.0.0.1:0");
  char endpoint[256];
  size_t endpoint_size = sizeof(endpoint);
  zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size);
  zmq_connect(push, endpoint);

  const Bytes source = Pattern(size);
  const uint64_t per_iteration = std::max<size_t>(1, kBytesPerIteration / size);
  uint64_t sent = 0;
  double cpu_start = ProcessCpuSeconds();
  {
    Receiver receiver(pull);
    for (auto _ : state) {
      for (uint64_t i = 0; i < per_iteration; ++i) {
        zmq_msg_t msg;
        if (zero_copy) {
          zmq_msg_init_data(&msg, const_cast<uint8_t*>(source.data()), size, &NoFree, nullptr);
        } else {
          zmq_msg_init_size(&msg, size);
          std::memcpy(zmq_msg_data(&msg), source.data(), size);
        }
        zmq_msg_send(&msg, push, 0);
        ++sent;
      }
      receiver.WaitFor(sent);
    }
    zmq_send(push, "", 0, 0);  // ends the receiver
  }
  state.SetBytesProcessed(static_cast<int64_t>(sent * size));
  ReportCpu(state, ProcessCpuSeconds() - cpu_start, sent * size);
  zmq_close(push);
  zmq_close(pull);
  zmq_ctx_term(context);
}
BENCHMARK(BM_RawZmq)
    ->ArgNames({"size", "curve", "zero_copy"})
    ->ArgsProduct({{1 << 20, 16 << 20}, {0, 1}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Two transports on loopback; `put` sends the payload in requests, otherwise in replies.
void TransportBench(benchmark::State& state, bool put) {
  const size_t size = static_cast<size_t>(state.range(0));
  const int window = static_cast<int>(state.range(1));
  crypto::DeterministicRandom random(9);
  SharedBytes blob(Pattern(size));
  // Declared before the transports so that they outlive every callback.
  absl::Mutex mu;
  int in_flight = 0;
  uint64_t failures = 0;
  uint64_t completed = 0;

  Options server_options;
  server_options.keys = *GenerateCurveKeyPair(random);
  server_options.handler = [&](const PeerInfo&, Message request, Responder responder) {
    Message reply;
    reply.header = {'o', 'k'};
    if (!put) reply.payload = blob;  // shared, sent zero-copy
    benchmark::DoNotOptimize(request.payload.data());
    responder.Respond(std::move(reply));
  };
  auto server = Transport::Start(std::move(server_options));
  Options client_options;
  client_options.keys = *GenerateCurveKeyPair(random);
  auto client = Transport::Start(std::move(client_options));
  if (!server.ok() || !client.ok()) {
    state.SkipWithError("transport failed to start");
    return;
  }
  const PeerAddress peer = (*server)->address();
  const uint64_t per_iteration = std::max<size_t>(1, kBytesPerIteration / size);

  auto send_one = [&] {
    Message request;
    request.header = {'r', 'q'};
    if (put) request.payload = blob;
    (*client)->SendRequest(peer, std::move(request), absl::Seconds(60),
                           [&](absl::StatusOr<Message> reply) {
                             absl::MutexLock lock(&mu);
                             if (!reply.ok()) ++failures;
                             --in_flight;
                             ++completed;
                           });
  };
  double cpu_start = ProcessCpuSeconds();
  for (auto _ : state) {
    for (uint64_t i = 0; i < per_iteration; ++i) {
      {
        absl::MutexLock lock(&mu);
        auto has_room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight < window; };
        mu.Await(absl::Condition(&has_room));
        ++in_flight;
      }
      send_one();
    }
    absl::MutexLock lock(&mu);
    auto drained = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight == 0; };
    mu.Await(absl::Condition(&drained));
  }
  absl::MutexLock lock(&mu);
  if (failures > 0) state.SkipWithError("requests failed");
  state.SetBytesProcessed(static_cast<int64_t>(completed * size));
  ReportCpu(state, ProcessCpuSeconds() - cpu_start, completed * size);
}

void BM_TransportPut(benchmark::State& state) { TransportBench(state, /*put=*/true); }
void BM_TransportGet(benchmark::State& state) { TransportBench(state, /*put=*/false); }
BENCHMARK(BM_TransportPut)
    ->ArgNames({"size", "window"})
    ->ArgsProduct({{1 << 20, 16 << 20}, {1, 8}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TransportGet)
    ->ArgNames({"size", "window"})
    ->ArgsProduct({{1 << 20, 16 << 20}, {8}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gnr::net_zmq

BENCHMARK_MAIN();
