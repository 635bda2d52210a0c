#include "tests/testing/anvil.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

#ifndef GNR_SOURCE_DIR
#error "GNR_SOURCE_DIR must be defined (tests/testing/CMakeLists.txt)"
#endif

namespace gnr::testing {
namespace {

using nlohmann::json;

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);
constexpr absl::Duration kStopGrace = absl::Seconds(3);
constexpr size_t kOutputTailChars = 2000;

std::string Tail(const std::string& s) {
  if (s.size() <= kOutputTailChars) return s;
  return "..." + s.substr(s.size() - kOutputTailChars);
}

void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// POSTs `body` to `url` and returns the response body. Unavailable on transport errors or a
// non-200 status.
absl::StatusOr<std::string> HttpPost(const std::string& url, const std::string& body,
                                     absl::Duration timeout) {
  EnsureCurlInitialized();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  absl::Cleanup cleanup = [&] {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  };
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("POST ", url, ": ", curl_easy_strerror(rc)));
  }
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  if (http_status != 200) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url, ": HTTP ", http_status, ": ", Tail(response)));
  }
  return response;
}

// Everything in the file behind `fd`, read from its start.
std::string ReadAll(int fd) {
  std::string out;
  char buf[16384];
  off_t offset = 0;
  while (true) {
    ssize_t n = pread(fd, buf, sizeof(buf), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    offset += n;
  }
  return out;
}

// Parses "0x..." hex into N bytes.
template <size_t N>
absl::StatusOr<FixedBytes<N>> ParseHexToken(std::string_view token) {
  return HexDecodeFixed<N>(token);
}

// The "(i) 0x..." lines of anvil's banner, per section.
struct Banner {
  std::optional<int> port;
  std::vector<std::string> addresses;
  std::vector<std::string> private_keys;
};

Banner ParseBanner(const std::string& output) {
  Banner banner;
  enum class Section { kNone, kAccounts, kKeys } section = Section::kNone;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("Available Accounts") != std::string::npos) {
      section = Section::kAccounts;
      continue;
    }
    if (line.find("Private Keys") != std::string::npos) {
      section = Section::kKeys;
      continue;
    }
    if (line.find("Wallet") == 0 || line.find("Chain ID") == 0) section = Section::kNone;
    constexpr std::string_view kListening = "Listening on ";
    if (size_t at = line.find(kListening); at != std::string::npos) {
      size_t colon = line.rfind(':');
      int port = 0;
      if (colon != std::string::npos && colon > at &&
          absl::SimpleAtoi(AbslView(std::string_view(line).substr(colon + 1)), &port) && port > 0 &&
          port < 65536) {
        banner.port = port;
      }
      continue;
    }
    if (section == Section::kNone || line.empty() || line[0] != '(') continue;
    size_t hex = line.find(") 0x");
    if (hex == std::string::npos) continue;
    std::string token = line.substr(hex + 2);
    token = token.substr(0, token.find(' '));
    (section == Section::kAccounts ? banner.addresses : banner.private_keys).push_back(token);
  }
  return banner;
}

absl::StatusOr<uint64_t> ParseQuantity(const json& value) {
  if (!value.is_string()) return absl::InternalError("quantity is not a string: " + value.dump());
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 3 || s.size() > 18 || s.rfind("0x", 0) != 0) {
    return absl::InternalError("bad quantity: " + s);
  }
  uint64_t out = 0;
  for (char c : s.substr(2)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return absl::InternalError("bad quantity: " + s);
    }
    out = out * 16 + digit;
  }
  return out;
}

bool ProcessExited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

std::string AnvilProcess::BinaryPath() {
  if (const char* env = std::getenv("GNR_ANVIL"); env != nullptr && *env != '\0') return env;
  return std::string(GNR_SOURCE_DIR) + "/node_modules/.bin/anvil";
}

absl::StatusOr<std::unique_ptr<AnvilProcess>> AnvilProcess::Start(const AnvilOptions& options) {
  const std::string binary = BinaryPath();
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("anvil not found or not executable at ", binary, " (",
                                            std::strerror(errno),
                                            "): run scripts/setup (npm ci) or set GNR_ANVIL"));
  }

  std::vector<std::string> args = {binary,
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   "0",
                                   "--chain-id",
                                   absl::StrCat(options.chain_id),
                                   "--accounts",
                                   absl::StrCat(options.accounts),
                                   "--balance",
                                   absl::StrCat(options.balance_ether)};
  if (options.block_time_seconds > 0) {
    args.insert(args.end(), {"--block-time", absl::StrCat(options.block_time_seconds)});
  }
  if (!options.hardfork.empty()) args.insert(args.end(), {"--hardfork", options.hardfork});
  if (options.timestamp.has_value()) {
    args.insert(args.end(), {"--timestamp", absl::StrCat(*options.timestamp)});
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // anvil's output goes to a file rather than a pipe: it logs every RPC call, and a pipe
  // nobody drains would eventually block it.
  const char* tmpdir = std::getenv("TMPDIR");
  std::string log_path =
      absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp", "/gnr-anvil-XXXXXX");
  int log_fd = mkostemp(log_path.data(), O_CLOEXEC);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create anvil log ", log_path, ": ", std::strerror(errno)));
  }

  // Unlinked at once: the file lives as long as our descriptor, even if this process dies.
  unlink(log_path.c_str());
  auto anvil = std::unique_ptr<AnvilProcess>(new AnvilProcess());
  anvil->log_fd_ = log_fd;
  anvil->chain_id_ = options.chain_id;

  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execv(argv[0], argv.data());
    _exit(127);
  }
  anvil->pid_ = pid;  // From here on the destructor stops it on every error path.

  const absl::Time deadline = absl::Now() + options.start_timeout;
  auto failure = [&](absl::StatusCode code, std::string_view what) {
    return absl::Status(code, absl::StrCat("anvil (", binary, "): ", AbslView(what), "; output:\n",
                                           Tail(anvil->Output())));
  };

  // 1. Wait for the banner's "Listening on 127.0.0.1:PORT" line.
  Banner banner;
  while (true) {
    banner = ParseBanner(anvil->Output());
    if (banner.port.has_value()) break;
    if (ProcessExited(pid)) {
      anvil->pid_ = -1;
      return failure(absl::StatusCode::kInternal, "exited before listening");
    }
    if (absl::Now() > deadline) {
      return failure(absl::StatusCode::kDeadlineExceeded, "no \"Listening on\" line in time");
    }
    absl::SleepFor(kPollInterval);
  }
  anvil->port_ = *banner.port;
  anvil->rpc_url_ = absl::StrCat("http://127.0.0.1:", anvil->port_);

  if (banner.addresses.size() != banner.private_keys.size() ||
      banner.addresses.size() != static_cast<size_t>(options.accounts)) {
    return failure(absl::StatusCode::kInternal,
                   absl::StrCat("expected ", options.accounts, " accounts and keys, parsed ",
                                banner.addresses.size(), " and ", banner.private_keys.size()));
  }
  for (size_t i = 0; i < banner.addresses.size(); ++i) {
    absl::StatusOr<FixedBytes<20>> address = ParseHexToken<20>(banner.addresses[i]);
    absl::StatusOr<FixedBytes<32>> key = ParseHexToken<32>(banner.private_keys[i]);
    if (!address.ok() || !key.ok()) {
      return failure(absl::StatusCode::kInternal,
                     absl::StrCat("unparsable account ", i, ": ", banner.addresses[i]));
    }
    anvil->accounts_.push_back({*address, *key, banner.addresses[i]});
  }

  // 2. Poll eth_chainId until the RPC answers (and answers with our chain id).
  while (true) {
    absl::StatusOr<json> id = anvil->Rpc("eth_chainId", json::array(), absl::Seconds(2));
    if (id.ok()) {
      absl::StatusOr<uint64_t> chain_id = ParseQuantity(*id);
      if (!chain_id.ok() || *chain_id != options.chain_id) {
        return failure(
            absl::StatusCode::kInternal,
            absl::StrCat("eth_chainId answered ", id->dump(), ", expected ", options.chain_id));
      }
      break;
    }
    if (ProcessExited(pid)) {
      anvil->pid_ = -1;
      return failure(absl::StatusCode::kInternal, "exited before answering eth_chainId");
    }
    if (absl::Now() > deadline) {
      return failure(absl::StatusCode::kDeadlineExceeded,
                     absl::StrCat("eth_chainId not answered in time: ", id.status().ToString()));
    }
    absl::SleepFor(kPollInterval);
  }
  return anvil;
}

AnvilProcess::~AnvilProcess() {
  Stop();
  if (log_fd_ >= 0) close(log_fd_);
}

void AnvilProcess::Stop() {
  if (pid_ <= 0) return;
  const pid_t pid = std::exchange(pid_, -1);
  if (kill(pid, SIGTERM) != 0) {
    // Already gone (but maybe not reaped).
    waitpid(pid, nullptr, WNOHANG);
    return;
  }
  const absl::Time deadline = absl::Now() + kStopGrace;
  while (absl::Now() < deadline) {
    if (ProcessExited(pid)) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::string AnvilProcess::Output() const { return ReadAll(log_fd_); }

absl::StatusOr<json> AnvilProcess::Rpc(std::string_view method, const json& params,
                                       absl::Duration timeout) const {
  const json request = {
      {"jsonrpc", "2.0"}, {"id", 1}, {"method", std::string(method)}, {"params", params}};
  GNR_ASSIGN_OR_RETURN(std::string body, HttpPost(rpc_url_, request.dump(), timeout));
  json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return absl::InternalError(absl::StrCat(AbslView(method), ": not a JSON object: ", Tail(body)));
  }
  if (auto error = reply.find("error"); error != reply.end()) {
    return absl::UnknownError(absl::StrCat(AbslView(method), " failed: ", error->dump()));
  }
  auto result = reply.find("result");
  if (result == reply.end()) {
    return absl::InternalError(absl::StrCat(AbslView(method), ": reply has no result: ", body));
  }
  return *result;
}

absl::Status AnvilProcess::IncreaseTime(uint64_t seconds) const {
  GNR_RETURN_IF_ERROR(Rpc("evm_increaseTime", json::array({seconds})).status());
  return Rpc("evm_mine").status();
}

}  // namespace gnr::testing
