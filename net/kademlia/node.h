#pragma once
// A Kademlia DHT node, sans-IO (OpenDHT's Dht / libtorrent's dht::node shape): it owns the
// routing table, the running lookups and the record store; it never touches a socket, a
// thread or the clock. Messages come in through HandleMessage(), time moves through Tick(),
// and everything it sends goes out through the injected Transport.
//
// Driving it (the ZeroMQ event loop, or the simulation):
//
//   Node node(self_id, Config{}, transport, authenticator, rng);
//   node.Bootstrap(seeds, now, [](const LookupResult& r) { ... });
//   loop:
//     on message from `peer`:   node.HandleMessage(peer, msg, now);
//     at node.NextWakeup():     node.Tick(now);
//
// What it does on its own (standard Kademlia, DESIGN.md section 5):
//   - routing: every node heard from directly enters the routing table (ping-before-evict,
//     replacement cache; see routing_table.h); failed requests count against nodes;
//   - bucket refresh: a bucket no lookup touched for an hour gets a FIND_NODE for a random
//     id in it; after Bootstrap every bucket is refreshed;
//   - records: validated before they are stored (signed records only, see record.h);
//     replicated hourly by holders to the k closest live nodes, found by a FIND_NODE (a
//     holder that just received the record from another holder skips its turn, as in the
//     paper); republished every 24 h by the original publisher (Publish()); expired after
//     their validity; sent to a newly seen node that is now among the k closest to a key,
//     by the holder closest to that key (redistribution); cached (for Config::cache_ttl)
//     at the closest node that did not have a value found by FIND_VALUE;
//   - limits: at most k contacts taken from a reply, records up to max_record_size,
//     per-peer request rate limit (token bucket on the injected time; excess requests are
//     dropped unanswered, so a flooder's own requests time out).
//
// Callbacks: user callbacks (lookups, stores, pings) never run inside the Start*/Publish/
// Ping call that registered them; they run at the end of a later HandleMessage() or
// Tick(), and may call back into the Node. A callback runs exactly once unless the
// operation is cancelled.
//
// Thread-compatible: one thread (the event loop) owns the Node and makes every call.
// Transport, RecordAuthenticator and Random must outlive the Node.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/random.h"
#include "net/kademlia/config.h"
#include "net/kademlia/contact.h"
#include "net/kademlia/lookup.h"
#include "net/kademlia/message.h"
#include "net/kademlia/node_id.h"
#include "net/kademlia/rate_limiter.h"
#include "net/kademlia/record.h"
#include "net/kademlia/record_store.h"
#include "net/kademlia/routing_table.h"
#include "net/kademlia/transport.h"

namespace gnr::kademlia {

struct LookupStats {
  int hops = 0;     // 1 + depth of the node that produced the result (see lookup.h)
  int rounds = 0;   // 1 + the largest depth of any node queried
  int queries = 0;  // requests sent
  int replies = 0;
  int timeouts = 0;  // hard timeouts
  absl::Duration elapsed;
};

struct LookupResult {
  // OK; NotFound for a FIND_VALUE that found no valid record (closest is still filled);
  // Unavailable when no node answered at all.
  absl::Status status;
  NodeId target;
  // The nodes that answered, closest to the target first, at most k.
  std::vector<Contact> closest;
  // FIND_VALUE: the record found (from the network, or else from our own store).
  std::optional<Record> record;
  LookupStats stats;
};

struct StoreResult {
  Key key;
  size_t stored = 0;  // nodes that accepted the record (this node included, if among them)
  std::vector<std::pair<NodeId, absl::Status>> refused;
  size_t timeouts = 0;
  LookupStats lookup;  // the FIND_NODE that located the k closest nodes

  // OK if at least one node stored the record; otherwise Unavailable with the reasons.
  absl::Status status() const;
};

using LookupCallback = std::function<void(const LookupResult&)>;
using StoreCallback = std::function<void(const StoreResult&)>;
using PingCallback = std::function<void(const absl::Status&)>;
// Produces the signed record to (re)publish at `now`; see Node::Publish.
using RecordSource = std::function<absl::StatusOr<Record>(absl::Time now)>;
// Identifies a running lookup (never 0).
using LookupHandle = uint64_t;

// Counters for status output and tests.
struct NodeStats {
  uint64_t messages_sent = 0;
  uint64_t requests_received = 0;
  uint64_t replies_received = 0;
  uint64_t replies_dropped = 0;  // unmatched id, wrong peer or wrong type
  uint64_t requests_rate_limited = 0;
  uint64_t timeouts = 0;
  uint64_t unresponsive_skipped = 0;  // lookup queries not sent to a recently silent node
  uint64_t records_accepted = 0;
  uint64_t records_refused = 0;
  uint64_t bad_records_received = 0;  // invalid records in FIND_VALUE replies
  uint64_t lookups_started = 0;
  uint64_t replications_sent = 0;
  uint64_t redistributions_sent = 0;
  uint64_t evictions = 0;  // nodes that failed and were replaced or removed
};

class Node {
 public:
  Node(const NodeId& self, Config config, Transport& transport, const RecordAuthenticator& auth,
       crypto::Random& rng);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeId& id() const { return self_; }

  // Processes one message from `from`, whose identity the transport has authenticated
  // (see contact.h). Requests are answered through the Transport; replies are matched to
  // the outstanding request by id, peer and type, and dropped (logged at debug) otherwise.
  void HandleMessage(const Contact& from, const Message& msg, absl::Time now);

  // Runs due timers (request timeouts, bucket refresh, replication, republish, expiry) and
  // returns NextWakeup().
  absl::Time Tick(absl::Time now);

  // When Tick() next has work. Any call into the Node may make it earlier.
  absl::Time NextWakeup() const;

  // Iterative lookups for the k nodes closest to `target`, or for the record under `key`.
  LookupHandle StartFindNode(const NodeId& target, absl::Time now, LookupCallback done);
  LookupHandle StartFindValue(const Key& key, absl::Time now, LookupCallback done);
  // Stops a lookup; its callback will not run. Unknown handles are ignored.
  void Cancel(LookupHandle handle);

  // Stores a signed record at the k nodes closest to its key (found by FIND_NODE), and
  // here too if this node is among them. Returns the validation error at once (nothing is
  // sent) for an invalid record; otherwise `done` gets the per-node outcome.
  absl::Status StartStore(const Record& record, absl::Time now, StoreCallback done);

  // Like StartStore with source(now), and again every republish_interval with a freshly
  // signed record from `source`, until Unpublish(key). `done` sees the first store only.
  absl::Status Publish(RecordSource source, absl::Time now, StoreCallback done);
  void Unpublish(const Key& key);

  // Joins the network through `seeds` (e.g. configured endpoints): a lookup for our own id
  // starting from them, then a refresh of every bucket. `done` gets the self lookup's result.
  LookupHandle Bootstrap(std::span<const Contact> seeds, absl::Time now, LookupCallback done);

  // Pings `to`; `done` gets OK or DeadlineExceeded.
  void Ping(const Contact& to, absl::Time now, PingCallback done);

  const Config& config() const { return config_; }
  const RoutingTable& routing_table() const { return table_; }
  const RecordStore& records() const { return store_; }
  const NodeStats& stats() const { return stats_; }
  size_t outstanding_requests() const { return outstanding_.size(); }
  size_t running_lookups() const { return lookups_.size(); }

 private:
  enum class Purpose : uint8_t { kLookup, kStore, kPing, kUserPing, kFireAndForget };
  struct Outstanding {
    NodeId to;
    uint64_t owner = 0;  // lookup, store or ping operation id
    Purpose purpose = Purpose::kFireAndForget;
    uint8_t expected_reply = 0;  // MessageBody index of the expected reply
  };
  struct Timer {
    absl::Time when;
    uint64_t request_id;
    bool soft;
    bool operator>(const Timer& o) const { return when > o.when; }
  };
  using LookupDone = std::function<void(LookupResult result, absl::Time now)>;
  struct LookupOp {
    LookupOp(const NodeId& self, const NodeId& target, size_t k, size_t alpha)
        : lookup(self, target, k, alpha) {}
    Lookup lookup;
    bool find_value = false;
    LookupDone done;
    absl::Time started;
    LookupStats stats;
    std::optional<Record> record;
    NodeId record_from;
  };
  struct StoreOp {
    Record record;
    StoreResult result;
    size_t pending = 0;
    StoreCallback done;
  };
  struct Published {
    RecordSource source;
    absl::Time next;
  };

  LookupHandle StartLookup(const NodeId& target, bool find_value,
                           std::span<const Contact> extra_seeds, absl::Time now, LookupDone done);
  void AdvanceLookup(uint64_t id, absl::Time now);
  void FinishLookup(uint64_t id, absl::Time now);
  void OnLookupReply(uint64_t id, const Contact& from, const MessageBody& body, absl::Time now);
  void ContinueStore(uint64_t op_id, const LookupResult& located, absl::Time now);
  void OnStoreOutcome(uint64_t op_id, const NodeId& who, const absl::Status& status);
  void MaybeFinishStore(uint64_t op_id);

  void HandleRequest(const Contact& from, const Message& msg, absl::Time now);
  void HandleReply(const Contact& from, const Message& msg, absl::Time now);
  absl::Status AcceptRecord(const Record& record, bool cached, absl::Time now);
  std::vector<Contact> ClosestFor(const NodeId& target, const NodeId& requester) const;

  void SendRequest(const Contact& to, MessageBody body, Purpose purpose, uint64_t owner,
                   absl::Time now);
  uint64_t NewRequestId();
  void ProcessTimers(absl::Time now);
  void OnRequestFailed(const Outstanding& o, absl::Time now);
  void PruneTimers();

  // Routing table bookkeeping for a node heard from directly.
  void OnHeard(const Contact& contact, absl::Time now);
  void OnNewContact(const Contact& contact, absl::Time now);
  void Replicate(const Key& key, absl::Time now);
  absl::Time ReplicateJitter(absl::Time now);

  void Defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }
  void RunDeferred();

  NodeId self_;
  Config config_;
  Transport& transport_;
  const RecordAuthenticator& auth_;
  crypto::Random& rng_;

  RoutingTable table_;
  RecordStore store_;
  RateLimiter limiter_;
  NodeStats stats_;

  uint64_t next_op_id_ = 1;
  absl::flat_hash_map<uint64_t, Outstanding> outstanding_;
  // Nodes whose last request timed out, and when (see Config::unresponsive_ttl).
  absl::flat_hash_map<NodeId, absl::Time> unresponsive_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<LookupOp>> lookups_;
  absl::flat_hash_map<uint64_t, StoreOp> store_ops_;
  absl::flat_hash_map<uint64_t, PingCallback> ping_ops_;
  absl::flat_hash_map<Key, Published> published_;
  absl::Time quiet_until_ = absl::InfinitePast();  // no redistribution before (see Config)
  absl::Time next_limiter_prune_ = absl::InfinitePast();
  std::vector<std::function<void()>> deferred_;
};

}  // namespace gnr::kademlia
