#include "fs/remote/net_shard_network.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/strings.h"
#include "crypto/random.h"
#include "net/shard/contact_hint.h"
#include "net/zmq/shared_bytes.h"

namespace gnr::remote {
namespace {

kademlia::NodeId ToNodeId(const volume::FarmerId& id) { return kademlia::NodeId(id); }

volume::FarmerContact ToContact(const shard::FarmerAddress& address) {
  return {.id = address.id.bytes(), .endpoint = shard::EncodeContactHint(address)};
}

}  // namespace

NetShardNetwork::NetShardNetwork(node::Host& host, shard::ShardClient& client,
                                 shard::FarmerSelector& selector, NetShardNetworkOptions options)
    : host_(host),
      client_(client),
      selector_(selector),
      options_(options),
      state_(std::make_shared<State>()) {
  state_->dead_farmer_backoff = options.dead_farmer_backoff;
}

void NetShardNetwork::State::Remember(const shard::FarmerAddress& address) {
  absl::MutexLock lock(&mu);
  contacts[address.id] = address;
}

absl::Status NetShardNetwork::State::CheckAlive(const kademlia::NodeId& id) {
  absl::MutexLock lock(&mu);
  auto it = dead.find(id);
  if (it == dead.end()) return absl::OkStatus();
  if (absl::Now() >= it->second.until) {
    dead.erase(it);  // give it another chance
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("farmer ", id.ShortHex(),
                   " is skipped for a while after failing: ", it->second.why.message()));
}

void NetShardNetwork::State::Observe(const kademlia::NodeId& id, const absl::Status& result) {
  if (dead_farmer_backoff <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&mu);
  if (result.ok()) {
    dead.erase(id);
  } else if (absl::IsDeadlineExceeded(result) || absl::IsUnavailable(result)) {
    dead[id] = {absl::Now() + dead_farmer_backoff, result};
  }
}

std::vector<FarmerInUse> NetShardNetwork::KnownFarmers() const {
  absl::flat_hash_map<kademlia::NodeId, shard::FarmerLatency> latencies = client_.AllLatencies();
  std::vector<FarmerInUse> out;
  absl::MutexLock lock(&state_->mu);
  for (const auto& [id, address] : state_->contacts) {
    FarmerInUse f;
    f.id = id.bytes();
    f.endpoint = address.endpoint;
    if (auto it = latencies.find(id); it != latencies.end()) f.latency = it->second;
    out.push_back(std::move(f));
  }
  for (const auto& [id, latency] : latencies) {
    if (state_->contacts.contains(id)) continue;
    FarmerInUse f;
    f.id = id.bytes();
    f.latency = latency;
    out.push_back(std::move(f));
  }
  return out;
}

void NetShardNetwork::Resolve(const volume::FarmerContact& farmer,
                              absl::AnyInvocable<void(absl::StatusOr<shard::FarmerAddress>)> then) {
  const kademlia::NodeId id = ToNodeId(farmer.id);
  if (absl::Status alive = state_->CheckAlive(id); !alive.ok()) {
    then(alive);
    return;
  }
  std::optional<shard::FarmerAddress> cached;
  {
    absl::MutexLock lock(&state_->mu);
    if (auto it = state_->contacts.find(id); it != state_->contacts.end()) cached = it->second;
  }
  if (cached) {
    then(*std::move(cached));
    return;
  }
  if (absl::StatusOr<shard::FarmerAddress> hinted =
          shard::ParseContactHint(ToNodeId(farmer.id), farmer.endpoint);
      hinted.ok()) {
    state_->Remember(*hinted);
    then(*std::move(hinted));
    return;
  }
  host_.Resolve(id, [state = state_, id,
                     then = std::move(then)](absl::StatusOr<kademlia::Contact> contact) mutable {
    if (!contact.ok()) {
      then(absl::Status(contact.status().code(),
                        absl::StrCat("cannot find farmer ", id.ShortHex(),
                                     " in the DHT: ", contact.status().message())));
      return;
    }
    if (contact->endpoint.empty()) {
      then(absl::UnavailableError(
          absl::StrCat("farmer ", id.ShortHex(), " publishes no reachable endpoint")));
      return;
    }
    state->Remember(*contact);
    then(*std::move(contact));
  });
}

std::optional<std::vector<shard::FarmerAddress>> NetShardNetwork::LiveSet() {
  if (options_.live_set_ttl <= absl::ZeroDuration()) return std::nullopt;
  auto fresh = [this]() -> std::optional<std::vector<shard::FarmerAddress>> {
    absl::MutexLock lock(&state_->mu);
    if (absl::Now() - state_->live_at < options_.live_set_ttl) return state_->live;
    return std::nullopt;
  };
  if (auto live = fresh()) {
    if (live->empty() || live->size() >= options_.dht_k) return std::nullopt;
    return live;
  }
  if (!refresh_mu_.TryLock()) {
    // Another thread refreshes: use the previous set if there is one.
    absl::MutexLock lock(&state_->mu);
    if (state_->live.empty() || state_->live.size() >= options_.dht_k) return std::nullopt;
    return state_->live;
  }
  crypto::Hash256 probe = crypto::OsRandom().Generate<32>();
  absl::StatusOr<std::vector<shard::FarmerAddress>> all =
      selector_.ChooseSync(probe, options_.dht_k, options_.shard_size_estimate, {});
  if (!all.ok() && absl::IsUnavailable(all.status()) && MaybeRejoin()) {
    all = selector_.ChooseSync(probe, options_.dht_k, options_.shard_size_estimate, {});
  }
  std::vector<shard::FarmerAddress> live =
      all.ok() ? *std::move(all) : std::vector<shard::FarmerAddress>{};
  for (const shard::FarmerAddress& address : live) {
    state_->Remember(address);
    state_->Observe(address.id, absl::OkStatus());  // it just answered STAT
  }
  {
    absl::MutexLock lock(&state_->mu);
    state_->live = live;
    state_->live_at = absl::Now();
  }
  refresh_mu_.Unlock();
  if (live.empty() || live.size() >= options_.dht_k) return std::nullopt;
  return live;
}

absl::StatusOr<std::vector<volume::FarmerContact>> NetShardNetwork::ChooseFarmers(
    ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
    std::span<const volume::FarmerId> exclude) {
  (void)bucket_id;  // farmers check the bucket themselves when the shard arrives
  std::vector<kademlia::NodeId> excluded;
  excluded.reserve(exclude.size());
  for (const volume::FarmerId& id : exclude) excluded.push_back(ToNodeId(id));
  if (std::optional<std::vector<shard::FarmerAddress>> live = LiveSet()) {
    // The whole (small) network is known: closest to the placement target first, as the
    // selector would rank them, minus excluded farmers and farmers marked dead since.
    const kademlia::NodeId target = shard::PlacementTarget(placement_key);
    std::sort(live->begin(), live->end(),
              [&target](const shard::FarmerAddress& a, const shard::FarmerAddress& b) {
                return kademlia::CloserTo(target, a.id, b.id);
              });
    std::vector<volume::FarmerContact> out;
    for (const shard::FarmerAddress& address : *live) {
      if (out.size() >= count) break;
      if (std::find(excluded.begin(), excluded.end(), address.id) != excluded.end()) continue;
      if (!state_->CheckAlive(address.id).ok()) continue;
      out.push_back(ToContact(address));
    }
    if (!out.empty()) return out;
  }
  absl::StatusOr<std::vector<shard::FarmerAddress>> chosen =
      selector_.ChooseSync(placement_key, count, options_.shard_size_estimate, excluded);
  if (!chosen.ok() && absl::IsUnavailable(chosen.status()) && MaybeRejoin()) {
    chosen = selector_.ChooseSync(placement_key, count, options_.shard_size_estimate, excluded);
  }
  if (!chosen.ok()) return chosen.status();
  std::vector<volume::FarmerContact> out;
  out.reserve(chosen->size());
  for (const shard::FarmerAddress& address : *chosen) {
    state_->Remember(address);
    state_->Observe(address.id, absl::OkStatus());  // it just answered STAT
    out.push_back(ToContact(address));
  }
  return out;
}

bool NetShardNetwork::MaybeRejoin() {
  if (options_.rejoin_seeds.empty()) return false;
  {
    absl::MutexLock lock(&state_->mu);
    if (absl::Now() - state_->last_rejoin < options_.rejoin_interval) return false;
    state_->last_rejoin = absl::Now();
  }
  if (host_.Stats().routing_table_size > 0) return false;
  absl::Status joined = host_.BootstrapSync(options_.rejoin_seeds);
  if (!joined.ok()) {
    GNR_LOG(kWarning) << "the DHT knows no farmer any more and joining again through the "
                      << options_.rejoin_seeds.size() << " seed(s) failed: " << joined;
    return false;
  }
  GNR_LOG(kInfo) << "the DHT knew no farmer any more: joined again through the seeds";
  return true;
}

void NetShardNetwork::PutShard(const volume::FarmerContact& farmer, volume::PutShardRequest request,
                               volume::PutShardCallback done) {
  Resolve(farmer, [this, request = std::move(request),
                   done = std::move(done)](absl::StatusOr<shard::FarmerAddress> address) mutable {
    if (!address.ok()) {
      done(address.status());
      return;
    }
    shard::PutShardArgs args;
    args.bucket_id = std::move(request.bucket_id);
    args.shard_id = request.shard_id;
    args.merkle_root = request.merkle_root;
    args.leaf_size = request.leaf_size;
    args.merkle_kind = request.merkle_kind;
    args.data = net_zmq::SharedBytes(std::move(request.data));  // shares, no copy
    volume::FarmerContact acked = ToContact(*address);
    client_.Put(*address, std::move(args),
                [state = state_, id = address->id, acked = std::move(acked),
                 done = std::move(done)](absl::StatusOr<shard::PutShardAck> ack) mutable {
                  state->Observe(id, ack.status());
                  if (!ack.ok()) {
                    done(ack.status());
                    return;
                  }
                  done(std::move(acked));
                });
  });
}

void NetShardNetwork::GetShardRange(const volume::FarmerContact& farmer, ByteView bucket_id,
                                    const codec::StoredRangeRequest& request,
                                    volume::GetRangeCallback done) {
  if (request.leaves.empty()) {
    done(absl::InvalidArgumentError("GetShardRange: empty leaf range"));
    return;
  }
  shard::GetRangeArgs args;
  args.shard_id = request.shard_id;
  args.bucket_id = Bytes(bucket_id.begin(), bucket_id.end());
  args.first_leaf = request.leaves.begin;
  args.leaf_count = request.leaves.size();
  Resolve(farmer, [this, args = std::move(args),
                   done = std::move(done)](absl::StatusOr<shard::FarmerAddress> address) mutable {
    if (!address.ok()) {
      done(address.status());
      return;
    }
    client_.GetRange(*address, std::move(args),
                     [state = state_, id = address->id,
                      done = std::move(done)](absl::StatusOr<shard::GetRangeReply> reply) mutable {
                       state->Observe(id, reply.status());
                       if (!reply.ok()) {
                         done(reply.status());
                         return;
                       }
                       codec::StoredRangeReply out;
                       // The one copy of the read path: the codec's reply owns its bytes.
                       out.leaves = reply->leaves.ToBytes();
                       out.proof = std::move(reply->proof);
                       done(std::move(out));
                     });
  });
}

void NetShardNetwork::DeleteShard(const volume::FarmerContact& farmer, ByteView bucket_id,
                                  const codec::ShardId& shard_id, volume::DoneCallback done) {
  Bytes bucket(bucket_id.begin(), bucket_id.end());
  Resolve(farmer, [this, bucket = std::move(bucket), shard_id,
                   done = std::move(done)](absl::StatusOr<shard::FarmerAddress> address) mutable {
    if (!address.ok()) {
      done(address.status());
      return;
    }
    client_.Delete(
        *address, shard_id, bucket,
        [state = state_, id = address->id, done = std::move(done)](absl::Status s) mutable {
          state->Observe(id, s);
          done(std::move(s));
        });
  });
}

}  // namespace gnr::remote
