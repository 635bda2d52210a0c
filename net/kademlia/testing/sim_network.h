#pragma once
// A whole DHT in one process: Nodes on a fake network with virtual time. Every message is
// delivered after a random latency (uniform in [min_latency, max_latency]) through a
// priority queue of events; each Node's Tick() runs at its NextWakeup(). Deterministic for
// a given seed. Used by the Node unit tests and by tests/sim/dht_sim_test.cc.
//
//   crypto::DeterministicRandom rng(1);
//   testing::FakeAuthenticator auth;
//   SimNetwork net({}, Config{}, auth, rng);
//   size_t a = net.AddNode(NodeId::Random(rng));
//   net.node(a).Bootstrap(...);
//   net.RunFor(absl::Seconds(10));
//
// Not thread-safe. Test-only code (header-only, not part of gnr_kademlia).

#include <charconv>
#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "crypto/random.h"
#include "net/kademlia/config.h"
#include "net/kademlia/node.h"
#include "net/kademlia/record.h"
#include "net/kademlia/transport.h"

namespace gnr::kademlia::testing {

class SimNetwork {
 public:
  struct Options {
    absl::Duration min_latency = absl::Milliseconds(5);
    absl::Duration max_latency = absl::Milliseconds(50);
    absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  };

  SimNetwork(Options options, Config config, const RecordAuthenticator& auth, crypto::Random& rng)
      : options_(options), config_(config), auth_(auth), rng_(rng), now_(options.start) {}

  // Adds a live node with `id`; returns its index (indices are never reused).
  size_t AddNode(const NodeId& id) {
    size_t index = slots_.size();
    slots_.push_back(std::make_unique<Slot>());
    Slot& s = *slots_.back();
    s.transport.net = this;
    s.transport.index = index;
    s.contact = Contact{id, "sim:" + std::to_string(index), {}};
    s.node = std::make_unique<Node>(id, config_, s.transport, auth_, rng_);
    ++alive_;
    return index;
  }

  // Removes a node abruptly: it is destroyed and messages to it are lost.
  void Kill(size_t index) {
    if (!slots_[index]->node) return;
    slots_[index]->node.reset();
    --alive_;
  }

  bool alive(size_t index) const { return slots_[index]->node != nullptr; }
  size_t size() const { return slots_.size(); }
  size_t alive_count() const { return alive_; }
  const Contact& contact(size_t index) const { return slots_[index]->contact; }

  // The node at `index` (must be alive). Calls made on it take effect at now(); the network
  // re-reads its wake-up time before it runs again.
  Node& node(size_t index) {
    dirty_.push_back(index);
    return *slots_[index]->node;
  }

  absl::Time now() const { return now_; }
  uint64_t messages_delivered() const { return delivered_; }
  uint64_t messages_lost() const { return lost_; }

  // Processes every event due up to `until`, then sets now() to `until`.
  void RunUntil(absl::Time until) {
    FlushDirty();
    while (!events_.empty() && events_.top().when <= until) {
      Event e = std::move(const_cast<Event&>(events_.top()));
      events_.pop();
      now_ = e.when;
      Slot& s = *slots_[e.to];
      if (!s.node) continue;
      if (e.tick) {
        if (s.tick_at != e.when) continue;  // superseded
        s.tick_at = absl::InfiniteFuture();
        s.node->Tick(now_);
      } else {
        ++delivered_;
        s.node->HandleMessage(slots_[e.from]->contact, *e.msg, now_);
      }
      Reschedule(e.to);
      FlushDirty();
    }
    now_ = std::max(now_, until);
  }
  void RunFor(absl::Duration d) { RunUntil(now_ + d); }

 private:
  struct SlotTransport final : public Transport {
    SimNetwork* net = nullptr;
    size_t index = 0;
    void Send(const Contact& to, Message msg) override { net->Enqueue(index, to, std::move(msg)); }
  };
  struct Slot {
    SlotTransport transport;
    Contact contact;
    std::unique_ptr<Node> node;
    absl::Time tick_at = absl::InfiniteFuture();
  };
  struct Event {
    absl::Time when;
    uint64_t seq;
    bool tick;
    size_t to;
    size_t from;
    std::unique_ptr<Message> msg;  // null for ticks; boxed so heap moves stay cheap
    bool operator>(const Event& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };

  void Enqueue(size_t from, const Contact& to, Message msg) {
    size_t index = 0;
    const std::string& ep = to.endpoint;
    if (ep.size() <= 4 ||
        std::from_chars(ep.data() + 4, ep.data() + ep.size(), index).ec != std::errc() ||
        index >= slots_.size() || !slots_[index]->node) {
      ++lost_;
      return;
    }
    double u = static_cast<double>(rng_.NextU64() >> 11) / static_cast<double>(uint64_t{1} << 53);
    absl::Duration latency =
        options_.min_latency + (options_.max_latency - options_.min_latency) * u;
    events_.push(Event{now_ + latency, seq_++, false, index, from,
                       std::make_unique<Message>(std::move(msg))});
  }

  void Reschedule(size_t index) {
    Slot& s = *slots_[index];
    if (!s.node) return;
    absl::Time t = std::max(s.node->NextWakeup(), now_);
    if (t >= s.tick_at || t == absl::InfiniteFuture()) return;
    s.tick_at = t;
    events_.push(Event{t, seq_++, true, index, index, nullptr});
  }

  void FlushDirty() {
    while (!dirty_.empty()) {
      size_t i = dirty_.back();
      dirty_.pop_back();
      Reschedule(i);
    }
  }

  Options options_;
  Config config_;
  const RecordAuthenticator& auth_;
  crypto::Random& rng_;
  absl::Time now_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::vector<size_t> dirty_;
  size_t alive_ = 0;
  uint64_t seq_ = 0;
  uint64_t delivered_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace gnr::kademlia::testing
