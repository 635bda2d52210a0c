// Transport over real sockets on loopback, with real threads. No sleeps are used for
// synchronization: tests wait on futures and counters with generous timeouts.
#include "net/zmq/transport.h"

#include <zmq.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/hex.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/zmq/bulk.h"
#include "net/zmq/envelope.h"
#include "tests/testing/status_matchers.h"

namespace gnr::net_zmq {
namespace {

// Generous: the suite must pass on a loaded 2-core machine.
constexpr absl::Duration kLongTimeout = absl::Seconds(30);

std::string Str(ByteView bytes) { return std::string(AsStringView(bytes)); }

Message Text(std::string_view header) { return Message{ToBytes(header), SharedBytes()}; }

template <typename T>
bool Ready(std::future<T>& future, absl::Duration timeout = kLongTimeout) {
  return future.wait_for(absl::ToChronoMilliseconds(timeout)) == std::future_status::ready;
}

// A counter threads can wait on.
class Counter {
 public:
  void Add(int n = 1) {
    absl::MutexLock lock(&mu_);
    value_ += n;
  }
  bool WaitAtLeast(int target, absl::Duration timeout = kLongTimeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return value_ >= target; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  int value() {
    absl::MutexLock lock(&mu_);
    return value_;
  }

 private:
  absl::Mutex mu_;
  int value_ ABSL_GUARDED_BY(mu_) = 0;
};

// Incoming requests kept unanswered until the test decides.
class Stash {
 public:
  RequestHandler Handler() {
    return [this](const PeerInfo&, Message request, Responder responder) {
      absl::MutexLock lock(&mu_);
      items_.push_back({std::move(request), std::move(responder)});
    };
  }
  bool WaitForSize(size_t n) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return items_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kLongTimeout);
  }
  std::vector<std::pair<Message, Responder>> TakeAll() {
    absl::MutexLock lock(&mu_);
    std::vector<std::pair<Message, Responder>> out;
    out.swap(items_);
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<Message, Responder>> items_ ABSL_GUARDED_BY(mu_);
};

// Replies "re:<header>" and echoes the payload (forwarding the received buffer unchanged).
void Echo(const PeerInfo&, Message request, Responder responder) {
  Message reply;
  reply.header = ToBytes("re:" + Str(request.header));
  reply.payload = std::move(request.payload);
  responder.Respond(std::move(reply));
}

// Echo, counting the requests in `*handled`.
RequestHandler CountingEcho(std::atomic<int>* handled) {
  return [handled](const PeerInfo& from, Message request, Responder responder) {
    ++*handled;
    Echo(from, std::move(request), std::move(responder));
  };
}

// Answers "re:<header>" from its own thread, as a real service hands work off the loop.
class Worker {
 public:
  Worker() : thread_([this] { Run(); }) {}
  ~Worker() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  RequestHandler Handler() {
    return [this](const PeerInfo&, Message request, Responder responder) {
      absl::MutexLock lock(&mu_);
      queue_.emplace_back(std::move(request), std::move(responder));
    };
  }

 private:
  void Run() {
    for (;;) {
      std::optional<std::pair<Message, Responder>> item;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Worker::HasWorkOrStop));
        if (queue_.empty()) return;
        item.emplace(std::move(queue_.front()));
        queue_.pop_front();
      }
      item->second.Respond(Text("re:" + Str(item->first.header)));
    }
  }
  bool HasWorkOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stop_; }

  absl::Mutex mu_;
  std::deque<std::pair<Message, Responder>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the members above exist
};

class TransportTest : public ::testing::Test {
 protected:
  CurveKeyPair NewKeys() { return *GenerateCurveKeyPair(random_); }

  Options NewOptions(RequestHandler handler = nullptr) {
    Options options;
    options.keys = NewKeys();
    options.handler = std::move(handler);
    return options;
  }

  std::unique_ptr<Transport> Start(Options options) {
    absl::StatusOr<std::unique_ptr<Transport>> transport = Transport::Start(std::move(options));
    EXPECT_TRUE(transport.ok()) << transport.status();
    return transport.ok() ? std::move(transport).value() : nullptr;
  }

  crypto::DeterministicRandom random_{42};
};

TEST_F(TransportTest, RequestReplyExposesClientKey) {
  std::atomic<bool> key_seen{false};
  CurveKeyPair client_keys = NewKeys();
  auto server = Start(NewOptions([&](const PeerInfo& from, Message request, Responder responder) {
    key_seen = from.curve_key == client_keys.public_key && from.address == "127.0.0.1";
    Echo(from, std::move(request), std::move(responder));
  }));
  Options client_options = NewOptions();
  client_options.keys = client_keys;
  auto client = Start(std::move(client_options));
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(server->endpoint().rfind("tcp://127.0.0.1:", 0), 0u) << server->endpoint();

  auto future = client->Call(server->address(), Text("hello"), kLongTimeout);
  ASSERT_TRUE(Ready(future));
  ASSERT_OK_AND_ASSIGN(Message reply, future.get());
  EXPECT_EQ(Str(reply.header), "re:hello");
  EXPECT_TRUE(reply.payload.empty());
  EXPECT_TRUE(key_seen);

  // With a small payload too (copied below the zero-copy threshold, same result).
  Message with_payload = Text("p");
  with_payload.payload = SharedBytes(ToBytes("payload bytes"));
  auto second = client->Call(server->address(), std::move(with_payload), kLongTimeout);
  ASSERT_TRUE(Ready(second));
  ASSERT_OK_AND_ASSIGN(Message reply2, second.get());
  EXPECT_EQ(Str(reply2.payload.view()), "payload bytes");

  // The server counts a reply once its send returned, which may be after the client got it.
  TransportStats stats = server->stats();
  for (int i = 0; i < 500 && stats.replies_sent < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    stats = server->stats();
  }
  EXPECT_EQ(stats.requests_handled, 2u);
  EXPECT_EQ(stats.replies_sent, 2u);
  EXPECT_EQ(client->stats().replies_received, 2u);
  EXPECT_EQ(client->stats().peer_sockets, 1u);
}

TEST_F(TransportTest, ErrorRepliesAndAbandonedRequests) {
  auto server = Start(NewOptions([](const PeerInfo&, Message request, Responder responder) {
    if (Str(request.header) == "missing") {
      responder.RespondError(absl::NotFoundError("no such shard"));
      EXPECT_FALSE(responder.Respond(Text("second answer")));  // first answer wins
    }
    // Otherwise the responder is dropped without an answer.
  }));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);

  auto missing = client->Call(server->address(), Text("missing"), kLongTimeout);
  auto dropped = client->Call(server->address(), Text("dropped"), kLongTimeout);
  ASSERT_TRUE(Ready(missing));
  ASSERT_TRUE(Ready(dropped));
  absl::Status status = missing.get().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), server->endpoint() + ": no such shard");
  EXPECT_STATUS(dropped.get(), absl::StatusCode::kInternal);
}

TEST_F(TransportTest, ServerWithoutHandlerAnswersUnimplemented) {
  auto server = Start(NewOptions());
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  auto future = client->Call(server->address(), Text("x"), kLongTimeout);
  ASSERT_TRUE(Ready(future));
  EXPECT_STATUS(future.get(), absl::StatusCode::kUnimplemented);
}

TEST_F(TransportTest, ManyConcurrentRequestsFromSeveralThreadsBothWays) {
  Worker worker;
  auto server = Start(NewOptions(worker.Handler()));
  Options client_options = NewOptions(&Echo);
  client_options.max_in_flight_per_peer = 8;  // most requests wait in the per-peer queue
  auto client = Start(std::move(client_options));
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  constexpr int kReverse = 100;
  Counter completed;
  std::atomic<int> failures{0};
  auto expect_reply = [&](std::string expected) {
    return [&, expected = std::move(expected)](absl::StatusOr<Message> reply) {
      if (!reply.ok() || Str(reply->header) != expected) {
        ADD_FAILURE() << (reply.ok() ? Str(reply->header) : reply.status().ToString())
                      << " != " << expected;
        ++failures;
      }
      completed.Add();
    };
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string header = absl::StrCat("t", t, "-", i);
        client->SendRequest(server->address(), Text(header), kLongTimeout,
                            expect_reply("re:" + header));
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < kReverse; ++i) {
      std::string header = absl::StrCat("back-", i);
      server->SendRequest(client->address(), Text(header), kLongTimeout,
                          expect_reply("re:" + header));
    }
  });
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(completed.WaitAtLeast(kThreads * kPerThread + kReverse));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(client->stats().requests_sent, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(server->stats().requests_handled, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(client->stats().requests_handled, static_cast<uint64_t>(kReverse));
}

TEST_F(TransportTest, LargePayloadIsDeliveredIntactWithoutCopies) {
  constexpr size_t kSize = 64 << 20;
  auto server = Start(NewOptions(&Echo));  // echoes the received buffer back, zero-copy
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);

  auto buffer = std::make_shared<Bytes>(kSize);
  uint64_t x = 0x9e3779b97f4a7c15;
  for (size_t i = 0; i + 8 <= kSize; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(buffer->data() + i, &x, 8);
  }
  const crypto::Hash256 digest = crypto::Sha256(*buffer);
  std::weak_ptr<Bytes> weak = buffer;
  Message request = Text("big");
  request.payload = SharedBytes(std::shared_ptr<const Bytes>(std::move(buffer)));

  auto future = client->Call(server->address(), std::move(request), kLongTimeout);
  ASSERT_TRUE(Ready(future));
  ASSERT_OK_AND_ASSIGN(Message reply, future.get());
  EXPECT_EQ(Str(reply.header), "re:big");
  ASSERT_EQ(reply.payload.size(), kSize);
  EXPECT_EQ(crypto::Sha256(reply.payload.view()), digest);
  // ZeroMQ released our buffer once it was sent: the transport kept no copy of it.
  EXPECT_TRUE(weak.expired());
  EXPECT_GE(client->stats().zero_copy_bytes_sent, kSize);
  EXPECT_EQ(client->stats().zero_copy_frames_sent, 1u);
  // The echo forwarded the received buffer (counted once its send returned, which may be
  // after the client got the reply).
  for (int i = 0; i < 500 && server->stats().zero_copy_bytes_sent < kSize; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GE(server->stats().zero_copy_bytes_sent, kSize);
}

TEST_F(TransportTest, OversizedAndInvalidRequestsAreRefusedLocally) {
  Options options = NewOptions();
  options.max_header_size = 16;
  options.max_payload_size = 100;
  auto client = Start(std::move(options));
  ASSERT_NE(client, nullptr);
  PeerAddress somewhere{"tcp://127.0.0.1:9", NewKeys().public_key};
  auto big_header = client->Call(somewhere, Text(std::string(17, 'h')), kLongTimeout);
  Message big_payload = Text("h");
  big_payload.payload = SharedBytes(Bytes(101));
  auto big = client->Call(somewhere, std::move(big_payload), kLongTimeout);
  auto ipc = client->Call({"ipc:///tmp/gnr-sock", somewhere.server_key}, Text("h"), kLongTimeout);
  // Refused before being queued: already complete.
  ASSERT_TRUE(Ready(big_header, absl::ZeroDuration()));
  EXPECT_STATUS(big_header.get(), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(big.get(), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ipc.get(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->stats().peer_sockets, 0u);
}

TEST_F(TransportTest, TimesOutWhenThePeerIsNotThere) {
  std::string endpoint;
  CurveKey key;
  {
    auto gone = Start(NewOptions(&Echo));
    ASSERT_NE(gone, nullptr);
    endpoint = gone->endpoint();
    key = gone->public_key();
  }  // stopped: nothing listens on that port any more
  auto client = Start(NewOptions());
  ASSERT_NE(client, nullptr);
  const absl::Duration timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  auto future = client->Call({endpoint, key}, Text("anyone?"), timeout);
  ASSERT_TRUE(Ready(future, timeout + absl::Seconds(10)));
  absl::Duration elapsed = absl::Now() - start;
  absl::Status status = future.get().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(elapsed, timeout - absl::Milliseconds(5));
  EXPECT_EQ(client->stats().requests_timed_out, 1u);
}

TEST_F(TransportTest, WrongServerKeyCannotTalk) {
  std::atomic<int> handled{0};
  auto server = Start(NewOptions(CountingEcho(&handled)));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  PeerAddress impostor{server->endpoint(), NewKeys().public_key};
  auto future = client->Call(impostor, Text("secret"), absl::Milliseconds(500));
  ASSERT_TRUE(Ready(future));
  EXPECT_STATUS(future.get(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(handled.load(), 0);
  // The right key works from the same client.
  auto good = client->Call(server->address(), Text("hi"), kLongTimeout);
  ASSERT_TRUE(Ready(good));
  EXPECT_OK(good.get());
  EXPECT_EQ(handled.load(), 1);
}

// A hand-made CURVE client that can send anything.
class RawClient {
 public:
  RawClient(const CurveKeyPair& keys, const PeerAddress& server) {
    context_ = zmq_ctx_new();
    socket_ = zmq_socket(context_, ZMQ_DEALER);
    int linger = 0;
    int timeout_ms = 30000;
    zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(socket_, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
    zmq_setsockopt(socket_, ZMQ_CURVE_SERVERKEY, server.server_key.data(), 32);
    zmq_setsockopt(socket_, ZMQ_CURVE_PUBLICKEY, keys.public_key.data(), 32);
    zmq_setsockopt(socket_, ZMQ_CURVE_SECRETKEY, keys.secret_key.data(), 32);
    EXPECT_EQ(zmq_connect(socket_, server.endpoint.c_str()), 0);
  }
  // A NULL-mechanism client (for a bulk endpoint).
  explicit RawClient(const std::string& endpoint) {
    context_ = zmq_ctx_new();
    socket_ = zmq_socket(context_, ZMQ_DEALER);
    int linger = 0;
    int timeout_ms = 30000;
    zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(socket_, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
    EXPECT_EQ(zmq_connect(socket_, endpoint.c_str()), 0);
  }
  ~RawClient() {
    zmq_close(socket_);
    zmq_ctx_term(context_);
  }

  void Send(std::vector<Bytes> frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      int flags = i + 1 < frames.size() ? ZMQ_SNDMORE : 0;
      ASSERT_GE(zmq_send(socket_, frames[i].data(), frames[i].size(), flags), 0);
    }
  }
  // Receives one multipart message (empty on timeout).
  std::vector<Bytes> Receive() {
    std::vector<Bytes> frames;
    for (;;) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, socket_, 0) < 0) {
        zmq_msg_close(&msg);
        return frames;
      }
      const uint8_t* data = static_cast<const uint8_t*>(zmq_msg_data(&msg));
      frames.emplace_back(data, data + zmq_msg_size(&msg));
      bool more = zmq_msg_more(&msg);
      zmq_msg_close(&msg);
      if (!more) return frames;
    }
  }

 private:
  void* context_;
  void* socket_;
};

Bytes EnvelopeBytes(FrameKind kind, uint64_t id) {
  FixedBytes<kEnvelopeSize> e = EncodeEnvelope({kind, id});
  return Bytes(e.begin(), e.end());
}

TEST_F(TransportTest, MalformedFramesAreDroppedAndGoodPeersStillServed) {
  Options server_options = NewOptions(&Echo);
  server_options.max_header_size = 1000;
  auto server = Start(std::move(server_options));
  auto good = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(good, nullptr);

  RawClient raw(NewKeys(), server->address());
  raw.Send({ToBytes("garbage")});                                               // 1 frame
  raw.Send({HexLiteral("010100"), ToBytes("short envelope")});                  // bad envelope
  raw.Send({HexLiteral("07010000000000000001"), ToBytes("version 7")});         // bad version
  raw.Send({EnvelopeBytes(FrameKind::kReply, 2), ToBytes("reply to server")});  // wrong kind
  raw.Send({EnvelopeBytes(FrameKind::kRequest, 3), ToBytes("a"), ToBytes("b"), ToBytes("c")});
  raw.Send({EnvelopeBytes(FrameKind::kRequest, 4), Bytes(1001, 'h')});  // header over limit
  raw.Send({EnvelopeBytes(FrameKind::kRequest, 5), ToBytes("fine")});

  // The oversized request gets an error reply (its id was readable); then the good one.
  std::vector<Bytes> refused = raw.Receive();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0], EnvelopeBytes(FrameKind::kError, 4));
  EXPECT_EQ(DecodeErrorBody(refused[1], "").code(), absl::StatusCode::kInvalidArgument);
  std::vector<Bytes> reply = raw.Receive();
  ASSERT_EQ(reply.size(), 2u);
  EXPECT_EQ(reply[0], EnvelopeBytes(FrameKind::kReply, 5));
  EXPECT_EQ(Str(reply[1]), "re:fine");
  EXPECT_EQ(server->stats().malformed_dropped, 6u);

  auto future = good->Call(server->address(), Text("still there?"), kLongTimeout);
  ASSERT_TRUE(Ready(future));
  ASSERT_OK_AND_ASSIGN(Message good_reply, future.get());
  EXPECT_EQ(Str(good_reply.header), "re:still there?");
}

TEST_F(TransportTest, MalformedAndUnknownRepliesAreDropped) {
  // A hand-made server answering our requests with junk.
  CurveKeyPair server_keys = NewKeys();
  void* context = zmq_ctx_new();
  void* router = zmq_socket(context, ZMQ_ROUTER);
  int one = 1;
  int linger = 0;
  int timeout_ms = 30000;
  zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof(linger));
  zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
  zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof(one));
  zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, server_keys.secret_key.data(), 32);
  ASSERT_EQ(zmq_bind(router, "tcp://127.0.0.1:0"), 0);
  char endpoint[256];
  size_t size = sizeof(endpoint);
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size);

  auto client = Start(NewOptions());
  ASSERT_NE(client, nullptr);
  auto future = client->Call({endpoint, server_keys.public_key}, Text("q"), absl::Seconds(30));

  // Read the request: routing id, envelope, header.
  std::vector<Bytes> request;
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    ASSERT_GE(zmq_msg_recv(&msg, router, 0), 0);
    const uint8_t* data = static_cast<const uint8_t*>(zmq_msg_data(&msg));
    request.emplace_back(data, data + zmq_msg_size(&msg));
    bool more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    if (!more) break;
  }
  ASSERT_EQ(request.size(), 3u);
  ASSERT_OK_AND_ASSIGN(Envelope envelope, DecodeEnvelope(request[1]));
  EXPECT_EQ(envelope.kind, FrameKind::kRequest);
  auto send = [&](std::vector<Bytes> frames) {
    zmq_send(router, request[0].data(), request[0].size(), ZMQ_SNDMORE);
    for (size_t i = 0; i < frames.size(); ++i) {
      zmq_send(router, frames[i].data(), frames[i].size(), i + 1 < frames.size() ? ZMQ_SNDMORE : 0);
    }
  };
  send({ToBytes("junk")});                                                        // 1 frame
  send({HexLiteral("0102"), ToBytes("x")});                                       // bad envelope
  send({EnvelopeBytes(FrameKind::kRequest, envelope.request_id), ToBytes("x")});  // wrong kind
  send({EnvelopeBytes(FrameKind::kReply, envelope.request_id + 1000), ToBytes("x")});  // unknown
  send({EnvelopeBytes(FrameKind::kReply, envelope.request_id), ToBytes("the answer")});

  ASSERT_TRUE(Ready(future));
  ASSERT_OK_AND_ASSIGN(Message reply, future.get());
  EXPECT_EQ(Str(reply.header), "the answer");
  EXPECT_EQ(client->stats().malformed_dropped, 3u);
  EXPECT_EQ(client->stats().unmatched_replies, 1u);
  client.reset();
  zmq_close(router);
  zmq_ctx_term(context);
}

TEST_F(TransportTest, FloodingPeerIsRateLimitedWhileOthersAreServed) {
  Options server_options = NewOptions(&Echo);
  server_options.incoming_rate_per_peer = 5;
  server_options.incoming_burst_per_peer = 10;
  auto server = Start(std::move(server_options));
  Options flooder_options = NewOptions();
  flooder_options.max_in_flight_per_peer = 1000;
  auto flooder = Start(std::move(flooder_options));
  auto polite = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(flooder, nullptr);
  ASSERT_NE(polite, nullptr);

  constexpr int kFlood = 300;
  Counter completed;
  std::atomic<int> busy{0};
  std::atomic<int> ok{0};
  std::atomic<int> other{0};
  for (int i = 0; i < kFlood; ++i) {
    flooder->SendRequest(
        server->address(), Text("flood"), kLongTimeout, [&](absl::StatusOr<Message> reply) {
          if (reply.ok()) {
            ++ok;
          } else if (reply.status().code() == absl::StatusCode::kResourceExhausted) {
            ++busy;
          } else {
            ++other;
          }
          completed.Add();
        });
  }
  // The polite peer has its own budget and is served while the flood is refused.
  for (int i = 0; i < 5; ++i) {
    auto future = polite->Call(server->address(), Text("polite"), kLongTimeout);
    ASSERT_TRUE(Ready(future));
    EXPECT_OK(future.get());
  }
  ASSERT_TRUE(completed.WaitAtLeast(kFlood));
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(ok.load(), 10);  // the burst
  EXPECT_GE(busy.load(), kFlood / 2);
  EXPECT_EQ(server->stats().requests_rejected_busy, static_cast<uint64_t>(busy.load()));
}

TEST_F(TransportTest, UnansweredRequestsPerPeerAreBounded) {
  Stash stash;
  Options server_options = NewOptions(stash.Handler());
  server_options.max_incoming_in_flight_per_peer = 3;
  auto server = Start(std::move(server_options));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);

  std::vector<std::future<absl::StatusOr<Message>>> futures;
  for (int i = 0; i < 5; ++i) {
    futures.push_back(client->Call(server->address(), Text(absl::StrCat(i)), kLongTimeout));
  }
  // Requests 3 and 4 are refused while 0-2 are with the handler.
  ASSERT_TRUE(Ready(futures[3]));
  ASSERT_TRUE(Ready(futures[4]));
  EXPECT_STATUS(futures[3].get(), absl::StatusCode::kResourceExhausted);
  EXPECT_STATUS(futures[4].get(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(stash.WaitForSize(3));
  for (auto& [request, responder] : stash.TakeAll()) {
    EXPECT_TRUE(responder.Respond(Text("late:" + Str(request.header))));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Ready(futures[i]));
    ASSERT_OK_AND_ASSIGN(Message reply, futures[i].get());
    EXPECT_EQ(Str(reply.header), absl::StrCat("late:", i));
  }
  // Answered requests free their slots.
  auto again = client->Call(server->address(), Text("again"), kLongTimeout);
  ASSERT_TRUE(stash.WaitForSize(1));
  stash.TakeAll()[0].second.Respond(Text("ok"));
  ASSERT_TRUE(Ready(again));
  EXPECT_OK(again.get());
}

TEST_F(TransportTest, StopCancelsRequestsInFlight) {
  Stash stash;
  auto server = Start(NewOptions(stash.Handler()));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);

  std::vector<std::future<absl::StatusOr<Message>>> futures;
  for (int i = 0; i < 5; ++i) {
    futures.push_back(client->Call(server->address(), Text("wait"), absl::Minutes(5)));
  }
  ASSERT_TRUE(stash.WaitForSize(5));  // all five are in flight, unanswered
  absl::Time start = absl::Now();
  client->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  for (auto& future : futures) {
    ASSERT_TRUE(Ready(future, absl::ZeroDuration()));
    EXPECT_STATUS(future.get(), absl::StatusCode::kCancelled);
  }
  // After Stop, requests are refused at once and Stop is idempotent.
  auto late = client->Call(server->address(), Text("late"), kLongTimeout);
  ASSERT_TRUE(Ready(late, absl::ZeroDuration()));
  EXPECT_STATUS(late.get(), absl::StatusCode::kCancelled);
  client->Stop();

  // Answers after the requester stopped go nowhere; after our own stop they are refused.
  auto pending = stash.TakeAll();
  EXPECT_TRUE(pending[0].second.Respond(Text("nobody listens")));
  server->Stop();
  EXPECT_FALSE(pending[1].second.Respond(Text("stopped")));
}

TEST_F(TransportTest, DisconnectCancelsQueuedAndInFlightRequests) {
  Stash stash;
  auto server = Start(NewOptions(stash.Handler()));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  auto future = client->Call(server->address(), Text("x"), kLongTimeout);
  ASSERT_TRUE(stash.WaitForSize(1));
  client->Disconnect(server->address());
  ASSERT_TRUE(Ready(future));
  EXPECT_STATUS(future.get(), absl::StatusCode::kCancelled);
  // A later request reconnects.
  auto again = client->Call(server->address(), Text("y"), kLongTimeout);
  ASSERT_TRUE(stash.WaitForSize(2));
  for (auto& [request, responder] : stash.TakeAll()) responder.Respond(Text("ok"));
  ASSERT_TRUE(Ready(again));
  EXPECT_OK(again.get());
}

TEST_F(TransportTest, IdlePeerSocketsAreClosedOverTheLimit) {
  auto first = Start(NewOptions(&Echo));
  auto second = Start(NewOptions(&Echo));
  Options client_options = NewOptions();
  client_options.max_peer_sockets = 1;
  auto client = Start(std::move(client_options));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(client, nullptr);
  for (int round = 0; round < 2; ++round) {
    for (Transport* server : {first.get(), second.get()}) {
      auto future = client->Call(server->address(), Text("hi"), kLongTimeout);
      ASSERT_TRUE(Ready(future));
      EXPECT_OK(future.get());
      EXPECT_EQ(client->stats().peer_sockets, 1u);
    }
  }
}

TEST_F(TransportTest, StartRejectsBadOptions) {
  Options mismatched = NewOptions();
  mismatched.keys.public_key = NewKeys().public_key;
  EXPECT_STATUS(Transport::Start(std::move(mismatched)), absl::StatusCode::kInvalidArgument);
  Options no_window = NewOptions();
  no_window.max_in_flight_per_peer = 0;
  EXPECT_STATUS(Transport::Start(std::move(no_window)), absl::StatusCode::kInvalidArgument);
  Options bad_bind = NewOptions();
  bad_bind.bind_endpoint = "tcp://256.1.1.1:0";
  EXPECT_STATUS(Transport::Start(std::move(bad_bind)), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gnr::net_zmq

namespace gnr::net_zmq {
namespace {

// --- The bulk channel (net/zmq/bulk.h) ---

Message WithPayload(std::string_view header, Bytes payload) {
  Message m = Text(header);
  m.payload = SharedBytes(std::move(payload));
  return m;
}

// Waits until `stats()` satisfies `done` (the server counts after its send returned).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 3000; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

std::future<absl::StatusOr<Message>> CallBulk(Transport& client, const PeerAddress& to,
                                              Message request, absl::Duration timeout) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Message>>>();
  auto future = promise->get_future();
  client.SendRequest(
      to, std::move(request), timeout,
      [promise](absl::StatusOr<Message> reply) { promise->set_value(std::move(reply)); },
      Channel::kBulk);
  return future;
}

TEST_F(TransportTest, BulkRequestsTakeTheBulkChannelWithTheCurveIdentity) {
  CurveKeyPair client_keys = NewKeys();
  std::atomic<int> wrong_key{0};
  auto server = Start(NewOptions([&](const PeerInfo& from, Message request, Responder responder) {
    if (from.curve_key != client_keys.public_key) ++wrong_key;
    Echo(from, std::move(request), std::move(responder));
  }));
  Options client_options = NewOptions();
  client_options.keys = client_keys;
  auto client = Start(std::move(client_options));
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  ASSERT_FALSE(server->bulk_endpoint().empty());
  EXPECT_NE(server->bulk_endpoint(), server->endpoint());
  EXPECT_EQ(server->bulk_endpoint().rfind("tcp://127.0.0.1:", 0), 0u) << server->bulk_endpoint();

  Bytes big(3 << 20);
  random_.Fill(big);
  for (int i = 0; i < 3; ++i) {
    auto future = CallBulk(*client, server->address(), WithPayload(absl::StrCat("put ", i), big),
                           kLongTimeout);
    ASSERT_TRUE(Ready(future));
    ASSERT_OK_AND_ASSIGN(Message reply, future.get());
    EXPECT_EQ(Str(reply.header), absl::StrCat("re:put ", i));
    EXPECT_TRUE(std::equal(reply.payload.view().begin(), reply.payload.view().end(), big.begin(),
                           big.end()));
  }
  // A control request still goes over CURVE.
  auto control = client->Call(server->address(), Text("stat"), kLongTimeout);
  ASSERT_TRUE(Ready(control));
  EXPECT_OK(control.get());

  EXPECT_EQ(wrong_key.load(), 0);
  EXPECT_EQ(client->stats().bulk_requests_sent, 3u);
  EXPECT_TRUE(Eventually([&] { return server->stats().replies_sent >= 5; }));  // + the offer
  EXPECT_EQ(server->stats().bulk_requests_received, 3u);
  EXPECT_EQ(server->stats().requests_handled, 4u);
  EXPECT_EQ(server->stats().bulk_sessions, 1u);
}

TEST_F(TransportTest, BulkRequestsGoOverCurveWhenEitherSideDoesNotUseTheChannel) {
  Options server_options = NewOptions(&Echo);
  server_options.serve_bulk = false;
  auto plain_server = Start(std::move(server_options));
  auto bulk_server = Start(NewOptions(&Echo));
  Options client_options = NewOptions();
  client_options.use_bulk = false;
  auto curve_only_client = Start(std::move(client_options));
  auto client = Start(NewOptions());
  ASSERT_NE(plain_server, nullptr);
  ASSERT_NE(bulk_server, nullptr);
  ASSERT_NE(curve_only_client, nullptr);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(plain_server->bulk_endpoint().empty());

  // The server answers the hello with Unimplemented; the request goes over CURVE.
  for (int i = 0; i < 2; ++i) {
    auto f = CallBulk(*client, plain_server->address(), WithPayload("a", Bytes(10000, 'x')),
                      kLongTimeout);
    ASSERT_TRUE(Ready(f));
    ASSERT_OK_AND_ASSIGN(Message reply, f.get());
    EXPECT_EQ(reply.payload.size(), 10000u);
  }
  EXPECT_EQ(client->stats().bulk_requests_sent, 0u);
  EXPECT_TRUE(Eventually([&] { return plain_server->stats().requests_handled == 2; }));

  auto g = CallBulk(*curve_only_client, bulk_server->address(), Text("b"), kLongTimeout);
  ASSERT_TRUE(Ready(g));
  EXPECT_OK(g.get());
  EXPECT_EQ(curve_only_client->stats().bulk_requests_sent, 0u);
  EXPECT_EQ(bulk_server->stats().bulk_requests_received, 0u);
  EXPECT_EQ(bulk_server->stats().bulk_sessions, 0u);
}

TEST_F(TransportTest, BulkChannelDropsForgedReplayedAndTamperedRequests) {
  std::atomic<int> handled{0};
  auto server = Start(NewOptions(CountingEcho(&handled)));
  ASSERT_NE(server, nullptr);

  // The hello over CURVE, by hand.
  RawClient curve(NewKeys(), server->address());
  curve.Send({EnvelopeBytes(FrameKind::kBulkHello, 1), Bytes()});
  std::vector<Bytes> answer = curve.Receive();
  ASSERT_EQ(answer.size(), 2u);
  EXPECT_EQ(answer[0], EnvelopeBytes(FrameKind::kReply, 1));
  ASSERT_OK_AND_ASSIGN(BulkOffer offer, DecodeBulkOffer(answer[1]));
  ASSERT_OK_AND_ASSIGN(std::string endpoint, EndpointWithPort(server->endpoint(), offer.port));
  EXPECT_EQ(endpoint, server->bulk_endpoint());

  RawClient bulk(endpoint);
  auto request = [&](uint64_t id, std::string_view header, const BulkSessionId& session,
                     Bytes payload = {}) {
    FixedBytes<kBulkEnvelopeSize> e = EncodeBulkEnvelope({FrameKind::kRequest, session, id});
    Bytes envelope(e.begin(), e.end());
    Bytes sealed = SealBulkFrame(offer.key, BulkDirection::kRequest, envelope, id, payload.size(),
                                 AsBytes(header));
    std::vector<Bytes> frames = {envelope, sealed};
    if (!payload.empty()) frames.push_back(std::move(payload));
    return frames;
  };
  auto open_reply = [&](const std::vector<Bytes>& frames) -> std::string {
    if (frames.size() < 2) return "<none>";
    absl::StatusOr<BulkEnvelope> e = DecodeBulkEnvelope(frames[0]);
    if (!e.ok()) return "<bad envelope>";
    if (e->kind == FrameKind::kBulkUnknownSession) return "<unknown session>";
    uint64_t payload = frames.size() == 3 ? frames[2].size() : 0;
    absl::StatusOr<Bytes> body = OpenBulkFrame(offer.key, BulkDirection::kReply, frames[0],
                                               e->request_id, payload, frames[1]);
    return body.ok() ? absl::StrCat(e->request_id, " ", Str(*body)) : "<unauthenticated>";
  };

  std::vector<Bytes> first = request(10, "one", offer.session, Bytes(5000, 'p'));
  bulk.Send(first);
  std::vector<Bytes> reply = bulk.Receive();
  EXPECT_EQ(open_reply(reply), "10 re:one");
  ASSERT_EQ(reply.size(), 3u);
  EXPECT_EQ(reply[2], Bytes(5000, 'p'));

  bulk.Send(first);  // a replay
  std::vector<Bytes> older = request(9, "older", offer.session);
  bulk.Send(older);  // an id that is not after the last one
  std::vector<Bytes> tampered = request(11, "two", offer.session);
  tampered[1][0] ^= 1;
  bulk.Send(tampered);
  std::vector<Bytes> resized = request(12, "three", offer.session, Bytes(100, 'p'));
  resized[2].push_back('q');  // the payload size is authenticated
  bulk.Send(resized);
  std::vector<Bytes> forged = request(13, "four", offer.session);
  forged[0][5] ^= 1;  // a session id nobody was given
  bulk.Send(forged);
  bulk.Send({ToBytes("junk")});
  bulk.Send(request(14, "five", offer.session));

  // Only the unknown session is answered (unsealed), then the good request.
  EXPECT_EQ(open_reply(bulk.Receive()), "<unknown session>");
  EXPECT_EQ(open_reply(bulk.Receive()), "14 re:five");
  EXPECT_EQ(handled.load(), 2);
  EXPECT_EQ(server->stats().malformed_dropped, 6u);
  EXPECT_EQ(server->stats().bulk_requests_received, 2u);
}

TEST_F(TransportTest, APeerKeepsAFewBulkSessionsAtMost) {
  auto server = Start(NewOptions(&Echo));
  ASSERT_NE(server, nullptr);
  RawClient curve(NewKeys(), server->address());
  std::vector<BulkOffer> offers;
  for (uint64_t id = 1; id <= 6; ++id) {
    curve.Send({EnvelopeBytes(FrameKind::kBulkHello, id), Bytes()});
    std::vector<Bytes> answer = curve.Receive();
    ASSERT_EQ(answer.size(), 2u);
    ASSERT_OK_AND_ASSIGN(BulkOffer offer, DecodeBulkOffer(answer[1]));
    offers.push_back(offer);
  }
  EXPECT_EQ(server->stats().bulk_sessions, 4u);
  // The newest works, the oldest was dropped.
  RawClient bulk(server->bulk_endpoint());
  for (const BulkOffer* offer : {&offers.back(), &offers.front()}) {
    FixedBytes<kBulkEnvelopeSize> e = EncodeBulkEnvelope({FrameKind::kRequest, offer->session, 1});
    Bytes envelope(e.begin(), e.end());
    bulk.Send({envelope,
               SealBulkFrame(offer->key, BulkDirection::kRequest, envelope, 1, 0, AsBytes("x"))});
    std::vector<Bytes> reply = bulk.Receive();
    ASSERT_GE(reply.size(), 1u);
    ASSERT_OK_AND_ASSIGN(BulkEnvelope r, DecodeBulkEnvelope(reply[0]));
    EXPECT_EQ(r.kind, offer == &offers.back() ? FrameKind::kReply : FrameKind::kBulkUnknownSession);
  }
}

TEST_F(TransportTest, BulkTimeoutFallsBackToCurve) {
  std::vector<Responder> ignored;
  absl::Mutex mu;
  auto server = Start(NewOptions([&](const PeerInfo& from, Message request, Responder responder) {
    if (Str(request.header) == "ignore") {
      absl::MutexLock lock(&mu);
      ignored.push_back(std::move(responder));  // never answered
      return;
    }
    Echo(from, std::move(request), std::move(responder));
  }));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  auto ok = CallBulk(*client, server->address(), Text("first"), kLongTimeout);
  ASSERT_TRUE(Ready(ok));
  EXPECT_OK(ok.get());
  auto lost = CallBulk(*client, server->address(), Text("ignore"), absl::Milliseconds(300));
  ASSERT_TRUE(Ready(lost));
  EXPECT_STATUS(lost.get(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client->stats().bulk_requests_sent, 2u);
  // The next bulk request takes CURVE.
  auto after =
      CallBulk(*client, server->address(), WithPayload("third", Bytes(8000, 'z')), kLongTimeout);
  ASSERT_TRUE(Ready(after));
  ASSERT_OK_AND_ASSIGN(Message reply, after.get());
  EXPECT_EQ(Str(reply.header), "re:third");
  EXPECT_EQ(client->stats().bulk_requests_sent, 2u);
  EXPECT_EQ(server->stats().bulk_requests_received, 2u);
  absl::MutexLock lock(&mu);
  ignored.clear();
}

TEST_F(TransportTest, ForgottenBulkSessionIsRenegotiatedAndTheRequestResent) {
  FakeClock server_clock;
  Options server_options = NewOptions(&Echo);
  server_options.clock = &server_clock;
  auto server = Start(std::move(server_options));
  auto client = Start(NewOptions());
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  auto first = CallBulk(*client, server->address(), Text("a"), kLongTimeout);
  ASSERT_TRUE(Ready(first));
  EXPECT_OK(first.get());
  ASSERT_EQ(server->stats().bulk_sessions, 1u);

  // The server forgets idle sessions after 10 minutes (its housekeeping runs on its clock).
  server_clock.Advance(absl::Minutes(11));
  ASSERT_TRUE(Eventually([&] { return server->stats().bulk_sessions == 0; }));

  auto second =
      CallBulk(*client, server->address(), WithPayload("b", Bytes(6000, 'b')), kLongTimeout);
  ASSERT_TRUE(Ready(second));
  ASSERT_OK_AND_ASSIGN(Message reply, second.get());
  EXPECT_EQ(Str(reply.header), "re:b");
  EXPECT_EQ(reply.payload.size(), 6000u);
  EXPECT_EQ(client->stats().bulk_requests_sent, 3u);  // a, b on the old session, b again
  EXPECT_EQ(server->stats().bulk_requests_received, 2u);
  EXPECT_EQ(server->stats().bulk_sessions, 1u);
}

}  // namespace
}  // namespace gnr::net_zmq
