#pragma once
// net_zmq::Transport: request/reply messaging between gnrfs nodes over ZeroMQ + CurveZMQ.
//
// Namespace note: the module lives in net/zmq/ but its namespace is gnr::net_zmq, because
// `zmq` is cppzmq's namespace and `zmq::` inside namespace gnr would be ambiguous to readers.
// This folder is the only code that includes zmq.h (DESIGN.md section 1, STYLE rule 1).
//
// Model (DESIGN.md section 5, STYLE rule 2):
// - One event-loop thread owns the ZeroMQ context and every socket: a ROUTER that serves
//   requests (CURVE server) and one DEALER per remote peer (CURVE client), created lazily on
//   the first request and closed when idle. Public methods may be called from any thread;
//   they post commands to the loop.
// - A request is a Message (a typed header + an optional payload, both opaque here). The
//   transport adds a request id (see net/zmq/envelope.h for the framing) and completes each
//   request exactly once: with the peer's reply, the peer's error reply, DeadlineExceeded
//   after the timeout, Unavailable/ResourceExhausted if it cannot be queued, or Cancelled when
//   the transport stops. Late or unknown replies are dropped (debug log).
// - Incoming requests go to the RequestHandler on the loop thread together with the sender's
//   authenticated CURVE public key and a Responder. The handler must not block; it answers
//   at once or hands the Responder to another thread and answers later.
// - Bulk channel (net/zmq/bulk.h): a request sent with Channel::kBulk (shard bytes) goes,
//   when the peer offers one, over a second, NULL-mechanism connection to the peer's bulk
//   ROUTER, with its header sealed by AES-GCM under a session key agreed over CURVE and its
//   payload in the clear; the handler sees the same authenticated PeerInfo as over CURVE.
//   Peers that offer no bulk channel get such requests over CURVE. After a bulk request
//   times out (the peer restarted on another port, a firewall blocks its bulk port), bulk
//   requests to that peer go over CURVE for a minute, then the session is renegotiated.
// - Payloads are never copied by this layer: outgoing ones are sent with zmq_msg_init_data
//   from the caller's SharedBytes (released when ZeroMQ is done with them), incoming ones are
//   delivered as SharedBytes owning the received ZeroMQ message. (CURVE itself still
//   encrypts into a new buffer inside libzmq.)
// - Limits protect the node: maximum header and payload sizes (ZMQ_MAXMSGSIZE + our checks),
//   bounded socket queues (HWM), a per-peer window of outgoing requests in flight (more are
//   queued, up to a bound), and per-peer limits on incoming requests (a token bucket and a
//   cap on unanswered ones); over-limit requests get a ResourceExhausted ("busy") error reply.
//
// Example:
//   net_zmq::Options options;
//   options.keys = *net_zmq::GenerateCurveKeyPair(crypto::OsRandom());
//   options.handler = [](const net_zmq::PeerInfo& from, net_zmq::Message request,
//                        net_zmq::Responder responder) {
//     responder.Respond({.header = Bytes{'o', 'k'}});
//   };
//   GNR_ASSIGN_OR_RETURN(std::unique_ptr<net_zmq::Transport> transport,
//                        net_zmq::Transport::Start(std::move(options)));
//   net_zmq::PeerAddress peer{.endpoint = "tcp://10.0.0.7:4040", .server_key = key};
//   absl::StatusOr<net_zmq::Message> reply =
//       transport->Call(peer, {.header = header, .payload = SharedBytes(std::move(shard))},
//                       absl::Seconds(10)).get();

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "net/zmq/curve.h"
#include "net/zmq/shared_bytes.h"

namespace gnr::net_zmq {

// One request or reply. An empty payload means "no payload frame".
struct Message {
  Bytes header;         // frame 1: the typed header; small, copied into the ZeroMQ message
  SharedBytes payload;  // frame 2: bulk bytes, sent and received without copying
};

// Where to reach a peer: its endpoint and the CURVE public key its server must prove it
// holds (both from the peer's signed contact record).
struct PeerAddress {
  std::string endpoint;  // "tcp://host:port"; other transports are refused
  CurveKey server_key{};

  friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
};

// The sender of an incoming request, as established by the CURVE handshake.
struct PeerInfo {
  // The client's CURVE public key: the sender proved it holds the matching secret. Upper
  // layers compare it with the curve key in the contact record of the node id it claims.
  CurveKey curve_key{};
  // The remote IP address as seen by the socket (informational; no port).
  std::string address;
};

namespace internal {
struct ResponderState;
class Loop;
}  // namespace internal

// Answers one incoming request. Copyable (copies share the request); thread-safe; the first
// Respond/RespondError wins and later calls return false. If every copy is destroyed without
// an answer, the requester gets an Internal error reply at once instead of waiting for its
// timeout. Answering after the transport stopped is a harmless no-op (returns false).
class Responder {
 public:
  // Sends `reply` to the requester. Returns false if already answered or stopped.
  bool Respond(Message reply) const;
  // Sends an error reply; the requester's call completes with a status of the same code and
  // this message (prefixed by our endpoint). `error` must not be OK.
  bool RespondError(const absl::Status& error) const;
  // True once Respond or RespondError has been called on any copy.
  bool answered() const;

 private:
  friend class internal::Loop;
  explicit Responder(std::shared_ptr<internal::ResponderState> state) : state_(std::move(state)) {}
  std::shared_ptr<internal::ResponderState> state_;
};

// Called on the loop thread for every accepted incoming request. Must not block.
// Which connection a request travels on (see the bulk channel above).
enum class Channel {
  kControl,  // CURVE: everything, always
  kBulk,     // bulk payloads (shard bytes the layers above verify against Merkle roots)
};

using RequestHandler =
    absl::AnyInvocable<void(const PeerInfo& from, Message request, Responder responder)>;

// Completes a request. Runs on the loop thread (must not block), except when the request is
// rejected before being queued (transport stopped, invalid argument): then it runs on the
// calling thread before SendRequest returns.
using ReplyCallback = absl::AnyInvocable<void(absl::StatusOr<Message> reply)>;

struct Options {
  // Where the ROUTER listens. Port 0 picks a free port; Transport::endpoint() tells which.
  std::string bind_endpoint = "tcp://127.0.0.1:0";
  // Our CURVE key pair (server key for the ROUTER, client key for every DEALER).
  CurveKeyPair keys;
  // Serve a bulk channel: a second ROUTER (NULL mechanism) on `bulk_bind_endpoint`, or, if
  // that is empty, on the host of `bind_endpoint` with port 0 when its port is 0 and its
  // port + 1 otherwise (a firewall then opens two adjacent ports). If it cannot be bound the
  // node logs a warning and serves bulk requests over CURVE only.
  bool serve_bulk = true;
  std::string bulk_bind_endpoint;
  // Send Channel::kBulk requests over peers' bulk channels (false: always over CURVE).
  bool use_bulk = true;
  // Receives incoming requests. If empty, requests are answered with Unimplemented.
  RequestHandler handler;
  // Time source for deadlines and rate limits; null means the system clock. Must outlive
  // the transport.
  Clock* clock = nullptr;
  // ZeroMQ I/O threads (they do the TCP and CURVE work).
  int io_threads = 1;

  // Largest header frame and payload frame accepted in either direction. Larger incoming
  // frames make ZeroMQ drop the connection (ZMQ_MAXMSGSIZE); larger outgoing ones are
  // refused with InvalidArgument.
  size_t max_header_size = 1 << 20;
  size_t max_payload_size = (64 << 20) + (1 << 20);

  // Outgoing: at most this many requests in flight per peer; more wait in a per-peer queue
  // of at most `max_queued_per_peer` (beyond that: ResourceExhausted). The timeout runs
  // while queued.
  int max_in_flight_per_peer = 64;
  int max_queued_per_peer = 4096;

  // Incoming, per peer (keyed by CURVE public key): a token bucket of `incoming_rate_per_peer`
  // requests/s with bursts of `incoming_burst_per_peer`, and at most
  // `max_incoming_in_flight_per_peer` requests handed to the handler and not yet answered.
  // Requests over either limit get a ResourceExhausted error reply and are logged.
  // The defaults only stop floods: a client pipelining small requests on loopback legitimately
  // reaches ~20,000 requests/s for a short while.
  double incoming_rate_per_peer = 10000;
  double incoming_burst_per_peer = 2000;
  int max_incoming_in_flight_per_peer = 128;

  // Socket queue bounds, in messages (ZMQ_SNDHWM / ZMQ_RCVHWM).
  int send_hwm = 1000;
  int receive_hwm = 1000;

  // DEALER reconnection backoff after a lost connection (ZMQ_RECONNECT_IVL/_MAX).
  absl::Duration reconnect_interval = absl::Milliseconds(100);
  absl::Duration reconnect_interval_max = absl::Seconds(5);
  // ZMTP heartbeats detect dead TCP connections (ZMQ_HEARTBEAT_IVL/_TIMEOUT).
  absl::Duration heartbeat_interval = absl::Seconds(10);
  absl::Duration heartbeat_timeout = absl::Seconds(30);
  // A peer DEALER with nothing in flight is closed after this long without use, and the
  // least recently used idle ones are closed when there are more than `max_peer_sockets`.
  absl::Duration idle_peer_timeout = absl::Minutes(2);
  int max_peer_sockets = 512;
};

// Counters since Start (monotonic; read without stopping the loop).
struct TransportStats {
  uint64_t requests_sent = 0;     // handed to a DEALER
  uint64_t replies_received = 0;  // matched replies, including error replies
  uint64_t requests_timed_out = 0;
  uint64_t requests_received = 0;       // well-formed incoming requests
  uint64_t requests_handled = 0;        // passed to the handler
  uint64_t requests_rejected_busy = 0;  // refused by the rate or in-flight limits
  uint64_t replies_sent = 0;            // including error replies
  uint64_t malformed_dropped = 0;       // incoming messages dropped at the transport level
  uint64_t unmatched_replies = 0;       // late or unknown replies dropped
  uint64_t zero_copy_frames_sent = 0;   // payload frames handed to ZeroMQ without a copy
  uint64_t zero_copy_bytes_sent = 0;
  uint64_t peer_sockets = 0;            // open DEALERs right now
  uint64_t bulk_requests_sent = 0;      // requests sent on a peer's bulk channel
  uint64_t bulk_requests_received = 0;  // well-formed, authenticated bulk requests
  uint64_t bulk_sessions = 0;           // bulk sessions offered and alive right now
};

class Transport {
 public:
  // Creates the context and the ROUTER, binds `options.bind_endpoint`, and starts the loop
  // thread. Errors: InvalidArgument for bad options (a public key that does not match the
  // secret key, non-positive limits), Unavailable if the endpoint cannot be bound,
  // FailedPrecondition if libzmq has no CURVE support.
  static absl::StatusOr<std::unique_ptr<Transport>> Start(Options options);

  // Stops (see Stop()).
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The endpoint actually bound, e.g. "tcp://127.0.0.1:43117" (ZMQ_LAST_ENDPOINT).
  const std::string& endpoint() const { return endpoint_; }
  // The bulk ROUTER's endpoint; empty if this node serves no bulk channel.
  const std::string& bulk_endpoint() const;
  // Our CURVE public key (what peers must use as `server_key`).
  const CurveKey& public_key() const { return public_key_; }
  // This node's address as a peer would use it.
  PeerAddress address() const { return {endpoint_, public_key_}; }

  // Sends `request` to `peer` and calls `done` exactly once with the outcome:
  //   the reply                               on success,
  //   the peer's status                       if it sent an error reply (ResourceExhausted
  //                                           when it was busy),
  //   DeadlineExceeded                        when `timeout` passes first (no reply yet),
  //   ResourceExhausted                       if the per-peer queue is full,
  //   Unavailable                             if the socket queue refused the message,
  //   InvalidArgument                         for a bad endpoint or an oversized message,
  //   Cancelled                               if the transport stops (or has stopped).
  // A peer that is down is not detected as such: the request waits in ZeroMQ's queue for the
  // connection until its timeout (ZeroMQ reconnects in the background).
  // The payload is shared, not copied; it is released once ZeroMQ has sent it (or when the
  // request fails). `channel` kBulk: see the bulk channel above. Thread-safe.
  void SendRequest(const PeerAddress& peer, Message request, absl::Duration timeout,
                   ReplyCallback done, Channel channel = Channel::kControl);

  // SendRequest returning a future. Do not wait on it from the loop thread (a handler or a
  // reply callback): that would deadlock.
  std::future<absl::StatusOr<Message>> Call(const PeerAddress& peer, Message request,
                                            absl::Duration timeout);

  // Opens the connection to `peer` ahead of the first request (optional). Thread-safe.
  void Connect(const PeerAddress& peer);
  // Closes the connection to `peer`; its queued and in-flight requests complete with
  // Cancelled. A later request reconnects. Thread-safe.
  void Disconnect(const PeerAddress& peer);

  // Stops the loop: requests in flight or queued complete with Cancelled, later ones are
  // rejected with Cancelled, unanswered incoming requests are abandoned, all sockets are
  // closed (linger 0) and the thread is joined. Idempotent. Called from the loop thread
  // itself (inside a handler or callback) it only requests the stop; the destructor joins.
  void Stop();

  TransportStats stats() const;

 private:
  Transport(std::unique_ptr<internal::Loop> loop, std::string endpoint, CurveKey public_key);

  std::unique_ptr<internal::Loop> loop_;
  std::string endpoint_;
  CurveKey public_key_;
};

// OK if `endpoint` is something we may connect to for a remote peer: "tcp://host:port" with
// a host name, IPv4 or bracketed IPv6 address and a port 1-65535. Refuses other transports
// (ipc://, inproc://...), wildcards and ZeroMQ's "source;destination" syntax, since
// endpoints come from untrusted contact records.
absl::Status ValidatePeerEndpoint(std::string_view endpoint);

}  // namespace gnr::net_zmq
