#include "net/kademlia/lookup.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/kademlia/routing_table.h"

namespace gnr::kademlia {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr size_t kK = 8;
constexpr size_t kAlpha = 3;

Contact C(const NodeId& id) { return Contact{id, "tcp://" + id.ShortHex(), {}}; }

// A scripted network: every node has a real routing table filled with every other node
// (so buckets hold a Kademlia-shaped sample), and answers FIND_NODE from it.
class ScriptedNetwork {
 public:
  ScriptedNetwork(size_t n, uint64_t seed) : rng_(seed) {
    for (size_t i = 0; i < n; ++i) ids_.push_back(NodeId::Random(rng_));
    for (const NodeId& id : ids_) {
      auto table = std::make_unique<RoutingTable>(
          id, RoutingTable::Options{.k = kK, .replacement_cache_size = 0});
      for (const NodeId& other : ids_) table->Heard(C(other), kT0);
      tables_.emplace(id, std::move(table));
    }
  }

  const std::vector<NodeId>& ids() const { return ids_; }
  const RoutingTable& table(const NodeId& id) const { return *tables_.at(id); }
  // A killed node never answers. Other nodes' replies still name it unless `noticed`
  // (their requests to it have timed out and it left their tables).
  void Kill(const NodeId& id, bool noticed) {
    dead_.insert(id);
    if (noticed) noticed_.insert(id);
  }
  // What `from` answers to FIND_NODE(target).
  std::vector<Contact> Reply(const NodeId& from, const NodeId& target) const {
    std::vector<Contact> out;
    for (const Contact& c : table(from).FindClosest(target, 3 * kK)) {
      if (!noticed_.contains(c.id) && out.size() < kK) out.push_back(c);
    }
    return out;
  }
  bool dead(const NodeId& id) const { return dead_.contains(id); }

  // The k closest live nodes to `target`, brute force.
  std::vector<NodeId> TrueClosest(const NodeId& target, const NodeId& exclude) const {
    std::vector<NodeId> live;
    for (const NodeId& id : ids_) {
      if (!dead_.contains(id) && id != exclude) live.push_back(id);
    }
    std::sort(live.begin(), live.end(), DistanceLess(target));
    live.resize(std::min(live.size(), kK));
    return live;
  }

  struct RunStats {
    size_t max_in_flight = 0;
    size_t queries = 0;
    size_t failures = 0;
  };

  // Drives `lookup` to completion: queries are answered (or fail, for dead nodes) in the
  // order they were sent.
  RunStats Run(Lookup& lookup) {
    RunStats stats;
    std::deque<NodeId> in_flight;
    auto send = [&] {
      for (const Contact& c : lookup.NextQueries()) {
        in_flight.push_back(c.id);
        ++stats.queries;
      }
      stats.max_in_flight = std::max(stats.max_in_flight, lookup.in_flight());
    };
    send();
    while (!lookup.Finished() && !in_flight.empty()) {
      NodeId to = in_flight.front();
      in_flight.pop_front();
      if (dead(to)) {
        lookup.OnFailure(to);
        ++stats.failures;
      } else {
        std::vector<Contact> reply = Reply(to, lookup.target());
        EXPECT_TRUE(lookup.OnReply(to, reply));
      }
      send();
    }
    return stats;
  }

 private:
  crypto::DeterministicRandom rng_;
  std::vector<NodeId> ids_;
  absl::flat_hash_map<NodeId, std::unique_ptr<RoutingTable>> tables_;
  absl::flat_hash_set<NodeId> dead_;
  absl::flat_hash_set<NodeId> noticed_;
};

std::vector<NodeId> Ids(const std::vector<Contact>& contacts) {
  std::vector<NodeId> out;
  for (const Contact& c : contacts) out.push_back(c.id);
  return out;
}

TEST(Lookup, ConvergesToTheKClosestWithAlphaParallelism) {
  ScriptedNetwork net(300, 1);
  crypto::DeterministicRandom rng(2);
  for (int i = 0; i < 30; ++i) {
    const NodeId& self = net.ids()[i];
    NodeId target = NodeId::Random(rng);
    Lookup lookup(self, target, kK, kAlpha);
    lookup.AddCandidates(net.table(self).FindClosest(target, kK), 0);
    ScriptedNetwork::RunStats stats = net.Run(lookup);
    ASSERT_TRUE(lookup.Finished());
    EXPECT_EQ(Ids(lookup.Closest(kK)), net.TrueClosest(target, self));
    EXPECT_LE(stats.max_in_flight, kAlpha);
    EXPECT_LT(stats.queries, 60u);  // far fewer than the 300 nodes
    EXPECT_GE(lookup.Rounds(), 1);
  }
}

TEST(Lookup, AtMostAlphaQueriesInFlight) {
  ScriptedNetwork net(50, 3);
  const NodeId& self = net.ids()[0];
  NodeId target = net.ids()[1];
  Lookup lookup(self, target, kK, kAlpha);
  lookup.AddCandidates(net.table(self).FindClosest(target, kK), 0);
  std::vector<Contact> first = lookup.NextQueries();
  EXPECT_EQ(first.size(), kAlpha);
  EXPECT_EQ(lookup.in_flight(), kAlpha);
  EXPECT_TRUE(lookup.NextQueries().empty());  // no slot until something comes back
  // The first queries go to the closest candidates.
  std::vector<Contact> seeds = net.table(self).FindClosest(target, kAlpha);
  EXPECT_EQ(Ids(first), Ids(seeds));
  // A soft timeout frees a slot without failing the node.
  lookup.OnSlow(first[0].id);
  EXPECT_EQ(lookup.in_flight(), kAlpha - 1);
  EXPECT_EQ(lookup.NextQueries().size(), 1u);
  EXPECT_EQ(lookup.Find(first[0].id)->state, Lookup::State::kSlow);
  // Its late reply still counts.
  EXPECT_TRUE(lookup.OnReply(first[0].id, {}));
  EXPECT_EQ(lookup.Find(first[0].id)->state, Lookup::State::kAnswered);
}

TEST(Lookup, TimeoutsAreSkippedAndTheLiveClosestFound) {
  ScriptedNetwork net(300, 4);
  crypto::DeterministicRandom rng(5);
  // The 3 nodes closest to the target died a moment ago: every reply still names them and
  // they time out. A tenth of the others died long ago (noticed, no longer named).
  NodeId target = NodeId::Random(rng);
  std::vector<NodeId> closest = net.TrueClosest(target, NodeId());
  for (int i = 0; i < 3; ++i) net.Kill(closest[i], /*noticed=*/false);
  for (size_t i = 0; i < net.ids().size(); i += 10) net.Kill(net.ids()[i], /*noticed=*/true);
  const NodeId& self = net.ids()[1];
  ASSERT_FALSE(net.dead(self));
  Lookup lookup(self, target, kK, kAlpha);
  lookup.AddCandidates(net.Reply(self, target), 0);
  ScriptedNetwork::RunStats stats = net.Run(lookup);
  ASSERT_TRUE(lookup.Finished());
  EXPECT_EQ(stats.failures, 3u);
  EXPECT_LE(stats.max_in_flight, kAlpha);
  std::vector<NodeId> got = Ids(lookup.Closest(kK));
  std::vector<NodeId> want = net.TrueClosest(target, self);
  ASSERT_EQ(got.size(), kK);
  for (const NodeId& id : got) EXPECT_FALSE(net.dead(id));
  // The closest live nodes are found. (Not always all k: the dead nodes still named in
  // every reply take slots that would have carried the farthest of the k.)
  EXPECT_EQ(got[0], want[0]);
  size_t overlap = 0;
  for (const NodeId& id : got) overlap += std::count(want.begin(), want.end(), id);
  EXPECT_GE(overlap, kK - 3);
}

TEST(Lookup, EdgeCases) {
  crypto::DeterministicRandom rng(6);
  NodeId self = NodeId::Random(rng);
  NodeId target = NodeId::Random(rng);
  Lookup empty(self, target, kK, kAlpha);
  EXPECT_TRUE(empty.Finished());
  EXPECT_TRUE(empty.NextQueries().empty());

  Lookup lookup(self, target, kK, kAlpha);
  NodeId a = NodeId::Random(rng);
  NodeId b = NodeId::Random(rng);
  std::vector<Contact> seeds = {C(self), C(a)};
  lookup.AddCandidates(seeds, 0);  // self is never a candidate
  EXPECT_EQ(lookup.candidates().size(), 1u);
  EXPECT_FALSE(lookup.OnReply(a, {}));  // not queried yet: ignored
  EXPECT_FALSE(lookup.OnReply(b, {}));  // unknown
  ASSERT_EQ(lookup.NextQueries().size(), 1u);
  std::vector<Contact> learned = {C(b)};
  EXPECT_TRUE(lookup.OnReply(a, learned));
  EXPECT_EQ(lookup.Find(b)->depth, 1);
  EXPECT_FALSE(lookup.Finished());
  ASSERT_EQ(lookup.NextQueries().size(), 1u);
  lookup.OnFailure(b);
  EXPECT_TRUE(lookup.Finished());
  EXPECT_EQ(Ids(lookup.Closest(kK)), std::vector<NodeId>{a});
  EXPECT_EQ(lookup.Rounds(), 2);
}

TEST(Lookup, SlowNodesDelayOnlyLookupsShortOfAnswers) {
  crypto::DeterministicRandom rng(9);
  NodeId self = NodeId::Random(rng);
  NodeId target = NodeId::Random(rng);
  // k = 2 with three candidates: once two have answered, a slow one is not waited for.
  std::vector<Contact> three = {C(NodeId::Random(rng)), C(NodeId::Random(rng)),
                                C(NodeId::Random(rng))};
  Lookup lookup(self, target, /*k=*/2, /*alpha=*/3);
  lookup.AddCandidates(three, 0);
  std::vector<Contact> q = lookup.NextQueries();
  ASSERT_EQ(q.size(), 2u);  // only the k closest are queried
  lookup.OnSlow(q[0].id);   // ... until one goes slow: the third moves up
  std::vector<Contact> q2 = lookup.NextQueries();
  ASSERT_EQ(q2.size(), 1u);
  lookup.OnReply(q[1].id, {});
  EXPECT_FALSE(lookup.Finished());
  lookup.OnReply(q2[0].id, {});
  EXPECT_TRUE(lookup.Finished());
  EXPECT_EQ(lookup.Closest(2).size(), 2u);
  // A single slow seed: the lookup keeps waiting for it (until it fails or answers).
  Lookup lonely(self, target, kK, kAlpha);
  lonely.AddCandidates(std::span<const Contact>(three).first(1), 0);
  ASSERT_EQ(lonely.NextQueries().size(), 1u);
  lonely.OnSlow(three[0].id);
  EXPECT_FALSE(lonely.Finished());
  EXPECT_TRUE(lonely.OnReply(three[0].id, {}));
  EXPECT_TRUE(lonely.Finished());
  EXPECT_EQ(lonely.Closest(kK).size(), 1u);
}

TEST(Lookup, DepthCountsDiscoveryHops) {
  crypto::DeterministicRandom rng(8);
  NodeId self = NodeId::Random(rng);
  NodeId target = NodeId::Random(rng);
  Lookup lookup(self, target, /*k=*/1, /*alpha=*/1);
  // A chain: each node only knows the next, closer one.
  std::vector<NodeId> chain;
  for (int i = 0; i < 4; ++i) chain.push_back(NodeId::Random(rng));
  std::sort(chain.begin(), chain.end(), [&](const NodeId& x, const NodeId& y) {
    return CloserTo(target, y, x);  // farthest first
  });
  std::vector<Contact> seed = {C(chain[0])};
  lookup.AddCandidates(seed, 0);
  for (size_t i = 0; i < chain.size(); ++i) {
    std::vector<Contact> q = lookup.NextQueries();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].id, chain[i]);
    std::vector<Contact> next;
    if (i + 1 < chain.size()) next.push_back(C(chain[i + 1]));
    lookup.OnReply(chain[i], next);
  }
  EXPECT_TRUE(lookup.Finished());
  EXPECT_EQ(lookup.Find(chain.back())->depth, 3);
  EXPECT_EQ(lookup.Rounds(), 4);
}

}  // namespace
}  // namespace gnr::kademlia
