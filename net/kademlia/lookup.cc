#include "net/kademlia/lookup.h"

#include <algorithm>

namespace gnr::kademlia {
namespace {

// Pending candidates far behind the k closest can never be queried; keep the list bounded.
constexpr size_t kCandidateFactor = 4;

}  // namespace

Lookup::Lookup(const NodeId& self, const NodeId& target, size_t k, size_t alpha)
    : self_(self),
      target_(target),
      k_(std::max<size_t>(1, k)),
      alpha_(std::max<size_t>(1, alpha)) {}

Lookup::Candidate* Lookup::FindMutable(const NodeId& id) {
  auto it = std::lower_bound(
      candidates_.begin(), candidates_.end(), id,
      [&](const Candidate& c, const NodeId& x) { return CloserTo(target_, c.contact.id, x); });
  if (it == candidates_.end() || it->contact.id != id) return nullptr;
  return &*it;
}

const Lookup::Candidate* Lookup::Find(const NodeId& id) const {
  return const_cast<Lookup*>(this)->FindMutable(id);
}

void Lookup::AddCandidates(std::span<const Contact> contacts, int depth) {
  for (const Contact& c : contacts) {
    if (c.id == self_) continue;
    auto it = std::lower_bound(candidates_.begin(), candidates_.end(), c.id,
                               [&](const Candidate& cand, const NodeId& x) {
                                 return CloserTo(target_, cand.contact.id, x);
                               });
    if (it != candidates_.end() && it->contact.id == c.id) {
      it->depth = std::min(it->depth, depth);
      continue;
    }
    candidates_.insert(it, Candidate{c, depth, State::kPending});
  }
  size_t cap = kCandidateFactor * k_ + alpha_;
  while (candidates_.size() > cap && candidates_.back().state == State::kPending) {
    candidates_.pop_back();
  }
}

std::vector<Contact> Lookup::NextQueries() {
  std::vector<Contact> out;
  size_t good = 0;
  for (Candidate& c : candidates_) {
    if (in_flight_ >= alpha_) break;
    if (c.state == State::kFailed || c.state == State::kSlow) continue;
    if (++good > k_) break;
    if (c.state != State::kPending) continue;
    c.state = State::kInFlight;
    ++in_flight_;
    out.push_back(c.contact);
  }
  return out;
}

bool Lookup::OnReply(const NodeId& from, std::span<const Contact> closer) {
  Candidate* c = FindMutable(from);
  if (c == nullptr || c->state == State::kPending) return false;
  if (c->state == State::kInFlight) --in_flight_;
  c->state = State::kAnswered;
  int depth = c->depth + 1;  // `c` may move when candidates are inserted
  AddCandidates(closer, depth);
  return true;
}

void Lookup::OnSlow(const NodeId& from) {
  Candidate* c = FindMutable(from);
  if (c == nullptr || c->state != State::kInFlight) return;
  c->state = State::kSlow;
  --in_flight_;
}

void Lookup::OnFailure(const NodeId& from) {
  Candidate* c = FindMutable(from);
  if (c == nullptr) return;
  if (c->state == State::kInFlight) --in_flight_;
  c->state = State::kFailed;
}

bool Lookup::Finished() const {
  size_t good = 0;
  bool slow = false;
  for (const Candidate& c : candidates_) {
    if (c.state == State::kFailed) continue;
    if (c.state == State::kSlow) {
      slow = true;
      continue;
    }
    if (c.state != State::kAnswered) return false;
    if (++good >= k_) return true;
  }
  // Fewer than k answers: a slow node may still bring some.
  return !slow;
}

std::vector<Contact> Lookup::Closest(size_t n) const {
  std::vector<Contact> out;
  for (const Candidate& c : candidates_) {
    if (out.size() >= n) break;
    if (c.state == State::kAnswered) out.push_back(c.contact);
  }
  return out;
}

int Lookup::Rounds() const {
  int rounds = 0;
  for (const Candidate& c : candidates_) {
    if (c.state != State::kPending) rounds = std::max(rounds, c.depth + 1);
  }
  return rounds;
}

}  // namespace gnr::kademlia
