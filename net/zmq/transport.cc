#include "net/zmq/transport.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/random.h"
#include "net/zmq/bulk.h"
#include "net/zmq/envelope.h"
#include "net/zmq/token_bucket.h"

namespace gnr::net_zmq {
namespace internal {
namespace {

// Payloads smaller than this are copied into the ZeroMQ message: below a few KiB the copy is
// cheaper than the shared-owner bookkeeping and the cross-thread release.
constexpr size_t kZeroCopyMinSize = 4096;
// At most this many messages are read from one socket per wake-up, so that one busy peer
// cannot starve the others or the command queue.
constexpr int kMaxMessagesPerWakeup = 256;
// Frames of a message we keep (ROUTER: routing id + envelope + header + payload); further
// frames are read and discarded, and make the message malformed.
constexpr size_t kMaxFramesKept = 4;
// The loop wakes at least this often, so that an injected clock that jumps is noticed.
constexpr absl::Duration kMaxPollWait = absl::Milliseconds(250);
constexpr absl::Duration kHousekeepingInterval = absl::Seconds(5);
// A peer over its incoming limits is reported at most this often.
constexpr absl::Duration kBusyWarningInterval = absl::Seconds(10);
// Malformed-message log lines per kBusyWarningInterval (the rest are only counted).
constexpr int kDropLogBudget = 20;
constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
// Bulk channel (net/zmq/bulk.h). A hello waits at most this long for the offer; a peer that
// offers none (or does not answer) gets bulk requests over CURVE for kBulkRetryAfter.
constexpr absl::Duration kBulkHelloTimeout = absl::Seconds(5);
constexpr absl::Duration kBulkRetryAfter = absl::Minutes(1);
// A server forgets a bulk session unused this long (clients drop theirs after
// Options::idle_peer_timeout, 2 minutes by default), and keeps at most this many.
constexpr absl::Duration kBulkSessionIdle = absl::Minutes(10);
constexpr size_t kMaxBulkSessions = 4096;
constexpr int kMaxBulkSessionsPerPeer = 4;

std::string ZmqError() { return zmq_strerror(zmq_errno()); }

struct MsgDeleter {
  void operator()(zmq_msg_t* msg) const {
    zmq_msg_close(msg);
    delete msg;
  }
};
using MsgPtr = std::unique_ptr<zmq_msg_t, MsgDeleter>;

ByteView MsgView(zmq_msg_t* msg) {
  return ByteView(static_cast<const uint8_t*>(zmq_msg_data(msg)), zmq_msg_size(msg));
}

// A received ZeroMQ frame as SharedBytes: the frame stays where ZeroMQ put it.
SharedBytes MsgToShared(MsgPtr msg) {
  ByteView view = MsgView(msg.get());
  std::shared_ptr<zmq_msg_t> owner(msg.release(), MsgDeleter());
  return SharedBytes(std::move(owner), view);
}

void ReleaseSharedOwner(void* /*data*/, void* hint) {
  delete static_cast<std::shared_ptr<const void>*>(hint);
}

// One multipart message as read from a socket.
struct Received {
  std::vector<MsgPtr> frames;  // the first kMaxFramesKept frames
  size_t total_frames = 0;
};

// Reads one whole multipart message without blocking, keeping its first `max_kept` frames.
// Returns false if none is waiting.
bool ReceiveMultipart(void* socket, size_t max_kept, Received* out) {
  out->frames.clear();
  out->total_frames = 0;
  for (;;) {
    MsgPtr msg(new zmq_msg_t);
    zmq_msg_init(msg.get());
    // Parts of a message arrive together, so only the first read can find nothing.
    if (zmq_msg_recv(msg.get(), socket, out->total_frames == 0 ? ZMQ_DONTWAIT : 0) < 0) {
      if (out->total_frames > 0) {
        GNR_LOG(kError) << "zmq: multipart message cut short: " << ZmqError();
      } else if (zmq_errno() != EAGAIN) {
        GNR_LOG(kWarning) << "zmq: receive failed: " << ZmqError();
      }
      return out->total_frames > 0;
    }
    ++out->total_frames;
    bool more = zmq_msg_more(msg.get()) != 0;
    if (out->frames.size() < max_kept) out->frames.push_back(std::move(msg));
    if (!more) return true;
  }
}

// One outgoing frame: either copied bytes or a zero-copy shared buffer.
struct OutFrame {
  ByteView copy;
  const SharedBytes* shared = nullptr;
};

struct SendCounters {
  std::atomic<uint64_t>* zero_copy_frames;
  std::atomic<uint64_t>* zero_copy_bytes;
};

// Sends `frames` as one multipart message without blocking. Returns 0 or the errno of the
// failure (EAGAIN: queue full; EHOSTUNREACH: ROUTER peer gone). ZeroMQ queues a multipart
// message atomically, so only the first frame can be refused.
int SendMultipart(void* socket, std::initializer_list<OutFrame> frames, SendCounters counters) {
  size_t index = 0;
  for (const OutFrame& frame : frames) {
    ++index;
    int flags = ZMQ_DONTWAIT | (index < frames.size() ? ZMQ_SNDMORE : 0);
    zmq_msg_t msg;
    if (frame.shared != nullptr && frame.shared->size() >= kZeroCopyMinSize) {
      auto* hint = new std::shared_ptr<const void>(frame.shared->owner());
      if (zmq_msg_init_data(&msg, const_cast<uint8_t*>(frame.shared->data()), frame.shared->size(),
                            &ReleaseSharedOwner, hint) != 0) {
        delete hint;
        return zmq_errno();
      }
      counters.zero_copy_frames->fetch_add(1, std::memory_order_relaxed);
      counters.zero_copy_bytes->fetch_add(frame.shared->size(), std::memory_order_relaxed);
    } else {
      ByteView bytes = frame.shared != nullptr ? frame.shared->view() : frame.copy;
      if (zmq_msg_init_size(&msg, bytes.size()) != 0) return zmq_errno();
      if (!bytes.empty()) std::memcpy(zmq_msg_data(&msg), bytes.data(), bytes.size());
    }
    if (zmq_msg_send(&msg, socket, flags) < 0) {
      int error = zmq_errno();
      zmq_msg_close(&msg);
      if (index > 1) {
        GNR_LOG(kError) << "zmq: multipart send failed after its first frame";
      }
      return error;
    }
  }
  return 0;
}

// One message: [routing id,] envelope, header or error body[, payload]. No routing-id frame
// when `routing_id` is null (a DEALER), no payload frame when `payload` is null or empty.
int SendMessage(void* socket, const Bytes* routing_id, ByteView envelope, ByteView body,
                const SharedBytes* payload, SendCounters counters) {
  const bool with_payload = payload != nullptr && !payload->empty();
  if (routing_id != nullptr) {
    return with_payload
               ? SendMultipart(socket, {{*routing_id}, {envelope}, {body}, {{}, payload}}, counters)
               : SendMultipart(socket, {{*routing_id}, {envelope}, {body}}, counters);
  }
  return with_payload ? SendMultipart(socket, {{envelope}, {body}, {{}, payload}}, counters)
                      : SendMultipart(socket, {{envelope}, {body}}, counters);
}

// The port of a "scheme://host:port" endpoint, if it has a numeric one.
std::optional<int> EndpointPort(std::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == endpoint.size()) return std::nullopt;
  int port = 0;
  for (char c : endpoint.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return std::nullopt;
    port = port * 10 + (c - '0');
  }
  return port;
}

absl::Status SetInt(void* socket, int option, int value, const char* name) {
  if (zmq_setsockopt(socket, option, &value, sizeof(value)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("zmq_setsockopt(", name, ", ", value, ") failed: ", ZmqError()));
  }
  return absl::OkStatus();
}

absl::Status SetBytes(void* socket, int option, ByteView value, const char* name) {
  if (zmq_setsockopt(socket, option, value.data(), value.size()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("zmq_setsockopt(", name, ") failed: ", ZmqError()));
  }
  return absl::OkStatus();
}

int ToMillis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

// Options shared by the ROUTER and the DEALERs.
absl::Status SetCommonOptions(void* socket, const Options& options) {
  GNR_RETURN_IF_ERROR(SetInt(socket, ZMQ_LINGER, 0, "ZMQ_LINGER"));
  GNR_RETURN_IF_ERROR(SetInt(socket, ZMQ_SNDHWM, options.send_hwm, "ZMQ_SNDHWM"));
  GNR_RETURN_IF_ERROR(SetInt(socket, ZMQ_RCVHWM, options.receive_hwm, "ZMQ_RCVHWM"));
  // Room for the CURVE framing around the largest frame we accept.
  int64_t max_message =
      static_cast<int64_t>(std::max(options.max_header_size, options.max_payload_size)) + 4096;
  if (zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_message, sizeof(max_message)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ZMQ_MAXMSGSIZE failed: ", ZmqError()));
  }
  GNR_RETURN_IF_ERROR(
      SetInt(socket, ZMQ_HEARTBEAT_IVL, ToMillis(options.heartbeat_interval), "ZMQ_HEARTBEAT_IVL"));
  GNR_RETURN_IF_ERROR(SetInt(socket, ZMQ_HEARTBEAT_TIMEOUT, ToMillis(options.heartbeat_timeout),
                             "ZMQ_HEARTBEAT_TIMEOUT"));
  return absl::OkStatus();
}

// Configures `router` (a ROUTER; a CURVE server with our key and the ZAP domain when
// `curve`, else the NULL mechanism), binds it to `where` and returns the endpoint bound
// (ZMQ_LAST_ENDPOINT). The caller closes the socket, also on error.
absl::StatusOr<std::string> BindRouter(void* router, const std::string& where,
                                       const Options& options, bool curve) {
  GNR_RETURN_IF_ERROR(SetCommonOptions(router, options));
  GNR_RETURN_IF_ERROR(SetInt(router, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY"));
  if (curve) {
    GNR_RETURN_IF_ERROR(SetInt(router, ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER"));
    GNR_RETURN_IF_ERROR(
        SetBytes(router, ZMQ_CURVE_SECRETKEY, options.keys.secret_key, "ZMQ_CURVE_SECRETKEY"));
    GNR_RETURN_IF_ERROR(SetBytes(router, ZMQ_ZAP_DOMAIN, AsBytes("gnr"), "ZMQ_ZAP_DOMAIN"));
  }
  if (zmq_bind(router, where.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind ", where, ": ", ZmqError()));
  }
  char endpoint[256];
  size_t size = sizeof(endpoint);
  if (zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size) != 0) {
    return absl::InternalError("ZMQ_LAST_ENDPOINT failed: " + ZmqError());
  }
  return std::string(endpoint);
}

struct SendCommand {
  PeerAddress peer;
  Message request;
  absl::Time deadline;
  absl::Duration timeout;
  ReplyCallback done;
  Channel channel = Channel::kControl;
};
// Where a reply goes: the CURVE ROUTER, or the bulk ROUTER sealed with a session's key.
struct ReplyRoute {
  Bytes routing_id;
  uint64_t request_id = 0;
  bool bulk = false;
  BulkSessionId session{};
};
struct ReplyCommand {
  ReplyRoute route;
  CurveKey peer_key{};
  Message reply;
  absl::Status error;  // not OK: send an error reply instead of `reply`
};
struct ConnectCommand {
  PeerAddress peer;
};
struct DisconnectCommand {
  PeerAddress peer;
};
using Command = std::variant<SendCommand, ReplyCommand, ConnectCommand, DisconnectCommand>;

}  // namespace

// The queue through which other threads talk to the loop; an eventfd wakes the loop's
// zmq_poll. Outlives the loop when Responders still hold it (posting then fails).
class Mailbox {
 public:
  explicit Mailbox(int fd) : fd_(fd) {}
  ~Mailbox() { close(fd_); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Queues `command` (moved from) unless the mailbox is closed; then returns false and
  // leaves `command` untouched.
  bool Post(Command& command) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    queue_.push_back(std::move(command));
    if (queue_.size() == 1) Wake();
    return true;
  }

  std::vector<Command> Take() {
    uint64_t value;
    while (read(fd_, &value, sizeof(value)) > 0) {
    }
    absl::MutexLock lock(&mu_);
    std::vector<Command> out;
    out.swap(queue_);
    return out;
  }

  // Refuses further posts and wakes the loop. Returns false if it was already closed.
  bool Close() {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    closed_ = true;
    Wake();
    return true;
  }

  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

  int fd() const { return fd_; }

 private:
  void Wake() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint64_t one = 1;
    if (write(fd_, &one, sizeof(one)) < 0 && errno != EAGAIN) {
      GNR_LOG(kError) << "zmq: eventfd write failed: " << std::strerror(errno);
    }
  }

  const int fd_;
  mutable absl::Mutex mu_;
  std::vector<Command> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

struct ResponderState {
  ResponderState(std::shared_ptr<Mailbox> mailbox, ReplyRoute route, const CurveKey& peer_key)
      : mailbox(std::move(mailbox)), route(std::move(route)), peer_key(peer_key) {}

  ~ResponderState() {
    if (!answered.exchange(true)) {
      Post({}, absl::InternalError("the request was dropped by its handler without an answer"));
    }
  }

  bool Post(Message reply, absl::Status error) {
    Command command = ReplyCommand{route, peer_key, std::move(reply), std::move(error)};
    return mailbox->Post(command);
  }

  const std::shared_ptr<Mailbox> mailbox;
  const ReplyRoute route;
  const CurveKey peer_key;
  std::atomic<bool> answered{false};
};

// The event loop: owns the context and every socket; all members below the constructor
// arguments are touched only by the loop thread (or by Create before the thread starts).
class Loop {
 public:
  static absl::StatusOr<std::unique_ptr<Loop>> Create(Options options);
  ~Loop();

  void StartThread() {
    thread_ = std::thread([this] { Run(); });
  }
  bool OnLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  void RequestStop() { mailbox_->Close(); }
  // Waits for the loop thread to finish. Thread-safe; not from the loop thread.
  void Join() {
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }
  void Detach() {
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.detach();
  }

  Mailbox& mailbox() { return *mailbox_; }
  Clock& clock() { return *clock_; }
  const Options& options() const { return options_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& bulk_endpoint() const { return bulk_endpoint_; }
  TransportStats stats() const;

  static Responder MakeResponder(std::shared_ptr<ResponderState> state) {
    return Responder(std::move(state));
  }

 private:
  // The client side of a peer's bulk channel: kNone until a bulk request needs it, then a
  // hello over CURVE (kHelloSent), then kReady with the session, or kUnavailable until
  // `retry_at` (bulk requests go over CURVE meanwhile).
  enum class BulkState { kNone, kHelloSent, kReady, kUnavailable };
  struct PeerSocket {
    PeerAddress address;
    std::string key;
    void* socket = nullptr;
    int in_flight = 0;                  // both connections
    std::deque<uint64_t> waiting;       // request ids not yet handed to the socket
    std::deque<uint64_t> bulk_waiting;  // bulk requests waiting for the bulk channel
    absl::Time last_used;
    BulkState bulk_state = BulkState::kNone;
    absl::Time bulk_retry_at;
    BulkSessionId bulk_session{};
    BulkKey bulk_key{};
    void* bulk_socket = nullptr;  // kReady only
  };
  struct Pending {
    PeerSocket* peer = nullptr;
    bool sent = false;
    bool bulk = false;     // asked for the bulk channel
    bool on_bulk = false;  // sent on the bulk channel
    bool resent = false;   // queued again after its session was lost
    absl::Time deadline;
    absl::Duration timeout;
    Message request;  // until sent
    ReplyCallback done;
  };
  // A bulk session this node offered (server side).
  struct BulkSession {
    BulkKey key{};
    CurveKey peer_key{};
    uint64_t last_request_id = 0;  // request ids must increase
    absl::Time last_used;
  };
  struct IncomingPeer {
    explicit IncomingPeer(TokenBucket bucket) : bucket(bucket) {}
    TokenBucket bucket;
    int in_flight = 0;
    absl::Time last_warning = absl::InfinitePast();
    uint64_t refused_since_warning = 0;
  };

  Loop(Options options, std::shared_ptr<Mailbox> mailbox)
      : handler_(std::move(options.handler)),
        options_(std::move(options)),
        mailbox_(std::move(mailbox)),
        clock_(options_.clock != nullptr ? options_.clock : &SystemClockInstance()) {}

  absl::Status Init();
  absl::Status BindBulkRouter();
  void Run();
  void Shutdown();
  void RebuildPollSet();

  void HandleCommands();
  void OnSend(SendCommand command);
  void OnReplyCommand(ReplyCommand command);
  void OnConnect(const PeerAddress& peer);
  void OnDisconnect(const PeerAddress& peer);

  void HandleZap();
  // Reads what waits on a ROUTER (at most kMaxMessagesPerWakeup messages), each to
  // `on_message`: OnIncoming for the CURVE one, OnBulkIncoming for the bulk one.
  void HandleServer(void* router, void (Loop::*on_message)(Received&));
  void OnIncoming(Received& message);
  void OnBulkIncoming(Received& message);
  // The per-peer limits of incoming requests from `key` (created on first use).
  IncomingPeer& Incoming(const CurveKey& key);
  // Offers a bulk session to an authenticated CURVE peer (the answer to a kBulkHello).
  void OfferBulkSession(const PeerInfo& info, const ReplyRoute& route);
  // Applies the size and per-peer limits to an authenticated request and hands it to the
  // handler (or answers it with an error).
  void Dispatch(const PeerInfo& info, const std::string& who, ReplyRoute route, ByteView header,
                MsgPtr payload);
  void RefuseBusy(IncomingPeer& peer, const std::string& who, const ReplyRoute& route,
                  const std::string& reason);
  // Counts a dropped incoming message and logs why (a bounded number of lines per interval,
  // so that a hostile peer cannot flood the log).
  void LogDrop(const std::string& who, std::string_view reason);
  void SendReply(const ReplyRoute& route, const Message& reply, const absl::Status& error);
  void HandleDealer(PeerSocket* peer);
  void OnReply(PeerSocket* peer, Received& message);
  void HandleBulkDealer(PeerSocket* peer);
  void OnBulkReply(PeerSocket* peer, Received& message);
  // Sends the hello that asks `peer` for a bulk session.
  void SendBulkHello(PeerSocket* peer);
  void OnBulkOffer(const std::string& peer_key, absl::StatusOr<Message> result);
  // Forgets the bulk session of `peer` (closing its socket) and, with `unavailable`, sends
  // bulk requests over CURVE until kBulkRetryAfter has passed. Requests sent on the session
  // are queued again with `resend` (once per request), else they fail with Unavailable.
  void ResetBulk(PeerSocket* peer, bool unavailable, bool resend);

  absl::StatusOr<PeerSocket*> GetPeer(const PeerAddress& address);
  // A DEALER connecting to `endpoint`: a CURVE client of `server_key`, or with the NULL
  // mechanism when it is null (a bulk channel).
  absl::StatusOr<void*> OpenDealer(const std::string& endpoint, const CurveKey* server_key);
  void ClosePeer(PeerSocket* peer, const absl::Status& status);
  void Pump(PeerSocket* peer);
  // Hands requests waiting for `peer`'s CURVE (or, with `bulk`, its ready bulk) connection to
  // it while the peer's window has room.
  void SendQueued(PeerSocket* peer, bool bulk);
  void Finish(uint64_t request_id, absl::StatusOr<Message> result);
  void ExpireDeadlines(absl::Time now);
  void Housekeeping(absl::Time now);
  // Closes least recently used idle peer sockets while there are more than the limit; never
  // `keep` (a socket just opened for a request).
  void EnforceSocketLimit(const PeerSocket* keep);

  static std::string PeerKey(const PeerAddress& address) {
    return absl::StrCat(address.endpoint, "|", HexEncode(address.server_key));
  }

  RequestHandler handler_;  // declared before options_: moved out of the options first
  const Options options_;
  const std::shared_ptr<Mailbox> mailbox_;
  Clock* const clock_;
  absl::Mutex join_mu_;
  std::thread thread_;  // started once before any Join/Detach; joined under join_mu_
  std::string endpoint_;

  void* context_ = nullptr;
  void* router_ = nullptr;
  void* zap_ = nullptr;
  void* bulk_router_ = nullptr;  // null: no bulk channel served
  std::string bulk_endpoint_;
  uint16_t bulk_port_ = 0;
  std::unordered_map<std::string, BulkSession> bulk_sessions_;  // by session id bytes
  std::unordered_map<std::string, std::unique_ptr<PeerSocket>> peers_;
  std::unordered_map<uint64_t, Pending> pending_;
  using Deadline = std::pair<absl::Time, uint64_t>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::map<CurveKey, IncomingPeer> incoming_;
  uint64_t next_request_id_ = 1;
  absl::Time next_housekeeping_;
  bool poll_dirty_ = true;
  std::vector<zmq_pollitem_t> poll_items_;
  // Parallel to poll_items_ from index first_peer_item_: the peer and which of its sockets.
  std::vector<std::pair<PeerSocket*, bool>> poll_peers_;
  size_t first_peer_item_ = 3;
  absl::Time drop_window_start_ = absl::InfinitePast();
  int drops_logged_ = 0;
  uint64_t drops_suppressed_ = 0;

  struct Counters {
    std::atomic<uint64_t> requests_sent{0}, replies_received{0}, requests_timed_out{0},
        requests_received{0}, requests_handled{0}, requests_rejected_busy{0}, replies_sent{0},
        malformed_dropped{0}, unmatched_replies{0}, zero_copy_frames_sent{0},
        zero_copy_bytes_sent{0}, peer_sockets{0}, bulk_requests_sent{0}, bulk_requests_received{0},
        bulk_sessions{0};
  };
  Counters counters_;
  SendCounters send_counters_{&counters_.zero_copy_frames_sent, &counters_.zero_copy_bytes_sent};
};

absl::StatusOr<std::unique_ptr<Loop>> Loop::Create(Options options) {
  if (!CurveSupported()) {
    return absl::FailedPreconditionError("libzmq was built without CURVE support");
  }
  GNR_ASSIGN_OR_RETURN(CurveKeyPair derived, CurveKeyPairFromSecret(options.keys.secret_key));
  if (derived.public_key != options.keys.public_key) {
    return absl::InvalidArgumentError("CURVE public key does not match the secret key");
  }
  if (options.max_in_flight_per_peer < 1 || options.max_queued_per_peer < 0 ||
      options.max_incoming_in_flight_per_peer < 1 || options.io_threads < 1 ||
      options.send_hwm < 1 || options.receive_hwm < 1 || options.max_peer_sockets < 1 ||
      options.incoming_rate_per_peer <= 0 || options.incoming_burst_per_peer < 1) {
    return absl::InvalidArgumentError(
        "transport limits must be positive (in-flight, HWM, sockets, rate >0, burst >=1)");
  }
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  auto mailbox = std::make_shared<Mailbox>(fd);
  std::unique_ptr<Loop> loop(new Loop(std::move(options), std::move(mailbox)));
  GNR_RETURN_IF_ERROR(loop->Init());
  return loop;
}

absl::Status Loop::Init() {
  context_ = zmq_ctx_new();
  if (context_ == nullptr) return absl::InternalError("zmq_ctx_new failed: " + ZmqError());
  zmq_ctx_set(context_, ZMQ_IO_THREADS, options_.io_threads);
  zmq_ctx_set(context_, ZMQ_MAX_SOCKETS, 2 * options_.max_peer_sockets + 64);
  zmq_ctx_set(context_, ZMQ_BLOCKY, 0);

  // The ZAP handler must be bound before the ROUTER accepts connections: it accepts every
  // CURVE client and records its public key as the User-Id of its messages.
  zap_ = zmq_socket(context_, ZMQ_REP);
  if (zap_ == nullptr) return absl::InternalError("zmq_socket(REP) failed: " + ZmqError());
  GNR_RETURN_IF_ERROR(SetInt(zap_, ZMQ_LINGER, 0, "ZMQ_LINGER"));
  if (zmq_bind(zap_, kZapEndpoint) != 0) {
    return absl::InternalError(absl::StrCat("binding the ZAP handler failed: ", ZmqError()));
  }

  router_ = zmq_socket(context_, ZMQ_ROUTER);
  if (router_ == nullptr) return absl::InternalError("zmq_socket(ROUTER) failed: " + ZmqError());
  GNR_ASSIGN_OR_RETURN(endpoint_,
                       BindRouter(router_, options_.bind_endpoint, options_, /*curve=*/true));
  if (options_.serve_bulk) {
    absl::Status bulk = BindBulkRouter();
    if (!bulk.ok()) {
      GNR_LOG(kWarning) << "zmq: no bulk channel (shard bytes go over CURVE): " << bulk;
      if (bulk_router_ != nullptr) zmq_close(bulk_router_);
      bulk_router_ = nullptr;
      bulk_endpoint_.clear();
    }
  }
  next_housekeeping_ = clock_->Now() + kHousekeepingInterval;
  return absl::OkStatus();
}

absl::Status Loop::BindBulkRouter() {
  std::string where = options_.bulk_bind_endpoint;
  if (where.empty()) {
    // The CURVE endpoint's host; its port + 1, or 0 (any) when it was bound to any port.
    const std::optional<int> port = EndpointPort(options_.bind_endpoint);
    if (!port || *port > 65534) {
      return absl::InvalidArgumentError(absl::StrCat("cannot derive a bulk endpoint from \"",
                                                     options_.bind_endpoint, "\"; set one"));
    }
    GNR_ASSIGN_OR_RETURN(where,
                         EndpointWithPort(options_.bind_endpoint,
                                          static_cast<uint16_t>(*port == 0 ? 0 : *port + 1)));
  }
  bulk_router_ = zmq_socket(context_, ZMQ_ROUTER);
  if (bulk_router_ == nullptr) {
    return absl::InternalError("zmq_socket(ROUTER) failed: " + ZmqError());
  }
  GNR_ASSIGN_OR_RETURN(bulk_endpoint_, BindRouter(bulk_router_, where, options_, /*curve=*/false));
  const std::optional<int> port = EndpointPort(bulk_endpoint_);
  if (!port || *port < 1 || *port > 65535) {
    return absl::InternalError(absl::StrCat("bulk ROUTER bound to \"", bulk_endpoint_, "\""));
  }
  bulk_port_ = static_cast<uint16_t>(*port);
  return absl::OkStatus();
}

Loop::~Loop() {
  // Normally Shutdown (on the loop thread) has closed everything; this covers a failed Init.
  for (auto& [key, peer] : peers_) {
    zmq_close(peer->socket);
    if (peer->bulk_socket != nullptr) zmq_close(peer->bulk_socket);
  }
  if (router_ != nullptr) zmq_close(router_);
  if (bulk_router_ != nullptr) zmq_close(bulk_router_);
  if (zap_ != nullptr) zmq_close(zap_);
  if (context_ != nullptr) zmq_ctx_term(context_);
}

TransportStats Loop::stats() const {
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  TransportStats s;
  s.requests_sent = get(counters_.requests_sent);
  s.replies_received = get(counters_.replies_received);
  s.requests_timed_out = get(counters_.requests_timed_out);
  s.requests_received = get(counters_.requests_received);
  s.requests_handled = get(counters_.requests_handled);
  s.requests_rejected_busy = get(counters_.requests_rejected_busy);
  s.replies_sent = get(counters_.replies_sent);
  s.malformed_dropped = get(counters_.malformed_dropped);
  s.unmatched_replies = get(counters_.unmatched_replies);
  s.zero_copy_frames_sent = get(counters_.zero_copy_frames_sent);
  s.zero_copy_bytes_sent = get(counters_.zero_copy_bytes_sent);
  s.peer_sockets = get(counters_.peer_sockets);
  s.bulk_requests_sent = get(counters_.bulk_requests_sent);
  s.bulk_requests_received = get(counters_.bulk_requests_received);
  s.bulk_sessions = get(counters_.bulk_sessions);
  return s;
}

void Loop::Run() {
  pthread_setname_np(pthread_self(), "gnr-zmq");
  for (;;) {
    absl::Time now = clock_->Now();
    ExpireDeadlines(now);
    if (now >= next_housekeeping_) Housekeeping(now);
    if (poll_dirty_) RebuildPollSet();

    absl::Time wake = next_housekeeping_;
    if (!deadlines_.empty()) wake = std::min(wake, deadlines_.top().first);
    absl::Duration wait = std::clamp(wake - now, absl::ZeroDuration(), kMaxPollWait);
    // Round up so that we do not spin just before a deadline.
    int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(wait + absl::Microseconds(999)));
    if (zmq_poll(poll_items_.data(), static_cast<int>(poll_items_.size()), timeout_ms) < 0) {
      if (zmq_errno() == EINTR) continue;
      GNR_LOG(kError) << "zmq: poll failed, stopping the transport loop: " << ZmqError();
      mailbox_->Close();
      break;
    }
    // Sockets first: commands may close peer sockets, which invalidates poll_peers_.
    if (poll_items_[1].revents & ZMQ_POLLIN) HandleZap();
    if (poll_items_[2].revents & ZMQ_POLLIN) HandleServer(router_, &Loop::OnIncoming);
    if (first_peer_item_ == 4 && (poll_items_[3].revents & ZMQ_POLLIN)) {
      HandleServer(bulk_router_, &Loop::OnBulkIncoming);
    }
    // Handling one socket may close another peer's (ResetBulk): collect first.
    std::vector<std::pair<PeerSocket*, bool>> ready;
    for (size_t i = first_peer_item_; i < poll_items_.size(); ++i) {
      if (poll_items_[i].revents & ZMQ_POLLIN) ready.push_back(poll_peers_[i - first_peer_item_]);
    }
    for (auto [peer, bulk] : ready) {
      if (!bulk) {
        HandleDealer(peer);
      } else if (peer->bulk_socket != nullptr) {  // not reset meanwhile
        HandleBulkDealer(peer);
      }
    }
    HandleCommands();
    if (mailbox_->closed()) break;
  }
  Shutdown();
}

void Loop::RebuildPollSet() {
  poll_items_.clear();
  poll_peers_.clear();
  poll_items_.push_back({nullptr, mailbox_->fd(), ZMQ_POLLIN, 0});
  poll_items_.push_back({zap_, 0, ZMQ_POLLIN, 0});
  poll_items_.push_back({router_, 0, ZMQ_POLLIN, 0});
  if (bulk_router_ != nullptr) poll_items_.push_back({bulk_router_, 0, ZMQ_POLLIN, 0});
  first_peer_item_ = poll_items_.size();
  for (auto& [key, peer] : peers_) {
    poll_items_.push_back({peer->socket, 0, ZMQ_POLLIN, 0});
    poll_peers_.push_back({peer.get(), false});
    if (peer->bulk_socket != nullptr) {
      poll_items_.push_back({peer->bulk_socket, 0, ZMQ_POLLIN, 0});
      poll_peers_.push_back({peer.get(), true});
    }
  }
  poll_dirty_ = false;
}

void Loop::Shutdown() {
  const absl::Status stopped = absl::CancelledError("transport stopped");
  // Commands posted before the mailbox closed but not yet handled.
  for (Command& command : mailbox_->Take()) {
    if (auto* send = std::get_if<SendCommand>(&command)) send->done(stopped);
  }
  std::vector<uint64_t> ids;
  ids.reserve(pending_.size());
  for (const auto& [id, pending] : pending_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // complete in submission order
  for (uint64_t id : ids) Finish(id, stopped);
  for (auto& [key, peer] : peers_) {
    zmq_close(peer->socket);
    if (peer->bulk_socket != nullptr) zmq_close(peer->bulk_socket);
  }
  peers_.clear();
  counters_.peer_sockets.store(0);
  zmq_close(router_);
  router_ = nullptr;
  if (bulk_router_ != nullptr) zmq_close(bulk_router_);
  bulk_router_ = nullptr;
  zmq_close(zap_);
  zap_ = nullptr;
  zmq_ctx_term(context_);
  context_ = nullptr;
}

void Loop::HandleCommands() {
  for (Command& command : mailbox_->Take()) {
    if (auto* send = std::get_if<SendCommand>(&command)) {
      OnSend(std::move(*send));
    } else if (auto* reply = std::get_if<ReplyCommand>(&command)) {
      OnReplyCommand(std::move(*reply));
    } else if (auto* connect = std::get_if<ConnectCommand>(&command)) {
      OnConnect(connect->peer);
    } else if (auto* disconnect = std::get_if<DisconnectCommand>(&command)) {
      OnDisconnect(disconnect->peer);
    }
  }
}

absl::StatusOr<void*> Loop::OpenDealer(const std::string& endpoint, const CurveKey* server_key) {
  void* socket = zmq_socket(context_, ZMQ_DEALER);
  if (socket == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot open a socket to ", endpoint, ": ", ZmqError()));
  }
  absl::Status status = SetCommonOptions(socket, options_);
  if (status.ok()) {
    status = SetInt(socket, ZMQ_RECONNECT_IVL, ToMillis(options_.reconnect_interval),
                    "ZMQ_RECONNECT_IVL");
  }
  if (status.ok()) {
    status = SetInt(socket, ZMQ_RECONNECT_IVL_MAX, ToMillis(options_.reconnect_interval_max),
                    "ZMQ_RECONNECT_IVL_MAX");
  }
  if (status.ok() && server_key != nullptr) {
    status = SetBytes(socket, ZMQ_CURVE_SERVERKEY, *server_key, "ZMQ_CURVE_SERVERKEY");
    if (status.ok()) {
      status =
          SetBytes(socket, ZMQ_CURVE_PUBLICKEY, options_.keys.public_key, "ZMQ_CURVE_PUBLICKEY");
    }
    if (status.ok()) {
      status =
          SetBytes(socket, ZMQ_CURVE_SECRETKEY, options_.keys.secret_key, "ZMQ_CURVE_SECRETKEY");
    }
  }
  if (status.ok() && zmq_connect(socket, endpoint.c_str()) != 0) {
    status =
        absl::InvalidArgumentError(absl::StrCat("cannot connect to ", endpoint, ": ", ZmqError()));
  }
  if (!status.ok()) {
    zmq_close(socket);
    return status;
  }
  return socket;
}

absl::StatusOr<Loop::PeerSocket*> Loop::GetPeer(const PeerAddress& address) {
  std::string key = PeerKey(address);
  auto it = peers_.find(key);
  if (it != peers_.end()) return it->second.get();
  GNR_ASSIGN_OR_RETURN(void* socket, OpenDealer(address.endpoint, &address.server_key));
  auto peer = std::make_unique<PeerSocket>();
  peer->address = address;
  peer->key = key;
  peer->socket = socket;
  peer->last_used = clock_->Now();
  PeerSocket* raw = peer.get();
  peers_.emplace(std::move(key), std::move(peer));
  counters_.peer_sockets.store(peers_.size());
  poll_dirty_ = true;
  GNR_LOG(kDebug) << "zmq: connecting to " << address.endpoint << " (server key "
                  << ShortKey(address.server_key) << ")";
  EnforceSocketLimit(raw);
  return raw;
}

void Loop::ClosePeer(PeerSocket* peer, const absl::Status& status) {
  std::vector<uint64_t> ids;
  for (const auto& [id, pending] : pending_) {
    if (pending.peer == peer) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) Finish(id, status);
  zmq_close(peer->socket);
  if (peer->bulk_socket != nullptr) zmq_close(peer->bulk_socket);
  peers_.erase(peer->key);  // destroys *peer
  counters_.peer_sockets.store(peers_.size());
  poll_dirty_ = true;
}

void Loop::EnforceSocketLimit(const PeerSocket* keep) {
  if (peers_.size() <= static_cast<size_t>(options_.max_peer_sockets)) return;
  std::vector<PeerSocket*> idle;
  for (auto& [key, peer] : peers_) {
    if (peer.get() != keep && peer->in_flight == 0 && peer->waiting.empty() &&
        peer->bulk_waiting.empty()) {
      idle.push_back(peer.get());
    }
  }
  std::sort(idle.begin(), idle.end(),
            [](PeerSocket* a, PeerSocket* b) { return a->last_used < b->last_used; });
  size_t excess = peers_.size() - options_.max_peer_sockets;
  for (size_t i = 0; i < idle.size() && i < excess; ++i) {
    GNR_LOG(kDebug) << "zmq: closing idle connection to " << idle[i]->address.endpoint << " (over "
                    << options_.max_peer_sockets << " peer sockets)";
    ClosePeer(idle[i], absl::CancelledError("connection closed"));
  }
}

void Loop::OnSend(SendCommand command) {
  absl::Time now = clock_->Now();
  if (command.deadline <= now) {
    counters_.requests_timed_out.fetch_add(1, std::memory_order_relaxed);
    command.done(absl::DeadlineExceededError(
        absl::StrCat("request to ", command.peer.endpoint, " expired before it was sent")));
    return;
  }
  absl::StatusOr<PeerSocket*> peer = GetPeer(command.peer);
  if (!peer.ok()) {
    command.done(peer.status());
    return;
  }
  PeerSocket* p = *peer;
  p->last_used = now;
  const size_t queued = p->waiting.size() + p->bulk_waiting.size();
  if (queued >= static_cast<size_t>(options_.max_queued_per_peer) &&
      p->in_flight >= options_.max_in_flight_per_peer) {
    command.done(absl::ResourceExhaustedError(
        absl::StrCat("too many requests queued for ", command.peer.endpoint, " (", p->in_flight,
                     " in flight, ", queued, " queued)")));
    return;
  }
  uint64_t id = next_request_id_++;
  Pending& pending = pending_[id];
  pending.peer = p;
  pending.bulk = command.channel == Channel::kBulk && options_.use_bulk;
  pending.deadline = command.deadline;
  pending.timeout = command.timeout;
  pending.request = std::move(command.request);
  pending.done = std::move(command.done);
  deadlines_.push({command.deadline, id});
  (pending.bulk ? p->bulk_waiting : p->waiting).push_back(id);
  Pump(p);
}

void Loop::Pump(PeerSocket* peer) {
  if (!peer->bulk_waiting.empty()) {
    if (peer->bulk_state == BulkState::kUnavailable && clock_->Now() >= peer->bulk_retry_at) {
      peer->bulk_state = BulkState::kNone;
    }
    if (peer->bulk_state == BulkState::kNone) SendBulkHello(peer);
    if (peer->bulk_state == BulkState::kUnavailable) {
      // Over CURVE, in order, behind what already waits there.
      for (uint64_t id : peer->bulk_waiting) {
        auto it = pending_.find(id);
        if (it != pending_.end()) it->second.bulk = false;
        peer->waiting.push_back(id);
      }
      peer->bulk_waiting.clear();
    }
  }
  if (peer->bulk_state == BulkState::kReady) SendQueued(peer, /*bulk=*/true);
  SendQueued(peer, /*bulk=*/false);
}

void Loop::SendQueued(PeerSocket* peer, bool bulk) {
  std::deque<uint64_t>& queue = bulk ? peer->bulk_waiting : peer->waiting;
  while (peer->in_flight < options_.max_in_flight_per_peer && !queue.empty()) {
    uint64_t id = queue.front();
    queue.pop_front();
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    Pending& pending = it->second;
    int error;
    if (bulk) {
      const FixedBytes<kBulkEnvelopeSize> envelope =
          EncodeBulkEnvelope({FrameKind::kRequest, peer->bulk_session, id});
      const Bytes sealed = SealBulkFrame(peer->bulk_key, BulkDirection::kRequest, envelope, id,
                                         pending.request.payload.size(), pending.request.header);
      error = SendMessage(peer->bulk_socket, nullptr, envelope, sealed, &pending.request.payload,
                          send_counters_);
    } else {
      const FixedBytes<kEnvelopeSize> envelope = EncodeEnvelope({FrameKind::kRequest, id});
      error = SendMessage(peer->socket, nullptr, envelope, pending.request.header,
                          &pending.request.payload, send_counters_);
    }
    if (error != 0) {
      Finish(id, absl::UnavailableError(absl::StrCat(
                     "cannot send to ", peer->address.endpoint, bulk ? " (bulk channel)" : "", ": ",
                     error == EAGAIN ? "send queue full" : zmq_strerror(error))));
      continue;
    }
    counters_.requests_sent.fetch_add(1, std::memory_order_relaxed);
    pending.sent = true;
    if (bulk) {
      counters_.bulk_requests_sent.fetch_add(1, std::memory_order_relaxed);
      pending.on_bulk = true;  // the request is kept (shared): a lost session resends it
    } else {
      // ZeroMQ owns the payload now; drop our reference so it is freed once sent.
      pending.request = Message();
    }
    ++peer->in_flight;
  }
}

void Loop::Finish(uint64_t request_id, absl::StatusOr<Message> result) {
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return;
  Pending pending = std::move(it->second);
  pending_.erase(it);
  // Deadlines of finished requests are skipped lazily; drop them all when nothing is pending.
  if (pending_.empty()) deadlines_ = {};
  if (pending.sent) {
    --pending.peer->in_flight;
  } else {
    for (auto* waiting : {&pending.peer->waiting, &pending.peer->bulk_waiting}) {
      auto pos = std::find(waiting->begin(), waiting->end(), request_id);
      if (pos != waiting->end()) waiting->erase(pos);
    }
  }
  pending.peer->last_used = clock_->Now();
  pending.done(std::move(result));
}

void Loop::ExpireDeadlines(absl::Time now) {
  std::vector<PeerSocket*> to_pump;
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    uint64_t id = deadlines_.top().second;
    deadlines_.pop();
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    Pending& pending = it->second;
    counters_.requests_timed_out.fetch_add(1, std::memory_order_relaxed);
    PeerSocket* peer = pending.peer;
    if (pending.sent) to_pump.push_back(peer);
    const bool reset_bulk = pending.on_bulk && peer->bulk_state == BulkState::kReady;
    std::string message = absl::StrCat("no reply from ", peer->address.endpoint, " within ",
                                       absl::FormatDuration(pending.timeout),
                                       pending.sent ? "" : " (still queued locally)");
    GNR_LOG(kDebug) << "zmq: request " << id << ": " << message;
    Finish(id, absl::DeadlineExceededError(message));
    if (reset_bulk) {
      // The peer may have restarted on another port, or a firewall may block its bulk
      // port: use CURVE for a while, then negotiate again.
      GNR_LOG(kInfo) << "zmq: bulk request to " << peer->address.endpoint
                     << " timed out; using CURVE for " << absl::FormatDuration(kBulkRetryAfter)
                     << ", then renegotiating the bulk channel";
      ResetBulk(peer, /*unavailable=*/true, /*resend=*/false);
    }
  }
  for (PeerSocket* peer : to_pump) Pump(peer);
}

void Loop::Housekeeping(absl::Time now) {
  next_housekeeping_ = now + kHousekeepingInterval;
  std::vector<PeerSocket*> idle;
  for (auto& [key, peer] : peers_) {
    if (peer->in_flight == 0 && peer->waiting.empty() && peer->bulk_waiting.empty() &&
        now - peer->last_used > options_.idle_peer_timeout) {
      idle.push_back(peer.get());
    }
  }
  for (PeerSocket* peer : idle) {
    GNR_LOG(kDebug) << "zmq: closing idle connection to " << peer->address.endpoint;
    ClosePeer(peer, absl::CancelledError("connection closed"));
  }
  for (auto it = bulk_sessions_.begin(); it != bulk_sessions_.end();) {
    if (now - it->second.last_used > kBulkSessionIdle) {
      it = bulk_sessions_.erase(it);
    } else {
      ++it;
    }
  }
  counters_.bulk_sessions.store(bulk_sessions_.size());
  for (auto it = incoming_.begin(); it != incoming_.end();) {
    if (it->second.in_flight == 0 && it->second.bucket.Full(now)) {
      it = incoming_.erase(it);
    } else {
      ++it;
    }
  }
}

void Loop::OnConnect(const PeerAddress& peer) {
  absl::StatusOr<PeerSocket*> socket = GetPeer(peer);
  if (!socket.ok()) {
    GNR_LOG(kWarning) << "zmq: " << socket.status();
  }
}

void Loop::OnDisconnect(const PeerAddress& peer) {
  auto it = peers_.find(PeerKey(peer));
  if (it == peers_.end()) return;
  ClosePeer(it->second.get(),
            absl::CancelledError(absl::StrCat("disconnected from ", peer.endpoint)));
}

void Loop::LogDrop(const std::string& who, std::string_view reason) {
  counters_.malformed_dropped.fetch_add(1, std::memory_order_relaxed);
  absl::Time now = clock_->Now();
  if (now - drop_window_start_ >= kBusyWarningInterval) {
    if (drops_suppressed_ > 0) {
      GNR_LOG(kWarning) << "zmq: " << drops_suppressed_ << " more malformed messages dropped";
    }
    drop_window_start_ = now;
    drops_logged_ = 0;
    drops_suppressed_ = 0;
  }
  if (drops_logged_ >= kDropLogBudget) {
    ++drops_suppressed_;
    return;
  }
  ++drops_logged_;
  GNR_LOG(kWarning) << "zmq: dropped a message from " << who << ": " << reason;
}

void Loop::HandleZap() {
  // ZAP (ZeroMQ RFC 27) request: version, request id, domain, address, routing id, mechanism,
  // credentials (for CURVE: the client's 32-byte public key). Reply: version, request id,
  // status code, status text, user id, metadata. A REP socket answers every request.
  Received request;
  for (int i = 0; i < kMaxMessagesPerWakeup && ReceiveMultipart(zap_, 8, &request); ++i) {
    auto frame = [&](size_t index) {
      return index < request.frames.size() ? AsStringView(MsgView(request.frames[index].get()))
                                           : std::string_view();
    };
    std::string_view code = "400";
    std::string_view text = "only CURVE clients are accepted";
    std::string user_id;
    if (request.total_frames == 7 && frame(0) == "1.0" && frame(5) == "CURVE" &&
        frame(6).size() == 32) {
      code = "200";
      text = "OK";
      user_id = HexEncode(AsBytes(frame(6)));
    } else {
      GNR_LOG(kWarning) << "zmq: refused a connection from " << frame(3) << ": " << text;
    }
    int error = SendMultipart(zap_,
                              {{AsBytes("1.0")},
                               {AsBytes(frame(1))},
                               {AsBytes(code)},
                               {AsBytes(text)},
                               {AsBytes(user_id)},
                               {ByteView()}},
                              send_counters_);
    if (error != 0) {
      GNR_LOG(kError) << "zmq: ZAP reply failed: " << zmq_strerror(error);
    }
  }
}

void Loop::HandleServer(void* router, void (Loop::*on_message)(Received&)) {
  Received message;
  for (int i = 0; i < kMaxMessagesPerWakeup && ReceiveMultipart(router, kMaxFramesKept, &message);
       ++i) {
    (this->*on_message)(message);
  }
}

void Loop::OnIncoming(Received& message) {
  // Frames: routing id (added by the ROUTER), envelope, header, optional payload.
  if (message.frames.size() < 2) {
    LogDrop("an unknown peer", "empty message");
    return;
  }
  zmq_msg_t* first = message.frames[1].get();
  PeerInfo info;
  if (const char* address = zmq_msg_gets(first, "Peer-Address")) info.address = address;
  const char* user_id = zmq_msg_gets(first, "User-Id");
  absl::StatusOr<CurveKey> key =
      user_id != nullptr ? HexDecodeFixed<32>(user_id) : absl::InvalidArgumentError("no User-Id");
  if (!key.ok()) {
    LogDrop(info.address, "no authenticated CURVE key on the connection");
    return;
  }
  info.curve_key = *key;
  const std::string who = absl::StrCat("peer ", ShortKey(info.curve_key), " (", info.address, ")");

  const size_t data_frames = message.total_frames - 1;
  if (data_frames != 2 && data_frames != 3) {
    LogDrop(who, absl::StrCat(data_frames, " frames (a request has 2 or 3)"));
    return;
  }
  absl::StatusOr<Envelope> envelope = DecodeEnvelope(MsgView(first));
  if (!envelope.ok()) {
    LogDrop(who, StdView(envelope.status().message()));
    return;
  }
  if (envelope->kind != FrameKind::kRequest && envelope->kind != FrameKind::kBulkHello) {
    LogDrop(who, "a reply arrived on the server socket");
    return;
  }
  counters_.requests_received.fetch_add(1, std::memory_order_relaxed);
  ReplyRoute route{ToBytes(MsgView(message.frames[0].get())), envelope->request_id};
  if (envelope->kind == FrameKind::kBulkHello) {
    IncomingPeer& peer = Incoming(info.curve_key);
    if (!peer.bucket.TryTake(clock_->Now())) {
      RefuseBusy(peer, who, route,
                 absl::StrCat("over the limit of ", options_.incoming_rate_per_peer,
                              " requests/s (burst ", options_.incoming_burst_per_peer, ")"));
      return;
    }
    OfferBulkSession(info, route);
    return;
  }
  Dispatch(info, who, std::move(route), MsgView(message.frames[2].get()),
           data_frames == 3 ? std::move(message.frames[3]) : MsgPtr());
}

Loop::IncomingPeer& Loop::Incoming(const CurveKey& key) {
  auto it = incoming_.find(key);
  if (it == incoming_.end()) {
    it = incoming_
             .emplace(key,
                      IncomingPeer(TokenBucket(options_.incoming_rate_per_peer,
                                               options_.incoming_burst_per_peer, clock_->Now())))
             .first;
  }
  return it->second;
}

void Loop::OfferBulkSession(const PeerInfo& info, const ReplyRoute& route) {
  if (bulk_router_ == nullptr) {
    SendReply(route, Message(), absl::UnimplementedError("this node serves no bulk channel"));
    return;
  }
  const absl::Time now = clock_->Now();
  // A client asks again only when it lost its session, so a peer keeps a few at most (two
  // transports may share a key); its oldest goes first, then the table's oldest.
  auto oldest_of_peer = bulk_sessions_.end();
  int of_peer = 0;
  for (auto it = bulk_sessions_.begin(); it != bulk_sessions_.end(); ++it) {
    if (it->second.peer_key != info.curve_key) continue;
    ++of_peer;
    if (oldest_of_peer == bulk_sessions_.end() ||
        it->second.last_used < oldest_of_peer->second.last_used) {
      oldest_of_peer = it;
    }
  }
  if (of_peer >= kMaxBulkSessionsPerPeer) bulk_sessions_.erase(oldest_of_peer);
  if (bulk_sessions_.size() >= kMaxBulkSessions) {
    auto oldest = std::min_element(
        bulk_sessions_.begin(), bulk_sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    bulk_sessions_.erase(oldest);
  }
  BulkOffer offer;
  crypto::OsRandom().Fill(offer.session);
  crypto::OsRandom().Fill(offer.key);
  offer.port = bulk_port_;
  bulk_sessions_[std::string(AsStringView(offer.session))] =
      BulkSession{offer.key, info.curve_key, 0, now};
  counters_.bulk_sessions.store(bulk_sessions_.size());
  const FixedBytes<kBulkOfferSize> header = EncodeBulkOffer(offer);
  SendReply(route, Message{.header = Bytes(header.begin(), header.end()), .payload = {}},
            absl::OkStatus());
}

void Loop::Dispatch(const PeerInfo& info, const std::string& who, ReplyRoute route, ByteView header,
                    MsgPtr payload) {
  size_t payload_size = payload != nullptr ? zmq_msg_size(payload.get()) : 0;
  if (header.size() > options_.max_header_size || payload_size > options_.max_payload_size) {
    std::string reason = absl::StrCat("request too large (header ", header.size(), " bytes, limit ",
                                      options_.max_header_size, "; payload ", payload_size,
                                      " bytes, limit ", options_.max_payload_size, ")");
    LogDrop(who, reason);
    SendReply(route, Message(), absl::InvalidArgumentError(reason));
    return;
  }

  absl::Time now = clock_->Now();
  IncomingPeer& peer = Incoming(info.curve_key);
  if (!peer.bucket.TryTake(now)) {
    RefuseBusy(peer, who, route,
               absl::StrCat("over the limit of ", options_.incoming_rate_per_peer,
                            " requests/s (burst ", options_.incoming_burst_per_peer, ")"));
    return;
  }
  if (peer.in_flight >= options_.max_incoming_in_flight_per_peer) {
    RefuseBusy(peer, who, route,
               absl::StrCat(peer.in_flight, " requests already in progress (limit ",
                            options_.max_incoming_in_flight_per_peer, ")"));
    return;
  }
  if (!handler_) {
    SendReply(route, Message(), absl::UnimplementedError("this node serves no requests"));
    return;
  }
  Message request;
  request.header = ToBytes(header);
  if (payload != nullptr) request.payload = MsgToShared(std::move(payload));
  ++peer.in_flight;
  counters_.requests_handled.fetch_add(1, std::memory_order_relaxed);
  handler_(info, std::move(request),
           Responder(std::make_shared<ResponderState>(mailbox_, std::move(route), info.curve_key)));
}

void Loop::OnBulkIncoming(Received& message) {
  // Frames: routing id, bulk envelope, sealed header, optional payload.
  if (message.frames.size() < 2) {
    LogDrop("an unknown bulk peer", "empty message");
    return;
  }
  zmq_msg_t* first = message.frames[1].get();
  PeerInfo info;
  if (const char* address = zmq_msg_gets(first, "Peer-Address")) info.address = address;
  const std::string anonymous = absl::StrCat("bulk peer ", info.address);
  const size_t data_frames = message.total_frames - 1;
  if (data_frames != 2 && data_frames != 3) {
    LogDrop(anonymous, absl::StrCat(data_frames, " frames (a bulk request has 2 or 3)"));
    return;
  }
  const ByteView envelope_frame = MsgView(first);
  absl::StatusOr<BulkEnvelope> envelope = DecodeBulkEnvelope(envelope_frame);
  if (!envelope.ok()) {
    LogDrop(anonymous, StdView(envelope.status().message()));
    return;
  }
  if (envelope->kind != FrameKind::kRequest) {
    LogDrop(anonymous, "a reply arrived on the bulk server socket");
    return;
  }
  const Bytes routing_id = ToBytes(MsgView(message.frames[0].get()));
  auto session = bulk_sessions_.find(std::string(AsStringView(envelope->session)));
  if (session == bulk_sessions_.end()) {
    // Unsealed (we hold no key for it): the client negotiates a new session and resends.
    LogDrop(anonymous, "unknown bulk session (expired, or this node restarted)");
    BulkEnvelope answer{FrameKind::kBulkUnknownSession, envelope->session, envelope->request_id};
    const FixedBytes<kBulkEnvelopeSize> frame = EncodeBulkEnvelope(answer);
    (void)SendMessage(bulk_router_, &routing_id, frame, ByteView(), nullptr, send_counters_);
    return;
  }
  BulkSession& s = session->second;
  info.curve_key = s.peer_key;
  const std::string who =
      absl::StrCat("peer ", ShortKey(info.curve_key), " (", info.address, ", bulk)");
  if (envelope->request_id <= s.last_request_id) {
    LogDrop(who, absl::StrCat("bulk request id ", envelope->request_id, " not after ",
                              s.last_request_id, " (a replay?)"));
    return;
  }
  const uint64_t payload_size = data_frames == 3 ? zmq_msg_size(message.frames[3].get()) : 0;
  absl::StatusOr<Bytes> header =
      OpenBulkFrame(s.key, BulkDirection::kRequest, envelope_frame, envelope->request_id,
                    payload_size, MsgView(message.frames[2].get()));
  if (!header.ok()) {
    LogDrop(who, StdView(header.status().message()));
    return;
  }
  s.last_request_id = envelope->request_id;
  s.last_used = clock_->Now();
  counters_.requests_received.fetch_add(1, std::memory_order_relaxed);
  counters_.bulk_requests_received.fetch_add(1, std::memory_order_relaxed);
  ReplyRoute route{routing_id, envelope->request_id, /*bulk=*/true, envelope->session};
  Dispatch(info, who, std::move(route), *header,
           data_frames == 3 ? std::move(message.frames[3]) : MsgPtr());
}

void Loop::RefuseBusy(IncomingPeer& peer, const std::string& who, const ReplyRoute& route,
                      const std::string& reason) {
  counters_.requests_rejected_busy.fetch_add(1, std::memory_order_relaxed);
  ++peer.refused_since_warning;
  absl::Time now = clock_->Now();
  if (now - peer.last_warning >= kBusyWarningInterval) {
    GNR_LOG(kWarning) << "zmq: refusing requests from " << who << ": " << reason << " ("
                      << peer.refused_since_warning << " refused since the last report)";
    peer.last_warning = now;
    peer.refused_since_warning = 0;
  }
  SendReply(route, Message(), absl::ResourceExhaustedError("busy: " + reason));
}

void Loop::SendReply(const ReplyRoute& route, const Message& reply, const absl::Status& error) {
  const FrameKind kind = error.ok() ? FrameKind::kReply : FrameKind::kError;
  const Bytes error_body = error.ok() ? Bytes() : EncodeErrorBody(error);
  const Bytes& body = error.ok() ? reply.header : error_body;
  const SharedBytes* payload = error.ok() ? &reply.payload : nullptr;
  int result;
  if (route.bulk) {
    auto session = bulk_sessions_.find(std::string(AsStringView(route.session)));
    if (session == bulk_sessions_.end()) {
      GNR_LOG(kDebug) << "zmq: reply to bulk request " << route.request_id
                      << " dropped: its session expired";
      return;
    }
    session->second.last_used = clock_->Now();
    const FixedBytes<kBulkEnvelopeSize> envelope =
        EncodeBulkEnvelope({kind, route.session, route.request_id});
    const Bytes sealed =
        SealBulkFrame(session->second.key, BulkDirection::kReply, envelope, route.request_id,
                      payload != nullptr ? payload->size() : 0, body);
    result =
        SendMessage(bulk_router_, &route.routing_id, envelope, sealed, payload, send_counters_);
  } else {
    const FixedBytes<kEnvelopeSize> envelope = EncodeEnvelope({kind, route.request_id});
    result = SendMessage(router_, &route.routing_id, envelope, body, payload, send_counters_);
  }
  const uint64_t request_id = route.request_id;
  if (result == 0) {
    counters_.replies_sent.fetch_add(1, std::memory_order_relaxed);
  } else if (result == EHOSTUNREACH) {
    GNR_LOG(kDebug) << "zmq: reply to request " << request_id << " dropped: peer disconnected";
  } else {
    GNR_LOG(kWarning) << "zmq: reply to request " << request_id << " dropped: "
                      << (result == EAGAIN ? "send queue full" : zmq_strerror(result));
  }
}

void Loop::OnReplyCommand(ReplyCommand command) {
  auto it = incoming_.find(command.peer_key);
  if (it != incoming_.end() && it->second.in_flight > 0) --it->second.in_flight;
  SendReply(command.route, command.reply, command.error);
}

void Loop::HandleDealer(PeerSocket* peer) {
  Received message;
  for (int i = 0;
       i < kMaxMessagesPerWakeup && ReceiveMultipart(peer->socket, kMaxFramesKept, &message); ++i) {
    OnReply(peer, message);
  }
  Pump(peer);
}

void Loop::OnReply(PeerSocket* peer, Received& message) {
  // Frames: envelope, header (or error body), optional payload.
  const std::string& who = peer->address.endpoint;
  if (message.total_frames != 2 && message.total_frames != 3) {
    LogDrop(who, absl::StrCat(message.total_frames, " frames (a reply has 2 or 3)"));
    return;
  }
  absl::StatusOr<Envelope> envelope = DecodeEnvelope(MsgView(message.frames[0].get()));
  if (!envelope.ok()) {
    LogDrop(who, StdView(envelope.status().message()));
    return;
  }
  if (envelope->kind == FrameKind::kRequest) {
    LogDrop(who, "a request arrived on a client socket");
    return;
  }
  const uint64_t id = envelope->request_id;
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.peer != peer || !it->second.sent || it->second.on_bulk) {
    counters_.unmatched_replies.fetch_add(1, std::memory_order_relaxed);
    GNR_LOG(kDebug) << "zmq: dropped a reply from " << who << " to unknown or expired request "
                    << id;
    return;
  }
  counters_.replies_received.fetch_add(1, std::memory_order_relaxed);
  ByteView header = MsgView(message.frames[1].get());
  if (envelope->kind == FrameKind::kError) {
    Finish(id, DecodeErrorBody(header, who));
    return;
  }
  size_t payload_size = message.total_frames == 3 ? zmq_msg_size(message.frames[2].get()) : 0;
  if (header.size() > options_.max_header_size || payload_size > options_.max_payload_size) {
    std::string reason = absl::StrCat("reply too large (header ", header.size(), " bytes, payload ",
                                      payload_size, " bytes)");
    LogDrop(who, reason);
    Finish(id, absl::InternalError(absl::StrCat(who, ": ", reason)));
    return;
  }
  Message reply;
  reply.header = ToBytes(header);
  if (message.total_frames == 3) reply.payload = MsgToShared(std::move(message.frames[2]));
  Finish(id, std::move(reply));
}

void Loop::HandleBulkDealer(PeerSocket* peer) {
  Received message;
  for (int i = 0; i < kMaxMessagesPerWakeup && peer->bulk_socket != nullptr &&
                  ReceiveMultipart(peer->bulk_socket, kMaxFramesKept, &message);
       ++i) {
    OnBulkReply(peer, message);
  }
  Pump(peer);
}

void Loop::OnBulkReply(PeerSocket* peer, Received& message) {
  // Frames: bulk envelope, sealed header (or error body), optional payload.
  const std::string who = absl::StrCat(peer->address.endpoint, " (bulk)");
  if (message.total_frames != 2 && message.total_frames != 3) {
    LogDrop(who, absl::StrCat(message.total_frames, " frames (a bulk reply has 2 or 3)"));
    return;
  }
  const ByteView envelope_frame = MsgView(message.frames[0].get());
  absl::StatusOr<BulkEnvelope> envelope = DecodeBulkEnvelope(envelope_frame);
  if (!envelope.ok()) {
    LogDrop(who, StdView(envelope.status().message()));
    return;
  }
  if (envelope->kind == FrameKind::kRequest || envelope->session != peer->bulk_session) {
    LogDrop(who, "not a reply of our bulk session");
    return;
  }
  const uint64_t id = envelope->request_id;
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.peer != peer || !it->second.on_bulk) {
    counters_.unmatched_replies.fetch_add(1, std::memory_order_relaxed);
    GNR_LOG(kDebug) << "zmq: dropped a reply from " << who << " to unknown or expired request "
                    << id;
    return;
  }
  if (envelope->kind == FrameKind::kBulkUnknownSession) {
    // The peer forgot the session (it restarted, or the session expired), so it ran none of
    // the requests still pending on it: send them again on a new session. (The answer is
    // unauthenticated; a forged one costs a handshake and, once per request, a resend.)
    GNR_LOG(kInfo) << "zmq: " << who << " no longer knows our bulk session; renegotiating";
    ResetBulk(peer, /*unavailable=*/false, /*resend=*/true);
    return;
  }
  const uint64_t payload_size =
      message.total_frames == 3 ? zmq_msg_size(message.frames[2].get()) : 0;
  absl::StatusOr<Bytes> body = OpenBulkFrame(peer->bulk_key, BulkDirection::kReply, envelope_frame,
                                             id, payload_size, MsgView(message.frames[1].get()));
  if (!body.ok()) {
    LogDrop(who, StdView(body.status().message()));
    return;
  }
  counters_.replies_received.fetch_add(1, std::memory_order_relaxed);
  if (envelope->kind == FrameKind::kError) {
    Finish(id, DecodeErrorBody(*body, who));
    return;
  }
  if (body->size() > options_.max_header_size || payload_size > options_.max_payload_size) {
    std::string reason = absl::StrCat("reply too large (header ", body->size(), " bytes, payload ",
                                      payload_size, " bytes)");
    LogDrop(who, reason);
    Finish(id, absl::InternalError(absl::StrCat(who, ": ", reason)));
    return;
  }
  Message reply;
  reply.header = *std::move(body);
  if (message.total_frames == 3) reply.payload = MsgToShared(std::move(message.frames[2]));
  Finish(id, std::move(reply));
}

void Loop::SendBulkHello(PeerSocket* peer) {
  const uint64_t id = next_request_id_++;
  const FixedBytes<kEnvelopeSize> envelope = EncodeEnvelope({FrameKind::kBulkHello, id});
  if (SendMessage(peer->socket, nullptr, envelope, ByteView(), nullptr, send_counters_) != 0) {
    peer->bulk_state = BulkState::kUnavailable;
    peer->bulk_retry_at = clock_->Now() + kBulkRetryAfter;
    return;
  }
  const absl::Time deadline = clock_->Now() + kBulkHelloTimeout;
  Pending& pending = pending_[id];
  pending.peer = peer;
  pending.sent = true;
  pending.deadline = deadline;
  pending.timeout = kBulkHelloTimeout;
  pending.done = [this, key = peer->key](absl::StatusOr<Message> result) {
    OnBulkOffer(key, std::move(result));
  };
  deadlines_.push({deadline, id});
  ++peer->in_flight;
  peer->bulk_state = BulkState::kHelloSent;
}

void Loop::OnBulkOffer(const std::string& peer_key, absl::StatusOr<Message> result) {
  auto it = peers_.find(peer_key);
  if (it == peers_.end()) return;
  PeerSocket* peer = it->second.get();
  if (peer->bulk_state != BulkState::kHelloSent) return;
  if (absl::IsCancelled(result.status())) {  // the peer socket is closing
    peer->bulk_state = BulkState::kNone;
    return;
  }
  absl::Status status = result.status();
  std::string endpoint;
  BulkOffer offer;
  if (status.ok()) {
    absl::StatusOr<BulkOffer> decoded = DecodeBulkOffer(result->header);
    status = decoded.status();
    if (decoded.ok()) offer = *decoded;
  }
  if (status.ok()) {
    // Same host as the CURVE endpoint: a peer cannot point us at a third party.
    absl::StatusOr<std::string> where = EndpointWithPort(peer->address.endpoint, offer.port);
    status = where.ok() ? ValidatePeerEndpoint(*where) : where.status();
    if (where.ok()) endpoint = *where;
  }
  void* socket = nullptr;
  if (status.ok()) {
    absl::StatusOr<void*> opened = OpenDealer(endpoint, /*server_key=*/nullptr);
    status = opened.status();
    if (opened.ok()) socket = *opened;
  }
  if (!status.ok()) {
    GNR_LOG(kInfo) << "zmq: " << peer->address.endpoint
                   << " offers no bulk channel; shard bytes go over CURVE (" << status.message()
                   << ")";
    peer->bulk_state = BulkState::kUnavailable;
    peer->bulk_retry_at = clock_->Now() + kBulkRetryAfter;
  } else {
    GNR_LOG(kDebug) << "zmq: bulk channel to " << peer->address.endpoint << " at " << endpoint;
    peer->bulk_socket = socket;
    peer->bulk_session = offer.session;
    peer->bulk_key = offer.key;
    peer->bulk_state = BulkState::kReady;
    poll_dirty_ = true;
  }
  Pump(peer);
}

void Loop::ResetBulk(PeerSocket* peer, bool unavailable, bool resend) {
  if (peer->bulk_socket != nullptr) {
    zmq_close(peer->bulk_socket);
    peer->bulk_socket = nullptr;
    poll_dirty_ = true;
  }
  // Requests sent on the closed connection can no longer be answered there. Resent ones
  // keep their ids (the new session's ids only need to increase) and go first.
  std::vector<uint64_t> lost;
  for (const auto& [id, pending] : pending_) {
    if (pending.peer == peer && pending.on_bulk) lost.push_back(id);
  }
  std::sort(lost.begin(), lost.end());
  peer->bulk_state = unavailable ? BulkState::kUnavailable : BulkState::kNone;
  peer->bulk_retry_at = clock_->Now() + kBulkRetryAfter;
  std::vector<uint64_t> failed;
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) {  // push_front keeps id order
    Pending& pending = pending_[*it];
    if (!resend || pending.resent) {
      failed.push_back(*it);
      continue;
    }
    pending.sent = false;
    pending.on_bulk = false;
    pending.resent = true;
    --peer->in_flight;
    peer->bulk_waiting.push_front(*it);
  }
  std::sort(failed.begin(), failed.end());
  for (uint64_t id : failed) {
    Finish(id, absl::UnavailableError(absl::StrCat("bulk channel to ", peer->address.endpoint,
                                                   " was reset; try again")));
  }
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------

bool Responder::Respond(Message reply) const {
  if (state_ == nullptr || state_->answered.exchange(true)) return false;
  return state_->Post(std::move(reply), absl::OkStatus());
}

bool Responder::RespondError(const absl::Status& error) const {
  if (state_ == nullptr || state_->answered.exchange(true)) return false;
  return state_->Post(Message(),
                      error.ok() ? absl::InternalError("handler sent an OK error") : error);
}

bool Responder::answered() const { return state_ == nullptr || state_->answered.load(); }

Transport::Transport(std::unique_ptr<internal::Loop> loop, std::string endpoint,
                     CurveKey public_key)
    : loop_(std::move(loop)), endpoint_(std::move(endpoint)), public_key_(public_key) {}

absl::StatusOr<std::unique_ptr<Transport>> Transport::Start(Options options) {
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<internal::Loop> loop,
                       internal::Loop::Create(std::move(options)));
  std::string endpoint = loop->endpoint();
  CurveKey public_key = loop->options().keys.public_key;
  loop->StartThread();
  GNR_LOG(kDebug) << "zmq: transport " << ShortKey(public_key) << " listening on " << endpoint;
  return std::unique_ptr<Transport>(
      new Transport(std::move(loop), std::move(endpoint), public_key));
}

Transport::~Transport() {
  if (loop_->OnLoopThread()) {
    // Destroying the transport from its own callback cannot join the thread; leak the loop
    // rather than free memory the thread is still using.
    GNR_LOG(kError) << "zmq: Transport destroyed from its own loop thread; leaking the loop";
    loop_->RequestStop();
    loop_->Detach();
    loop_.release();
    return;
  }
  Stop();
}

void Transport::Stop() {
  loop_->RequestStop();
  if (loop_->OnLoopThread()) return;
  loop_->Join();
}

TransportStats Transport::stats() const { return loop_->stats(); }

const std::string& Transport::bulk_endpoint() const { return loop_->bulk_endpoint(); }

void Transport::SendRequest(const PeerAddress& peer, Message request, absl::Duration timeout,
                            ReplyCallback done, Channel channel) {
  const Options& options = loop_->options();
  absl::Status status = ValidatePeerEndpoint(peer.endpoint);
  if (status.ok() && request.header.size() > options.max_header_size) {
    status = absl::InvalidArgumentError(absl::StrCat("request header of ", request.header.size(),
                                                     " bytes exceeds the limit of ",
                                                     options.max_header_size));
  }
  if (status.ok() && request.payload.size() > options.max_payload_size) {
    status = absl::InvalidArgumentError(absl::StrCat("request payload of ", request.payload.size(),
                                                     " bytes exceeds the limit of ",
                                                     options.max_payload_size));
  }
  if (!status.ok()) {
    done(std::move(status));
    return;
  }
  internal::Command command = internal::SendCommand{
      peer, std::move(request), loop_->clock().Now() + timeout, timeout, std::move(done), channel};
  if (!loop_->mailbox().Post(command)) {
    std::get<internal::SendCommand>(command).done(absl::CancelledError("transport stopped"));
  }
}

std::future<absl::StatusOr<Message>> Transport::Call(const PeerAddress& peer, Message request,
                                                     absl::Duration timeout) {
  std::promise<absl::StatusOr<Message>> promise;
  std::future<absl::StatusOr<Message>> future = promise.get_future();
  SendRequest(peer, std::move(request), timeout,
              [promise = std::move(promise)](absl::StatusOr<Message> reply) mutable {
                promise.set_value(std::move(reply));
              });
  return future;
}

void Transport::Connect(const PeerAddress& peer) {
  absl::Status status = ValidatePeerEndpoint(peer.endpoint);
  if (!status.ok()) {
    GNR_LOG(kWarning) << "zmq: not connecting: " << status;
    return;
  }
  internal::Command command = internal::ConnectCommand{peer};
  loop_->mailbox().Post(command);
}

void Transport::Disconnect(const PeerAddress& peer) {
  internal::Command command = internal::DisconnectCommand{peer};
  loop_->mailbox().Post(command);
}

absl::Status ValidatePeerEndpoint(std::string_view endpoint) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid peer endpoint \"", AbslView(endpoint.substr(0, 100)), "\": ", AbslView(why)));
  };
  constexpr std::string_view kScheme = "tcp://";
  if (endpoint.size() > 255) return invalid("longer than 255 characters");
  if (endpoint.substr(0, kScheme.size()) != kScheme) return invalid("only tcp:// is allowed");
  std::string_view rest = endpoint.substr(kScheme.size());
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return invalid("no port");
  std::string_view host = rest.substr(0, colon);
  std::string_view port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return invalid("port must be a number");
  }
  int port_number = 0;
  for (char c : port) port_number = port_number * 10 + (c - '0');
  if (port_number < 1 || port_number > 65535) return invalid("port must be 1-65535");
  if (host.empty()) return invalid("no host");
  auto is_alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return invalid("unterminated IPv6 address");
    std::string_view inner = host.substr(1, host.size() - 2);
    if (!std::all_of(inner.begin(), inner.end(), [&](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                 c == ':' || c == '.';
        })) {
      return invalid("bad IPv6 address");
    }
    return absl::OkStatus();
  }
  if (!std::all_of(host.begin(), host.end(),
                   [&](char c) { return is_alnum(c) || c == '-' || c == '.'; })) {
    return invalid("host may only contain letters, digits, '-' and '.'");
  }
  return absl::OkStatus();
}

}  // namespace gnr::net_zmq
