#pragma once
// The Kademlia routing table: k-buckets of contacts by XOR distance from our own id.
//
// Shape (as libtorrent's, equivalent to the paper's split-on-own-range tree): a list of
// buckets where bucket i < last holds the nodes whose id shares exactly i leading bits with
// ours, and the last bucket holds every node sharing at least `last` bits. Only the last
// bucket (the one covering our own id) splits when it is full, so the table has about
// log2(N / k) + 1 buckets of at most k nodes: detailed knowledge near us, sparse far away.
//
// Each bucket keeps its nodes ordered least- to most-recently seen, plus a replacement
// cache of nodes that wanted in while it was full. Eviction policy ("ping before evict"):
//   - a node heard from while its bucket is full takes the place of a node with failed
//     requests, if there is one; otherwise it goes to the replacement cache and Heard()
//     returns the least-recently-seen node (if not heard from for Options::ping_after),
//     which the caller pings;
//   - a failed request (Failed()) counts against the node; with a replacement waiting the
//     node is replaced at once, otherwise it is removed after Config::max_failures
//     consecutive failures;
//   - any direct contact (Heard()) resets the failure count and makes the node
//     most-recently seen.
// So a live long-lived node is never evicted for a newcomer.
//
// Contacts enter only through Heard() — nodes that talked to us or answered us — never
// from hearsay in other nodes' replies.
//
// Thread-compatible; no clock: times are passed in.

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "crypto/random.h"
#include "net/kademlia/contact.h"
#include "net/kademlia/node_id.h"

namespace gnr::kademlia {

struct RoutingEntry {
  Contact contact;
  absl::Time last_seen;
  int failures = 0;      // consecutive failed requests
  bool pinging = false;  // an eviction ping is outstanding
};

class RoutingTable {
 public:
  struct Options {
    size_t k = 20;
    size_t replacement_cache_size = 8;
    int max_failures = 3;
    // A full bucket's least-recently-seen node is pinged for a newcomer only if we have not
    // heard from it for this long (a node seen a moment ago is alive).
    absl::Duration ping_after = absl::Minutes(1);
  };

  enum class HeardResult {
    kAdded,              // new in the table
    kUpdated,            // was there; now most-recently seen
    kReplacementCached,  // bucket full: waiting in the replacement cache
    kIgnored,            // our own id, or a client-only contact (no endpoint)
  };
  struct HeardOutcome {
    HeardResult result;
    // Set with kReplacementCached: the least-recently-seen node of the bucket, to be pinged;
    // evict it (Failed()) if it does not answer. Unset if a ping is already outstanding.
    std::optional<Contact> ping;
  };

  RoutingTable(const NodeId& self, Options options);

  const NodeId& self() const { return self_; }

  // We heard from `contact` directly at `now` (it sent a request or answered one).
  HeardOutcome Heard(const Contact& contact, absl::Time now);

  // A request to `id` failed (timeout, or an invalid reply). Returns the replacement
  // contact promoted into the table in its place, if any.
  std::optional<Contact> Failed(const NodeId& id);

  // Up to `n` contacts closest to `target`, closest first. Nodes with failed requests are
  // left out unless `include_failing`.
  std::vector<Contact> FindClosest(const NodeId& target, size_t n,
                                   bool include_failing = false) const;

  // The number of table nodes strictly closer to `target` than `id` (up to `limit`).
  size_t CountCloser(const NodeId& target, const NodeId& id, size_t limit) const;

  const RoutingEntry* Find(const NodeId& id) const;
  bool Contains(const NodeId& id) const { return Find(id) != nullptr; }
  size_t size() const { return size_; }
  size_t bucket_count() const { return buckets_.size(); }
  // The index of the bucket that covers `id`.
  size_t BucketIndex(const NodeId& id) const;
  // Nodes and replacements of bucket `i`, least recently seen first (for tests and status).
  const std::vector<RoutingEntry>& bucket_nodes(size_t i) const { return buckets_[i].nodes; }
  const std::vector<Contact>& bucket_replacements(size_t i) const {
    return buckets_[i].replacements;
  }

  // Bucket refresh. MarkLookup records that a lookup for `target` ran at `now`.
  void MarkLookup(const NodeId& target, absl::Time now);
  // Marks every bucket as never looked up (after bootstrap: refresh everything).
  void ForgetLookups();
  // For each bucket not looked up since `now - interval`: a random target in its range (and
  // the bucket is marked looked up at `now`). Empty when the table is empty.
  std::vector<NodeId> TakeRefreshTargets(absl::Time now, absl::Duration interval,
                                         crypto::Random& rng);
  // When the next bucket falls due (InfiniteFuture when the table is empty).
  absl::Time NextRefresh(absl::Duration interval) const;

  // Every contact in the table (for status and tests), in bucket order.
  std::vector<Contact> AllContacts() const;

 private:
  struct Bucket {
    std::vector<RoutingEntry> nodes;    // least recently seen first
    std::vector<Contact> replacements;  // oldest first
    absl::Time last_lookup = absl::InfinitePast();
  };

  bool CanSplit(size_t index) const;
  void Split();
  // Returns the bucket index and position of `id`, or false.
  bool Locate(const NodeId& id, size_t* bucket, size_t* pos) const;
  void AddReplacement(Bucket& bucket, const Contact& contact);

  NodeId self_;
  Options options_;
  std::vector<Bucket> buckets_;
  size_t size_ = 0;
};

}  // namespace gnr::kademlia
