#include "net/node/host.h"

#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/hex.h"
#include "common/log.h"
#include "gtest/gtest.h"
#include "net/kademlia/secp256k1_authenticator.h"
#include "net/wire/dht_codec.h"
#include "net/wire/frame.h"
#include "tests/testing/status_matchers.h"

namespace gnr::node {
namespace {

using kademlia::Contact;
using kademlia::Record;

crypto::PrivateKey Key(uint64_t seed) {
  crypto::DeterministicRandom rng(seed);
  return crypto::PrivateKey::Generate(rng);
}

std::unique_ptr<Host> StartHost(uint64_t seed) {
  HostOptions o;
  o.node_key = Key(seed);
  o.dht.request_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<Host>> host = Host::Start(std::move(o));
  EXPECT_TRUE(host.ok()) << host.status();
  return host.ok() ? *std::move(host) : nullptr;
}

BootstrapPeer SeedOf(const Host& host) {
  return BootstrapPeer{host.contact().endpoint, host.contact().curve_key};
}

// Captures log lines (refusals are logged with their reason).
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

class HostNetwork : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t i = 0; i < 6; ++i) hosts_.push_back(StartHost(100 + i));
    for (auto& h : hosts_) ASSERT_NE(h, nullptr);
    for (size_t i = 1; i < hosts_.size(); ++i) {
      ASSERT_OK(hosts_[i]->BootstrapSync({SeedOf(*hosts_[0])}));
    }
  }
  std::vector<std::unique_ptr<Host>> hosts_;
};

TEST_F(HostNetwork, FindNodeFindsEveryone) {
  // Every node finds every other by id (the k = 20 closest include all 6).
  for (size_t i = 0; i < hosts_.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(std::vector<Contact> found,
                         hosts_[i]->FindNodeSync(hosts_[(i + 3) % hosts_.size()]->id()));
    ASSERT_FALSE(found.empty());
    EXPECT_EQ(found.front().id, hosts_[(i + 3) % hosts_.size()]->id());
    EXPECT_EQ(found.front(), hosts_[(i + 3) % hosts_.size()]->contact());
  }
  HostStats stats = hosts_[0]->Stats();
  EXPECT_GE(stats.routing_table_size, 5u);
  EXPECT_EQ(stats.refused_requests, 0u);
}

TEST_F(HostNetwork, StoresAndFindsSignedRecords) {
  crypto::PrivateKey owner = Key(7);
  kademlia::MutableRecord m;
  m.public_key = owner.GetPublicKey().Compressed();
  m.name = "catalog";
  m.seq = 3;
  m.value = ToBytes("snapshot at 0xabc");
  m.time = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  Record record{m, {}};
  ASSERT_OK(kademlia::SignRecord(owner, record));
  ASSERT_OK(hosts_[1]->StoreSync(record));
  ASSERT_OK_AND_ASSIGN(Record found,
                       hosts_[5]->FindValueSync(kademlia::MutableKey(m.public_key, "catalog")));
  EXPECT_EQ(found, record);

  // An unsigned record is refused before anything is sent.
  Record unsigned_record{m, {}};
  EXPECT_STATUS(hosts_[2]->StoreSync(unsigned_record), absl::StatusCode::kUnauthenticated);
  // Nothing under an unknown key.
  EXPECT_STATUS(hosts_[3]->FindValueSync(kademlia::MutableKey(m.public_key, "other")),
                absl::StatusCode::kNotFound);
}

TEST_F(HostNetwork, ResolvesContactsAndPublishesCapacity) {
  ASSERT_OK_AND_ASSIGN(Contact c, hosts_[4]->ResolveSync(hosts_[2]->id()));
  EXPECT_EQ(c, hosts_[2]->contact());

  absl::Notification published;
  absl::Status status;
  hosts_[3]->PublishCapacity(
      [] { return std::make_pair<uint64_t, uint64_t>(1ull << 40, 1ull << 39); },
      [&](absl::Status s) {
        status = s;
        published.Notify();
      });
  published.WaitForNotification();
  ASSERT_OK(status);
  ASSERT_OK_AND_ASSIGN(Record cap,
                       hosts_[0]->FindValueSync(kademlia::CapacityKey(hosts_[3]->id())));
  const auto& body = std::get<kademlia::CapacityRecord>(cap.body);
  EXPECT_EQ(body.capacity_bytes, 1ull << 40);
  EXPECT_EQ(body.free_bytes, 1ull << 39);
}

TEST(Host, TheFirstNodeBootstrapsAlone) {
  auto a = StartHost(1);
  EXPECT_OK(a->BootstrapSync({}));
  auto b = StartHost(2);
  ASSERT_OK(b->BootstrapSync({SeedOf(*a)}));
  // a's own contact record is found through b.
  ASSERT_OK_AND_ASSIGN(Record r, b->FindValueSync(kademlia::ContactKey(a->id())));
  EXPECT_EQ(r, a->contact_record());
}

TEST(Host, BootstrapsFromARecordBlob) {
  auto a = StartHost(1);
  auto b = StartHost(2);
  ASSERT_OK_AND_ASSIGN(Bytes blob, wire::EncodeRecord(a->contact_record()));
  ASSERT_OK_AND_ASSIGN(Record record, wire::DecodeRecord(blob));
  ASSERT_OK(b->BootstrapSync({record}));
  ASSERT_OK_AND_ASSIGN(std::vector<Contact> found, b->FindNodeSync(a->id()));
  EXPECT_EQ(found.front().id, a->id());
}

TEST(Host, BootstrapFailsClearlyWhenNoSeedAnswers) {
  auto a = StartHost(1);
  // A seed with the wrong curve key: the CURVE handshake never completes.
  BootstrapPeer wrong{a->contact().endpoint, {}};
  wrong.curve_key[0] = 1;
  HostOptions o;
  o.node_key = Key(3);
  o.dht.request_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Host> b, Host::Start(std::move(o)));
  absl::Status s = b->BootstrapSync({wrong, BootstrapPeer{"ipc:///tmp/x", {}}});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("no bootstrap seed answered"), absl::string_view::npos);
}

// A raw transport speaking the DHT protocol by hand, to send what a real host never would.
class RawPeer {
 public:
  RawPeer() {
    crypto::DeterministicRandom rng(99);
    net_zmq::Options o;
    o.keys = *net_zmq::GenerateCurveKeyPair(rng);
    transport_ = *net_zmq::Transport::Start(std::move(o));
  }
  net_zmq::Transport& transport() { return *transport_; }
  absl::StatusOr<wire::DhtFrame> Call(const Host& to, const wire::DhtFrame& frame) {
    absl::StatusOr<Bytes> header = wire::EncodeDhtFrame(frame);
    if (!header.ok()) return header.status();
    return CallRaw(to, *std::move(header));
  }
  absl::StatusOr<wire::DhtFrame> CallRaw(const Host& to, Bytes header) {
    absl::StatusOr<net_zmq::Message> reply =
        transport_
            ->Call(net_zmq::PeerAddress{to.contact().endpoint, to.contact().curve_key},
                   net_zmq::Message{std::move(header), {}}, absl::Seconds(5))
            .get();
    if (!reply.ok()) return reply.status();
    return wire::DecodeDhtFrame(reply->header);
  }

 private:
  std::unique_ptr<net_zmq::Transport> transport_;
};

wire::DhtFrame PingWith(Record sender) {
  wire::DhtFrame f;
  f.message = kademlia::Message{42, kademlia::Ping{}};
  f.sender = std::move(sender);
  return f;
}

TEST(Host, AnswersAPeerWhoseRecordMatchesItsCurveKey) {
  auto host = StartHost(1);
  RawPeer peer;
  crypto::PrivateKey key = Key(50);
  ASSERT_OK_AND_ASSIGN(Record record,
                       MakeContactRecord(key, peer.transport().public_key(),
                                         {peer.transport().endpoint()}, absl::Now()));
  ASSERT_OK_AND_ASSIGN(wire::DhtFrame reply, peer.Call(*host, PingWith(record)));
  EXPECT_TRUE(std::holds_alternative<kademlia::Pong>(reply.message.body));
  EXPECT_EQ(reply.message.request_id, 42u);
  ASSERT_TRUE(reply.sender.has_value());
  EXPECT_EQ(*reply.sender, host->contact_record());
}

TEST(Host, RefusesMismatchedCurveKeysAndForgedRecords) {
  LogCapture log;
  auto host = StartHost(1);
  RawPeer peer;
  crypto::PrivateKey key = Key(50);

  // 1. A validly signed record naming another curve key than the connection's.
  net_zmq::CurveKey other{};
  other[0] = 9;
  ASSERT_OK_AND_ASSIGN(Record mismatched,
                       MakeContactRecord(key, other, {peer.transport().endpoint()}, absl::Now()));
  EXPECT_STATUS(peer.Call(*host, PingWith(mismatched)), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(log.Contains("spoofed node id"));

  // 2. A record claiming the host's own node id (spoofing it), signed by our key.
  ASSERT_OK_AND_ASSIGN(Record spoofed,
                       MakeContactRecord(key, peer.transport().public_key(),
                                         {peer.transport().endpoint()}, absl::Now()));
  std::get<kademlia::ContactRecord>(spoofed.body).node_id = host->id();
  EXPECT_STATUS(peer.Call(*host, PingWith(spoofed)), absl::StatusCode::kUnauthenticated);

  // 3. A tampered record (endpoint changed after signing).
  ASSERT_OK_AND_ASSIGN(Record tampered,
                       MakeContactRecord(key, peer.transport().public_key(),
                                         {peer.transport().endpoint()}, absl::Now()));
  std::get<kademlia::ContactRecord>(tampered.body).endpoints = {"tcp://203.0.113.1:1"};
  EXPECT_STATUS(peer.Call(*host, PingWith(tampered)), absl::StatusCode::kUnauthenticated);

  // 4. An expired record.
  ASSERT_OK_AND_ASSIGN(
      Record old, MakeContactRecord(key, peer.transport().public_key(),
                                    {peer.transport().endpoint()}, absl::Now() - absl::Hours(30)));
  EXPECT_STATUS(peer.Call(*host, PingWith(old)), absl::StatusCode::kUnauthenticated);

  // 5. Malformed frames and a reply where a request belongs.
  EXPECT_STATUS(peer.CallRaw(*host, HexLiteral("0101ffff")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(peer.CallRaw(*host, HexLiteral("09")), absl::StatusCode::kInvalidArgument);
  wire::DhtFrame pong = PingWith(mismatched);
  pong.message.body = kademlia::Pong{};
  EXPECT_STATUS(peer.Call(*host, pong), absl::StatusCode::kInvalidArgument);
  // The shard protocol on a host that serves none.
  EXPECT_STATUS(peer.CallRaw(*host, HexLiteral("0201")), absl::StatusCode::kUnimplemented);

  // The host still serves an honest peer afterwards.
  ASSERT_OK_AND_ASSIGN(Record good, MakeContactRecord(key, peer.transport().public_key(),
                                                      {peer.transport().endpoint()}, absl::Now()));
  EXPECT_OK(peer.Call(*host, PingWith(good)));
  HostStats stats = host->Stats();
  EXPECT_GE(stats.refused_requests, 7u);
}

TEST(Host, DropsContactsWhoseRecordsDoNotVerify) {
  // host b learns a forged contact from a malicious FIND_NODE reply: we play the malicious
  // node with a raw transport answering b's requests.
  crypto::DeterministicRandom rng(5);
  crypto::PrivateKey evil_key = Key(60);
  const net_zmq::CurveKeyPair evil_keys = *net_zmq::GenerateCurveKeyPair(rng);
  const net_zmq::CurveKey evil_curve = evil_keys.public_key;
  net_zmq::Options o;
  o.keys = evil_keys;
  Record evil_record;
  absl::Mutex mu;
  o.handler = [&](const net_zmq::PeerInfo&, net_zmq::Message request,
                  net_zmq::Responder responder) {
    absl::StatusOr<wire::DhtFrame> in = wire::DecodeDhtFrame(request.header);
    if (!in.ok()) return;
    wire::DhtFrame out;
    out.message.request_id = in->message.request_id;
    {
      absl::MutexLock lock(&mu);
      out.sender = evil_record;
    }
    if (std::holds_alternative<kademlia::FindNode>(in->message.body)) {
      // A contact record for a made-up node id with our curve key, signed by the wrong key.
      Record forged = *MakeContactRecord(Key(61), evil_curve, {"tcp://127.0.0.1:1"}, absl::Now());
      std::get<kademlia::ContactRecord>(forged.body).node_id = kademlia::NodeId::Random(rng);
      kademlia::FindNodeReply reply;
      reply.closer.push_back(*wire::ContactOf(forged));
      out.contact_records.push_back(forged);
      out.message.body = reply;
    } else {
      out.message.body = kademlia::Pong{};
    }
    responder.Respond(net_zmq::Message{*wire::EncodeDhtFrame(out), {}});
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<net_zmq::Transport> evil,
                       net_zmq::Transport::Start(std::move(o)));
  {
    absl::MutexLock lock(&mu);
    evil_record = *MakeContactRecord(evil_key, evil_curve, {evil->endpoint()}, absl::Now());
  }
  auto b = StartHost(2);
  EXPECT_OK(b->BootstrapSync({BootstrapPeer{evil->endpoint(), evil_curve}}));
  HostStats stats = b->Stats();
  EXPECT_GE(stats.dropped_contacts, 1u);
  EXPECT_EQ(stats.routing_table_size, 1u);  // only the (honestly identified) evil node
}

}  // namespace
}  // namespace gnr::node
