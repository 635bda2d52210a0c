// The DHT simulation the storage network issue asks for: 5,000 Kademlia nodes in one process
// on a fake network with virtual time (random one-way latency of 5-50 ms per message), run
// by the real net/kademlia Node with default parameters (k = 20, alpha = 3, 1 h bucket
// refresh, hourly replication). Records are signed with a cheap fake authenticator.
//
//   1. 5,000 nodes join one after another, each bootstrapping through a random member;
//      lookups for random keys must find the true closest node >= 99% of the time with
//      median hops <= log2(N)/2 + 2;
//   2. records are stored, then 20% of the nodes are killed and as many new ones join;
//      after one refresh period (1 h of virtual time) lookups must still succeed >= 95%;
//   3. the records stored before the churn must still be found (>= 99%) although many of
//      their holders are gone (replication and redistribution at work);
//   4. harsher, for 100 records: half of each one's current holders are killed (and as many
//      nodes join); 1 h later they must still be found (>= 99%), with most of the k
//      closest live nodes holding a copy again.
//
// A lookup succeeds when the closest node it returns is the closest live node to the key
// (checked by brute force). Hops = 1 + the discovery depth of that node: the number of
// sequential round trips that were needed to reach it (see net/kademlia/lookup.h).
// Messages per lookup = requests sent by the lookup (each answered by at most one reply).
//
// Environment: GNR_SIM_NODES overrides N; GNR_SIM_SEED the seed.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/kademlia/node.h"
#include "net/kademlia/testing/fake_authenticator.h"
#include "net/kademlia/testing/sim_network.h"
#include "tests/testing/status_matchers.h"

namespace gnr::kademlia {
namespace {

using testing::FakeAuthenticator;
using testing::SimNetwork;

#ifdef GNR_SIM_SANITIZED
constexpr size_t kDefaultNodes = 1000;
#else
constexpr size_t kDefaultNodes = 5000;
#endif

size_t EnvOr(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

struct LookupFigures {
  size_t total = 0;
  size_t succeeded = 0;
  std::vector<int> hops;
  std::vector<int> queries;
  std::vector<double> latency_ms;

  double success_rate() const { return total == 0 ? 0 : double(succeeded) / double(total); }
};

template <typename T>
T Percentile(std::vector<T> v, double p) {
  if (v.empty()) return T{};
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

template <typename T>
double Mean(const std::vector<T>& v) {
  double sum = 0;
  for (T x : v) sum += static_cast<double>(x);
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

class DhtSimulation {
 public:
  explicit DhtSimulation(uint64_t seed) : rng_(seed), net_({}, Config{}, auth_, rng_) {}

  SimNetwork& net() { return net_; }
  crypto::Random& rng() { return rng_; }

  size_t RandomAlive() {
    for (;;) {
      size_t i = rng_.NextU64() % net_.size();
      if (net_.alive(i)) return i;
    }
  }

  // Adds a node and bootstraps it through a random live member.
  size_t Join() {
    PublicKeyBytes key = FakeAuthenticator::NewKey(rng_);
    std::optional<size_t> seed;
    if (net_.alive_count() > 0) seed = RandomAlive();
    size_t index = net_.AddNode(NodeIdOfPublicKey(key));
    keys_.push_back(key);
    if (seed) {
      std::vector<Contact> seeds = {net_.contact(*seed)};
      net_.node(index).Bootstrap(seeds, net_.now(), nullptr);
    }
    return index;
  }

  const PublicKeyBytes& key(size_t index) const { return keys_[index]; }

  // The live node closest to `target`, by brute force.
  NodeId TrueClosest(const NodeId& target) const {
    std::optional<NodeId> best;
    for (size_t i = 0; i < net_.size(); ++i) {
      if (!net_.alive(i)) continue;
      const NodeId& id = net_.contact(i).id;
      if (!best || CloserTo(target, id, *best)) best = id;
    }
    return *best;
  }

  // `count` FIND_NODE lookups for random keys from random live nodes, started `spacing`
  // apart; returns once all have finished.
  LookupFigures RunFindNodes(size_t count, absl::Duration spacing) {
    LookupFigures f;
    struct Pending {
      NodeId target;
      std::optional<LookupResult> result;
    };
    std::vector<Pending> pending(count);
    for (size_t i = 0; i < count; ++i) {
      pending[i].target = NodeId::Random(rng_);
      size_t from = RandomAlive();
      Pending* p = &pending[i];
      net_.node(from).StartFindNode(p->target, net_.now(),
                                    [p](const LookupResult& r) { p->result = r; });
      net_.RunFor(spacing);
    }
    net_.RunFor(absl::Minutes(1));
    for (const Pending& p : pending) {
      ++f.total;
      if (!p.result || p.result->closest.empty()) continue;
      if (p.result->closest.front().id == TrueClosest(p.target)) ++f.succeeded;
      f.hops.push_back(p.result->stats.hops);
      f.queries.push_back(p.result->stats.queries);
      f.latency_ms.push_back(absl::ToDoubleMilliseconds(p.result->stats.elapsed));
    }
    return f;
  }

  // FIND_VALUE for each key from a random live node that does not hold it.
  LookupFigures RunFindValues(const std::vector<Key>& keys, absl::Duration spacing) {
    LookupFigures f;
    std::vector<std::optional<LookupResult>> results(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      size_t from = RandomAlive();
      for (int tries = 0; tries < 20 && net_.node(from).records().Find(keys[i], net_.now());
           ++tries) {
        from = RandomAlive();
      }
      auto* slot = &results[i];
      net_.node(from).StartFindValue(keys[i], net_.now(),
                                     [slot](const LookupResult& r) { *slot = r; });
      net_.RunFor(spacing);
    }
    net_.RunFor(absl::Minutes(1));
    for (size_t i = 0; i < keys.size(); ++i) {
      ++f.total;
      const auto& r = results[i];
      if (!r || !r->record || RecordKey(*r->record) != keys[i]) continue;
      ++f.succeeded;
      f.hops.push_back(r->stats.hops);
      f.queries.push_back(r->stats.queries);
      f.latency_ms.push_back(absl::ToDoubleMilliseconds(r->stats.elapsed));
    }
    return f;
  }

  // How many of the k live nodes closest to `key` hold it (stored, not cached).
  size_t ReplicasAmongClosest(const Key& key, size_t k) const {
    std::vector<size_t> live;
    for (size_t i = 0; i < net_.size(); ++i) {
      if (net_.alive(i)) live.push_back(i);
    }
    std::partial_sort(
        live.begin(), live.begin() + static_cast<ptrdiff_t>(k), live.end(),
        [&](size_t a, size_t b) { return CloserTo(key, net_.contact(a).id, net_.contact(b).id); });
    size_t n = 0;
    for (size_t j = 0; j < k; ++j) {
      SimNetwork& net = const_cast<SimNetwork&>(net_);
      const RecordStore::Entry* e = net.node(live[j]).records().Find(key, net_.now());
      if (e != nullptr && !e->cached) ++n;
    }
    return n;
  }

  // Live nodes holding `key` (stored, not cached), and how many of them are in `before`.
  std::vector<size_t> Holders(const Key& key) {
    std::vector<size_t> out;
    for (size_t i = 0; i < net_.size(); ++i) {
      if (!net_.alive(i)) continue;
      const RecordStore::Entry* e = net_.node(i).records().Find(key, net_.now());
      if (e != nullptr && !e->cached) out.push_back(i);
    }
    return out;
  }

  NodeStats TotalStats() {
    NodeStats t;
    for (size_t i = 0; i < net_.size(); ++i) {
      if (!net_.alive(i)) continue;
      const NodeStats& s = net_.node(i).stats();
      t.messages_sent += s.messages_sent;
      t.timeouts += s.timeouts;
      t.requests_rate_limited += s.requests_rate_limited;
      t.replies_dropped += s.replies_dropped;
      t.records_refused += s.records_refused;
      t.replications_sent += s.replications_sent;
      t.redistributions_sent += s.redistributions_sent;
      t.evictions += s.evictions;
    }
    return t;
  }

 private:
  crypto::DeterministicRandom rng_;
  FakeAuthenticator auth_;
  SimNetwork net_;
  std::vector<PublicKeyBytes> keys_;
};

void Print(const char* phase, const LookupFigures& f) {
  std::printf(
      "%-34s %5zu lookups  success %6.2f%%  hops median %d p95 %d  "
      "msgs/lookup mean %.1f p95 %d  latency median %.0f ms p95 %.0f ms\n",
      phase, f.total, 100.0 * f.success_rate(), Percentile(f.hops, 0.5), Percentile(f.hops, 0.95),
      Mean(f.queries), Percentile(f.queries, 0.95), Percentile(f.latency_ms, 0.5),
      Percentile(f.latency_ms, 0.95));
  std::fflush(stdout);
}

TEST(DhtSimulation, LookupsRecordsAndChurn) {
  const size_t n = EnvOr("GNR_SIM_NODES", kDefaultNodes);
  const uint64_t seed = EnvOr("GNR_SIM_SEED", 20260101);
  const size_t lookups = 2000;
  const size_t num_records = 500;
  absl::Time wall_start = absl::Now();
  auto wall = [&] { return absl::ToDoubleSeconds(absl::Now() - wall_start); };
  DhtSimulation sim(seed);
  SimNetwork& net = sim.net();
  std::printf("DHT simulation: %zu nodes, k=20, alpha=3, latency 5-50 ms, seed %lu\n", n,
              static_cast<unsigned long>(seed));

  // 1. Build the network: one join every 100 ms, then let it settle.
  for (size_t i = 0; i < n; ++i) {
    sim.Join();
    net.RunFor(absl::Milliseconds(100));
  }
  net.RunFor(absl::Minutes(5));
  double table_mean = 0;
  for (size_t i = 0; i < net.size(); ++i) {
    table_mean += static_cast<double>(net.node(i).routing_table().size());
  }
  table_mean /= static_cast<double>(net.size());
  std::printf(
      "joined %zu nodes in %.0f s of virtual time (%.1f s wall); routing tables hold "
      "%.0f nodes on average\n",
      n, absl::ToDoubleSeconds(net.now() - absl::FromUnixSeconds(1767225600)), wall(), table_mean);

  LookupFigures before = sim.RunFindNodes(lookups, absl::Milliseconds(20));
  Print("FIND_NODE, stable network:", before);
  double hops_bound = std::log2(static_cast<double>(n)) / 2 + 2;
  EXPECT_GE(before.success_rate(), 0.99);
  EXPECT_LE(Percentile(before.hops, 0.5), hops_bound);

  // 2. Store records (each published by a random node), then churn.
  std::vector<Key> keys;
  std::vector<std::vector<size_t>> original_holders;
  size_t stored_ok = 0;
  for (size_t i = 0; i < num_records; ++i) {
    size_t publisher = sim.RandomAlive();
    PublicKeyBytes owner = sim.key(publisher);
    std::string name = "record-" + std::to_string(i);
    // The publisher re-signs the record whenever it republishes (every 24 h).
    RecordSource source = [owner, name](absl::Time now) -> absl::StatusOr<Record> {
      Record r{MutableRecord{owner, name, 1, ToBytes("value of " + name), now}, {}};
      absl::Status s = FakeAuthenticator::Sign(owner, r);
      if (!s.ok()) return s;
      return r;
    };
    keys.push_back(MutableKey(owner, name));
    ASSERT_OK(net.node(publisher).Publish(source, net.now(), [&](const StoreResult& s) {
      if (s.status().ok()) ++stored_ok;
    }));
    net.RunFor(absl::Milliseconds(20));
  }
  net.RunFor(absl::Minutes(1));
  for (const Key& k : keys) original_holders.push_back(sim.Holders(k));
  std::printf("stored %zu/%zu records, %.1f holders each on average\n", stored_ok, num_records,
              Mean([&] {
                std::vector<size_t> v;
                for (const auto& h : original_holders) v.push_back(h.size());
                return v;
              }()));
  EXPECT_EQ(stored_ok, num_records);

  size_t killed = 0;
  while (killed < n / 5) {
    size_t victim = sim.RandomAlive();
    net.Kill(victim);
    ++killed;
  }
  for (size_t i = 0; i < n / 5; ++i) {
    sim.Join();
    net.RunFor(absl::Milliseconds(100));
  }
  // For information (no bound): before the dead nodes have been noticed.
  Print("FIND_NODE, right after the churn:", sim.RunFindNodes(lookups / 2, absl::Milliseconds(20)));
  net.RunFor(absl::Hours(1));
  NodeStats totals = sim.TotalStats();
  std::printf(
      "churn: killed %zu, joined %zu, then 1 h of virtual time (%.1f s wall so far); "
      "timeouts %lu, evictions %lu, replications %lu, redistributions %lu\n",
      killed, n / 5, wall(), static_cast<unsigned long>(totals.timeouts),
      static_cast<unsigned long>(totals.evictions),
      static_cast<unsigned long>(totals.replications_sent),
      static_cast<unsigned long>(totals.redistributions_sent));

  LookupFigures after = sim.RunFindNodes(lookups, absl::Milliseconds(20));
  Print("FIND_NODE, after 20% churn:", after);
  EXPECT_GE(after.success_rate(), 0.95);

  // 3. The records stored before the churn.
  size_t holders_lost = 0, holders_total = 0;
  std::vector<size_t> replicas;
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t h : original_holders[i]) holders_lost += !net.alive(h);
    holders_total += original_holders[i].size();
    replicas.push_back(sim.ReplicasAmongClosest(keys[i], 20));
  }
  LookupFigures found = sim.RunFindValues(keys, absl::Milliseconds(20));
  Print("FIND_VALUE, records after churn:", found);
  std::printf(
      "original holders gone: %.1f%%; copies among the 20 closest live nodes: mean "
      "%.1f, min %zu\n",
      100.0 * double(holders_lost) / double(std::max<size_t>(1, holders_total)), Mean(replicas),
      *std::min_element(replicas.begin(), replicas.end()));
  EXPECT_GE(found.success_rate(), 0.99);
  EXPECT_GE(Mean(replicas), 15.0);

  // 4. Holder churn: for some records, kill half of their current holders (and as many
  // other nodes join), so that most of the nodes that first held them are gone.
  const size_t targeted = std::min<size_t>(100, n / 50);
  size_t holder_kills = 0;
  for (size_t i = 0; i < targeted; ++i) {
    std::vector<size_t> holders = sim.Holders(keys[i]);
    for (size_t j = 0; j < holders.size() / 2; ++j) {
      size_t pick = j + sim.rng().NextU64() % (holders.size() - j);
      std::swap(holders[j], holders[pick]);
      net.Kill(holders[j]);
      ++holder_kills;
    }
  }
  for (size_t i = 0; i < holder_kills; ++i) {
    sim.Join();
    net.RunFor(absl::Milliseconds(100));
  }
  net.RunFor(absl::Hours(1));
  std::vector<Key> targeted_keys(keys.begin(), keys.begin() + static_cast<ptrdiff_t>(targeted));
  holders_lost = holders_total = 0;
  replicas.clear();
  for (size_t i = 0; i < targeted; ++i) {
    for (size_t h : original_holders[i]) holders_lost += !net.alive(h);
    holders_total += original_holders[i].size();
    replicas.push_back(sim.ReplicasAmongClosest(keys[i], 20));
  }
  std::printf(
      "holder churn: killed half the holders of %zu records (%zu nodes), %zu joined, "
      "1 h later (%.1f s wall so far)\n",
      targeted, holder_kills, holder_kills, wall());
  LookupFigures survived = sim.RunFindValues(targeted_keys, absl::Milliseconds(20));
  Print("FIND_VALUE, after holder churn:", survived);
  std::printf(
      "original holders gone: %.1f%%; copies among the 20 closest live nodes: mean "
      "%.1f, min %zu\n",
      100.0 * double(holders_lost) / double(std::max<size_t>(1, holders_total)), Mean(replicas),
      *std::min_element(replicas.begin(), replicas.end()));
  EXPECT_GE(survived.success_rate(), 0.99);
  EXPECT_GE(Mean(replicas), 15.0);
  totals = sim.TotalStats();
  std::printf(
      "total wall time %.1f s, %lu messages delivered; live nodes dropped %lu "
      "requests over the rate limit and %lu unmatched (late) replies\n",
      wall(), static_cast<unsigned long>(net.messages_delivered()),
      static_cast<unsigned long>(totals.requests_rate_limited),
      static_cast<unsigned long>(totals.replies_dropped));
}

}  // namespace
}  // namespace gnr::kademlia
