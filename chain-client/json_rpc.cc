#include "chain-client/json_rpc.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "chain-client/abi.h"
#include "chain-client/json_fields.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

constexpr char kRevertDataUrl[] = "type.gnrfs/chain.RevertData";
constexpr char kRpcErrorCodeUrl[] = "type.gnrfs/chain.RpcErrorCode";
constexpr size_t kMaxPooledHandles = 8;
constexpr size_t kMaxMessageChars = 600;

void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct WriteState {
  std::string* out;
  size_t limit;
  bool overflow = false;
};

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<WriteState*>(user);
  const size_t n = size * count;
  if (state->out->size() + n > state->limit) {
    state->overflow = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  state->out->append(data, n);
  return n;
}

std::string Truncate(std::string_view s, size_t max = kMaxMessageChars) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  if (s.size() > max) out += "...";
  return out;
}

bool LooksLikeJson(std::string_view body) {
  for (char c : body) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    return c == '{' || c == '[';
  }
  return false;
}

}  // namespace

// ---- HttpTransport --------------------------------------------------------------------------

struct HttpTransport::Pool {
  absl::Mutex mu;
  std::vector<CURL*> idle ABSL_GUARDED_BY(mu);

  CURL* Acquire() {
    {
      absl::MutexLock lock(&mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    // curl_easy_reset keeps the handle's live connections and caches (keep-alive).
    curl_easy_reset(h);
    absl::MutexLock lock(&mu);
    if (idle.size() < kMaxPooledHandles) {
      idle.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

  ~Pool() {
    absl::MutexLock lock(&mu);
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
};

HttpTransport::HttpTransport(std::string url, HttpTransportOptions options)
    : url_(std::move(url)), options_(options), pool_(std::make_unique<Pool>()) {}

HttpTransport::~HttpTransport() = default;

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(std::string url,
                                                                     HttpTransportOptions options) {
  std::string lower = absl::AsciiStrToLower(url);
  if (!absl::StartsWith(lower, "http://") && !absl::StartsWith(lower, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RPC URL must start with http:// or https://, got \"", Truncate(url, 200), "\""));
  }
  EnsureCurlInitialized();
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(url), options));
}

absl::StatusOr<std::string> HttpTransport::Send(std::string_view request_body) {
  CURL* curl = pool_->Acquire();
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::string response;
  WriteState state{&response, options_.max_response_bytes};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request_body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteCallback);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // A loopback chain must never be reached through an HTTP proxy from the environment.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_slist_free_all(headers);
  pool_->Release(curl);

  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != 0 ? error_buffer : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return absl::DeadlineExceededError(absl::StrCat("timed out (", detail, ")"));
      case CURLE_COULDNT_CONNECT:
        return absl::UnavailableError(
            absl::StrCat("connection refused — is the chain running? (", detail, ")"));
      case CURLE_COULDNT_RESOLVE_HOST:
        return absl::UnavailableError(absl::StrCat("cannot resolve host (", detail, ")"));
      case CURLE_WRITE_ERROR:
        if (state.overflow) {
          return absl::DataLossError(
              absl::StrCat("response larger than ", options_.max_response_bytes, " bytes"));
        }
        [[fallthrough]];
      default:
        return absl::UnavailableError(absl::StrCat("HTTP request failed: ", detail));
    }
  }
  if (http_status == 200 || LooksLikeJson(response)) {
    // Some providers answer JSON-RPC errors with 4xx/5xx: let the client read the error.
    return response;
  }
  std::string what = absl::StrCat("HTTP status ", http_status, response.empty() ? "" : ": ",
                                  Truncate(response, 200));
  if (http_status == 408 || http_status == 429 || http_status >= 500) {
    return absl::UnavailableError(what);
  }
  return absl::InternalError(absl::StrCat(what, " (is this a JSON-RPC endpoint?)"));
}

// ---- JsonRpcClient --------------------------------------------------------------------------

JsonRpcClient::JsonRpcClient(std::unique_ptr<RpcTransport> transport, RetryPolicy retry,
                             std::function<void(absl::Duration)> sleep)
    : transport_(std::move(transport)), retry_(retry), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](absl::Duration d) { absl::SleepFor(d); };
}

absl::StatusOr<Json> JsonRpcClient::Call(std::string_view method, const Json& params) {
  const uint64_t id = next_id_.fetch_add(1);
  Json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}, {"params", params}};
  // dump() throws only on invalid UTF-8 in strings; our params are hex and ASCII, but be safe.
  std::string body = request.dump(-1, ' ', false, Json::error_handler_t::replace);
  absl::Duration backoff = retry_.initial_backoff;
  absl::Status last;
  const int attempts = std::max(1, retry_.max_attempts);
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    absl::StatusOr<Json> result = CallOnce(method, body, id);
    if (result.ok()) return result;
    last = result.status();
    const bool transient = absl::IsUnavailable(last) || absl::IsDeadlineExceeded(last);
    if (!transient || attempt == attempts) break;
    sleep_(backoff);
    backoff = std::min(retry_.max_backoff, backoff * retry_.multiplier);
  }
  absl::Status annotated(last.code(), absl::StrCat(AbslView(method), " on ", transport_->endpoint(),
                                                   ": ", last.message()));
  last.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    annotated.SetPayload(url, payload);
  });
  return annotated;
}

absl::StatusOr<Json> JsonRpcClient::CallOnce(std::string_view method, const std::string& body,
                                             uint64_t id) {
  (void)method;
  GNR_ASSIGN_OR_RETURN(std::string text, transport_->Send(body));
  Json response = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (response.is_discarded()) {
    return absl::DataLossError(absl::StrCat("response is not JSON: ", Truncate(text, 200)));
  }
  if (!response.is_object()) {
    return absl::DataLossError(
        absl::StrCat("response is not a JSON-RPC object but ", JsonBrief(response)));
  }
  auto version = response.find("jsonrpc");
  if (version == response.end() || !version->is_string() || *version != "2.0") {
    return absl::DataLossError("response lacks \"jsonrpc\": \"2.0\"");
  }
  auto rid = response.find("id");
  if (rid == response.end() || !rid->is_number_unsigned() || rid->get<uint64_t>() != id) {
    return absl::DataLossError(absl::StrCat("response id ",
                                            rid == response.end() ? "(missing)" : JsonBrief(*rid),
                                            " does not match request id ", id));
  }
  auto error = response.find("error");
  auto result = response.find("result");
  if (error != response.end() && !error->is_null()) {
    if (!error->is_object()) return absl::DataLossError("JSON-RPC \"error\" is not an object");
    int64_t code = 0;
    auto c = error->find("code");
    if (c != error->end() && c->is_number_integer()) code = c->get<int64_t>();
    std::string message;
    auto m = error->find("message");
    if (m != error->end() && m->is_string()) message = m->get<std::string>();
    // Revert data: a hex string, sometimes nested as {"data": "0x..."}.
    std::optional<Bytes> revert_data;
    auto d = error->find("data");
    if (d != error->end()) {
      const Json* data = &*d;
      if (data->is_object() && data->contains("data")) data = &(*data)["data"];
      if (data->is_string()) {
        absl::StatusOr<Bytes> b = HexDecode(data->get<std::string>());
        if (b.ok()) revert_data = *std::move(b);
      }
    }
    const bool is_revert = code == 3 || absl::StrContains(absl::AsciiStrToLower(message), "revert");
    absl::StatusCode status_code = absl::StatusCode::kUnknown;
    std::string text_out;
    if (is_revert) {
      status_code = absl::StatusCode::kFailedPrecondition;
      text_out = revert_data && !revert_data->empty() ? DecodeRevertReason(*revert_data)
                                                      : Truncate(message);
    } else {
      if (code == -32601) status_code = absl::StatusCode::kUnimplemented;
      if (code == -32602) status_code = absl::StatusCode::kInvalidArgument;
      text_out = absl::StrCat("JSON-RPC error ", code, ": ", Truncate(message));
    }
    absl::Status status(status_code, text_out);
    status.SetPayload(kRpcErrorCodeUrl, absl::Cord(absl::StrCat(code)));
    if (revert_data) {
      status.SetPayload(kRevertDataUrl, absl::Cord(AbslView(AsStringView(*revert_data))));
    }
    return status;
  }
  if (result == response.end()) {
    return absl::DataLossError("response has neither \"result\" nor \"error\"");
  }
  return std::move(*result);
}

std::optional<Bytes> RevertDataOf(const absl::Status& status) {
  auto payload = status.GetPayload(kRevertDataUrl);
  if (!payload) return std::nullopt;
  std::string flat(*payload);
  return Bytes(flat.begin(), flat.end());
}

std::optional<int64_t> RpcErrorCodeOf(const absl::Status& status) {
  auto payload = status.GetPayload(kRpcErrorCodeUrl);
  if (!payload) return std::nullopt;
  int64_t code = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return code;
}

}  // namespace gnr::chain
