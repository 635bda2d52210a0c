#include "net/kademlia/node.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/log.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/kademlia/testing/fake_authenticator.h"
#include "net/kademlia/testing/recording_transport.h"
#include "net/kademlia/testing/sim_network.h"
#include "tests/testing/status_matchers.h"

namespace gnr::kademlia {
namespace {

using testing::FakeAuthenticator;
using testing::RecordingTransport;
using testing::SimNetwork;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

Contact C(const NodeId& id) { return Contact{id, "tcp://" + id.ShortHex(), {}}; }

NodeId IdWith(uint8_t first, uint8_t last) {
  FixedBytes<20> b{};
  b[0] = first;
  b[19] = last;
  return NodeId(b);
}

// Captures debug log lines for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : old_level_(GetLogLevel()) {
    SetLogLevel(LogLevel::kDebug);
    SetLogSink([this](LogLevel, std::string_view line) { lines_.emplace_back(line); });
  }
  ~LogCapture() {
    SetLogSink(nullptr);
    SetLogLevel(old_level_);
  }
  bool Contains(std::string_view text) const {
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }

 private:
  LogLevel old_level_;
  std::vector<std::string> lines_;
};

// One node under test; the test plays every other node by hand.
class NodeTest : public ::testing::Test {
 protected:
  static Config SmallConfig() {
    Config c;
    c.k = 4;
    c.alpha = 2;
    c.peer_request_rate = 1;
    c.peer_request_burst = 5;
    return c;
  }

  NodeTest() : rng_(1), node_(IdWith(0, 0), SmallConfig(), transport_, auth_, rng_) {}

  // `peer` sends us `body` as a request; returns the id it used.
  uint64_t Request(const NodeId& peer, MessageBody body, absl::Time now = kT0) {
    uint64_t id = ++next_id_;
    node_.HandleMessage(C(peer), Message{id, std::move(body)}, now);
    return id;
  }

  Record Signed(Record r, const PublicKeyBytes& key) {
    EXPECT_OK(FakeAuthenticator::Sign(key, r));
    return r;
  }

  crypto::DeterministicRandom rng_;
  RecordingTransport transport_;
  FakeAuthenticator auth_;
  Node node_;
  uint64_t next_id_ = 1000;
};

TEST_F(NodeTest, RepliesAreMatchedByRequestIdPeerAndType) {
  LogCapture log;
  NodeId peer = IdWith(0x80, 1);
  NodeId other = IdWith(0x80, 2);
  int calls = 0;
  absl::Status result;
  node_.Ping(C(peer), kT0, [&](const absl::Status& s) {
    ++calls;
    result = s;
  });
  std::vector<RecordingTransport::Sent> sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<Ping>(sent[0].msg.body));
  uint64_t rid = sent[0].msg.request_id;
  EXPECT_NE(rid, 0u);

  node_.HandleMessage(C(peer), Message{rid + 1, Pong{}}, kT0);  // unknown id
  EXPECT_TRUE(log.Contains("no outstanding request has this id"));
  node_.HandleMessage(C(other), Message{rid, Pong{}}, kT0);  // right id, wrong peer
  EXPECT_TRUE(log.Contains("went to another node"));
  node_.HandleMessage(C(peer), Message{rid, FindNodeReply{}}, kT0);  // wrong type
  EXPECT_TRUE(log.Contains("wrong reply type"));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(node_.stats().replies_dropped, 3u);

  node_.HandleMessage(C(peer), Message{rid, Pong{}}, kT0);
  EXPECT_EQ(calls, 1);
  EXPECT_OK(result);
  // A duplicate reply matches nothing any more.
  node_.HandleMessage(C(peer), Message{rid, Pong{}}, kT0);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(node_.stats().replies_dropped, 4u);
  EXPECT_EQ(node_.outstanding_requests(), 0u);
  // The peer answered directly, so it is in the routing table; the impostor is not.
  EXPECT_TRUE(node_.routing_table().Contains(peer));
  EXPECT_FALSE(node_.routing_table().Contains(other));
}

TEST_F(NodeTest, RequestIdsAreRandomAndUnique) {
  absl::flat_hash_set<uint64_t> ids;
  for (int i = 0; i < 500; ++i) node_.Ping(C(IdWith(0x80, i % 256)), kT0, nullptr);
  for (const auto& s : transport_.Take()) {
    EXPECT_NE(s.msg.request_id, 0u);
    ids.insert(s.msg.request_id);
  }
  EXPECT_EQ(ids.size(), 500u);
}

TEST_F(NodeTest, TimeoutsAreReportedAtTheDeadline) {
  int calls = 0;
  absl::Status result;
  node_.Ping(C(IdWith(0x80, 1)), kT0, [&](const absl::Status& s) {
    ++calls;
    result = s;
  });
  EXPECT_EQ(calls, 0);  // never from inside Ping()
  EXPECT_EQ(node_.NextWakeup(), kT0 + absl::Seconds(5));
  node_.Tick(kT0 + absl::Seconds(4));
  EXPECT_EQ(calls, 0);
  node_.Tick(kT0 + absl::Seconds(5));
  EXPECT_EQ(calls, 1);
  EXPECT_STATUS(result, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(node_.stats().timeouts, 1u);
}

TEST_F(NodeTest, AnswersFindNodeWithAtMostKContactsAndNeverTheRequester) {
  for (int i = 1; i <= 8; ++i) Request(IdWith(0x80, i), Ping{});
  Request(IdWith(0x01, 1), Ping{});
  Request(IdWith(0x02, 1), Ping{});
  transport_.Take();
  uint64_t rid = Request(IdWith(0x01, 1), FindNode{IdWith(0x01, 0)});
  std::vector<RecordingTransport::Sent> sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].msg.request_id, rid);
  EXPECT_EQ(sent[0].to.id, IdWith(0x01, 1));
  const auto& reply = std::get<FindNodeReply>(sent[0].msg.body);
  EXPECT_LE(reply.closer.size(), 4u);
  ASSERT_FALSE(reply.closer.empty());
  EXPECT_EQ(reply.closer[0].id, IdWith(0x02, 1));
  for (const Contact& c : reply.closer) EXPECT_NE(c.id, IdWith(0x01, 1));
}

TEST_F(NodeTest, StoresOnlyValidRecordsAndServesThem) {
  PublicKeyBytes owner = FakeAuthenticator::NewKey(rng_);
  Record v1 = Signed(Record{MutableRecord{owner, "name", 1, ToBytes("one"), kT0}, {}}, owner);
  Key key = RecordKey(v1);
  NodeId peer = IdWith(0x80, 1);

  Request(peer, FindValue{key});
  auto sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(std::get<FindValueReply>(sent[0].msg.body).record.has_value());

  uint8_t n = 10;
  auto store = [&](Record r) {
    Request(IdWith(0x80, n++), Store{std::move(r), false});  // distinct peers: no rate limit
    auto s = transport_.Take();
    EXPECT_EQ(s.size(), 1u);
    return std::get<StoreReply>(s.at(0).msg.body).status();
  };
  EXPECT_OK(store(v1));
  Record unsigned_record = v1;
  unsigned_record.signature.clear();
  absl::Status s = store(unsigned_record);
  EXPECT_STATUS(s, absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("unsigned"), absl::string_view::npos);
  Record forged = v1;
  std::get<MutableRecord>(forged.body).seq = 9;  // changed after signing
  EXPECT_STATUS(store(forged), absl::StatusCode::kUnauthenticated);
  Record other_owner = Signed(v1, FakeAuthenticator::NewKey(rng_));
  EXPECT_STATUS(store(other_owner), absl::StatusCode::kUnauthenticated);
  Record stale = Signed(Record{MutableRecord{owner, "name", 0, ToBytes("zero"), kT0}, {}}, owner);
  s = store(stale);
  EXPECT_STATUS(s, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("stale"), absl::string_view::npos);
  Record expired = Signed(
      Record{MutableRecord{owner, "name", 5, ToBytes("x"), kT0 - absl::Hours(30)}, {}}, owner);
  EXPECT_STATUS(store(expired), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(node_.stats().records_accepted, 1u);
  EXPECT_EQ(node_.stats().records_refused, 5u);

  Request(peer, FindValue{key});
  sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  const auto& reply = std::get<FindValueReply>(sent[0].msg.body);
  ASSERT_TRUE(reply.record.has_value());
  EXPECT_EQ(*reply.record, v1);
}

TEST_F(NodeTest, RateLimitsRequestsPerPeer) {
  NodeId flooder = IdWith(0x80, 1);
  for (int i = 0; i < 10; ++i) Request(flooder, Ping{});
  EXPECT_EQ(transport_.Take().size(), 5u);  // the burst
  EXPECT_EQ(node_.stats().requests_rate_limited, 5u);
  // Others are still served.
  Request(IdWith(0x80, 2), Ping{});
  EXPECT_EQ(transport_.Take().size(), 1u);
  // One token per second for the flooder.
  Request(flooder, Ping{}, kT0 + absl::Milliseconds(500));
  EXPECT_EQ(transport_.Take().size(), 0u);
  Request(flooder, Ping{}, kT0 + absl::Milliseconds(1100));
  EXPECT_EQ(transport_.Take().size(), 1u);
}

TEST_F(NodeTest, ClientOnlyPeersAreAnsweredButNotRouted) {
  Contact client{IdWith(0x80, 7), "", {}};
  node_.HandleMessage(client, Message{1, Ping{}}, kT0);
  auto sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Pong>(sent[0].msg.body));
  EXPECT_EQ(sent[0].to, client);
  EXPECT_FALSE(node_.routing_table().Contains(client.id));
}

TEST_F(NodeTest, RepliesWithMoreThanKContactsAreTruncated) {
  Request(IdWith(0x80, 1), Ping{});
  transport_.Take();
  std::optional<LookupResult> result;
  node_.StartFindNode(IdWith(0x01, 0), kT0, [&](const LookupResult& r) { result = r; });
  auto sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  // 10 contacts, k = 4: the last 6 (the closest to the target, listed last) are ignored.
  FindNodeReply reply;
  for (int i = 10; i > 0; --i) reply.closer.push_back(C(IdWith(0x01, static_cast<uint8_t>(i))));
  node_.HandleMessage(sent[0].to, Message{sent[0].msg.request_id, reply}, kT0);
  for (int round = 0; round < 10 && !result; ++round) {
    for (const auto& s : transport_.Take()) {
      EXPECT_GE(s.to.id, IdWith(0x01, 7)) << s.to.id.ToHex();  // only the first 4 listed
      node_.HandleMessage(s.to, Message{s.msg.request_id, FindNodeReply{}}, kT0);
    }
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->closest.size(), 4u);
}

TEST_F(NodeTest, BootstrapThroughDeadSeedsIsUnavailable) {
  std::optional<LookupResult> result;
  std::vector<Contact> seeds = {C(IdWith(0x80, 1)), C(IdWith(0x40, 1))};
  node_.Bootstrap(seeds, kT0, [&](const LookupResult& r) { result = r; });
  EXPECT_EQ(transport_.Take().size(), 2u);
  node_.Tick(kT0 + absl::Seconds(5));
  ASSERT_TRUE(result.has_value());
  EXPECT_STATUS(result->status, absl::StatusCode::kUnavailable);
  EXPECT_EQ(node_.routing_table().size(), 0u);  // seeds are not trusted until they answer
}

TEST_F(NodeTest, FullBucketPingsLeastRecentlySeenAndEvictsOnlyIfSilent) {
  // k = 4. Fill the far bucket (first bit 1) and split with a near node.
  for (int i = 1; i <= 4; ++i) Request(IdWith(0x80, i), Ping{});
  Request(IdWith(0x01, 1), Ping{});
  transport_.Take();
  absl::Time later = kT0 + absl::Minutes(5);
  // A newcomer: the least recently seen far node is pinged.
  Request(IdWith(0x80, 50), Ping{}, later);
  auto sent = transport_.Take();
  ASSERT_EQ(sent.size(), 2u);  // PONG to the newcomer + PING to the oldest
  const RecordingTransport::Sent* ping = nullptr;
  for (const auto& s : sent) {
    if (std::holds_alternative<Ping>(s.msg.body)) ping = &s;
  }
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(ping->to.id, IdWith(0x80, 1));
  EXPECT_FALSE(node_.routing_table().Contains(IdWith(0x80, 50)));
  // It answers: it stays.
  node_.HandleMessage(ping->to, Message{ping->msg.request_id, Pong{}}, later);
  EXPECT_TRUE(node_.routing_table().Contains(IdWith(0x80, 1)));
  EXPECT_FALSE(node_.routing_table().Contains(IdWith(0x80, 50)));
  // Another newcomer: the next oldest is pinged and stays silent: evicted at the timeout,
  // replaced by the newest waiting node.
  Request(IdWith(0x80, 51), Ping{}, later);
  sent = transport_.Take();
  ping = nullptr;
  for (const auto& s : sent) {
    if (std::holds_alternative<Ping>(s.msg.body)) ping = &s;
  }
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(ping->to.id, IdWith(0x80, 2));
  node_.Tick(later + absl::Seconds(5));
  EXPECT_FALSE(node_.routing_table().Contains(IdWith(0x80, 2)));
  EXPECT_TRUE(node_.routing_table().Contains(IdWith(0x80, 51)));
  EXPECT_EQ(node_.stats().evictions, 1u);
}

TEST_F(NodeTest, LookupRespectsAlphaAndSurvivesTimeouts) {
  // Seed the table with 4 far peers; every queried node answers with 2 new, closer nodes
  // except the "dead" ones, which never answer.
  for (int i = 1; i <= 4; ++i) Request(IdWith(0x80, i), Ping{});
  transport_.Take();
  NodeId target = IdWith(0x80, 0);
  std::optional<LookupResult> result;
  node_.StartFindNode(target, kT0, [&](const LookupResult& r) { result = r; });
  absl::flat_hash_set<NodeId> dead = {IdWith(0x80, 3), IdWith(0x80, 200)};
  absl::Time now = kT0;
  int max_in_flight = 0;
  uint8_t next = 100;
  for (int round = 0; round < 100 && !result; ++round) {
    auto sent = transport_.Take();
    for (const auto& s : sent) ASSERT_TRUE(std::holds_alternative<FindNode>(s.msg.body));
    max_in_flight = std::max(max_in_flight, static_cast<int>(node_.outstanding_requests()));
    now += absl::Milliseconds(100);
    for (const auto& s : sent) {
      if (dead.contains(s.to.id)) continue;
      FindNodeReply reply;
      if (next < 210) {
        reply.closer = {C(IdWith(0x80, next)), C(IdWith(0x80, static_cast<uint8_t>(next + 100)))};
        next += 1;
      }
      node_.HandleMessage(s.to, Message{s.msg.request_id, reply}, now);
    }
    if (transport_.sent().empty()) {
      now += absl::Seconds(1);
      node_.Tick(now);
    }
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_OK(result->status);
  EXPECT_LE(max_in_flight, 2 + 2);  // alpha, plus up to alpha slow ones past the soft timeout
  EXPECT_LE(result->closest.size(), 4u);
  for (const Contact& c : result->closest) EXPECT_FALSE(dead.contains(c.id));
  // The result is sorted by distance to the target.
  for (size_t i = 1; i < result->closest.size(); ++i) {
    EXPECT_TRUE(CloserTo(target, result->closest[i - 1].id, result->closest[i].id));
  }
  // The lookup did not wait for the hard timeouts of the dead nodes (skipped after the soft
  // timeout); once they expire, the dead seed, with answering nodes waiting to get into its
  // full bucket, is replaced.
  EXPECT_LT(result->stats.elapsed, absl::Seconds(5));
  node_.Tick(now + absl::Seconds(5));
  EXPECT_GE(node_.stats().timeouts, 1u);
  EXPECT_FALSE(node_.routing_table().Contains(IdWith(0x80, 3)));
}

TEST_F(NodeTest, ASilentNodeIsSkippedByLookupsUntilItsMarkExpires) {
  for (int i = 1; i <= 4; ++i) Request(IdWith(0x80, i), Ping{});
  transport_.Take();
  const NodeId silent = IdWith(0x80, 3);
  const NodeId target = IdWith(0x80, 0);
  // Runs a lookup in which every node but `silent` answers at once listing `silent` as
  // closer; returns the ids the lookup sent to.
  auto run_lookup = [&](absl::Time& now) {
    absl::flat_hash_set<NodeId> asked;
    std::optional<LookupResult> result;
    node_.StartFindNode(target, now, [&](const LookupResult& r) { result = r; });
    for (int round = 0; round < 50 && !result; ++round) {
      auto sent = transport_.Take();
      for (const auto& m : sent) {
        asked.insert(m.to.id);
        if (m.to.id == silent || !std::holds_alternative<FindNode>(m.msg.body)) continue;
        FindNodeReply reply;
        reply.closer = {C(silent)};
        node_.HandleMessage(m.to, Message{m.msg.request_id, reply}, now);
      }
      if (transport_.sent().empty()) {
        now += absl::Seconds(1);
        node_.Tick(now);
      }
    }
    EXPECT_TRUE(result.has_value());
    return asked;
  };
  absl::Time now = kT0;
  EXPECT_TRUE(run_lookup(now).contains(silent));  // asked once, times out
  node_.Tick(now + absl::Seconds(6));
  now += absl::Seconds(6);
  ASSERT_GE(node_.stats().timeouts, 1u);
  // Within the TTL the next lookups do not ask it again, although others still list it.
  EXPECT_FALSE(run_lookup(now).contains(silent));
  EXPECT_GE(node_.stats().unresponsive_skipped, 1u);
  // After the TTL it is given another chance.
  now += absl::Seconds(31);
  node_.Tick(now);
  EXPECT_TRUE(run_lookup(now).contains(silent));
}

TEST_F(NodeTest, FindValueStopsOnTheValueAndCachesItAlongThePath) {
  PublicKeyBytes owner = FakeAuthenticator::NewKey(rng_);
  Record r = Signed(Record{MutableRecord{owner, "n", 1, ToBytes("v"), kT0}, {}}, owner);
  Key key = RecordKey(r);
  NodeId a = IdWith(0x80, 1), b = IdWith(0x40, 1), c = IdWith(0x20, 1);
  Request(a, Ping{});
  transport_.Take();
  std::optional<LookupResult> result;
  node_.StartFindValue(key, kT0, [&](const LookupResult& x) { result = x; });
  auto sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.id, a);
  ASSERT_TRUE(std::holds_alternative<FindValue>(sent[0].msg.body));
  // a does not have it and names b and c; b has it.
  node_.HandleMessage(
      C(a), Message{sent[0].msg.request_id, FindValueReply{std::nullopt, {C(b), C(c)}}}, kT0);
  sent = transport_.Take();
  ASSERT_EQ(sent.size(), 2u);  // alpha = 2
  const RecordingTransport::Sent& to_b = sent[0].to.id == b ? sent[0] : sent[1];
  // A forged value is refused and the lookup goes on.
  Record forged = r;
  std::get<MutableRecord>(forged.body).value = ToBytes("evil");
  const RecordingTransport::Sent& to_c = sent[0].to.id == c ? sent[0] : sent[1];
  node_.HandleMessage(C(c), Message{to_c.msg.request_id, FindValueReply{forged, {}}}, kT0);
  EXPECT_EQ(node_.stats().bad_records_received, 1u);
  EXPECT_FALSE(result.has_value());
  node_.HandleMessage(C(b), Message{to_b.msg.request_id, FindValueReply{r, {}}}, kT0);
  ASSERT_TRUE(result.has_value());
  EXPECT_OK(result->status);
  ASSERT_TRUE(result->record.has_value());
  EXPECT_EQ(*result->record, r);
  EXPECT_EQ(result->stats.hops, 2);  // b was learned from a
  // The closest node that answered without the value gets a cached copy.
  sent = transport_.Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.id, a);
  const auto* store = std::get_if<Store>(&sent[0].msg.body);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->cached);
  EXPECT_EQ(store->record, r);
}

// ---------------------------------------------------------------------------------------
// Small networks on the simulator.

struct SimPeer {
  PublicKeyBytes key;
  size_t index;
};

class SmallNetworkTest : public ::testing::Test {
 protected:
  SmallNetworkTest() : rng_(77), net_({}, Config{}, auth_, rng_) {}

  SimPeer Join(std::optional<NodeId> id_hint = std::nullopt) {
    PublicKeyBytes key = FakeAuthenticator::NewKey(rng_);
    NodeId id = id_hint ? *id_hint : NodeIdOfPublicKey(key);
    size_t index = net_.AddNode(id);
    if (index > 0) {
      std::vector<Contact> seeds = {net_.contact(rng_.NextU64() % index)};
      net_.node(index).Bootstrap(seeds, net_.now(), nullptr);
    }
    net_.RunFor(absl::Seconds(2));
    return SimPeer{key, index};
  }

  Record MutableFor(const PublicKeyBytes& owner, std::string name, uint64_t seq, absl::Time t) {
    Record r{MutableRecord{owner, std::move(name), seq, ToBytes("value"), t}, {}};
    EXPECT_OK(FakeAuthenticator::Sign(owner, r));
    return r;
  }

  size_t Holders(const Key& key) {
    size_t n = 0;
    for (size_t i = 0; i < net_.size(); ++i) {
      if (!net_.alive(i)) continue;
      const RecordStore::Entry* e = net_.node(i).records().Find(key, net_.now());
      if (e != nullptr && !e->cached) ++n;
    }
    return n;
  }

  std::optional<LookupResult> FindValue(size_t from, const Key& key) {
    std::optional<LookupResult> out;
    net_.node(from).StartFindValue(key, net_.now(), [&](const LookupResult& r) { out = r; });
    net_.RunFor(absl::Seconds(10));
    return out;
  }

  crypto::DeterministicRandom rng_;
  FakeAuthenticator auth_;
  SimNetwork net_;
};

TEST_F(SmallNetworkTest, FindNodeFindsTheTrueClosest) {
  for (int i = 0; i < 60; ++i) Join();
  net_.RunFor(absl::Minutes(1));
  for (int t = 0; t < 10; ++t) {
    NodeId target = NodeId::Random(rng_);
    std::vector<NodeId> all;
    for (size_t i = 0; i < net_.size(); ++i) all.push_back(net_.contact(i).id);
    std::sort(all.begin(), all.end(), DistanceLess(target));
    size_t from = rng_.NextU64() % net_.size();
    std::optional<LookupResult> r;
    net_.node(from).StartFindNode(target, net_.now(), [&](const LookupResult& x) { r = x; });
    net_.RunFor(absl::Seconds(10));
    ASSERT_TRUE(r.has_value());
    EXPECT_OK(r->status);
    ASSERT_FALSE(r->closest.empty());
    NodeId best = all[0] == net_.contact(from).id ? all[1] : all[0];
    EXPECT_EQ(r->closest[0].id, best);
    EXPECT_GE(r->stats.hops, 1);
  }
}

TEST_F(SmallNetworkTest, StoreFindValueAndCacheAlongThePath) {
  std::vector<SimPeer> peers;
  for (int i = 0; i < 80; ++i) peers.push_back(Join());
  net_.RunFor(absl::Minutes(1));
  Record r = MutableFor(peers[3].key, "backup", 1, net_.now());
  Key key = RecordKey(r);
  std::optional<StoreResult> stored;
  ASSERT_OK(net_.node(3).StartStore(r, net_.now(), [&](const StoreResult& s) { stored = s; }));
  net_.RunFor(absl::Seconds(10));
  ASSERT_TRUE(stored.has_value());
  EXPECT_OK(stored->status());
  EXPECT_GE(stored->stored, 20u);
  EXPECT_GE(Holders(key), 20u);

  // Found from a node that does not hold it.
  size_t from = 0;
  while (net_.node(from).records().Find(key, net_.now()) != nullptr) ++from;
  std::optional<LookupResult> found = FindValue(from, key);
  ASSERT_TRUE(found.has_value());
  EXPECT_OK(found->status);
  ASSERT_TRUE(found->record.has_value());
  EXPECT_EQ(*found->record, r);

  // An unknown key is NotFound (with the closest nodes).
  std::optional<LookupResult> missing = FindValue(from, NodeId::Random(rng_));
  ASSERT_TRUE(missing.has_value());
  EXPECT_STATUS(missing->status, absl::StatusCode::kNotFound);
  EXPECT_EQ(missing->closest.size(), 20u);

  // An invalid record is refused before anything is sent.
  Record bad = r;
  bad.signature.clear();
  EXPECT_STATUS(net_.node(3).StartStore(bad, net_.now(), nullptr),
                absl::StatusCode::kUnauthenticated);
}

TEST_F(SmallNetworkTest, RecordIsRedistributedToANewCloserNode) {
  std::vector<SimPeer> peers;
  for (int i = 0; i < 60; ++i) peers.push_back(Join());
  net_.RunFor(absl::Minutes(1));
  Record r = MutableFor(peers[0].key, "x", 1, net_.now());
  Key key = RecordKey(r);
  ASSERT_OK(net_.node(0).StartStore(r, net_.now(), nullptr));
  net_.RunFor(absl::Seconds(10));
  // A newcomer whose id is nearly the key: closer than every holder.
  FixedBytes<20> near = key.bytes();
  near[19] ^= 1;
  SimPeer newcomer = Join(NodeId(near));
  net_.RunFor(absl::Seconds(30));  // well before any hourly replication
  const RecordStore::Entry* e = net_.node(newcomer.index).records().Find(key, net_.now());
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->cached);
  uint64_t redistributions = 0;
  for (size_t i = 0; i < net_.size(); ++i) {
    redistributions += net_.node(i).stats().redistributions_sent;
  }
  EXPECT_GE(redistributions, 1u);
  EXPECT_LE(redistributions, 3u);  // one holder sends it, not all twenty
}

TEST_F(SmallNetworkTest, ReplicationRestoresCopiesAfterHoldersDie) {
  std::vector<SimPeer> peers;
  for (int i = 0; i < 80; ++i) peers.push_back(Join());
  net_.RunFor(absl::Minutes(1));
  Record r = MutableFor(peers[0].key, "x", 1, net_.now());
  Key key = RecordKey(r);
  ASSERT_OK(net_.node(0).StartStore(r, net_.now(), nullptr));
  net_.RunFor(absl::Seconds(10));
  // Kill all holders but two (and never the querying node 1).
  int kept = 0;
  for (size_t i = 2; i < net_.size(); ++i) {
    if (net_.node(i).records().Find(key, net_.now()) == nullptr) continue;
    if (kept < 2) {
      ++kept;
    } else {
      net_.Kill(i);
    }
  }
  if (net_.node(0).records().Find(key, net_.now()) != nullptr) net_.Kill(0);
  EXPECT_LE(Holders(key), 3u);
  net_.RunFor(absl::Hours(1) + absl::Minutes(5));
  EXPECT_GE(Holders(key), 15u);
  std::optional<LookupResult> found = FindValue(1, key);
  ASSERT_TRUE(found.has_value());
  EXPECT_OK(found->status);
}

TEST_F(SmallNetworkTest, PublishedRecordsAreRepublishedAndOthersExpire) {
  std::vector<SimPeer> peers;
  for (int i = 0; i < 40; ++i) peers.push_back(Join());
  net_.RunFor(absl::Minutes(1));
  const PublicKeyBytes owner = peers[0].key;
  int made = 0;
  auto source = [&, owner](absl::Time now) -> absl::StatusOr<Record> {
    ++made;
    Record r{ContactRecord{NodeIdOfPublicKey(owner), {}, {"sim:0"}, 1, now}, {}};
    absl::Status s = FakeAuthenticator::Sign(owner, r);
    if (!s.ok()) return s;
    return r;
  };
  // Node 0 publishes a contact record under its key's id (ids here are the fake keys' ids).
  std::optional<StoreResult> first;
  ASSERT_OK(net_.node(0).Publish(source, net_.now(), [&](const StoreResult& s) { first = s; }));
  Record once = MutableFor(peers[1].key, "once", 1, net_.now());
  ASSERT_OK(net_.node(1).StartStore(once, net_.now(), nullptr));
  net_.RunFor(absl::Seconds(10));
  ASSERT_TRUE(first.has_value());
  EXPECT_OK(first->status());
  Key published_key = ContactKey(NodeIdOfPublicKey(owner));
  EXPECT_GE(Holders(published_key), 20u);

  net_.RunFor(absl::Hours(27));
  EXPECT_GE(made, 2);  // re-signed at 24 h
  EXPECT_GE(Holders(published_key), 20u);
  EXPECT_EQ(Holders(RecordKey(once)), 0u);  // 26 h validity, never republished
  std::optional<LookupResult> found = FindValue(5, published_key);
  ASSERT_TRUE(found.has_value());
  EXPECT_OK(found->status);
  EXPECT_GT(found->record->time(), net_.now() - absl::Hours(4));
}

}  // namespace
}  // namespace gnr::kademlia
