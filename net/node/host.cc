#include "net/node/host.h"

#include <future>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/kdf.h"
#include "net/kademlia/secp256k1_authenticator.h"
#include "net/wire/dht_codec.h"
#include "net/wire/frame.h"

namespace gnr::node {
namespace {

using kademlia::Contact;
using kademlia::ContactRecord;
using kademlia::NodeId;
using kademlia::Record;

constexpr size_t kMaxVerifiedContacts = 100'000;
// Our own record is re-signed when older than this (records live Config::record_limits.ttl).
constexpr absl::Duration kSelfRecordRefresh = absl::Hours(6);

std::string Who(const net_zmq::PeerInfo& from) {
  return absl::StrCat(from.address.empty() ? "?" : from.address, " key ",
                      net_zmq::ShortKey(from.curve_key));
}

}  // namespace

absl::StatusOr<Record> MakeContactRecord(const crypto::PrivateKey& key,
                                         const net_zmq::CurveKey& curve_key,
                                         std::vector<std::string> endpoints, absl::Time time) {
  ContactRecord c;
  c.node_id = kademlia::NodeIdOfPublicKey(key.GetPublicKey().Compressed());
  c.curve_key = curve_key;
  c.endpoints = std::move(endpoints);
  c.version = kProtocolVersion;
  c.time = absl::FromUnixMicros(absl::ToUnixMicros(time));
  Record record{std::move(c), {}};
  GNR_RETURN_IF_ERROR(kademlia::SignRecord(key, record));
  return record;
}

absl::StatusOr<Contact> ContactFromRecord(const Record& record) {
  const auto* c = std::get_if<ContactRecord>(&record.body);
  if (c == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a contact record, got a ", AbslView(kademlia::RecordKindName(record.kind()))));
  }
  Contact contact{c->node_id, "", c->curve_key};
  for (const std::string& e : c->endpoints) {
    if (net_zmq::ValidatePeerEndpoint(e).ok()) {
      contact.endpoint = e;
      break;
    }
  }
  return contact;
}

// Everything behind Host. Members marked "DHT thread" are touched only there.
class Host::Impl final : public kademlia::Transport {
 public:
  explicit Impl(HostOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : SystemClockInstance()),
        random_(options_.random != nullptr ? *options_.random : crypto::OsRandom()),
        id_(kademlia::NodeIdOfPublicKey(options_.node_key.GetPublicKey().Compressed())) {}

  ~Impl() override { Shutdown(); }

  absl::Status Start(Contact& contact) {
    if (!options_.curve_keys.has_value()) {
      GNR_ASSIGN_OR_RETURN(
          net_zmq::CurveKey secret,
          crypto::HkdfSha256Fixed<32>(options_.node_key.bytes(), {}, AsBytes("gnr curve")));
      GNR_ASSIGN_OR_RETURN(options_.curve_keys, net_zmq::CurveKeyPairFromSecret(secret));
    }
    for (const std::string& e : options_.advertised_endpoints) {
      if (absl::Status s = net_zmq::ValidatePeerEndpoint(e); !s.ok()) {
        return Annotate(s, absl::StrCat("advertised endpoint \"", e, "\""));
      }
    }
    net_zmq::Options t = std::move(options_.transport);
    t.bind_endpoint = options_.bind_endpoint;
    t.keys = *options_.curve_keys;
    t.clock = options_.clock;
    t.handler = [this](const net_zmq::PeerInfo& from, net_zmq::Message request,
                       net_zmq::Responder responder) {
      OnRequest(from, std::move(request), std::move(responder));
    };
    GNR_ASSIGN_OR_RETURN(transport_, net_zmq::Transport::Start(std::move(t)));
    if (options_.advertise) {
      endpoints_ = options_.advertised_endpoints;
      if (endpoints_.empty()) endpoints_.push_back(transport_->endpoint());
    }
    GNR_ASSIGN_OR_RETURN(Record self, MakeContactRecord(options_.node_key, transport_->public_key(),
                                                        endpoints_, clock_.Now()));
    {
      absl::MutexLock lock(&self_mu_);
      self_record_ = self;
    }
    GNR_ASSIGN_OR_RETURN(contact, ContactFromRecord(self));
    node_ = std::make_unique<kademlia::Node>(id_, options_.dht, *this, auth_, random_);
    thread_ = std::thread([this] { ThreadLoop(); });
    return absl::OkStatus();
  }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
    if (transport_) transport_->Stop();
    std::vector<absl::AnyInvocable<void()>> dropped;
    {
      absl::MutexLock lock(&mu_);
      dropped.swap(tasks_);
    }
    dropped.clear();
  }

  net_zmq::Transport* transport() const { return transport_.get(); }
  const NodeId& id() const { return id_; }
  const crypto::PrivateKey& node_key() const { return options_.node_key; }

  Record SelfRecord() {
    absl::MutexLock lock(&self_mu_);
    return self_record_;
  }

  // --- posting to the DHT thread -------------------------------------------------------------

  void PostTask(absl::AnyInvocable<void()> task) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // dropped (destroyed outside the lock by the caller's copy)
    tasks_.push_back(std::move(task));
  }

  void ThreadLoop() {
    while (true) {
      std::vector<absl::AnyInvocable<void()>> tasks;
      {
        absl::MutexLock lock(&mu_);
        const absl::Time now = clock_.Now();
        absl::Duration wait = std::clamp(wakeup_ - now, absl::ZeroDuration(), absl::Seconds(1));
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) {
                                   return impl->stopping_ || !impl->tasks_.empty();
                                 },
                                 this),
                             wait);
        if (stopping_) return;
        tasks.swap(tasks_);
      }
      for (auto& task : tasks) task();
      tasks.clear();
      const absl::Time now = clock_.Now();
      if (now >= node_->NextWakeup()) node_->Tick(now);
      absl::MutexLock lock(&mu_);
      wakeup_ = node_->NextWakeup();
    }
  }

  // --- contact records (DHT thread) ----------------------------------------------------------

  // Verifies a contact record (signature, owner, validity time), using the cache.
  absl::Status Verify(const Record& record) {
    const auto* c = std::get_if<ContactRecord>(&record.body);
    if (c == nullptr) return absl::UnauthenticatedError("not a contact record");
    auto it = verified_.find(c->node_id);
    if (it != verified_.end() && it->second == record) {
      if (clock_.Now() < kademlia::RecordExpiry(record, options_.dht.record_limits)) {
        return absl::OkStatus();
      }
    }
    ++signature_checks_;
    GNR_RETURN_IF_ERROR(
        kademlia::ValidateRecord(record, clock_.Now(), options_.dht.record_limits, auth_));
    if (it == verified_.end()) {
      if (verified_.size() >= kMaxVerifiedContacts) verified_.clear();
      verified_.emplace(c->node_id, record);
    } else if (record.time() >= it->second.time()) {
      it->second = record;
    }
    return absl::OkStatus();
  }

  // --- incoming requests (loop thread) -------------------------------------------------------

  void OnRequest(const net_zmq::PeerInfo& from, net_zmq::Message request,
                 net_zmq::Responder responder) {
    absl::StatusOr<wire::Protocol> protocol = wire::PeekProtocol(request.header);
    if (!protocol.ok()) {
      return Refuse(from, "request", protocol.status(), responder);
    }
    if (*protocol == wire::Protocol::kShard) {
      if (options_.shard_handler) {
        return options_.shard_handler(from, std::move(request), std::move(responder));
      }
      responder.RespondError(absl::UnimplementedError("this node serves no shards"));
      return;
    }
    absl::StatusOr<wire::DhtFrame> frame = wire::DecodeDhtFrame(request.header);
    if (!frame.ok()) return Refuse(from, "DHT request", frame.status(), responder);
    if (!kademlia::IsRequest(frame->message.body)) {
      return Refuse(
          from, "DHT request",
          absl::InvalidArgumentError(absl::StrCat(
              "expected a request, got ", AbslView(kademlia::MessageName(frame->message.body)))),
          responder);
    }
    if (!request.payload.empty()) {
      return Refuse(from, "DHT request",
                    absl::InvalidArgumentError("DHT requests carry no payload"), responder);
    }
    PostTask([this, from, frame = *std::move(frame), responder]() mutable {
      HandleRequest(from, std::move(frame), responder);
    });
  }

  void Refuse(const net_zmq::PeerInfo& from, std::string_view what, const absl::Status& status,
              const net_zmq::Responder& responder) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    GNR_LOG(kWarning) << "node " << id_.ShortHex() << ": refused " << what << " from " << Who(from)
                      << ": " << status.message();
    responder.RespondError(status);
  }

  // DHT thread.
  void HandleRequest(const net_zmq::PeerInfo& from, wire::DhtFrame frame,
                     const net_zmq::Responder& responder) {
    const std::string_view name = kademlia::MessageName(frame.message.body);
    const Record& sender = *frame.sender;  // the decoder requires it in requests
    const auto& c = std::get<ContactRecord>(sender.body);
    if (c.curve_key != from.curve_key) {
      return Refuse(
          from, name,
          absl::UnauthenticatedError(absl::StrCat(
              "sender's contact record for node ", c.node_id.ShortHex(), " has curve key ",
              net_zmq::ShortKey(c.curve_key), " but the connection is authenticated with ",
              net_zmq::ShortKey(from.curve_key), " (spoofed node id?)")),
          responder);
    }
    if (absl::Status s = Verify(sender); !s.ok()) {
      return Refuse(from, name,
                    absl::UnauthenticatedError(
                        absl::StrCat("sender's contact record refused: ", s.message())),
                    responder);
    }
    absl::StatusOr<Contact> contact = ContactFromRecord(sender);
    if (!contact.ok()) return Refuse(from, name, contact.status(), responder);
    current_ = Current{contact->id, frame.message.request_id, &responder};
    node_->HandleMessage(*contact, frame.message, clock_.Now());
    const bool answered = current_.responder == nullptr;
    current_ = Current{};
    if (!answered) {
      // The node dropped it (per-peer rate limit): say so rather than let it time out.
      responder.RespondError(absl::ResourceExhaustedError("DHT request rate limit exceeded"));
    }
  }

  // kademlia::Transport, DHT thread.
  void Send(const Contact& to, kademlia::Message msg) override {
    const absl::Time now = clock_.Now();
    wire::DhtFrame frame;
    frame.sender = FreshSelfRecord(now);
    if (!kademlia::IsRequest(msg.body)) {
      if (current_.responder == nullptr || current_.to != to.id ||
          current_.request_id != msg.request_id) {
        GNR_LOG(kDebug) << "node " << id_.ShortHex() << ": no pending request for reply "
                        << kademlia::MessageName(msg.body) << " to " << to.id.ShortHex();
        return;
      }
      AttachContactRecords(msg, frame.contact_records);
      frame.message = std::move(msg);
      absl::StatusOr<Bytes> header = wire::EncodeDhtFrame(frame);
      const net_zmq::Responder& responder = *current_.responder;
      current_.responder = nullptr;
      if (!header.ok()) {
        GNR_LOG(kWarning) << "node " << id_.ShortHex()
                          << ": cannot encode reply: " << header.status().message();
        responder.RespondError(absl::InternalError("reply could not be encoded"));
        return;
      }
      responder.Respond(net_zmq::Message{*std::move(header), {}});
      return;
    }
    if (to.endpoint.empty()) return;  // not callable; the Node will see a timeout
    frame.message = std::move(msg);
    absl::StatusOr<Bytes> header = wire::EncodeDhtFrame(frame);
    if (!header.ok()) {
      GNR_LOG(kWarning) << "node " << id_.ShortHex()
                        << ": cannot encode request: " << header.status().message();
      return;
    }
    SendRaw(to, *std::move(header), [this, to](absl::StatusOr<wire::DhtFrame> reply) {
      if (!reply.ok()) return;
      HandleReply(to, *std::move(reply));
    });
  }

  // Sends a DHT request; `done` runs on the DHT thread with the decoded reply (or the error).
  void SendRaw(const Contact& to, Bytes header,
               absl::AnyInvocable<void(absl::StatusOr<wire::DhtFrame>)> done) {
    transport_->SendRequest(
        net_zmq::PeerAddress{to.endpoint, to.curve_key}, net_zmq::Message{std::move(header), {}},
        options_.dht.request_timeout + absl::Seconds(1),
        [this, to, done = std::move(done)](absl::StatusOr<net_zmq::Message> reply) mutable {
          absl::StatusOr<wire::DhtFrame> frame;
          if (!reply.ok()) {
            GNR_LOG(kDebug) << "node " << id_.ShortHex() << ": request to " << to.endpoint
                            << " failed: " << reply.status().message();
            frame = reply.status();
          } else {
            frame = wire::DecodeDhtFrame(reply->header);
            if (frame.ok() && kademlia::IsRequest(frame->message.body)) {
              frame = absl::InvalidArgumentError("a request where a reply was expected");
            }
            if (!frame.ok()) {
              dropped_replies_.fetch_add(1, std::memory_order_relaxed);
              GNR_LOG(kWarning) << "node " << id_.ShortHex() << ": dropped reply from "
                                << to.endpoint << ": " << frame.status().message();
            }
          }
          PostTask([frame = std::move(frame), done = std::move(done)]() mutable {
            done(std::move(frame));
          });
        });
  }

  // DHT thread: checks a reply's records, then hands it to the Node.
  void HandleReply(const Contact& to, wire::DhtFrame frame) {
    if (frame.sender.has_value()) {
      const auto& c = std::get<ContactRecord>(frame.sender->body);
      absl::Status s = c.node_id != to.id ? absl::UnauthenticatedError(absl::StrCat(
                                                "record is for node ", c.node_id.ShortHex()))
                       : c.curve_key != to.curve_key
                           ? absl::UnauthenticatedError("record has another curve key")
                           : Verify(*frame.sender);
      if (!s.ok()) {
        dropped_replies_.fetch_add(1, std::memory_order_relaxed);
        GNR_LOG(kWarning) << "node " << id_.ShortHex() << ": dropped reply from "
                          << to.id.ShortHex() << " (" << to.endpoint
                          << "): sender record refused: " << s.message();
        return;
      }
    }
    FilterContacts(frame);
    node_->HandleMessage(to, frame.message, clock_.Now());
  }

  // Keeps only the contacts whose records verify, rebuilt from the records.
  void FilterContacts(wire::DhtFrame& frame) {
    std::vector<Contact>* closer = nullptr;
    if (auto* r = std::get_if<kademlia::FindNodeReply>(&frame.message.body)) closer = &r->closer;
    if (auto* r = std::get_if<kademlia::FindValueReply>(&frame.message.body)) closer = &r->closer;
    if (closer == nullptr) return;
    closer->clear();
    for (const Record& record : frame.contact_records) {
      absl::Status s = Verify(record);
      absl::StatusOr<Contact> contact = ContactFromRecord(record);
      if (!s.ok() || !contact.ok() || contact->id == id_) {
        if (!s.ok()) {
          ++dropped_contacts_;
          GNR_LOG(kDebug) << "node " << id_.ShortHex() << ": dropped a contact: " << s.message();
        }
        continue;
      }
      closer->push_back(*std::move(contact));
    }
  }

  // For a reply with contacts: the verified record of each contact; contacts without one
  // are left out.
  void AttachContactRecords(kademlia::Message& msg, std::vector<Record>& records) {
    std::vector<Contact>* closer = nullptr;
    if (auto* r = std::get_if<kademlia::FindNodeReply>(&msg.body)) closer = &r->closer;
    if (auto* r = std::get_if<kademlia::FindValueReply>(&msg.body)) closer = &r->closer;
    if (closer == nullptr) return;
    std::vector<Contact> kept;
    for (const Contact& c : *closer) {
      auto it = verified_.find(c.id);
      if (it == verified_.end()) continue;
      kept.push_back(c);
      records.push_back(it->second);
      if (kept.size() == options_.dht.k) break;
    }
    *closer = std::move(kept);
  }

  Record FreshSelfRecord(absl::Time now) {
    absl::MutexLock lock(&self_mu_);
    if (now - self_record_.time() >= kSelfRecordRefresh) {
      absl::StatusOr<Record> r =
          MakeContactRecord(options_.node_key, transport_->public_key(), endpoints_, now);
      if (r.ok()) self_record_ = *std::move(r);
    }
    return self_record_;
  }

  // --- public operations ---------------------------------------------------------------------

  void Bootstrap(std::vector<BootstrapSeed> seeds, absl::AnyInvocable<void(absl::Status)> done) {
    if (seeds.empty()) {
      // The first node of a network: nothing to join; hold our own contact record.
      auto shared = std::make_shared<absl::AnyInvocable<void(absl::Status)>>(std::move(done));
      PostTask([this, shared] {
        if (!endpoints_.empty()) PublishSelf();
        (*shared)(absl::OkStatus());
      });
      return;
    }
    auto state = std::make_shared<BootstrapState>();
    state->done = std::move(done);
    state->pending = seeds.size() + 1;
    PostTask([this, state, seeds = std::move(seeds)]() mutable {
      for (BootstrapSeed& seed : seeds) {
        if (auto* record = std::get_if<Record>(&seed)) {
          absl::Status s = Verify(*record);
          absl::StatusOr<Contact> c = ContactFromRecord(*record);
          if (s.ok() && c.ok() && !c->endpoint.empty()) {
            state->contacts.push_back(*c);
          } else {
            state->errors.push_back(s.ok() ? std::string("seed record has no usable endpoint")
                                           : std::string(s.message()));
          }
          SeedDone(state);
          continue;
        }
        const BootstrapPeer peer = std::get<BootstrapPeer>(seed);
        PingEndpoint(peer, [this, state, peer](absl::StatusOr<Contact> c) {
          if (c.ok()) {
            state->contacts.push_back(*c);
          } else {
            state->errors.push_back(absl::StrCat(peer.endpoint, ": ", c.status().message()));
          }
          SeedDone(state);
        });
      }
      SeedDone(state);
    });
  }

  struct BootstrapState {
    absl::AnyInvocable<void(absl::Status)> done;
    size_t pending = 0;
    std::vector<Contact> contacts;
    std::vector<std::string> errors;
  };

  // DHT thread.
  void SeedDone(const std::shared_ptr<BootstrapState>& state) {
    if (--state->pending > 0) return;
    if (state->contacts.empty()) {
      std::string reasons;
      for (const std::string& e : state->errors) absl::StrAppend(&reasons, "; ", e);
      state->done(absl::UnavailableError(absl::StrCat("no bootstrap seed answered", reasons)));
      return;
    }
    auto shared_done =
        std::make_shared<absl::AnyInvocable<void(absl::Status)>>(std::move(state->done));
    node_->Bootstrap(state->contacts, clock_.Now(),
                     [this, shared_done](const kademlia::LookupResult& r) {
                       if (!endpoints_.empty()) PublishSelf();
                       (*shared_done)(r.closest.empty() ? r.status : absl::OkStatus());
                     });
  }

  // DHT thread: publish our contact record (republished every 24 h with a fresh one).
  void PublishSelf() {
    if (self_published_) return;
    self_published_ = true;
    absl::Status s = node_->Publish(
        [this](absl::Time now) -> absl::StatusOr<Record> {
          GNR_ASSIGN_OR_RETURN(
              Record r,
              MakeContactRecord(options_.node_key, transport_->public_key(), endpoints_, now));
          absl::MutexLock lock(&self_mu_);
          self_record_ = r;
          return r;
        },
        clock_.Now(),
        [this](const kademlia::StoreResult& r) {
          GNR_LOG(kInfo) << "node " << id_.ShortHex() << ": contact record published on "
                         << r.stored << " nodes";
        });
    if (!s.ok()) {
      GNR_LOG(kWarning) << "cannot publish contact record: " << s.message();
    }
  }

  // DHT thread: PING an endpoint outside the Node to learn the id behind it.
  void PingEndpoint(const BootstrapPeer& peer,
                    absl::AnyInvocable<void(absl::StatusOr<Contact>)> done) {
    if (absl::Status s = net_zmq::ValidatePeerEndpoint(peer.endpoint); !s.ok()) return done(s);
    wire::DhtFrame frame;
    frame.sender = FreshSelfRecord(clock_.Now());
    frame.message = kademlia::Message{random_.NextU64(), kademlia::Ping{}};
    absl::StatusOr<Bytes> header = wire::EncodeDhtFrame(frame);
    if (!header.ok()) return done(header.status());
    Contact to{NodeId(), peer.endpoint, peer.curve_key};
    SendRaw(to, *std::move(header),
            [this, peer, done = std::move(done)](absl::StatusOr<wire::DhtFrame> reply) mutable {
              if (!reply.ok()) return done(reply.status());
              if (!std::holds_alternative<kademlia::Pong>(reply->message.body) ||
                  !reply->sender.has_value()) {
                return done(absl::InvalidArgumentError("seed did not answer PING with its record"));
              }
              const auto& c = std::get<ContactRecord>(reply->sender->body);
              if (c.curve_key != peer.curve_key) {
                return done(absl::UnauthenticatedError("seed's record has another curve key"));
              }
              if (absl::Status s = Verify(*reply->sender); !s.ok()) return done(s);
              absl::StatusOr<Contact> contact = ContactFromRecord(*reply->sender);
              if (!contact.ok()) return done(contact.status());
              // Reach it where we reached it.
              contact->endpoint = peer.endpoint;
              done(*std::move(contact));
            });
  }

  void FindNode(const NodeId& target, HostCallback<std::vector<Contact>> done) {
    auto shared = std::make_shared<HostCallback<std::vector<Contact>>>(std::move(done));
    PostTask([this, target, shared] {
      node_->StartFindNode(target, clock_.Now(), [shared](const kademlia::LookupResult& r) {
        if (r.closest.empty()) {
          (*shared)(r.status.ok() ? absl::UnavailableError("no node answered") : r.status);
        } else {
          (*shared)(r.closest);
        }
      });
    });
  }

  void FindValue(const kademlia::Key& key, HostCallback<Record> done) {
    auto shared = std::make_shared<HostCallback<Record>>(std::move(done));
    PostTask([this, key, shared] {
      node_->StartFindValue(key, clock_.Now(), [shared](const kademlia::LookupResult& r) {
        if (r.record.has_value()) return (*shared)(*r.record);
        (*shared)(r.status.ok() ? absl::NotFoundError("no record under the key") : r.status);
      });
    });
  }

  void Store(Record record, absl::AnyInvocable<void(absl::Status)> done) {
    auto shared = std::make_shared<absl::AnyInvocable<void(absl::Status)>>(std::move(done));
    PostTask([this, record = std::move(record), shared] {
      absl::Status s =
          node_->StartStore(record, clock_.Now(),
                            [shared](const kademlia::StoreResult& r) { (*shared)(r.status()); });
      if (!s.ok()) (*shared)(s);
    });
  }

  void Publish(kademlia::RecordSource source, absl::AnyInvocable<void(absl::Status)> done) {
    auto shared = std::make_shared<absl::AnyInvocable<void(absl::Status)>>(std::move(done));
    PostTask([this, source = std::move(source), shared] {
      absl::Status s =
          node_->Publish(source, clock_.Now(),
                         [shared](const kademlia::StoreResult& r) { (*shared)(r.status()); });
      if (!s.ok()) (*shared)(s);
    });
  }

  void Resolve(const NodeId& id, HostCallback<Contact> done) {
    auto shared = std::make_shared<HostCallback<Contact>>(std::move(done));
    PostTask([this, id, shared] {
      if (auto it = verified_.find(id); it != verified_.end()) {
        absl::StatusOr<Contact> c = ContactFromRecord(it->second);
        if (c.ok() && !c->endpoint.empty()) return (*shared)(*c);
      }
      node_->StartFindValue(
          kademlia::ContactKey(id), clock_.Now(),
          [this, id, shared](const kademlia::LookupResult& r) {
            if (!r.record.has_value() || r.record->kind() != kademlia::RecordKind::kContact) {
              return (*shared)(
                  absl::NotFoundError(absl::StrCat("no contact record for node ", id.ToHex())));
            }
            absl::Status s = Verify(*r.record);
            if (!s.ok()) return (*shared)(s);
            (*shared)(ContactFromRecord(*r.record));
          });
    });
  }

  void Ping(const Contact& to, absl::AnyInvocable<void(absl::Status)> done) {
    auto shared = std::make_shared<absl::AnyInvocable<void(absl::Status)>>(std::move(done));
    PostTask([this, to, shared] {
      node_->Ping(to, clock_.Now(), [shared](const absl::Status& s) { (*shared)(s); });
    });
  }

  void Post(absl::AnyInvocable<void(kademlia::Node&)> fn) {
    PostTask([this, fn = std::move(fn)]() mutable { fn(*node_); });
  }

  HostStats Stats() {
    auto promise = std::make_shared<std::promise<HostStats>>();
    std::future<HostStats> future = promise->get_future();
    PostTask([this, promise] {
      HostStats s;
      s.dht = node_->stats();
      s.routing_table_size = node_->routing_table().size();
      s.records_held = node_->records().size();
      s.verified_contacts = verified_.size();
      s.dropped_contacts = dropped_contacts_;
      s.signature_checks = signature_checks_;
      promise->set_value(s);
    });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return HostStats{};
    HostStats s = future.get();
    s.transport = transport_->stats();
    s.refused_requests = refused_.load();
    s.dropped_replies = dropped_replies_.load();
    return s;
  }

 private:
  struct Current {
    NodeId to;
    uint64_t request_id = 0;
    const net_zmq::Responder* responder = nullptr;
  };

  HostOptions options_;
  Clock& clock_;
  crypto::Random& random_;
  const NodeId id_;
  kademlia::Secp256k1Authenticator auth_;
  std::unique_ptr<net_zmq::Transport> transport_;
  std::vector<std::string> endpoints_;

  absl::Mutex self_mu_;
  Record self_record_ ABSL_GUARDED_BY(self_mu_);

  absl::Mutex mu_;
  std::vector<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time wakeup_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::thread thread_;

  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> dropped_replies_{0};

  // DHT thread.
  std::unique_ptr<kademlia::Node> node_;
  absl::flat_hash_map<NodeId, Record> verified_;
  Current current_;
  bool self_published_ = false;
  uint64_t dropped_contacts_ = 0;
  uint64_t signature_checks_ = 0;
};

absl::StatusOr<std::unique_ptr<Host>> Host::Start(HostOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Contact contact;
  GNR_RETURN_IF_ERROR(impl->Start(contact));
  std::unique_ptr<Host> host(new Host(std::move(impl)));
  host->contact_ = std::move(contact);
  return host;
}

Host::Host(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), id_(impl_->id()), transport_(impl_->transport()) {}

Host::~Host() { impl_->Shutdown(); }

Record Host::contact_record() const { return impl_->SelfRecord(); }

void Host::Bootstrap(std::vector<BootstrapSeed> seeds,
                     absl::AnyInvocable<void(absl::Status)> done) {
  impl_->Bootstrap(std::move(seeds), std::move(done));
}

namespace {
template <typename T, typename Fn>
T Wait(Fn&& fn) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  fn([promise](T value) { promise->set_value(std::move(value)); });
  return future.get();
}
}  // namespace

absl::Status Host::BootstrapSync(std::vector<BootstrapSeed> seeds) {
  return Wait<absl::Status>([&](auto cb) { Bootstrap(std::move(seeds), std::move(cb)); });
}

void Host::FindNode(const NodeId& target, HostCallback<std::vector<Contact>> done) {
  impl_->FindNode(target, std::move(done));
}
absl::StatusOr<std::vector<Contact>> Host::FindNodeSync(const NodeId& target) {
  return Wait<absl::StatusOr<std::vector<Contact>>>(
      [&](auto cb) { FindNode(target, std::move(cb)); });
}

void Host::FindValue(const kademlia::Key& key, HostCallback<Record> done) {
  impl_->FindValue(key, std::move(done));
}
absl::StatusOr<Record> Host::FindValueSync(const kademlia::Key& key) {
  return Wait<absl::StatusOr<Record>>([&](auto cb) { FindValue(key, std::move(cb)); });
}

void Host::Store(Record record, absl::AnyInvocable<void(absl::Status)> done) {
  impl_->Store(std::move(record), std::move(done));
}
absl::Status Host::StoreSync(Record record) {
  return Wait<absl::Status>([&](auto cb) { Store(std::move(record), std::move(cb)); });
}

void Host::Publish(kademlia::RecordSource source, absl::AnyInvocable<void(absl::Status)> done) {
  impl_->Publish(std::move(source), std::move(done));
}

void Host::PublishCapacity(std::function<std::pair<uint64_t, uint64_t>()> probe,
                           absl::AnyInvocable<void(absl::Status)> done) {
  crypto::PrivateKey key = impl_->node_key();
  NodeId id = id_;
  Publish(
      [key, id, probe = std::move(probe)](absl::Time now) -> absl::StatusOr<Record> {
        auto [capacity, free] = probe();
        Record r{kademlia::CapacityRecord{id, capacity, free,
                                          absl::FromUnixMicros(absl::ToUnixMicros(now))},
                 {}};
        GNR_RETURN_IF_ERROR(kademlia::SignRecord(key, r));
        return r;
      },
      std::move(done));
}

void Host::Resolve(const NodeId& id, HostCallback<Contact> done) {
  impl_->Resolve(id, std::move(done));
}
absl::StatusOr<Contact> Host::ResolveSync(const NodeId& id) {
  return Wait<absl::StatusOr<Contact>>([&](auto cb) { Resolve(id, std::move(cb)); });
}

void Host::Ping(const Contact& to, absl::AnyInvocable<void(absl::Status)> done) {
  impl_->Ping(to, std::move(done));
}

HostStats Host::Stats() { return impl_->Stats(); }

void Host::Post(absl::AnyInvocable<void(kademlia::Node& node)> fn) { impl_->Post(std::move(fn)); }

}  // namespace gnr::node
