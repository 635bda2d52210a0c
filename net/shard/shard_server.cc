#include "net/shard/shard_server.h"

#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "net/wire/frame.h"
#include "net/wire/shard_codec.h"

namespace gnr::shard {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 has no aggregate CTAD

std::string Who(const net_zmq::PeerInfo& from) {
  return absl::StrCat(from.address.empty() ? "?" : from.address, " key ",
                      net_zmq::ShortKey(from.curve_key));
}

}  // namespace

struct ShardServer::Job {
  net_zmq::PeerInfo from;
  wire::ShardMessage request;
  net_zmq::SharedBytes payload;
  net_zmq::Responder responder;
};

absl::StatusOr<std::unique_ptr<ShardServer>> ShardServer::Create(ShardService& service,
                                                                 ShardServerOptions options) {
  if (options.worker_threads < 1) {
    return absl::InvalidArgumentError("shard server needs at least one worker thread");
  }
  if (options.max_queued == 0) return absl::InvalidArgumentError("max_queued must be positive");
  return std::unique_ptr<ShardServer>(new ShardServer(service, std::move(options)));
}

ShardServer::ShardServer(ShardService& service, ShardServerOptions options)
    : service_(service),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClockInstance()),
      replay_(options_.replay_window, options_.max_replay_entries) {
  for (int i = 0; i < options_.worker_threads; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

ShardServer::~ShardServer() {
  std::deque<std::unique_ptr<Job>> abandoned;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    abandoned.swap(queue_);
  }
  for (std::thread& t : workers_) t.join();
  for (auto& job : abandoned) {
    job->responder.RespondError(absl::UnavailableError("shard server stopping"));
  }
}

ShardServerStats ShardServer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void ShardServer::Refuse(const net_zmq::PeerInfo& from, std::string_view type,
                         const absl::Status& status, const net_zmq::Responder& responder) {
  GNR_LOG(kWarning) << "shard server: refused " << type << " from " << Who(from) << ": "
                    << status.message();
  responder.RespondError(status);
}

void ShardServer::Handle(const net_zmq::PeerInfo& from, net_zmq::Message request,
                         net_zmq::Responder responder) {
  absl::StatusOr<wire::ShardMessage> decoded = wire::DecodeShardMessage(request.header);
  absl::Status problem;
  if (!decoded.ok()) {
    problem = decoded.status();
  } else if (!wire::IsShardRequest(*decoded)) {
    problem = absl::InvalidArgumentError(
        absl::StrCat("expected a request, got ", AbslView(wire::ShardMessageName(*decoded))));
  } else if (const auto* put = std::get_if<wire::PutShardRequest>(&*decoded)) {
    if (request.payload.size() != put->size) {
      problem = absl::InvalidArgumentError(absl::StrCat(
          "PUT_SHARD payload is ", request.payload.size(), " bytes, header says ", put->size));
    }
  } else if (!request.payload.empty()) {
    problem = absl::InvalidArgumentError(absl::StrCat(AbslView(wire::ShardMessageName(*decoded)),
                                                      " carries an unexpected ",
                                                      request.payload.size(), "-byte payload"));
  }
  const std::string_view type = decoded.ok() ? wire::ShardMessageName(*decoded) : "request";
  if (!problem.ok()) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.received;
      ++stats_.refused_malformed;
    }
    Refuse(from, type, problem, responder);
    return;
  }
  auto job = std::make_unique<Job>(
      Job{from, *std::move(decoded), std::move(request.payload), std::move(responder)});
  {
    absl::MutexLock lock(&mu_);
    ++stats_.received;
    if (stopping_) {
      problem = absl::UnavailableError("shard server stopping");
    } else if (queue_.size() >= options_.max_queued) {
      ++stats_.refused_busy;
      problem = absl::ResourceExhaustedError(
          absl::StrCat("shard server busy: ", queue_.size(), " requests queued"));
    } else {
      queue_.push_back(std::move(job));
      return;
    }
  }
  Refuse(from, type, problem, job->responder);
}

void ShardServer::WorkerLoop() {
  while (true) {
    std::unique_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ShardServer* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->stopping_ || !s->queue_.empty(); },
          this));
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Run(*job);
  }
}

void ShardServer::Run(Job& job) {
  const std::string_view type = wire::ShardMessageName(job.request);
  enum class Outcome { kOk, kServiceError, kSignature, kReplay };
  Outcome outcome = Outcome::kOk;
  uint64_t bytes_in = 0, bytes_out = 0;

  // Checks a signed request: for us, fresh, signature valid, nonce unused.
  auto check_signed = [&](const kademlia::NodeId& farmer, const crypto::Hash256& digest,
                          ByteView signature, const Nonce& nonce,
                          absl::Time signed_at) -> absl::StatusOr<PayerAddress> {
    if (farmer != options_.self) {
      outcome = Outcome::kSignature;
      return absl::UnauthenticatedError(absl::StrCat(
          "request is signed for farmer ", farmer.ToHex(), ", this is ", options_.self.ToHex()));
    }
    const absl::Time now = clock_.Now();
    if (signed_at < now - replay_.window() || signed_at > now + replay_.window()) {
      outcome = Outcome::kSignature;
      return replay_.Check(PayerAddress{}, nonce, signed_at, now);  // the window error
    }
    absl::StatusOr<PayerAddress> payer = RecoverPayer(digest, signature);
    if (!payer.ok()) {
      outcome = Outcome::kSignature;
      return payer.status();
    }
    if (absl::Status s = replay_.Check(*payer, nonce, signed_at, now); !s.ok()) {
      outcome = Outcome::kReplay;
      return s;
    }
    return payer;
  };

  absl::StatusOr<net_zmq::Message> reply = std::visit(
      Overloaded{
          [&](const wire::PutShardRequest& r) -> absl::StatusOr<net_zmq::Message> {
            GNR_ASSIGN_OR_RETURN(
                crypto::Hash256 digest,
                PutShardDigest({r.farmer, r.bucket_id, r.shard_id, r.size, r.merkle_root,
                                r.leaf_size, r.merkle_kind, r.signed_at, r.nonce}));
            GNR_ASSIGN_OR_RETURN(PayerAddress payer,
                                 check_signed(r.farmer, digest, r.signature, r.nonce, r.signed_at));
            PutShardCall call{r.bucket_id, r.shard_id,    r.size,     r.merkle_root,
                              r.leaf_size, r.merkle_kind, payer,      r.signature,
                              r.signed_at, r.nonce,       job.payload};
            absl::StatusOr<PutShardAck> ack = service_.Put(job.from, call);
            if (!ack.ok()) {
              outcome = Outcome::kServiceError;
              return ack.status();
            }
            bytes_in = r.size;
            GNR_ASSIGN_OR_RETURN(Bytes header, wire::EncodeShardMessage(wire::PutShardReply{
                                                   ack->already_stored, ack->free_bytes}));
            return net_zmq::Message{std::move(header), {}};
          },
          [&](const wire::GetShardRequest& r) -> absl::StatusOr<net_zmq::Message> {
            absl::StatusOr<GetRangeResult> got = service_.GetRange(
                job.from, GetRangeCall{r.shard_id, r.bucket_id, r.first_leaf, r.leaf_count});
            if (!got.ok()) {
              outcome = Outcome::kServiceError;
              return got.status();
            }
            if (got->proof.first_leaf != r.first_leaf ||
                got->proof.leaf_count_in_range != r.leaf_count ||
                got->leaves.size() > kMaxShardSize) {
              outcome = Outcome::kServiceError;
              return absl::InternalError("shard store returned a range that was not asked for");
            }
            GNR_ASSIGN_OR_RETURN(Bytes header,
                                 wire::EncodeShardMessage(wire::GetShardReply{got->proof}));
            bytes_out = got->leaves.size();
            return net_zmq::Message{std::move(header), std::move(got->leaves)};
          },
          [&](const wire::ChallengeSentinelsRequest& r) -> absl::StatusOr<net_zmq::Message> {
            absl::StatusOr<std::vector<crypto::Hash256>> values =
                service_.ChallengeSentinels(job.from, SentinelChallengeCall{r.shard_id, r.offsets});
            if (!values.ok()) {
              outcome = Outcome::kServiceError;
              return values.status();
            }
            if (values->size() != r.offsets.size()) {
              outcome = Outcome::kServiceError;
              return absl::InternalError("shard store answered the wrong number of sentinels");
            }
            GNR_ASSIGN_OR_RETURN(Bytes header,
                                 wire::EncodeShardMessage(wire::ChallengeSentinelsReply{*values}));
            return net_zmq::Message{std::move(header), {}};
          },
          [&](const wire::ChallengeMerkleRequest& r) -> absl::StatusOr<net_zmq::Message> {
            absl::StatusOr<MerkleChallengeResult> answer =
                service_.ChallengeMerkle(job.from, MerkleChallengeCall{r.shard_id, r.leaf_index});
            if (!answer.ok()) {
              outcome = Outcome::kServiceError;
              return answer.status();
            }
            GNR_ASSIGN_OR_RETURN(
                Bytes header, wire::EncodeShardMessage(wire::ChallengeMerkleReply{answer->proof}));
            bytes_out = answer->leaf.size();
            return net_zmq::Message{std::move(header),
                                    net_zmq::SharedBytes(std::move(answer->leaf))};
          },
          [&](const wire::DeleteShardRequest& r) -> absl::StatusOr<net_zmq::Message> {
            GNR_ASSIGN_OR_RETURN(
                crypto::Hash256 digest,
                DeleteShardDigest({r.farmer, r.bucket_id, r.shard_id, r.signed_at, r.nonce}));
            GNR_ASSIGN_OR_RETURN(PayerAddress payer,
                                 check_signed(r.farmer, digest, r.signature, r.nonce, r.signed_at));
            absl::Status s = service_.Delete(
                job.from,
                DeleteShardCall{r.shard_id, r.bucket_id, payer, r.signature, r.signed_at, r.nonce});
            if (!s.ok()) {
              outcome = Outcome::kServiceError;
              return s;
            }
            GNR_ASSIGN_OR_RETURN(Bytes header, wire::EncodeShardMessage(wire::DeleteShardReply{}));
            return net_zmq::Message{std::move(header), {}};
          },
          [&](const wire::StatShardRequest& r) -> absl::StatusOr<net_zmq::Message> {
            absl::StatusOr<ShardInfo> info = service_.StatShard(job.from, r.shard_id);
            if (!info.ok()) {
              outcome = Outcome::kServiceError;
              return info.status();
            }
            GNR_ASSIGN_OR_RETURN(Bytes header,
                                 wire::EncodeShardMessage(wire::StatShardReply{*std::move(info)}));
            return net_zmq::Message{std::move(header), {}};
          },
          [&](const wire::StatNodeRequest&) -> absl::StatusOr<net_zmq::Message> {
            absl::StatusOr<NodeStatus> status = service_.StatNode(job.from);
            if (!status.ok()) {
              outcome = Outcome::kServiceError;
              return status.status();
            }
            GNR_ASSIGN_OR_RETURN(Bytes header,
                                 wire::EncodeShardMessage(wire::StatNodeReply{*std::move(status)}));
            return net_zmq::Message{std::move(header), {}};
          },
          [&](const auto&) -> absl::StatusOr<net_zmq::Message> {
            return absl::InvalidArgumentError("not a request");
          },
      },
      job.request);

  {
    absl::MutexLock lock(&mu_);
    if (reply.ok()) {
      ++stats_.served_ok;
      stats_.bytes_in += bytes_in;
      stats_.bytes_out += bytes_out;
    } else if (outcome == Outcome::kSignature) {
      ++stats_.refused_signature;
    } else if (outcome == Outcome::kReplay) {
      ++stats_.refused_replay;
    } else {
      ++stats_.service_errors;
    }
  }
  if (reply.ok()) {
    job.responder.Respond(*std::move(reply));
  } else if (outcome == Outcome::kSignature || outcome == Outcome::kReplay) {
    Refuse(job.from, type, reply.status(), job.responder);
  } else {
    GNR_LOG(kDebug) << "shard server: " << type << " from " << Who(job.from)
                    << " failed: " << reply.status().message();
    job.responder.RespondError(reply.status());
  }
}

}  // namespace gnr::shard
