#include "net/shard/placement.h"

#include <algorithm>
#include <future>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/strings.h"
#include "crypto/hash.h"

namespace gnr::shard {

kademlia::NodeId PlacementTarget(ByteView key) {
  crypto::Hash256 h = crypto::Sha256({AsBytes("gnr/placement"), key});
  FixedBytes<20> id;
  std::copy(h.begin(), h.begin() + 20, id.begin());
  return kademlia::NodeId(id);
}

FarmerSelector::FarmerSelector(node::Host& host, ShardClient& client, SelectorOptions options)
    : host_(host), client_(client), options_(options) {}

namespace {

// One selection in progress: candidates in distance order, asked STAT in rounds.
struct Selection {
  ShardClient* client = nullptr;
  size_t count = 0;
  uint64_t needed = 0;
  size_t per_round = 0;
  std::vector<FarmerAddress> candidates;
  size_t next = 0;  // first candidate not yet asked
  Callback<std::vector<FarmerAddress>> done;

  absl::Mutex mu;
  std::vector<std::optional<bool>> ok;  // per candidate: unknown / qualified / not
  size_t outstanding = 0;
  std::vector<std::string> reasons;
};

void Finish(const std::shared_ptr<Selection>& s) {
  std::vector<FarmerAddress> chosen;
  std::string reasons;
  {
    absl::MutexLock lock(&s->mu);
    for (size_t i = 0; i < s->candidates.size() && chosen.size() < s->count; ++i) {
      if (s->ok[i].value_or(false)) chosen.push_back(s->candidates[i]);
    }
    for (size_t i = 0; i < s->reasons.size() && i < 5; ++i) {
      absl::StrAppend(&reasons, "; ", s->reasons[i]);
    }
  }
  if (chosen.empty()) {
    return s->done(
        absl::UnavailableError(absl::StrCat("no farmer accepts a shard of ", s->needed, " bytes (",
                                            s->candidates.size(), " candidates", reasons, ")")));
  }
  s->done(std::move(chosen));
}

void AskRound(const std::shared_ptr<Selection>& s) {
  std::vector<size_t> batch;
  {
    absl::MutexLock lock(&s->mu);
    size_t qualified = 0;
    for (const auto& v : s->ok) qualified += v.value_or(false) ? 1 : 0;
    if (qualified >= s->count || s->next >= s->candidates.size()) {
      if (s->outstanding == 0) {
        // Finish outside the lock.
      } else {
        return;
      }
    } else {
      const size_t want = std::min(s->per_round, s->candidates.size() - s->next);
      for (size_t i = 0; i < want; ++i) batch.push_back(s->next++);
      s->outstanding += batch.size();
    }
  }
  if (batch.empty()) return Finish(s);
  for (size_t index : batch) {
    const FarmerAddress farmer = s->candidates[index];
    s->client->StatNode(farmer, [s, index, farmer](absl::StatusOr<NodeStatus> status) {
      bool round_done;
      {
        absl::MutexLock lock(&s->mu);
        if (!status.ok()) {
          s->ok[index] = false;
          s->reasons.push_back(absl::StrCat(farmer.id.ShortHex(), ": ", status.status().message()));
        } else if (!status->accepting) {
          s->ok[index] = false;
          s->reasons.push_back(absl::StrCat(farmer.id.ShortHex(), ": not accepting"));
        } else if (status->free_bytes() < s->needed) {
          s->ok[index] = false;
          s->reasons.push_back(
              absl::StrCat(farmer.id.ShortHex(), ": ", status->free_bytes(), " bytes free"));
        } else {
          s->ok[index] = true;
        }
        round_done = --s->outstanding == 0;
      }
      if (round_done) AskRound(s);
    });
  }
}

}  // namespace

void FarmerSelector::Choose(ByteView key, size_t count, uint64_t needed_bytes,
                            std::span<const NodeId> exclude,
                            Callback<std::vector<FarmerAddress>> done) {
  if (count == 0) return done(std::vector<FarmerAddress>{});
  absl::flat_hash_set<NodeId> excluded(exclude.begin(), exclude.end());
  excluded.insert(host_.id());
  auto s = std::make_shared<Selection>();
  s->client = &client_;
  s->count = count;
  s->needed = needed_bytes;
  s->per_round = count + options_.extra_candidates;
  s->done = std::move(done);
  host_.FindNode(PlacementTarget(key), [s, excluded = std::move(excluded)](
                                           absl::StatusOr<std::vector<FarmerAddress>> found) {
    if (!found.ok()) return s->done(found.status());
    for (FarmerAddress& c : *found) {
      if (c.endpoint.empty() || excluded.contains(c.id)) continue;
      s->candidates.push_back(std::move(c));
    }
    // Farmers that recently did not answer go last: asked only if the others are not
    // enough, so one dead farmer does not cost every upload a STAT timeout.
    std::stable_partition(
        s->candidates.begin(), s->candidates.end(),
        [client = s->client](const FarmerAddress& c) { return !client->Unreachable(c.id); });
    s->ok.assign(s->candidates.size(), std::nullopt);
    AskRound(s);
  });
}

absl::StatusOr<std::vector<FarmerAddress>> FarmerSelector::ChooseSync(
    ByteView key, size_t count, uint64_t needed_bytes, std::span<const NodeId> exclude) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<std::vector<FarmerAddress>>>>();
  auto future = promise->get_future();
  Choose(key, count, needed_bytes, exclude,
         [promise](absl::StatusOr<std::vector<FarmerAddress>> r) {
           promise->set_value(std::move(r));
         });
  return future.get();
}

namespace {

struct Placement {
  ShardClient* client = nullptr;
  std::vector<PutShardArgs> shards;
  std::vector<FarmerAddress> candidates;
  absl::AnyInvocable<void(std::vector<PlacedShard>)> done;

  absl::Mutex mu;
  size_t next_spare = 0;
  size_t remaining = 0;
  std::vector<PlacedShard> results;
};

void PutOne(const std::shared_ptr<Placement>& p, size_t shard, size_t candidate) {
  const FarmerAddress farmer = p->candidates[candidate];
  Clock& clock = SystemClockInstance();
  const absl::Time start = clock.Now();
  PutShardArgs args = p->shards[shard];  // shares the payload, no copy of the bytes
  p->client->Put(farmer, std::move(args),
                 [p, shard, farmer, start, &clock](absl::StatusOr<PutShardAck> ack) {
                   std::optional<size_t> spare;
                   bool all_done = false;
                   {
                     absl::MutexLock lock(&p->mu);
                     PlacedShard& r = p->results[shard];
                     if (ack.ok()) {
                       r.farmer = farmer;
                       r.ack = *ack;
                       r.latency = clock.Now() - start;
                     } else {
                       r.failures.emplace_back(farmer.id, ack.status());
                       r.farmer = ack.status();
                       if (p->next_spare < p->candidates.size()) spare = p->next_spare++;
                     }
                     if (!spare.has_value()) all_done = --p->remaining == 0;
                   }
                   if (spare.has_value()) {
                     GNR_LOG(kInfo) << "put of shard " << shard << " on " << farmer.id.ShortHex()
                                    << " failed (" << ack.status().message() << "); trying spare "
                                    << p->candidates[*spare].id.ShortHex();
                     return PutOne(p, shard, *spare);
                   }
                   if (all_done) {
                     std::vector<PlacedShard> results;
                     {
                       absl::MutexLock lock(&p->mu);
                       results = std::move(p->results);
                     }
                     p->done(std::move(results));
                   }
                 });
}

}  // namespace

void PutAll(ShardClient& client, std::vector<PutShardArgs> shards,
            std::vector<FarmerAddress> candidates,
            absl::AnyInvocable<void(std::vector<PlacedShard>)> done) {
  if (shards.empty()) return done({});
  auto p = std::make_shared<Placement>();
  p->client = &client;
  p->shards = std::move(shards);
  p->candidates = std::move(candidates);
  p->done = std::move(done);
  p->results.resize(p->shards.size());
  const size_t n = p->shards.size();
  p->remaining = n;
  std::vector<std::pair<size_t, size_t>> starts;
  {
    absl::MutexLock lock(&p->mu);
    for (size_t i = 0; i < n; ++i) {
      if (i < p->candidates.size()) {
        starts.emplace_back(i, i);
      } else {
        p->results[i].farmer = absl::UnavailableError("not enough distinct farmers");
        --p->remaining;
      }
    }
    p->next_spare = std::min(n, p->candidates.size());
  }
  if (starts.empty()) {
    std::vector<PlacedShard> results = std::move(p->results);
    return p->done(std::move(results));
  }
  for (auto [shard, candidate] : starts) PutOne(p, shard, candidate);
}

std::vector<PlacedShard> PutAllSync(ShardClient& client, std::vector<PutShardArgs> shards,
                                    std::vector<FarmerAddress> candidates) {
  auto promise = std::make_shared<std::promise<std::vector<PlacedShard>>>();
  auto future = promise->get_future();
  PutAll(client, std::move(shards), std::move(candidates),
         [promise](std::vector<PlacedShard> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace gnr::shard
