#include "net/kademlia/record_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gnr::kademlia {

RecordStore::RecordStore(Options options) : options_(options) {
  options_.max_records = std::max<size_t>(1, options_.max_records);
}

absl::Time RecordStore::ExpiryOf(const Record& record, bool cached, absl::Time now) const {
  absl::Time expiry = record.time() + options_.record_ttl;
  return cached ? std::min(expiry, now + options_.cache_ttl) : expiry;
}

void RecordStore::Unschedule(const Key& key, const Entry& e) {
  schedule_.erase({EventTime(e), key});
}

void RecordStore::Schedule(const Key& key, const Entry& e) {
  schedule_.insert({EventTime(e), key});
}

bool RecordStore::EvictOneCached() {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (!it->second.cached) continue;
    Unschedule(it->first, it->second);
    --cached_count_;
    entries_.erase(it);
    return true;
  }
  return false;
}

absl::StatusOr<RecordStore::PutResult> RecordStore::Put(const Key& key, const Record& record,
                                                        bool cached, absl::Time now,
                                                        absl::Time next_replicate) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    RecordOrder order = CompareRecords(e.record, record);
    if (order == RecordOrder::kStale) {
      return absl::FailedPreconditionError(StaleReason(e.record, record));
    }
    Unschedule(key, e);
    if (order == RecordOrder::kNewer) e.record = record;
    if (e.cached && !cached) {
      // Promoted to a stored copy: from now on it is replicated on its own schedule.
      e.cached = false;
      --cached_count_;
      e.next_replicate = next_replicate;
    }
    e.expires = ExpiryOf(e.record, e.cached, now);
    Schedule(key, e);
    return order == RecordOrder::kNewer ? PutResult::kReplaced : PutResult::kSame;
  }
  if (entries_.size() >= options_.max_records && (cached || !EvictOneCached())) {
    return absl::ResourceExhaustedError(
        absl::StrCat("record store full (", options_.max_records, " records)"));
  }
  Entry e{record, cached, ExpiryOf(record, cached, now),
          cached ? absl::InfiniteFuture() : next_replicate};
  if (cached) ++cached_count_;
  Schedule(key, e);
  entries_.emplace(key, std::move(e));
  return PutResult::kAdded;
}

const RecordStore::Entry* RecordStore::Find(const Key& key, absl::Time now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= now) return nullptr;
  return &it->second;
}

void RecordStore::Erase(const Key& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Unschedule(key, it->second);
  if (it->second.cached) --cached_count_;
  entries_.erase(it);
}

void RecordStore::SetNextReplicate(const Key& key, absl::Time when) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.cached) return;
  Unschedule(key, it->second);
  it->second.next_replicate = when;
  Schedule(key, it->second);
}

std::vector<Key> RecordStore::TakeDue(absl::Time now, absl::Duration interval) {
  std::vector<Key> due;
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    Key key = schedule_.begin()->second;
    schedule_.erase(schedule_.begin());
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    if (e.expires <= now) {
      if (e.cached) --cached_count_;
      entries_.erase(it);
      continue;
    }
    e.next_replicate = now + interval;
    Schedule(key, e);
    due.push_back(key);
  }
  return due;
}

absl::Time RecordStore::NextEvent() const {
  return schedule_.empty() ? absl::InfiniteFuture() : schedule_.begin()->first;
}

}  // namespace gnr::kademlia
