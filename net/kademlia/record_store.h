#pragma once
// The records a node holds: stored ones (it is among the k closest to their key, or was
// when they arrived), which it replicates, and copies cached along lookup paths, which it
// only serves until they expire.
//
// The store does not validate signatures: callers pass records that passed ValidateRecord.
// It orders versions (CompareRecords), expires entries and schedules replication.
// Thread-compatible; times are passed in.

#include <cstddef>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/kademlia/node_id.h"
#include "net/kademlia/record.h"

namespace gnr::kademlia {

class RecordStore {
 public:
  struct Entry {
    Record record;
    bool cached = false;
    absl::Time expires;
    absl::Time next_replicate = absl::InfiniteFuture();  // InfiniteFuture for cached copies
  };

  enum class PutResult {
    kAdded,     // nothing was stored under the key
    kReplaced,  // a newer version replaced the stored one
    kSame,      // the same record was already there (a cached copy may have become stored)
  };

  struct Options {
    size_t max_records = 100'000;
    absl::Duration record_ttl = absl::Hours(26);  // a stored entry expires at time + ttl
    absl::Duration cache_ttl = absl::Hours(1);    // a cached copy at most this after arrival
  };

  explicit RecordStore(Options options);

  // Stores `record` under `key` (== RecordKey(record)) at `now`. `next_replicate` is when a
  // stored (not `cached`) entry is first replicated. A record already stored under the key
  // is replaced only by a newer version (CompareRecords); the entry stays a stored one if
  // either version is stored. A stored entry expires at record time + record_ttl; a cached
  // copy at most cache_ttl after its last arrival. Errors:
  //   FailedPrecondition  stale: older than (or conflicting with) the stored version;
  //   ResourceExhausted   max_records reached and no cached copy to evict for it.
  absl::StatusOr<PutResult> Put(const Key& key, const Record& record, bool cached, absl::Time now,
                                absl::Time next_replicate);

  // The live entry under `key`, or nullptr if none or expired at `now`.
  const Entry* Find(const Key& key, absl::Time now) const;

  void Erase(const Key& key);

  // Postpones the next replication of a stored entry (another holder just replicated it).
  void SetNextReplicate(const Key& key, absl::Time when);

  // Drops entries expired at `now` and returns the keys of stored entries due for
  // replication, rescheduling each at now + interval.
  std::vector<Key> TakeDue(absl::Time now, absl::Duration interval);

  // When TakeDue next has work (InfiniteFuture if empty).
  absl::Time NextEvent() const;

  size_t size() const { return entries_.size(); }
  size_t cached_count() const { return cached_count_; }

  // Visits every entry (expired ones too, until TakeDue drops them). `f(key, entry)` must
  // not modify the store.
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [key, entry] : entries_) f(key, entry);
  }

 private:
  static absl::Time EventTime(const Entry& e) { return std::min(e.expires, e.next_replicate); }
  void Unschedule(const Key& key, const Entry& e);
  void Schedule(const Key& key, const Entry& e);
  bool EvictOneCached();

  absl::Time ExpiryOf(const Record& record, bool cached, absl::Time now) const;

  Options options_;
  size_t cached_count_ = 0;
  absl::flat_hash_map<Key, Entry> entries_;
  std::set<std::pair<absl::Time, Key>> schedule_;  // (EventTime(entry), key)
};

}  // namespace gnr::kademlia
