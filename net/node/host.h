#pragma once
// Host: a gnrfs network node — the kademlia::Node driven over a net_zmq::Transport, plus the
// routing of other protocols (the shard protocol) arriving on the same transport.
//
// Threads (STYLE rule 2):
//   - the transport's event-loop thread receives requests and replies. It only routes: DHT
//     messages are decoded (net/wire) and posted to the DHT thread; shard-protocol requests go
//     to the `shard_handler` (which must not block, see net/shard/shard_server.h).
//   - the DHT thread owns the kademlia::Node (and the verified contact-record cache): every
//     Node call happens there. It runs posted work and Node::Tick at Node::NextWakeup().
//   - public methods are thread-safe; they post to the DHT thread. Callbacks run on the DHT
//     thread and must not block; the *Sync forms block the caller (never call them from a
//     callback or from the loop thread).
//
// Identity (DESIGN.md section 2): node id = RIPEMD160(SHA256(compressed node public key));
// the host signs its ContactRecord {node id, curve public key, advertised endpoints,
// version, time} with the node key and publishes it in the DHT (republished every 24 h).
// Every DHT request carries the sender's signed contact record, and every contact in a
// FIND_NODE/FIND_VALUE reply is a signed contact record. An incoming request is refused
// (error reply Unauthenticated, logged at warning with the reason) unless the sender record
// is a validly signed contact record whose curve key equals the CURVE key the connection
// authenticated: a peer cannot claim a node id whose key it does not hold, nor present a
// forged record. A reply is accepted only from the curve key we connected to (the CURVE
// handshake proves the server holds it) and, if it carries a record, only if that record
// names the node id we asked. Contacts in replies whose record does not verify are dropped.
// Verified records are cached by node id, so signatures are checked once per record.
//
// Bootstrap: seeds are endpoints with a curve key (an unverified record is not needed: the
// host PINGs them and learns their id from the signed record in the answer) or contact-record
// blobs (wire::EncodeRecord); then Node::Bootstrap.
//
//   HostOptions o;
//   o.node_key = node_key;
//   o.bind_endpoint = "tcp://0.0.0.0:4100";
//   o.advertised_endpoints = {"tcp://203.0.113.7:4100"};
//   GNR_ASSIGN_OR_RETURN(std::unique_ptr<Host> host, Host::Start(std::move(o)));
//   GNR_RETURN_IF_ERROR(host->BootstrapSync({BootstrapPeer{"tcp://seed:4100", seed_key}}));
//   absl::StatusOr<std::vector<kademlia::Contact>> near = host->FindNodeSync(target);

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/random.h"
#include "crypto/secp256k1.h"
#include "net/kademlia/config.h"
#include "net/kademlia/contact.h"
#include "net/kademlia/node.h"
#include "net/kademlia/record.h"
#include "net/zmq/curve.h"
#include "net/zmq/transport.h"

namespace gnr::node {

// The protocol version this host announces in its contact record.
inline constexpr uint32_t kProtocolVersion = 1;

struct HostOptions {
  crypto::PrivateKey node_key = crypto::PrivateKey::Generate(crypto::OsRandom());
  // CURVE key pair; unset: derived from the node key (HKDF(node key, "gnr curve")), so a
  // node keeps its curve key across restarts.
  std::optional<net_zmq::CurveKeyPair> curve_keys;
  std::string bind_endpoint = "tcp://127.0.0.1:0";
  // Endpoints published in the contact record. Empty and `advertise` true: the bound
  // endpoint. `advertise` false: none (a client-only node that others never call back and
  // never put in their routing tables).
  std::vector<std::string> advertised_endpoints = {};
  bool advertise = true;

  kademlia::Config dht = {};
  // Shard-protocol requests (header protocol byte kShard). Unset: answered Unimplemented
  // ("this node serves no shards"). Runs on the loop thread; must not block.
  net_zmq::RequestHandler shard_handler = nullptr;
  // Limits and tuning of the transport (keys, bind endpoint and handler are set by the host).
  net_zmq::Options transport = {};

  Clock* clock = nullptr;            // null: system clock; must outlive the host
  crypto::Random* random = nullptr;  // null: OsRandom(); must be thread-safe
};

// A seed to join through: an endpoint and its curve key, or a contact record.
struct BootstrapPeer {
  std::string endpoint = {};
  net_zmq::CurveKey curve_key{};
};
using BootstrapSeed = std::variant<BootstrapPeer, kademlia::Record>;

struct HostStats {
  kademlia::NodeStats dht;
  net_zmq::TransportStats transport;
  size_t routing_table_size = 0;
  size_t records_held = 0;
  size_t verified_contacts = 0;   // contact records in the cache
  uint64_t refused_requests = 0;  // bad/forged/mismatched sender record, malformed
  uint64_t dropped_replies = 0;   // malformed, or from an unexpected key/id
  uint64_t dropped_contacts = 0;  // contacts in replies whose record did not verify
  uint64_t signature_checks = 0;  // records verified (cache misses)
};

template <typename T>
using HostCallback = absl::AnyInvocable<void(absl::StatusOr<T>)>;

class Host {
 public:
  // Starts the transport and the DHT thread and signs the contact record. Does not join a
  // network (see Bootstrap) nor publish anything yet. Errors: from net_zmq::Transport::Start,
  // InvalidArgument for a bad advertised endpoint.
  static absl::StatusOr<std::unique_ptr<Host>> Start(HostOptions options);
  // Stops the DHT thread, then the transport. Pending callbacks are not run (a *Sync call
  // still waiting on another thread then fails: do not destroy a host in use). Destroy the
  // Host before whatever its shard_handler uses (e.g. the ShardServer).
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const kademlia::NodeId& id() const { return id_; }
  // Our contact (id, first advertised endpoint, curve public key); the endpoint is empty
  // for a client-only host.
  const kademlia::Contact& contact() const { return contact_; }
  // Our current signed contact record (re-signed on republish).
  kademlia::Record contact_record() const;
  net_zmq::Transport& transport() const { return *transport_; }

  // Joins through `seeds`: PINGs endpoint seeds to learn their ids, then runs the Kademlia
  // bootstrap (self lookup + bucket refresh) and publishes our contact record if we
  // advertise endpoints. `done`: OK if at least one seed answered, else Unavailable with
  // each seed's reason. No seeds: the first node of a network; OK at once (our contact
  // record is kept locally and reaches later nodes as they join).
  void Bootstrap(std::vector<BootstrapSeed> seeds, absl::AnyInvocable<void(absl::Status)> done);
  absl::Status BootstrapSync(std::vector<BootstrapSeed> seeds);

  // The k live nodes closest to `target` (iterative FIND_NODE), closest first. Each contact
  // comes from a verified contact record. Unavailable if no node answered.
  void FindNode(const kademlia::NodeId& target, HostCallback<std::vector<kademlia::Contact>> done);
  absl::StatusOr<std::vector<kademlia::Contact>> FindNodeSync(const kademlia::NodeId& target);

  // The record under `key` (iterative FIND_VALUE); NotFound if none.
  void FindValue(const kademlia::Key& key, HostCallback<kademlia::Record> done);
  absl::StatusOr<kademlia::Record> FindValueSync(const kademlia::Key& key);

  // Stores a signed record at the k closest nodes. OK if at least one accepted.
  void Store(kademlia::Record record, absl::AnyInvocable<void(absl::Status)> done);
  absl::Status StoreSync(kademlia::Record record);

  // Publishes a record now and republishes it (re-signed by `source`) every 24 h.
  void Publish(kademlia::RecordSource source, absl::AnyInvocable<void(absl::Status)> done);
  // Publishes this node's capacity announcement, signed with the node key, from `probe`
  // (called on the DHT thread at every republish: {capacity_bytes, free_bytes}). Calling it
  // again replaces the announcement at once (e.g. when free space changed a lot).
  void PublishCapacity(std::function<std::pair<uint64_t, uint64_t>()> probe,
                       absl::AnyInvocable<void(absl::Status)> done);

  // The contact of node `id`: from the verified-record cache or the routing table, else from
  // its contact record in the DHT (FIND_VALUE of ContactKey(id)). NotFound if unknown.
  void Resolve(const kademlia::NodeId& id, HostCallback<kademlia::Contact> done);
  absl::StatusOr<kademlia::Contact> ResolveSync(const kademlia::NodeId& id);

  // PINGs a node (directly, through the Node). DeadlineExceeded if it does not answer.
  void Ping(const kademlia::Contact& to, absl::AnyInvocable<void(absl::Status)> done);

  // Counters; posts to the DHT thread and waits (not from a callback).
  HostStats Stats();

  // Runs `fn` on the DHT thread (for tests and tools that inspect the Node).
  void Post(absl::AnyInvocable<void(kademlia::Node& node)> fn);

 private:
  class Impl;
  Host(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  kademlia::NodeId id_;
  kademlia::Contact contact_;
  net_zmq::Transport* transport_ = nullptr;
};

// Signs a contact record for `key` at `time` (helper for tests and tools).
absl::StatusOr<kademlia::Record> MakeContactRecord(const crypto::PrivateKey& key,
                                                   const net_zmq::CurveKey& curve_key,
                                                   std::vector<std::string> endpoints,
                                                   absl::Time time);

// The Contact a verified contact record describes: its id, first endpoint that passes
// net_zmq::ValidatePeerEndpoint (empty if none), and curve key. InvalidArgument if the
// record is not a contact record.
absl::StatusOr<kademlia::Contact> ContactFromRecord(const kademlia::Record& record);

}  // namespace gnr::node
