#include "net/kademlia/routing_table.h"

#include <algorithm>

namespace gnr::kademlia {

RoutingTable::RoutingTable(const NodeId& self, Options options)
    : self_(self), options_(options), buckets_(1) {
  options_.k = std::max<size_t>(1, options_.k);
  options_.max_failures = std::max(1, options_.max_failures);
}

size_t RoutingTable::BucketIndex(const NodeId& id) const {
  return std::min(self_.CommonPrefixLength(id), buckets_.size() - 1);
}

bool RoutingTable::Locate(const NodeId& id, size_t* bucket, size_t* pos) const {
  size_t b = BucketIndex(id);
  const std::vector<RoutingEntry>& nodes = buckets_[b].nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].contact.id == id) {
      *bucket = b;
      *pos = i;
      return true;
    }
  }
  return false;
}

const RoutingEntry* RoutingTable::Find(const NodeId& id) const {
  size_t b, pos;
  if (!Locate(id, &b, &pos)) return nullptr;
  return &buckets_[b].nodes[pos];
}

bool RoutingTable::CanSplit(size_t index) const {
  return index + 1 == buckets_.size() && buckets_.size() < NodeId::kBits;
}

void RoutingTable::Split() {
  size_t depth = buckets_.size();  // the new last bucket holds prefix lengths >= depth
  buckets_.emplace_back();
  Bucket& old_bucket = buckets_[depth - 1];
  Bucket& new_bucket = buckets_[depth];
  new_bucket.last_lookup = old_bucket.last_lookup;
  auto deeper = [&](const NodeId& id) { return self_.CommonPrefixLength(id) >= depth; };
  std::vector<RoutingEntry> keep;
  for (RoutingEntry& e : old_bucket.nodes) {
    (deeper(e.contact.id) ? new_bucket.nodes : keep).push_back(std::move(e));
  }
  old_bucket.nodes = std::move(keep);
  std::vector<Contact> keep_replacements;
  for (Contact& c : old_bucket.replacements) {
    (deeper(c.id) ? new_bucket.replacements : keep_replacements).push_back(std::move(c));
  }
  old_bucket.replacements = std::move(keep_replacements);
}

void RoutingTable::AddReplacement(Bucket& bucket, const Contact& contact) {
  auto it = std::find_if(bucket.replacements.begin(), bucket.replacements.end(),
                         [&](const Contact& c) { return c.id == contact.id; });
  if (it != bucket.replacements.end()) bucket.replacements.erase(it);
  if (bucket.replacements.size() >= options_.replacement_cache_size &&
      !bucket.replacements.empty()) {
    bucket.replacements.erase(bucket.replacements.begin());
  }
  if (options_.replacement_cache_size > 0) bucket.replacements.push_back(contact);
}

RoutingTable::HeardOutcome RoutingTable::Heard(const Contact& contact, absl::Time now) {
  if (contact.id == self_ || contact.endpoint.empty()) return {HeardResult::kIgnored, {}};
  for (;;) {
    size_t index = BucketIndex(contact.id);
    Bucket& bucket = buckets_[index];
    auto it = std::find_if(bucket.nodes.begin(), bucket.nodes.end(),
                           [&](const RoutingEntry& e) { return e.contact.id == contact.id; });
    if (it != bucket.nodes.end()) {
      RoutingEntry entry = std::move(*it);
      bucket.nodes.erase(it);
      entry.contact = contact;
      entry.last_seen = now;
      entry.failures = 0;
      entry.pinging = false;
      bucket.nodes.push_back(std::move(entry));
      return {HeardResult::kUpdated, {}};
    }
    if (bucket.nodes.size() < options_.k) {
      auto r = std::find_if(bucket.replacements.begin(), bucket.replacements.end(),
                            [&](const Contact& c) { return c.id == contact.id; });
      if (r != bucket.replacements.end()) bucket.replacements.erase(r);
      bucket.nodes.push_back(RoutingEntry{contact, now, 0, false});
      ++size_;
      return {HeardResult::kAdded, {}};
    }
    if (CanSplit(index)) {
      Split();
      continue;
    }
    // Full and cannot split: take the place of the node with the most failed requests.
    auto worst = std::max_element(
        bucket.nodes.begin(), bucket.nodes.end(),
        [](const RoutingEntry& a, const RoutingEntry& b) { return a.failures < b.failures; });
    if (worst->failures > 0) {
      bucket.nodes.erase(worst);
      auto r = std::find_if(bucket.replacements.begin(), bucket.replacements.end(),
                            [&](const Contact& c) { return c.id == contact.id; });
      if (r != bucket.replacements.end()) bucket.replacements.erase(r);
      bucket.nodes.push_back(RoutingEntry{contact, now, 0, false});
      return {HeardResult::kAdded, {}};
    }
    AddReplacement(bucket, contact);
    RoutingEntry& oldest = bucket.nodes.front();
    if (oldest.pinging || now - oldest.last_seen < options_.ping_after) {
      return {HeardResult::kReplacementCached, {}};
    }
    oldest.pinging = true;
    return {HeardResult::kReplacementCached, oldest.contact};
  }
}

std::optional<Contact> RoutingTable::Failed(const NodeId& id) {
  size_t b, pos;
  if (!Locate(id, &b, &pos)) {
    Bucket& bucket = buckets_[BucketIndex(id)];
    auto r = std::find_if(bucket.replacements.begin(), bucket.replacements.end(),
                          [&](const Contact& c) { return c.id == id; });
    if (r != bucket.replacements.end()) bucket.replacements.erase(r);
    return std::nullopt;
  }
  Bucket& bucket = buckets_[b];
  RoutingEntry& entry = bucket.nodes[pos];
  ++entry.failures;
  entry.pinging = false;
  if (!bucket.replacements.empty()) {
    Contact promoted = std::move(bucket.replacements.back());
    bucket.replacements.pop_back();
    bucket.nodes.erase(bucket.nodes.begin() + static_cast<ptrdiff_t>(pos));
    // Not heard from recently as far as we know: least recently seen, so first to be pinged.
    bucket.nodes.insert(bucket.nodes.begin(),
                        RoutingEntry{promoted, absl::InfinitePast(), 0, false});
    return promoted;
  }
  if (entry.failures >= options_.max_failures) {
    bucket.nodes.erase(bucket.nodes.begin() + static_cast<ptrdiff_t>(pos));
    --size_;
  }
  return std::nullopt;
}

std::vector<Contact> RoutingTable::FindClosest(const NodeId& target, size_t n,
                                               bool include_failing) const {
  // Buckets in order of distance from `target`, with c = BucketIndex(target): bucket c
  // first (its nodes share more than c bits with the target), then every deeper bucket
  // (they share exactly c bits), then c - 1, c - 2, ..., 0. Sorting each group by distance
  // gives the global order without looking at the whole table.
  std::vector<const RoutingEntry*> picked;
  picked.reserve(n + options_.k);
  auto less = [&](const RoutingEntry* a, const RoutingEntry* b) {
    return CloserTo(target, a->contact.id, b->contact.id);
  };
  auto add = [&](size_t b) {
    for (const RoutingEntry& e : buckets_[b].nodes) {
      if (include_failing || e.failures == 0) picked.push_back(&e);
    }
  };
  // Sorts the group that starts at `begin`; true when `n` are picked.
  auto close_group = [&](size_t begin) {
    auto first = picked.begin() + static_cast<ptrdiff_t>(begin);
    if (picked.size() >= n) {
      auto mid = picked.begin() + static_cast<ptrdiff_t>(n);
      std::partial_sort(first, mid, picked.end(), less);
      picked.resize(n);
      return true;
    }
    std::sort(first, picked.end(), less);
    return false;
  };
  size_t c = BucketIndex(target);
  add(c);
  bool done = close_group(0);
  if (!done) {
    size_t begin = picked.size();
    for (size_t b = c + 1; b < buckets_.size(); ++b) add(b);
    done = close_group(begin);
  }
  for (size_t b = c; !done && b-- > 0;) {
    size_t begin = picked.size();
    add(b);
    done = close_group(begin);
  }
  std::vector<Contact> out;
  out.reserve(picked.size());
  for (const RoutingEntry* e : picked) out.push_back(e->contact);
  return out;
}

size_t RoutingTable::CountCloser(const NodeId& target, const NodeId& id, size_t limit) const {
  size_t count = 0;
  for (const Bucket& bucket : buckets_) {
    for (const RoutingEntry& e : bucket.nodes) {
      if (CloserTo(target, e.contact.id, id) && ++count >= limit) return count;
    }
  }
  return count;
}

void RoutingTable::MarkLookup(const NodeId& target, absl::Time now) {
  buckets_[BucketIndex(target)].last_lookup = now;
}

void RoutingTable::ForgetLookups() {
  for (Bucket& b : buckets_) b.last_lookup = absl::InfinitePast();
}

std::vector<NodeId> RoutingTable::TakeRefreshTargets(absl::Time now, absl::Duration interval,
                                                     crypto::Random& rng) {
  std::vector<NodeId> targets;
  if (size_ == 0) return targets;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (buckets_[i].last_lookup + interval > now) continue;
    buckets_[i].last_lookup = now;
    targets.push_back(i + 1 < buckets_.size() ? NodeId::RandomWithCommonPrefix(self_, i, rng)
                                              : NodeId::RandomWithPrefix(self_, i, rng));
  }
  return targets;
}

absl::Time RoutingTable::NextRefresh(absl::Duration interval) const {
  if (size_ == 0) return absl::InfiniteFuture();
  absl::Time next = absl::InfiniteFuture();
  for (const Bucket& b : buckets_) next = std::min(next, b.last_lookup + interval);
  return next;
}

std::vector<Contact> RoutingTable::AllContacts() const {
  std::vector<Contact> out;
  out.reserve(size_);
  for (const Bucket& b : buckets_) {
    for (const RoutingEntry& e : b.nodes) out.push_back(e.contact);
  }
  return out;
}

}  // namespace gnr::kademlia
