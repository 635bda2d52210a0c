#pragma once
// The iterative lookup state machine (FIND_NODE / FIND_VALUE), with no I/O and no timers:
// the Node sends the queries it returns and reports back replies, soft timeouts and
// failures as events.
//
// Candidates are kept sorted by XOR distance to the target. At most `alpha` queries are in
// flight; each step queries the closest not-yet-queried candidates among the k closest
// candidates that have neither failed nor gone slow. The lookup is finished when those k
// closest have all answered, or when every known candidate has answered or failed. A soft
// timeout marks a query slow: it frees its parallelism slot and its place among the k
// closest (so a lookup that has k answers does not wait for dead nodes), but a late reply
// is still taken while the lookup runs (and a lookup with fewer than k answers waits for
// it). A failure (hard timeout, bad reply) drops the candidate for good.
//
// Hops: a seed (from our routing table or the bootstrap list) has depth 0, a contact first
// learned from the reply of a depth-d node has depth d + 1, so querying a node takes
// depth + 1 sequential round trips. The Node reports hops = 1 + the depth of the node that
// produced the result (the closest node found, or the holder that returned the value).
//
// Thread-compatible.
//
//   Lookup lookup(self, target, k, alpha);
//   lookup.AddCandidates(table.FindClosest(target, k), 0);
//   for (const Contact& c : lookup.NextQueries()) send FIND_NODE(target) to c;
//   ... on reply: lookup.OnReply(from, reply.closer); send lookup.NextQueries() ...
//   if (lookup.Finished()) use lookup.Closest(k);

#include <cstddef>
#include <span>
#include <vector>

#include "net/kademlia/contact.h"
#include "net/kademlia/node_id.h"

namespace gnr::kademlia {

class Lookup {
 public:
  enum class State { kPending, kInFlight, kSlow, kAnswered, kFailed };
  struct Candidate {
    Contact contact;
    int depth = 0;
    State state = State::kPending;
  };

  // `self` is never queried. `k` >= 1, `alpha` >= 1.
  Lookup(const NodeId& self, const NodeId& target, size_t k, size_t alpha);

  const NodeId& target() const { return target_; }

  // Adds candidates learned at `depth` (0 for seeds). Known ones keep their state (and the
  // smaller depth); `self` is skipped.
  void AddCandidates(std::span<const Contact> contacts, int depth);

  // The candidates to query now (marked in flight): as many as free parallelism slots allow.
  std::vector<Contact> NextQueries();

  // `from` answered with `closer` contacts. False (and no change) if `from` was never
  // queried by this lookup.
  bool OnReply(const NodeId& from, std::span<const Contact> closer);
  // `from` has not answered within the soft timeout: its slot and its place among the k
  // closest are freed until it answers.
  void OnSlow(const NodeId& from);
  // `from` failed: it is no longer a candidate.
  void OnFailure(const NodeId& from);

  bool Finished() const;

  // Up to `n` candidates that answered, closest first.
  std::vector<Contact> Closest(size_t n) const;
  // The candidate for `id`, or nullptr.
  const Candidate* Find(const NodeId& id) const;
  // 1 + the largest depth of any queried candidate (0 if none was queried).
  int Rounds() const;

  size_t in_flight() const { return in_flight_; }
  const std::vector<Candidate>& candidates() const { return candidates_; }

 private:
  Candidate* FindMutable(const NodeId& id);

  NodeId self_;
  NodeId target_;
  size_t k_;
  size_t alpha_;
  size_t in_flight_ = 0;
  std::vector<Candidate> candidates_;  // sorted by distance to target_
};

}  // namespace gnr::kademlia
