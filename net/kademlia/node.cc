#include "net/kademlia/node.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/overloaded.h"
#include "common/strings.h"

namespace gnr::kademlia {
namespace {

constexpr uint8_t ReplyIndexFor(const MessageBody& request) {
  return static_cast<uint8_t>(request.index() + 1);
}

}  // namespace

absl::Status StoreResult::status() const {
  if (stored > 0) return absl::OkStatus();
  std::string reason = absl::StrCat("no node stored the record for key ", key.ShortHex(), ": ",
                                    refused.size(), " refused, ", timeouts, " timed out");
  if (!refused.empty()) {
    absl::StrAppend(&reason, " (first refusal: ", refused.front().second.message(), ")");
  }
  return absl::UnavailableError(reason);
}

Node::Node(const NodeId& self, Config config, Transport& transport, const RecordAuthenticator& auth,
           crypto::Random& rng)
    : self_(self),
      config_(config),
      transport_(transport),
      auth_(auth),
      rng_(rng),
      table_(self, RoutingTable::Options{.k = config.k,
                                         .replacement_cache_size = config.replacement_cache_size,
                                         .max_failures = config.max_failures}),
      store_(RecordStore::Options{.max_records = config.max_records,
                                  .record_ttl = config.record_limits.ttl,
                                  .cache_ttl = config.cache_ttl}),
      limiter_(config.peer_request_rate, config.peer_request_burst, config.max_tracked_peers) {
  config_.k = std::max<size_t>(1, config_.k);
  config_.alpha = std::max<size_t>(1, config_.alpha);
}

Node::~Node() = default;

// ---------------------------------------------------------------------------------------
// Messages

void Node::HandleMessage(const Contact& from, const Message& msg, absl::Time now) {
  if (from.id == self_) {
    GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": dropping " << MessageName(msg.body)
                    << " that claims to come from our own id";
  } else if (IsRequest(msg.body)) {
    unresponsive_.erase(from.id);
    HandleRequest(from, msg, now);
  } else {
    unresponsive_.erase(from.id);
    HandleReply(from, msg, now);
  }
  PruneTimers();
  RunDeferred();
}

void Node::HandleRequest(const Contact& from, const Message& msg, absl::Time now) {
  ++stats_.requests_received;
  if (!limiter_.Allow(from.id, now)) {
    ++stats_.requests_rate_limited;
    GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": dropping " << MessageName(msg.body)
                    << " from " << from.id.ShortHex() << ": over the per-peer request rate ("
                    << config_.peer_request_rate << "/s, burst " << config_.peer_request_burst
                    << ")";
    return;
  }
  OnHeard(from, now);
  Message reply{msg.request_id, Pong{}};
  std::visit(
      Overloaded{
          [&](const kademlia::Ping&) { reply.body = Pong{}; },
          [&](const FindNode& m) { reply.body = FindNodeReply{ClosestFor(m.target, from.id)}; },
          [&](const FindValue& m) {
            if (const RecordStore::Entry* e = store_.Find(m.key, now)) {
              reply.body = FindValueReply{e->record, {}};
            } else {
              reply.body = FindValueReply{std::nullopt, ClosestFor(m.key, from.id)};
            }
          },
          [&](const Store& m) {
            absl::Status s = AcceptRecord(m.record, m.cached, now);
            reply.body = StoreReply{s.code(), std::string(StdView(s.message()))};
          },
          [&](const auto&) {},
      },
      msg.body);
  ++stats_.messages_sent;
  transport_.Send(from, std::move(reply));
}

void Node::HandleReply(const Contact& from, const Message& msg, absl::Time now) {
  ++stats_.replies_received;
  auto it = outstanding_.find(msg.request_id);
  std::string problem;
  if (it == outstanding_.end()) {
    problem = "no outstanding request has this id (late, replayed or unsolicited)";
  } else if (it->second.to != from.id) {
    problem = "the request with this id went to another node";
  } else if (msg.body.index() != it->second.expected_reply) {
    problem = absl::StrCat("wrong reply type for the request, expected ",
                           AbslView(MessageTypeName(it->second.expected_reply)));
  }
  if (!problem.empty()) {
    ++stats_.replies_dropped;
    GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": dropping " << MessageName(msg.body)
                    << " from " << from.id.ShortHex() << " (request id " << msg.request_id
                    << "): " << problem;
    return;
  }
  Outstanding o = it->second;
  outstanding_.erase(it);
  OnHeard(from, now);
  switch (o.purpose) {
    case Purpose::kLookup:
      OnLookupReply(o.owner, from, msg.body, now);
      break;
    case Purpose::kStore: {
      auto op = store_ops_.find(o.owner);
      if (op == store_ops_.end()) break;
      OnStoreOutcome(o.owner, from.id, std::get<StoreReply>(msg.body).status());
      --op->second.pending;
      MaybeFinishStore(o.owner);
      break;
    }
    case Purpose::kUserPing: {
      auto p = ping_ops_.find(o.owner);
      if (p == ping_ops_.end()) break;
      PingCallback done = std::move(p->second);
      ping_ops_.erase(p);
      if (done) Defer([done = std::move(done)] { done(absl::OkStatus()); });
      break;
    }
    case Purpose::kFireAndForget:
      if (const auto* r = std::get_if<StoreReply>(&msg.body); r != nullptr && !r->status().ok()) {
        GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": " << from.id.ShortHex()
                        << " refused a record: " << r->message;
      }
      break;
    case Purpose::kPing:
      break;
  }
}

std::vector<Contact> Node::ClosestFor(const NodeId& target, const NodeId& requester) const {
  std::vector<Contact> out = table_.FindClosest(target, config_.k + 1);
  out.erase(
      std::remove_if(out.begin(), out.end(), [&](const Contact& c) { return c.id == requester; }),
      out.end());
  if (out.size() > config_.k) out.resize(config_.k);
  return out;
}

absl::Status Node::AcceptRecord(const Record& record, bool cached, absl::Time now) {
  absl::Status status = ValidateRecord(record, now, config_.record_limits, auth_);
  if (status.ok()) {
    Key key = RecordKey(record);
    absl::StatusOr<RecordStore::PutResult> put =
        store_.Put(key, record, cached, now, ReplicateJitter(now));
    if (!put.ok()) {
      status = put.status();
    } else if (*put == RecordStore::PutResult::kSame && !cached) {
      // Another holder replicated it to us: skip our own replication this
      // period.
      store_.SetNextReplicate(key, now + config_.replicate_interval);
    }
  }
  if (status.ok()) {
    ++stats_.records_accepted;
  } else {
    ++stats_.records_refused;
    GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": refused " << RecordKindName(record.kind())
                    << " record: " << status;
  }
  return status;
}

// ---------------------------------------------------------------------------------------
// Requests and timers

uint64_t Node::NewRequestId() {
  for (;;) {
    uint64_t id = rng_.NextU64();
    if (id != 0 && !outstanding_.contains(id)) return id;
  }
}

void Node::SendRequest(const Contact& to, MessageBody body, Purpose purpose, uint64_t owner,
                       absl::Time now) {
  uint64_t id = NewRequestId();
  outstanding_.emplace(id, Outstanding{to.id, owner, purpose, ReplyIndexFor(body)});
  timers_.push(Timer{now + config_.request_timeout, id, false});
  if (purpose == Purpose::kLookup && config_.soft_timeout < config_.request_timeout) {
    timers_.push(Timer{now + config_.soft_timeout, id, true});
  }
  ++stats_.messages_sent;
  transport_.Send(to, Message{id, std::move(body)});
}

void Node::ProcessTimers(absl::Time now) {
  while (!timers_.empty() && timers_.top().when <= now) {
    Timer t = timers_.top();
    timers_.pop();
    auto it = outstanding_.find(t.request_id);
    if (it == outstanding_.end()) continue;
    if (t.soft) {
      uint64_t owner = it->second.owner;
      auto l = lookups_.find(owner);
      if (l != lookups_.end()) {
        l->second->lookup.OnSlow(it->second.to);
        AdvanceLookup(owner, now);
      }
      continue;
    }
    Outstanding o = it->second;
    outstanding_.erase(it);
    ++stats_.timeouts;
    GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": request " << t.request_id << " to "
                    << o.to.ShortHex() << " timed out";
    OnRequestFailed(o, now);
  }
}

void Node::OnRequestFailed(const Outstanding& o, absl::Time now) {
  if (unresponsive_.size() >= 4096) {  // forget the expired marks now and then
    for (auto it = unresponsive_.begin(); it != unresponsive_.end();) {
      auto next = std::next(it);
      if (now - it->second >= config_.unresponsive_ttl) unresponsive_.erase(it);
      it = next;
    }
  }
  unresponsive_[o.to] = now;
  bool was_in_table = table_.Contains(o.to);
  std::optional<Contact> promoted = table_.Failed(o.to);
  if (was_in_table && !table_.Contains(o.to)) ++stats_.evictions;
  if (promoted) OnNewContact(*promoted, now);
  switch (o.purpose) {
    case Purpose::kLookup: {
      auto l = lookups_.find(o.owner);
      if (l == lookups_.end()) break;
      ++l->second->stats.timeouts;
      l->second->lookup.OnFailure(o.to);
      AdvanceLookup(o.owner, now);
      break;
    }
    case Purpose::kStore: {
      auto op = store_ops_.find(o.owner);
      if (op == store_ops_.end()) break;
      ++op->second.result.timeouts;
      --op->second.pending;
      MaybeFinishStore(o.owner);
      break;
    }
    case Purpose::kUserPing: {
      auto p = ping_ops_.find(o.owner);
      if (p == ping_ops_.end()) break;
      PingCallback done = std::move(p->second);
      ping_ops_.erase(p);
      std::string who = o.to.ShortHex();
      absl::Duration timeout = config_.request_timeout;
      if (done) {
        Defer([done = std::move(done), who, timeout] {
          done(absl::DeadlineExceededError(
              absl::StrCat("no PONG from ", who, " within ", absl::FormatDuration(timeout))));
        });
      }
      break;
    }
    case Purpose::kPing:
    case Purpose::kFireAndForget:
      break;
  }
}

void Node::PruneTimers() {
  while (!timers_.empty() && !outstanding_.contains(timers_.top().request_id)) timers_.pop();
}

absl::Time Node::Tick(absl::Time now) {
  ProcessTimers(now);
  for (const NodeId& target :
       table_.TakeRefreshTargets(now, config_.bucket_refresh_interval, rng_)) {
    StartLookup(target, /*find_value=*/false, {}, now, nullptr);
  }
  for (const Key& key : store_.TakeDue(now, config_.replicate_interval)) Replicate(key, now);
  if (now >= next_limiter_prune_) {
    limiter_.Prune(now);
    next_limiter_prune_ = now + absl::Minutes(1);
  }
  std::vector<Key> republish;
  for (const auto& [key, p] : published_) {
    if (p.next <= now) republish.push_back(key);
  }
  for (const Key& key : republish) {
    auto it = published_.find(key);
    if (it == published_.end()) continue;
    it->second.next = now + config_.republish_interval;
    RecordSource source = it->second.source;  // the source may Unpublish
    absl::StatusOr<Record> record = source(now);
    absl::Status s = record.ok() ? StartStore(*record, now, nullptr) : record.status();
    if (!s.ok()) {
      GNR_LOG(kWarning) << "dht " << self_.ShortHex() << ": cannot republish record "
                        << key.ShortHex() << ": " << s;
    }
  }
  PruneTimers();
  RunDeferred();
  return NextWakeup();
}

absl::Time Node::NextWakeup() const {
  if (!deferred_.empty()) return absl::InfinitePast();
  absl::Time t = absl::InfiniteFuture();
  if (!timers_.empty()) t = std::min(t, timers_.top().when);
  t = std::min(t, table_.NextRefresh(config_.bucket_refresh_interval));
  t = std::min(t, store_.NextEvent());
  for (const auto& [key, p] : published_) t = std::min(t, p.next);
  return t;
}

void Node::RunDeferred() {
  while (!deferred_.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(deferred_);
    for (std::function<void()>& fn : batch) fn();
  }
}

// ---------------------------------------------------------------------------------------
// Lookups

LookupHandle Node::StartFindNode(const NodeId& target, absl::Time now, LookupCallback done) {
  return StartLookup(target, /*find_value=*/false, {}, now,
                     [this, done = std::move(done)](LookupResult r, absl::Time) {
                       if (done) Defer([done, r = std::move(r)] { done(r); });
                     });
}

LookupHandle Node::StartFindValue(const Key& key, absl::Time now, LookupCallback done) {
  return StartLookup(key, /*find_value=*/true, {}, now,
                     [this, done = std::move(done)](LookupResult r, absl::Time) {
                       if (done) Defer([done, r = std::move(r)] { done(r); });
                     });
}

LookupHandle Node::Bootstrap(std::span<const Contact> seeds, absl::Time now, LookupCallback done) {
  quiet_until_ = now + config_.join_quiet_period;
  return StartLookup(self_, /*find_value=*/false, seeds, now,
                     [this, done = std::move(done)](LookupResult r, absl::Time) {
                       // Joined: refresh every bucket on the next Tick (the paper's join).
                       if (!r.closest.empty()) table_.ForgetLookups();
                       if (done) Defer([done, r = std::move(r)] { done(r); });
                     });
}

void Node::Cancel(LookupHandle handle) { lookups_.erase(handle); }

LookupHandle Node::StartLookup(const NodeId& target, bool find_value,
                               std::span<const Contact> extra_seeds, absl::Time now,
                               LookupDone done) {
  uint64_t id = next_op_id_++;
  auto op = std::make_unique<LookupOp>(self_, target, config_.k, config_.alpha);
  op->find_value = find_value;
  op->done = std::move(done);
  op->started = now;
  op->lookup.AddCandidates(table_.FindClosest(target, config_.k), 0);
  if (!extra_seeds.empty()) {
    std::vector<Contact> seeds;
    for (const Contact& c : extra_seeds) {
      if (!c.endpoint.empty()) seeds.push_back(c);
    }
    op->lookup.AddCandidates(seeds, 0);
  }
  table_.MarkLookup(target, now);
  ++stats_.lookups_started;
  lookups_.emplace(id, std::move(op));
  AdvanceLookup(id, now);
  return id;
}

void Node::AdvanceLookup(uint64_t id, absl::Time now) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  LookupOp& op = *it->second;
  const NodeId& target = op.lookup.target();
  // A node that recently let a request time out counts as failed at once, and its slot
  // goes to the next candidate (so one dead node does not cost every lookup a timeout).
  for (bool skipped = true; skipped;) {
    skipped = false;
    for (const Contact& c : op.lookup.NextQueries()) {
      auto silent = unresponsive_.find(c.id);
      if (silent != unresponsive_.end() && now - silent->second < config_.unresponsive_ttl) {
        op.lookup.OnFailure(c.id);
        ++stats_.unresponsive_skipped;
        skipped = true;
        continue;
      }
      MessageBody body =
          op.find_value ? MessageBody(FindValue{target}) : MessageBody(FindNode{target});
      SendRequest(c, std::move(body), Purpose::kLookup, id, now);
      ++op.stats.queries;
    }
  }
  if (op.lookup.Finished()) FinishLookup(id, now);
}

void Node::OnLookupReply(uint64_t id, const Contact& from, const MessageBody& body,
                         absl::Time now) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;  // cancelled or already finished
  LookupOp& op = *it->second;
  ++op.stats.replies;
  const std::vector<Contact>* closer = nullptr;
  const Record* record = nullptr;
  if (const auto* r = std::get_if<FindNodeReply>(&body)) {
    closer = &r->closer;
  } else {
    const auto& v = std::get<FindValueReply>(body);
    closer = &v.closer;
    if (v.record) record = &*v.record;
  }
  if (record != nullptr) {
    absl::Status s = op.find_value ? ValidateRecord(*record, now, config_.record_limits, auth_)
                                   : absl::InvalidArgumentError("record in a FIND_NODE reply");
    if (s.ok() && RecordKey(*record) != op.lookup.target()) {
      s = absl::InvalidArgumentError(
          absl::StrCat("record key ", RecordKey(*record).ShortHex(), " is not the requested key"));
    }
    if (!s.ok()) {
      ++stats_.bad_records_received;
      GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": bad record from " << from.id.ShortHex()
                      << ": " << s;
      op.lookup.OnFailure(from.id);
      AdvanceLookup(id, now);
      return;
    }
    op.lookup.OnReply(from.id, {});
    op.record = *record;
    op.record_from = from.id;
    FinishLookup(id, now);
    return;
  }
  std::vector<Contact> usable;
  usable.reserve(std::min(closer->size(), config_.k));
  if (closer->size() > config_.k) {
    GNR_LOG(kDebug) << "dht " << self_.ShortHex() << ": " << from.id.ShortHex() << " sent "
                    << closer->size() << " contacts, using the first " << config_.k;
  }
  for (size_t i = 0; i < closer->size() && i < config_.k; ++i) {
    const Contact& c = (*closer)[i];
    if (!c.endpoint.empty() && c.id != self_) usable.push_back(c);
  }
  op.lookup.OnReply(from.id, usable);
  AdvanceLookup(id, now);
}

void Node::FinishLookup(uint64_t id, absl::Time now) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  std::unique_ptr<LookupOp> op = std::move(it->second);
  lookups_.erase(it);
  const Lookup& lookup = op->lookup;
  LookupResult r;
  r.target = lookup.target();
  r.closest = lookup.Closest(config_.k);
  r.stats = op->stats;
  r.stats.elapsed = now - op->started;
  r.stats.rounds = lookup.Rounds();
  if (op->record) {
    r.status = absl::OkStatus();
    const Lookup::Candidate* c = lookup.Find(op->record_from);
    r.stats.hops = c != nullptr ? c->depth + 1 : 1;
    // Cache along the lookup path: at the closest node that answered without
    // the value.
    for (const Contact& n : r.closest) {
      if (n.id == op->record_from) continue;
      SendRequest(n, Store{*op->record, /*cached=*/true}, Purpose::kFireAndForget, 0, now);
      break;
    }
    r.record = std::move(op->record);
  } else {
    if (!r.closest.empty()) {
      const Lookup::Candidate* c = lookup.Find(r.closest.front().id);
      r.stats.hops = c != nullptr ? c->depth + 1 : 1;
    }
    const RecordStore::Entry* local = op->find_value ? store_.Find(r.target, now) : nullptr;
    if (local != nullptr) {
      r.record = local->record;
      r.status = absl::OkStatus();
    } else if (r.closest.empty()) {
      r.status = absl::UnavailableError(
          absl::StrCat("lookup for ", r.target.ShortHex(), ": no node answered (", r.stats.queries,
                       " queried, ", r.stats.timeouts, " timed out)"));
    } else if (op->find_value) {
      r.status = absl::NotFoundError(absl::StrCat("no record for key ", r.target.ShortHex(),
                                                  " at the ", r.closest.size(), " closest nodes"));
    } else {
      r.status = absl::OkStatus();
    }
  }
  if (op->done) op->done(std::move(r), now);
}

// ---------------------------------------------------------------------------------------
// Stores

absl::Status Node::StartStore(const Record& record, absl::Time now, StoreCallback done) {
  absl::Status valid = ValidateRecord(record, now, config_.record_limits, auth_);
  if (!valid.ok()) return valid;
  uint64_t op_id = next_op_id_++;
  StoreOp& op = store_ops_[op_id];
  op.record = record;
  op.result.key = RecordKey(record);
  op.done = std::move(done);
  Key key = op.result.key;
  StartLookup(key, /*find_value=*/false, {}, now,
              [this, op_id](LookupResult r, absl::Time t) { ContinueStore(op_id, r, t); });
  return absl::OkStatus();
}

void Node::ContinueStore(uint64_t op_id, const LookupResult& located, absl::Time now) {
  auto it = store_ops_.find(op_id);
  if (it == store_ops_.end()) return;
  it->second.result.lookup = located.stats;
  const Key key = it->second.result.key;
  const Record record = it->second.record;
  const std::vector<Contact>& targets = located.closest;
  if (targets.size() < config_.k || CloserTo(key, self_, targets.back().id)) {
    OnStoreOutcome(op_id, self_, AcceptRecord(record, /*cached=*/false, now));
  }
  for (const Contact& c : targets) {
    SendRequest(c, Store{record, /*cached=*/false}, Purpose::kStore, op_id, now);
    ++store_ops_[op_id].pending;
  }
  MaybeFinishStore(op_id);
}

void Node::OnStoreOutcome(uint64_t op_id, const NodeId& who, const absl::Status& status) {
  auto it = store_ops_.find(op_id);
  if (it == store_ops_.end()) return;
  if (status.ok()) {
    ++it->second.result.stored;
  } else {
    it->second.result.refused.emplace_back(who, status);
  }
}

void Node::MaybeFinishStore(uint64_t op_id) {
  auto it = store_ops_.find(op_id);
  if (it == store_ops_.end() || it->second.pending > 0) return;
  StoreOp op = std::move(it->second);
  store_ops_.erase(it);
  if (op.done) {
    Defer([done = std::move(op.done), result = std::move(op.result)] { done(result); });
  } else if (op.result.stored == 0) {
    GNR_LOG(kWarning) << "dht " << self_.ShortHex() << ": " << op.result.status();
  }
}

absl::Status Node::Publish(RecordSource source, absl::Time now, StoreCallback done) {
  if (!source) return absl::InvalidArgumentError("Publish needs a record source");
  absl::StatusOr<Record> record = source(now);
  if (!record.ok()) return record.status();
  absl::Status s = StartStore(*record, now, std::move(done));
  if (!s.ok()) return s;
  published_[RecordKey(*record)] = Published{std::move(source), now + config_.republish_interval};
  return absl::OkStatus();
}

void Node::Unpublish(const Key& key) { published_.erase(key); }

void Node::Ping(const Contact& to, absl::Time now, PingCallback done) {
  uint64_t op_id = next_op_id_++;
  ping_ops_[op_id] = std::move(done);
  SendRequest(to, kademlia::Ping{}, Purpose::kUserPing, op_id, now);
}

// ---------------------------------------------------------------------------------------
// Routing table upkeep and record redistribution

void Node::OnHeard(const Contact& contact, absl::Time now) {
  RoutingTable::HeardOutcome h = table_.Heard(contact, now);
  if (h.result == RoutingTable::HeardResult::kAdded) OnNewContact(contact, now);
  if (h.ping) SendRequest(*h.ping, kademlia::Ping{}, Purpose::kPing, 0, now);
}

void Node::OnNewContact(const Contact& contact, absl::Time now) {
  if (store_.size() == store_.cached_count() || now < quiet_until_) return;
  std::vector<Record> to_send;
  store_.ForEach([&](const Key& key, const RecordStore::Entry& e) {
    if (e.cached || e.expires <= now) return;
    // The newcomer must be among the k closest to the key that we know of ...
    if (table_.CountCloser(key, contact.id, config_.k) >= config_.k) return;
    // ... and we send only if no other known node is closer to the key than we
    // are, so that one holder (not all k) transfers the record.
    size_t closer_than_us = table_.CountCloser(key, self_, 2);
    if (CloserTo(key, contact.id, self_)) --closer_than_us;
    if (closer_than_us > 0) return;
    to_send.push_back(e.record);
  });
  for (Record& r : to_send) {
    ++stats_.redistributions_sent;
    SendRequest(contact, Store{std::move(r), /*cached=*/false}, Purpose::kFireAndForget, 0, now);
  }
}

void Node::Replicate(const Key& key, absl::Time now) {
  const RecordStore::Entry* e = store_.Find(key, now);
  if (e == nullptr || e->cached) return;
  // Locate the k closest live nodes with a lookup rather than trusting our
  // routing table: right after churn it still lists dead nodes, and may miss
  // newcomers.
  StartLookup(key, /*find_value=*/false, {}, now, [this, key](LookupResult located, absl::Time t) {
    const RecordStore::Entry* held = store_.Find(key, t);
    if (held == nullptr || held->cached) return;
    Record record = held->record;
    for (const Contact& c : located.closest) {
      ++stats_.replications_sent;
      SendRequest(c, Store{record, /*cached=*/false}, Purpose::kFireAndForget, 0, t);
    }
  });
}

absl::Time Node::ReplicateJitter(absl::Time now) {
  // Uniform in [interval / 2, interval): holders of a record do not all
  // replicate at once.
  double u = static_cast<double>(rng_.NextU64() >> 11) / static_cast<double>(uint64_t{1} << 53);
  return now + config_.replicate_interval * (0.5 + 0.5 * u);
}

}  // namespace gnr::kademlia
