// The shard protocol end to end over real net_zmq transports on loopback, against the
// in-memory ShardService: puts, verified range reads, challenges, deletes, STAT, farmer
// selection through the DHT, placement with spares, and hostile requests.
#include <atomic>
#include <memory>
#include <random>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/merkle.h"
#include "gtest/gtest.h"
#include "net/node/host.h"
#include "net/shard/memory_shard_service.h"
#include "net/shard/placement.h"
#include "net/shard/shard_client.h"
#include "net/shard/shard_server.h"
#include "net/shard/signing.h"
#include "net/wire/shard_codec.h"
#include "tests/testing/status_matchers.h"

namespace gnr::shard {
namespace {

crypto::PrivateKey Key(uint64_t seed) {
  crypto::DeterministicRandom rng(seed);
  return crypto::PrivateKey::Generate(rng);
}

class LogCapture {
 public:
  LogCapture() {
    SetLogSink([this](LogLevel, std::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { SetLogSink({}); }
  bool Contains(std::string_view needle) {
    absl::MutexLock lock(&mu_);
    for (const std::string& l : lines_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_;
};

// A farmer: in-memory store + shard server + host.
struct Farmer {
  explicit Farmer(uint64_t seed, MemoryShardService::Options store_options = {}) {
    service = std::make_unique<MemoryShardService>(store_options);
    node::HostOptions o;
    o.node_key = Key(seed);
    o.dht.request_timeout = absl::Seconds(2);
    const kademlia::NodeId id = kademlia::NodeIdOfPublicKey(o.node_key.GetPublicKey().Compressed());
    server = *ShardServer::Create(*service, ShardServerOptions{.self = id});
    o.shard_handler = [s = server.get()](const net_zmq::PeerInfo& from, net_zmq::Message m,
                                         net_zmq::Responder r) {
      s->Handle(from, std::move(m), r);
    };
    host = *node::Host::Start(std::move(o));
  }
  ~Farmer() {
    host.reset();  // stop serving before the server and store go
    server.reset();
  }
  FarmerAddress address() const { return host->contact(); }

  std::unique_ptr<MemoryShardService> service;
  std::unique_ptr<ShardServer> server;
  std::unique_ptr<node::Host> host;
};

struct Shard {
  ShardId id{};
  Bytes data;
  crypto::Hash256 root{};
};

Shard MakeShard(uint64_t seed, size_t size, uint32_t leaf_size = 64 * 1024) {
  crypto::DeterministicRandom rng(seed);
  Shard s;
  s.data = rng.Generate(size);
  s.id = crypto::Sha256(s.data);
  s.root = crypto::MerkleTree::Build(s.data, leaf_size)->root();
  return s;
}

PutShardArgs PutArgs(const Shard& s, std::string_view bucket = "bucket-1",
                     uint32_t leaf_size = 64 * 1024) {
  return PutShardArgs{ToBytes(bucket),
                      s.id,
                      s.root,
                      leaf_size,
                      crypto::MerkleHashKind::kSha256,
                      net_zmq::SharedBytes::Copy(s.data)};
}

// A client endpoint: its own transport, and a client for a payer key.
struct Client {
  explicit Client(uint64_t payer_seed) : signer(Key(payer_seed)) {
    crypto::DeterministicRandom rng(payer_seed + 1000);
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

TEST(ShardProtocol, PutGetChallengeDeleteOneFarmer) {
  Farmer farmer(1);
  Client alice(10);
  const FarmerAddress to = farmer.address();
  std::mt19937_64 rng(3);
  for (size_t size : {size_t{1} << 20, (size_t{5} << 20) + 12345, size_t{16} << 20}) {
    SCOPED_TRACE(size);
    Shard s = MakeShard(size, size);
    ASSERT_OK_AND_ASSIGN(PutShardAck ack, alice.client->PutSync(to, PutArgs(s)));
    EXPECT_FALSE(ack.already_stored);
    // Idempotent.
    ASSERT_OK_AND_ASSIGN(PutShardAck again, alice.client->PutSync(to, PutArgs(s)));
    EXPECT_TRUE(again.already_stored);

    // Random ranges, each verified against the root.
    const uint64_t leaves = crypto::MerkleLeafCount(size, 64 * 1024);
    for (int i = 0; i < 10; ++i) {
      const uint64_t offset = rng() % size;
      const uint64_t length = 1 + rng() % std::min<uint64_t>(size - offset, 3 << 20);
      LeafSpan span = LeavesCovering(offset, length, 64 * 1024);
      ASSERT_LE(span.first + span.count, leaves);
      GetRangeArgs args{s.id, ToBytes("bucket-1"), span.first, span.count};
      ASSERT_OK_AND_ASSIGN(GetRangeReply reply, alice.client->GetRangeSync(to, args));
      ASSERT_OK(VerifyRangeReply(args, reply, s.root, size, 64 * 1024));
      const uint64_t begin = span.first * 64 * 1024;
      EXPECT_TRUE(std::equal(reply.leaves.view().begin(), reply.leaves.view().end(),
                             s.data.begin() + begin));
      // A reply checked against another root fails.
      crypto::Hash256 wrong = s.root;
      wrong[0] ^= 1;
      EXPECT_STATUS(VerifyRangeReply(args, reply, wrong, size, 64 * 1024),
                    absl::StatusCode::kDataLoss);
    }
    // Sentinel challenge: the 32 bytes at each offset.
    std::vector<uint64_t> offsets = {0, 100, size - 32, size / 2};
    ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> values,
                         alice.client->ChallengeSentinelsSync(to, s.id, offsets));
    for (size_t i = 0; i < offsets.size(); ++i) {
      EXPECT_TRUE(std::equal(values[i].begin(), values[i].end(), s.data.begin() + offsets[i]));
    }
    EXPECT_STATUS(alice.client->ChallengeSentinelsSync(to, s.id, {size - 31}),
                  absl::StatusCode::kOutOfRange);
    // Merkle challenge on the last leaf (possibly short).
    ASSERT_OK_AND_ASSIGN(MerkleChallengeResult m,
                         alice.client->ChallengeMerkleSync(to, s.id, leaves - 1));
    EXPECT_OK(VerifyMerkleChallengeReply(leaves - 1, m, s.root, size, 64 * 1024));
    EXPECT_STATUS(alice.client->ChallengeMerkleSync(to, s.id, leaves),
                  absl::StatusCode::kOutOfRange);

    ASSERT_OK_AND_ASSIGN(ShardInfo info, alice.client->StatShardSync(to, s.id));
    EXPECT_EQ(info.size, size);
    EXPECT_EQ(info.merkle_root, s.root);
    EXPECT_EQ(info.payer, alice.signer.address());
    EXPECT_EQ(info.bucket_id, ToBytes("bucket-1"));
  }
  ASSERT_OK_AND_ASSIGN(NodeStatus status, alice.client->StatNodeSync(to));
  EXPECT_EQ(status.shard_count, 3u);
  EXPECT_EQ(status.used_bytes, (1u << 20) + (5u << 20) + 12345 + (16u << 20));

  // Only the payer deletes.
  Shard s = MakeShard(1 << 20, 1 << 20);
  Client mallory(20);
  absl::Status denied = mallory.client->DeleteSync(to, s.id, ToBytes("bucket-1"));
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied) << denied;
  EXPECT_NE(denied.message().find("was stored by payer"), absl::string_view::npos);
  EXPECT_OK(alice.client->DeleteSync(to, s.id, ToBytes("bucket-1")));
  EXPECT_STATUS(alice.client->StatShardSync(to, s.id), absl::StatusCode::kNotFound);
  EXPECT_STATUS(alice.client->DeleteSync(to, s.id, ToBytes("bucket-1")),
                absl::StatusCode::kNotFound);
  EXPECT_STATUS(alice.client->GetRangeSync(to, {s.id, {}, 0, 1}), absl::StatusCode::kNotFound);

  std::optional<FarmerLatency> latency = alice.client->Latency(to.id);
  ASSERT_TRUE(latency.has_value());
  EXPECT_GT(latency->ok, 20u);
  EXPECT_GT(latency->ewma, absl::ZeroDuration());
  ShardServerStats stats = farmer.server->stats();
  EXPECT_GE(stats.bytes_in, 22u << 20);
  EXPECT_EQ(stats.refused_signature, 0u);
}

TEST(ShardProtocol, RefusesWhatTheStoreCannotTake) {
  Farmer farmer(1, MemoryShardService::Options{.capacity_bytes = 20 << 20});
  Client alice(10);
  const FarmerAddress to = farmer.address();
  Shard a = MakeShard(1, 16 << 20);
  ASSERT_OK(alice.client->PutSync(to, PutArgs(a)));
  Shard b = MakeShard(2, 16 << 20);
  absl::StatusOr<PutShardAck> full = alice.client->PutSync(to, PutArgs(b));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("farmer full: capacity 20 MiB, used 16 MiB, shard 16 MiB"),
            absl::string_view::npos)
      << full.status();
  // A root that does not match the bytes.
  Shard c = MakeShard(3, 1 << 20);
  c.root[5] ^= 1;
  EXPECT_STATUS(alice.client->PutSync(to, PutArgs(c)), absl::StatusCode::kDataLoss);
  // Not accepting.
  farmer.service->SetAccepting(false);
  Shard d = MakeShard(4, 1 << 20);
  EXPECT_STATUS(alice.client->PutSync(to, PutArgs(d)), absl::StatusCode::kFailedPrecondition);
  // A corrupted shard is detected by the reader.
  ASSERT_OK(farmer.service->Corrupt(a.id, 70000));
  GetRangeArgs args{a.id, {}, 1, 1};
  ASSERT_OK_AND_ASSIGN(GetRangeReply reply, alice.client->GetRangeSync(to, args));
  EXPECT_STATUS(VerifyRangeReply(args, reply, a.root, a.data.size(), 64 * 1024),
                absl::StatusCode::kDataLoss);
}

// Sends raw shard-protocol headers, as a hostile client would.
struct RawClient {
  RawClient() : client(30) {}
  absl::StatusOr<net_zmq::Message> Send(const FarmerAddress& to, Bytes header,
                                        net_zmq::SharedBytes payload = {}) {
    return client.transport
        ->Call(net_zmq::PeerAddress{to.endpoint, to.curve_key},
               net_zmq::Message{std::move(header), std::move(payload)}, absl::Seconds(10))
        .get();
  }
  Client client;
};

wire::PutShardRequest SignedPut(const Shard& s, const kademlia::NodeId& farmer,
                                const PayerSigner& signer, absl::Time at, uint8_t nonce) {
  wire::PutShardRequest r;
  r.bucket_id = ToBytes("bucket-1");
  r.shard_id = s.id;
  r.size = s.data.size();
  r.merkle_root = s.root;
  r.leaf_size = 64 * 1024;
  r.farmer = farmer;
  r.signed_at = absl::FromUnixMicros(absl::ToUnixMicros(at));
  r.nonce.fill(nonce);
  r.signature =
      *signer.Sign(*PutShardDigest({r.farmer, r.bucket_id, r.shard_id, r.size, r.merkle_root,
                                    r.leaf_size, r.merkle_kind, r.signed_at, r.nonce}));
  return r;
}

TEST(ShardProtocol, RefusesHostileRequestsAndKeepsServing) {
  LogCapture log;
  Farmer farmer(1);
  RawClient raw;
  Client alice(10);
  const FarmerAddress to = farmer.address();
  const PrivateKeySigner& signer = raw.client.signer;
  Shard s = MakeShard(1, 1 << 20);
  auto payload = [&] { return net_zmq::SharedBytes::Copy(s.data); };

  // Malformed header, wrong protocol version, a reply instead of a request.
  EXPECT_STATUS(raw.Send(to, HexLiteral("0201ffffffff")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(raw.Send(to, HexLiteral("0205")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(wire::PutShardReply{})),
                absl::StatusCode::kInvalidArgument);
  // Payload size differing from the header; payload on a request that takes none.
  wire::PutShardRequest put = SignedPut(s, to.id, signer, absl::Now(), 1);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(put),
                         net_zmq::SharedBytes::Copy(ByteView(s.data).first(1000))),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(wire::StatNodeRequest{}), payload()),
                absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(log.Contains("refused PUT_SHARD"));

  // Unsigned (garbage signature), tampered (signature over other fields), signed for another
  // farmer, outside the time window.
  wire::PutShardRequest bad = put;
  bad.signature.assign(65, 0);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(bad), payload()),
                absl::StatusCode::kUnauthenticated);
  // Fields changed after signing: the digest differs, so the signature recovers some other
  // address, never the signer's; that stranger is the recorded payer and the signer cannot
  // delete the shard.
  bad = put;
  bad.bucket_id = ToBytes("someone-elses-bucket");
  ASSERT_OK(raw.Send(to, *wire::EncodeShardMessage(bad), payload()));
  ASSERT_OK_AND_ASSIGN(ShardInfo info, alice.client->StatShardSync(to, s.id));
  EXPECT_NE(info.payer, signer.address());
  EXPECT_STATUS(raw.client.client->DeleteSync(to, s.id, ToBytes("bucket-1")),
                absl::StatusCode::kPermissionDenied);
  wire::PutShardRequest other_farmer = SignedPut(s, kademlia::NodeId(), signer, absl::Now(), 2);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(other_farmer), payload()),
                absl::StatusCode::kUnauthenticated);
  wire::PutShardRequest stale = SignedPut(s, to.id, signer, absl::Now() - absl::Hours(1), 3);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(stale), payload()),
                absl::StatusCode::kOutOfRange);
  wire::PutShardRequest future = SignedPut(s, to.id, signer, absl::Now() + absl::Hours(1), 4);
  EXPECT_STATUS(raw.Send(to, *wire::EncodeShardMessage(future), payload()),
                absl::StatusCode::kOutOfRange);

  // Replays: the same signed PUT twice, the same signed DELETE twice.
  Shard t = MakeShard(2, 1 << 20);
  wire::PutShardRequest once = SignedPut(t, to.id, signer, absl::Now(), 5);
  Bytes once_header = *wire::EncodeShardMessage(once);
  ASSERT_OK(raw.Send(to, once_header, net_zmq::SharedBytes::Copy(t.data)));
  EXPECT_STATUS(raw.Send(to, once_header, net_zmq::SharedBytes::Copy(t.data)),
                absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(log.Contains("replayed request"));
  wire::DeleteShardRequest del;
  del.shard_id = t.id;
  del.bucket_id = ToBytes("bucket-1");
  del.farmer = to.id;
  del.signed_at = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  del.nonce.fill(6);
  del.signature = *signer.Sign(
      *DeleteShardDigest({del.farmer, del.bucket_id, del.shard_id, del.signed_at, del.nonce}));
  Bytes del_header = *wire::EncodeShardMessage(del);
  ASSERT_OK(raw.Send(to, del_header));
  // Stored again, then the captured DELETE is replayed: refused, the shard survives.
  ASSERT_OK(raw.client.client->PutSync(to, PutArgs(t)));
  EXPECT_STATUS(raw.Send(to, del_header), absl::StatusCode::kUnauthenticated);
  EXPECT_OK(alice.client->StatShardSync(to, t.id));

  // Still serving honest clients.
  Shard u = MakeShard(3, 2 << 20);
  ASSERT_OK(alice.client->PutSync(to, PutArgs(u)));
  ShardServerStats stats = farmer.server->stats();
  EXPECT_GE(stats.refused_malformed, 4u);  // the bad version is refused by the host
  EXPECT_GE(stats.refused_signature, 4u);
  EXPECT_GE(stats.refused_replay, 2u);
}

TEST(ShardProtocol, AFloodingPeerIsThrottledWhileOthersAreServed) {
  Farmer farmer(1);
  RawClient flooder;
  Client alice(10);
  const FarmerAddress to = farmer.address();
  const Bytes stat = *wire::EncodeShardMessage(wire::StatNodeRequest{});
  constexpr int kRequests = 3000;
  absl::BlockingCounter done(kRequests);
  std::atomic<int> ok{0}, busy{0}, other{0};
  for (int i = 0; i < kRequests; ++i) {
    flooder.client.transport->SendRequest(
        net_zmq::PeerAddress{to.endpoint, to.curve_key}, net_zmq::Message{stat, {}},
        absl::Seconds(30), [&](absl::StatusOr<net_zmq::Message> reply) {
          if (reply.ok()) {
            ++ok;
          } else if (reply.status().code() == absl::StatusCode::kResourceExhausted) {
            ++busy;
          } else {
            ++other;
          }
          done.DecrementCount();
        });
  }
  // An honest client is served meanwhile.
  EXPECT_OK(alice.client->StatNodeSync(to));
  done.Wait();  // every flood request got an answer: none hangs
  EXPECT_EQ(ok + busy + other, kRequests);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_OK(alice.client->StatNodeSync(to));
}

TEST(ShardProtocol, OversizedFramesAreDroppedByTheTransport) {
  Farmer farmer(1);
  RawClient raw;
  // A header frame over the transport limit is refused on our side before sending ...
  EXPECT_STATUS(raw.Send(farmer.address(), Bytes(2 << 20, 2)), absl::StatusCode::kInvalidArgument);
  // ... and a header over the wire limit (64 KiB) but under the transport's is refused by
  // the decoder.
  Bytes big(100 * 1024, 0);
  big[0] = 2;
  big[1] = 1;
  EXPECT_STATUS(raw.Send(farmer.address(), big), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(raw.client.client->StatNodeSync(farmer.address()));
}

class FarmerNetwork : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t i = 0; i < 7; ++i) {
      MemoryShardService::Options o;
      if (i == 6) o.capacity_bytes = 1 << 20;  // a small farmer
      farmers_.push_back(std::make_unique<Farmer>(200 + i, o));
    }
    for (size_t i = 1; i < farmers_.size(); ++i) {
      ASSERT_OK(farmers_[i]->host->BootstrapSync({node::BootstrapPeer{
          farmers_[0]->address().endpoint, farmers_[0]->address().curve_key}}));
    }
    node::HostOptions o;
    o.node_key = Key(300);
    o.advertise = false;  // a client: not in anyone's routing table
    o.dht.request_timeout = absl::Seconds(2);
    client_host_ = *node::Host::Start(std::move(o));
    ASSERT_OK(client_host_->BootstrapSync(
        {node::BootstrapPeer{farmers_[0]->address().endpoint, farmers_[0]->address().curve_key}}));
    signer_ = std::make_unique<PrivateKeySigner>(Key(301));
    client_ = std::make_unique<ShardClient>(
        ShardClientOptions{.transport = &client_host_->transport(), .signer = signer_.get()});
  }
  void TearDown() override {
    client_.reset();
    client_host_.reset();
    farmers_.clear();
  }

  std::vector<std::unique_ptr<Farmer>> farmers_;
  std::unique_ptr<node::Host> client_host_;
  std::unique_ptr<PrivateKeySigner> signer_;
  std::unique_ptr<ShardClient> client_;
};

TEST_F(FarmerNetwork, ChoosesDistinctLiveFarmersWithRoom) {
  FarmerSelector selector(*client_host_, *client_);
  farmers_[2]->service->SetAccepting(false);
  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAddress> chosen,
                       selector.ChooseSync(AsBytes("segment 0 shard 0"), 6, 4 << 20, {}));
  // 7 farmers, one not accepting, one too small: 5.
  ASSERT_EQ(chosen.size(), 5u);
  absl::flat_hash_set<NodeId> ids;
  for (const FarmerAddress& f : chosen) {
    ids.insert(f.id);
    EXPECT_NE(f.id, farmers_[2]->address().id);
    EXPECT_NE(f.id, farmers_[6]->address().id);
  }
  EXPECT_EQ(ids.size(), 5u);
  // Closest to the placement target first.
  const kademlia::NodeId target = PlacementTarget(AsBytes("segment 0 shard 0"));
  for (size_t i = 1; i < chosen.size(); ++i) {
    EXPECT_TRUE(kademlia::CloserTo(target, chosen[i - 1].id, chosen[i].id));
  }
  // Exclusions are honoured.
  std::vector<NodeId> exclude = {chosen[0].id};
  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAddress> again,
                       selector.ChooseSync(AsBytes("segment 0 shard 0"), 2, 4 << 20, exclude));
  EXPECT_EQ(again.size(), 2u);
  EXPECT_NE(again[0].id, chosen[0].id);
  // Too big for anyone.
  EXPECT_STATUS(selector.ChooseSync(AsBytes("k"), 1, 10ull << 30, {}),
                absl::StatusCode::kUnavailable);
}

TEST_F(FarmerNetwork, ASilentFarmerIsNotWaitedForTwice) {
  FarmerSelector selector(*client_host_, *client_,
                          SelectorOptions{.stat_timeout = absl::Seconds(2)});
  const ByteView key = AsBytes("segment 9 shard 1");
  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAddress> before, selector.ChooseSync(key, 3, 1024, {}));
  ASSERT_EQ(before.size(), 3u);
  // The closest farmer dies (its host and socket are gone; the DHT still lists it).
  const NodeId dead = before[0].id;
  for (auto& f : farmers_) {
    if (f != nullptr && f->address().id == dead) f.reset();
  }
  EXPECT_FALSE(client_->Unreachable(dead));
  ShardClient impatient({.transport = &client_host_->transport(),
                         .signer = signer_.get(),
                         .request_timeout = absl::Milliseconds(300)});
  EXPECT_STATUS(impatient.StatNodeSync(before[0]), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(impatient.Unreachable(dead));
  EXPECT_FALSE(impatient.Unreachable(before[1].id));
  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAddress> first, selector.ChooseSync(key, 3, 1024, {}));
  EXPECT_EQ(first.size(), 3u);
  for (const FarmerAddress& f : first) EXPECT_NE(f.id, dead);
  // The first choice waited once for the dead farmer (its DHT lookup or its STAT timed
  // out); now it is known silent and the next choice does not wait for it again.
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAddress> second, selector.ChooseSync(key, 3, 1024, {}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(second.size(), 3u);
  for (const FarmerAddress& f : second) EXPECT_NE(f.id, dead);
}

TEST_F(FarmerNetwork, PutAllUsesSparesOnFailure) {
  // Candidates: the small farmer first (fails for a 2 MiB shard), then the others.
  std::vector<FarmerAddress> candidates = {farmers_[6]->address()};
  for (size_t i = 0; i < 6; ++i) candidates.push_back(farmers_[i]->address());
  std::vector<Shard> shards;
  std::vector<PutShardArgs> args;
  for (int i = 0; i < 4; ++i) {
    shards.push_back(MakeShard(50 + i, 2 << 20));
    args.push_back(PutArgs(shards.back()));
  }
  std::vector<PlacedShard> placed = PutAllSync(*client_, args, candidates);
  ASSERT_EQ(placed.size(), 4u);
  absl::flat_hash_set<NodeId> used;
  for (size_t i = 0; i < placed.size(); ++i) {
    ASSERT_OK(placed[i].farmer);
    used.insert(placed[i].farmer->id);
    EXPECT_GT(placed[i].latency, absl::ZeroDuration());
  }
  EXPECT_EQ(used.size(), 4u);  // distinct
  EXPECT_FALSE(used.contains(farmers_[6]->address().id));
  EXPECT_EQ(placed[0].failures.size(), 1u);
  EXPECT_EQ(placed[0].failures[0].second.code(), absl::StatusCode::kResourceExhausted);
  // Every farmer used holds the shard it acknowledged.
  for (size_t i = 0; i < placed.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(ShardInfo info, client_->StatShardSync(*placed[i].farmer, shards[i].id));
    EXPECT_EQ(info.merkle_root, shards[i].root);
  }
  // Per-farmer latency was recorded for all of them.
  EXPECT_GE(client_->AllLatencies().size(), 5u);
}

TEST_F(FarmerNetwork, ResolvesAFarmerById) {
  ASSERT_OK_AND_ASSIGN(FarmerAddress f, client_host_->ResolveSync(farmers_[4]->address().id));
  EXPECT_EQ(f, farmers_[4]->address());
  EXPECT_OK(client_->StatNodeSync(f));
}

}  // namespace
}  // namespace gnr::shard
