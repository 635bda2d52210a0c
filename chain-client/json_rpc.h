#pragma once
// JSON-RPC 2.0 over HTTP: the transport seam (RpcTransport), its libcurl implementation
// (HttpTransport) and a client (JsonRpcClient) with timeouts, retries with exponential
// backoff on transport failures, strict response validation and clear errors.
//
// Every byte an RPC endpoint returns is untrusted: responses are parsed without exceptions,
// bounded in size, and must be well-formed JSON-RPC 2.0 answers to the request sent (same
// id, exactly one of result/error). Error messages name the method and the endpoint:
//   "eth_getBlockByNumber on http://127.0.0.1:8545: connection refused — is the chain running?"
//   "eth_call on http://127.0.0.1:8545: execution reverted: StorageMarket: bucket expired"
//
// Status codes returned by JsonRpcClient::Call:
//   Unavailable        transport failure after all retries (refused, reset, HTTP 5xx/429)
//   DeadlineExceeded   the request timed out (after all retries)
//   FailedPrecondition the node answered with a JSON-RPC error that is an EVM revert; the
//                      raw revert data, if any, is attached (RevertDataOf(status))
//   Unimplemented      JSON-RPC "method not found" (-32601)
//   InvalidArgument    JSON-RPC "invalid params" (-32602)
//   Unknown            any other JSON-RPC error (the node's code and message are included)
//   DataLoss           a malformed response (not JSON, not JSON-RPC 2.0, wrong id, too big)
// The JSON-RPC error code itself is attached too (RpcErrorCodeOf(status)).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {

using Json = nlohmann::json;

// Carries one request body to an endpoint and returns the response body. Implementations
// must be thread-safe (JsonRpcClient calls Send from any thread).
class RpcTransport {
 public:
  virtual ~RpcTransport() = default;
  // Errors: Unavailable for connection-level failures and for HTTP statuses that may be
  // transient (429, 5xx without a JSON body); DeadlineExceeded on timeout; DataLoss when the
  // response exceeds the size limit; other codes are returned to the caller unchanged.
  virtual absl::StatusOr<std::string> Send(std::string_view request_body) = 0;
  // Where requests go, for error messages ("http://127.0.0.1:8545").
  virtual std::string endpoint() const = 0;
};

struct HttpTransportOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(30);
  // Responses larger than this are refused (DataLoss): a hostile node cannot exhaust memory.
  size_t max_response_bytes = size_t{64} << 20;
};

// HTTP(S) POST with libcurl. Keeps a small pool of connections (keep-alive). Thread-safe.
class HttpTransport final : public RpcTransport {
 public:
  // InvalidArgument unless `url` starts with http:// or https://.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Create(std::string url,
                                                               HttpTransportOptions options = {});
  ~HttpTransport() override;

  absl::StatusOr<std::string> Send(std::string_view request_body) override;
  std::string endpoint() const override { return url_; }

 private:
  struct Pool;
  HttpTransport(std::string url, HttpTransportOptions options);

  std::string url_;
  HttpTransportOptions options_;
  std::unique_ptr<Pool> pool_;
};

struct RetryPolicy {
  // Total attempts for transport failures (1 = no retry).
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  double multiplier = 2.0;
  absl::Duration max_backoff = absl::Seconds(2);
};

// The JSON-RPC client. Thread-safe; each call is independent.
class JsonRpcClient {
 public:
  // `sleep` is how the client waits between retries (injected so tests run instantly);
  // by default absl::SleepFor.
  explicit JsonRpcClient(std::unique_ptr<RpcTransport> transport, RetryPolicy retry = {},
                         std::function<void(absl::Duration)> sleep = {});

  // Calls `method` with `params` (a JSON array) and returns the "result" member (which may be
  // null). See the header comment for the error codes.
  absl::StatusOr<Json> Call(std::string_view method, const Json& params = Json::array());

  std::string endpoint() const { return transport_->endpoint(); }
  RpcTransport& transport() { return *transport_; }

 private:
  absl::StatusOr<Json> CallOnce(std::string_view method, const std::string& body, uint64_t id);

  std::unique_ptr<RpcTransport> transport_;
  RetryPolicy retry_;
  std::function<void(absl::Duration)> sleep_;
  std::atomic<uint64_t> next_id_{1};
};

// The raw revert data a FailedPrecondition from Call carries (the JSON-RPC error's "data"),
// if the node sent any.
std::optional<Bytes> RevertDataOf(const absl::Status& status);
// The JSON-RPC error code a status from Call carries, if it came from a JSON-RPC error.
std::optional<int64_t> RpcErrorCodeOf(const absl::Status& status);

}  // namespace gnr::chain
