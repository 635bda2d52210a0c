// `gnr devnet`: start, inspect and stop a local gnrfs network on loopback.
#include "tools/devnet_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chain-client/keystore.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/random.h"
#include "net/farmer/byte_size.h"
#include "net/farmer/node_key.h"
#include "nlohmann/json.hpp"
#include "tools/devnet_process.h"
#include "tools/devnet_state.h"
#include "tools/exit_codes.h"
#include "tools/mount_control.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

// Seconds between blocks once the devnet is set up (see EnsureUp).
constexpr int kDevnetBlockSeconds = 2;

using Json = nlohmann::json;
using chain::U256;

constexpr char kUsage[] =
    "Usage: gnr devnet up [--farmers N] [--mount DIR] [--dir STATE] [--capacity SIZE] [--json]\n"
    "       gnr devnet down [--dir STATE]\n"
    "       gnr devnet status [--dir STATE] [--json]\n"
    "\n"
    "A complete gnrfs network on this machine, on loopback only: a development chain\n"
    "(anvil) with the StorageMarket contract, a funded wallet, N storage farmers that have\n"
    "staked and bound their nodes, a bucket with traffic, and your drive mounted on it.\n"
    "\n"
    "up      starts whatever is not running yet and mounts the drive. On an existing STATE\n"
    "        it resumes: the same chain (contract, bucket), wallet, farmers' data and\n"
    "        catalog; parts that already run are left alone. Prints what runs where.\n"
    "  --farmers N       number of farmers (default 6; at least 2)\n"
    "  --mount DIR       where to mount the drive (default ~/gnr; created if missing)\n"
    "  --capacity SIZE   disk each new farmer shares (default 4G; farmers that exist\n"
    "                    keep theirs)\n"
    "down    unmounts the drive (waiting for uploads, then forcing) and stops every process\n"
    "        `up` started, by the PIDs in STATE/devnet.json. STATE stays on disk.\n"
    "status  shows which parts run and whether the drive is mounted.\n"
    "\n"
    "  --dir STATE       the devnet's state (default $XDG_DATA_HOME/gnr/devnet, i.e.\n"
    "                    ~/.local/share/gnr/devnet): chain state, wallets, farmers' data,\n"
    "                    the drive's catalog, logs/ and devnet.json\n"
    "  --json            print devnet.json (up) or the status (status) as JSON\n"
    "\n"
    "The wallet (STATE/wallet.json, password in STATE/password) is a development wallet:\n"
    "its key is encrypted with a light KDF and its password is stored next to it.\n"
    "anvil comes from $GNR_ANVIL, else node_modules/.bin/anvil next to the build (run\n"
    "scripts/setup), else PATH.\n"
    "\n"
    "Exit status: 0 ok; 64 bad arguments; 66 no devnet in STATE (status); 69 a part could\n"
    "not be started or the drive could not be mounted (the message says which and where\n"
    "its log is); 75 another `gnr devnet` is working on STATE; 1 `down` left something\n"
    "running.\n";

constexpr int kDefaultFarmers = 6;
constexpr char kDefaultCapacity[] = "4G";
constexpr uint64_t kDevChainId = 31337;
// Funding, in ETH.
constexpr char kWalletFundsMin[] = "50";
constexpr char kWalletFunds[] = "100";
constexpr char kStakerFundsMin[] = "2";
constexpr char kStakerFunds[] = "5";

// ---- Output ----------------------------------------------------------------------------------

// Progress goes to stderr so that --json output on stdout stays parseable.
void Step(const std::string& line) {
  std::fprintf(stderr, "devnet: %s\n", line.c_str());
  std::fflush(stderr);
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "gnr devnet: %s\n(try `gnr devnet --help`)\n", message.c_str());
  return kExitUsage;
}

// A failure that ends the command: the message and the exit code.
struct Failure {
  std::string message;
  int exit_code = kExitUnavailable;
};

int Report(const Failure& f) {
  std::fprintf(stderr, "gnr devnet: %s\n", f.message.c_str());
  return f.exit_code;
}

Failure FromStatus(const absl::Status& s, std::string_view what) {
  return Failure{absl::StrCat(AbslView(what), ": ", s.message()), ExitCodeFor(s)};
}

// ---- Files and paths -------------------------------------------------------------------------

std::string HomeDir() {
  const char* home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? home : "/";
}

std::string DefaultStateDir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  std::string base = xdg != nullptr && *xdg == '/' ? xdg : HomeDir() + "/.local/share";
  return base + "/gnr/devnet";
}

std::string Absolute(const std::string& path) {
  if (path.starts_with("~/")) return HomeDir() + path.substr(1);
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) return path;
  return p.lexically_normal().string();
}

std::string StripSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool MakeDirs(const std::string& path, std::filesystem::perms perms) {
  std::error_code ec;
  bool created = std::filesystem::create_directories(path, ec);
  if (ec) return false;
  if (created) std::filesystem::permissions(path, perms, ec);
  return true;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Writes through a temporary file and rename, so a reader never sees half a file.
absl::Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  fchmod(fd, mode);
  fsync(fd);
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", std::strerror(e)));
  }
  return absl::OkStatus();
}

std::string LogTail(const std::string& path, size_t max_lines = 12) {
  std::optional<std::string> text = ReadFile(path);
  if (!text || text->empty()) return "";
  std::vector<std::string> lines;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) absl::StrAppend(&out, "    ", lines[i], "\n");
  return out;
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "gnr";
  return std::string(buf, static_cast<size_t>(n));
}

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// $GNR_ANVIL, else node_modules/.bin/anvil in a directory above this binary (the source tree
// of a build directory), else `anvil` on PATH.
std::optional<std::string> FindAnvil() {
  if (const char* env = std::getenv("GNR_ANVIL"); env != nullptr && *env != '\0') {
    return Executable(env) ? std::optional<std::string>(env) : std::nullopt;
  }
  std::filesystem::path dir = std::filesystem::path(SelfExe()).parent_path();
  for (int up = 0; up < 6 && !dir.empty(); ++up) {
    std::string candidate = (dir / "node_modules/.bin/anvil").string();
    if (Executable(candidate)) return candidate;
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::istringstream in(path);
    std::string entry;
    while (std::getline(in, entry, ':')) {
      if (!entry.empty() && Executable(entry + "/anvil")) return entry + "/anvil";
    }
  }
  return std::nullopt;
}

// ---- Running a command and capturing its output ------------------------------------------------

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string output;  // stdout and stderr interleaved
};

CommandResult RunAndCapture(const std::vector<std::string>& argv, absl::Duration timeout) {
  CommandResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.output = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    result.output = absl::StrCat("fork: ", std::strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return result;
  }
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    // No inherited descriptor (e.g. our RPC connections) may outlive us in a daemon.
    for (int fd = 3; fd < 1024; ++fd) close(fd);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(fds[1]);
  const absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  bool timed_out = false;
  while (true) {
    int left_ms =
        static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    pollfd p{fds[0], POLLIN, 0};
    int ready = poll(&p, 1, left_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      timed_out = true;
      break;
    }
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) {
    kill(pid, SIGKILL);
    absl::StrAppend(&result.output, "\n(timed out after ", absl::FormatDuration(timeout), ")");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string Indent(std::string_view text) {
  std::string out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) absl::StrAppend(&out, "    ", line, "\n");
  }
  return out;
}

// ---- Identities of the processes we start ------------------------------------------------------

ProcessIdentity AnvilIdentity(const DevnetState& s) {
  std::string program = std::filesystem::path(s.chain.binary).filename().string();
  return {program.empty() ? "anvil" : program, {"--state", s.chain.state_file}};
}
ProcessIdentity FarmerIdentity(const DevnetFarmer& f) {
  return {"gnr", {"farmer", "run", "--data", f.data_dir}};
}
ProcessIdentity MountIdentity(const DevnetState& s) {
  return {"gnr", {"mount", s.mount.mountpoint}};
}

bool Running(const DevnetProcess& p, const ProcessIdentity& id) {
  return CheckProcess(p.pid, p.start_ticks, id) == ProcessCheck::kRunning;
}

void Record(DevnetProcess& p, int pid) {
  p.pid = pid;
  p.start_ticks = ProcessStartTicks(pid).value_or(0);
}

// ---- The state file and its lock ---------------------------------------------------------------

std::string StateFile(const std::string& dir) { return dir + "/devnet.json"; }

absl::Status SaveState(DevnetState& s) {
  s.updated_unix = absl::ToUnixSeconds(absl::Now());
  return WriteFileAtomic(StateFile(s.state_dir), DevnetStateToJson(s).dump(2) + "\n", 0600);
}

// nullopt when there is no state file yet.
absl::StatusOr<std::optional<DevnetState>> LoadState(const std::string& dir) {
  std::optional<std::string> text = ReadFile(StateFile(dir));
  if (!text) return std::optional<DevnetState>();
  absl::StatusOr<DevnetState> s = ParseDevnetState(*text);
  if (!s.ok()) return Annotate(s.status(), StateFile(dir));
  s->state_dir = dir;
  return std::optional<DevnetState>(*std::move(s));
}

// Holds STATE/devnet.lock (flock) for the life of the object.
class StateLock {
 public:
  static std::variant<std::unique_ptr<StateLock>, Failure> Acquire(const std::string& dir) {
    std::string path = dir + "/devnet.lock";
    int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Failure{absl::StrCat("cannot open ", path, ": ", std::strerror(errno)),
                     kExitCantCreate};
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return Failure{absl::StrCat("another `gnr devnet` is working on ", dir,
                                  " right now; wait for it to finish"),
                     kExitTempFail};
    }
    return std::unique_ptr<StateLock>(new StateLock(fd));
  }
  ~StateLock() { close(fd_); }

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

// ---- Flags -----------------------------------------------------------------------------------

struct Flags {
  std::string sub;
  std::string dir;
  std::string mount;
  std::string capacity = kDefaultCapacity;
  int farmers = 0;  // 0: default (or what STATE has)
  bool json = false;
};

std::optional<std::string> ParseFlags(const std::vector<std::string>& args, Flags* f) {
  f->sub = args[0];
  if (f->sub != "up" && f->sub != "down" && f->sub != "status") {
    return "unknown subcommand '" + f->sub + "' (expected up, down or status)";
  }
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    std::string name = a;
    std::optional<std::string> value;
    if (size_t eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    auto take = [&](std::string* out) -> bool {
      if (!value) {
        if (i + 1 >= args.size()) return false;
        value = args[++i];
      }
      *out = *value;
      return true;
    };
    bool up = f->sub == "up";
    std::string v;
    if (name == "--json" && f->sub != "down") {
      if (value) return "--json takes no value";
      f->json = true;
    } else if (name == "--dir") {
      if (!take(&f->dir) || f->dir.empty()) return "--dir needs a directory";
    } else if (up && name == "--mount") {
      if (!take(&f->mount) || f->mount.empty()) return "--mount needs a directory";
    } else if (up && name == "--capacity") {
      if (!take(&f->capacity)) return "--capacity needs a size, e.g. 4G";
      absl::StatusOr<uint64_t> bytes = farmer::ParseByteSize(f->capacity);
      if (!bytes.ok()) return "--capacity: " + std::string(bytes.status().message());
    } else if (up && name == "--farmers") {
      if (!take(&v)) return "--farmers needs a number";
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < 2 || n > 64) {
        return "--farmers must be a number from 2 to 64, got '" + v + "'";
      }
      f->farmers = static_cast<int>(n);
    } else {
      return "unknown argument '" + a + "' for `gnr devnet " + f->sub + "`";
    }
  }
  f->dir = StripSlash(Absolute(f->dir.empty() ? DefaultStateDir() : f->dir));
  if (!f->mount.empty()) f->mount = StripSlash(Absolute(f->mount));
  return std::nullopt;
}

// ---- Chain -----------------------------------------------------------------------------------

// Polls eth_chainId until it answers (or `deadline`, or the process dies).
absl::Status WaitForChain(const std::string& url, int pid, absl::Time deadline) {
  absl::Status last = absl::UnavailableError("no answer yet");
  while (absl::Now() < deadline) {
    if (pid > 0 && CheckProcess(pid, 0, {"", {}}) == ProcessCheck::kNotRunning) {
      return absl::UnavailableError("anvil exited");
    }
    absl::StatusOr<ChainConnection> c = ConnectChain(url);
    if (c.ok()) {
      absl::StatusOr<uint64_t> id = c->eth->ChainId();
      if (id.ok()) {
        if (*id != kDevChainId) {
          return absl::FailedPreconditionError(
              absl::StrCat(url, " is chain ", *id, ", not the devnet's ", kDevChainId));
        }
        return absl::OkStatus();
      }
      last = id.status();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("anvil did not answer at ", url, ": ", last.message()));
}

bool ChainAnswers(const std::string& url) {
  if (url.empty() || !LoopbackPortInUse(EndpointPort(url))) return false;
  absl::StatusOr<ChainConnection> c = ConnectChain(url);
  return c.ok() && c->eth->ChainId().ok();
}

std::optional<Failure> EnsureChain(DevnetState& s) {
  s.chain.state_file = s.state_dir + "/chain/state.json";
  s.chain.process.log = s.state_dir + "/logs/anvil.log";
  if (!s.chain.binary.empty() && Running(s.chain.process, AnvilIdentity(s)) &&
      ChainAnswers(s.chain.rpc_url)) {
    Step(absl::StrCat("chain: anvil already runs (pid ", s.chain.process.pid, ") at ",
                      s.chain.rpc_url));
    return std::nullopt;
  }
  if (!s.chain.binary.empty() && Running(s.chain.process, AnvilIdentity(s))) {
    // Alive but silent: it would keep writing the same state file, so stop it first.
    Step(absl::StrCat("chain: anvil pid ", s.chain.process.pid, " does not answer at ",
                      s.chain.rpc_url, "; stopping it"));
    StopProcesses({{"anvil", s.chain.process.pid, s.chain.process.start_ticks, AnvilIdentity(s)}},
                  absl::Seconds(5));
  }
  std::optional<std::string> binary = FindAnvil();
  if (!binary) {
    return Failure{
        "anvil not found: run scripts/setup (it installs anvil with npm into "
        "node_modules/.bin/anvil), or point GNR_ANVIL at an anvil binary",
        kExitUnavailable};
  }
  s.chain.binary = *binary;
  if (!MakeDirs(s.state_dir + "/chain", std::filesystem::perms::owner_all)) {
    return Failure{"cannot create " + s.state_dir + "/chain", kExitCantCreate};
  }
  bool resume = Exists(s.chain.state_file);
  for (int attempt = 0; attempt < 2; ++attempt) {
    // Keep the recorded port when it is free, so that the RPC URL stays the same.
    int port = s.chain.port;
    if (attempt > 0 || port <= 0 || LoopbackPortInUse(port)) {
      absl::StatusOr<int> picked = PickFreeLoopbackPort();
      if (!picked.ok()) return FromStatus(picked.status(), "chain");
      port = *picked;
    }
    s.chain.port = port;
    s.chain.rpc_url = absl::StrCat("http://127.0.0.1:", port);
    s.chain.chain_id = kDevChainId;
    Step(absl::StrCat("chain: starting anvil on ", s.chain.rpc_url,
                      resume ? " (resuming the saved chain state)" : "", "; log ",
                      s.chain.process.log));
    absl::StatusOr<int> pid = SpawnDetached(
        {.argv = {s.chain.binary, "--host", "127.0.0.1", "--port", absl::StrCat(port), "--chain-id",
                  absl::StrCat(kDevChainId), "--accounts", "1", "--balance", "1000000", "--state",
                  s.chain.state_file, "--state-interval", "1", "--config-out",
                  s.state_dir + "/chain/anvil-config.json"},
         .log_path = s.chain.process.log});
    if (!pid.ok()) return FromStatus(pid.status(), "chain: cannot start anvil");
    Record(s.chain.process, *pid);
    (void)SaveState(s);  // recorded at once: `down` finds it even if `up` is interrupted
    absl::Status ready = WaitForChain(s.chain.rpc_url, *pid, absl::Now() + absl::Seconds(30));
    if (ready.ok()) {
      Record(s.chain.process, *pid);
      return std::nullopt;
    }
    StopProcesses({{"anvil", *pid, 0, AnvilIdentity(s)}}, absl::Seconds(3));
    s.chain.process.pid = 0;
    if (attempt == 1 || !absl::IsUnavailable(ready)) {
      return Failure{absl::StrCat("chain: ", ready.message(), "\n  last lines of ",
                                  s.chain.process.log, ":\n", LogTail(s.chain.process.log)),
                     kExitUnavailable};
    }
    Step("chain: anvil exited at start (port taken?); trying another port");
  }
  return Failure{"chain: anvil did not start", kExitUnavailable};
}

// The dev account anvil funds (its first account), from the config anvil writes at start.
absl::StatusOr<crypto::PrivateKey> OperatorKey(const DevnetState& s) {
  std::string path = s.state_dir + "/chain/anvil-config.json";
  std::optional<std::string> text = ReadFile(path);
  if (!text) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("private_keys") ||
      !j["private_keys"].is_array() || j["private_keys"].empty() ||
      !j["private_keys"][0].is_string()) {
    return absl::DataLossError(absl::StrCat(path, " has no private_keys[0]"));
  }
  GNR_ASSIGN_OR_RETURN(FixedBytes<32> bytes,
                       HexDecodeFixed<32>(j["private_keys"][0].get<std::string>()));
  return crypto::PrivateKey::FromBytes(bytes);
}

// ---- Wallets ---------------------------------------------------------------------------------

chain::KeystoreOptions DevKdf() {
  chain::KeystoreOptions options;
  options.scrypt = {.n = 4096, .r = 8, .p = 1};  // fast: a development wallet
  return options;
}

absl::StatusOr<std::string> EnsurePassword(const std::string& path) {
  if (std::optional<std::string> text = ReadFile(path)) {
    std::string line = text->substr(0, text->find('\n'));
    if (!line.empty()) return line;
  }
  std::string password = HexEncode(crypto::OsRandom().Generate(16));
  GNR_RETURN_IF_ERROR(WriteFileAtomic(path, password + "\n", 0600));
  return password;
}

// Loads the keystore at `path`, creating it with a new key if it does not exist.
absl::StatusOr<crypto::PrivateKey> EnsureKeystore(const std::string& path,
                                                  const std::string& password, bool* created) {
  *created = false;
  if (std::optional<std::string> json = ReadFile(path)) {
    absl::StatusOr<crypto::PrivateKey> key = chain::DecryptKeystore(*json, password);
    if (!key.ok()) return Annotate(key.status(), path);
    return key;
  }
  crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::OsRandom());
  GNR_ASSIGN_OR_RETURN(std::string json,
                       chain::EncryptKeystore(key, password, crypto::OsRandom(), DevKdf()));
  GNR_RETURN_IF_ERROR(WriteFileAtomic(path, json, 0600));
  *created = true;
  return key;
}

std::string AddressOf(const crypto::PrivateKey& key) {
  return crypto::EthAddressToChecksumHex(crypto::EthereumAddress(key.GetPublicKey()));
}

// Everything `up` keeps open while it works with the chain.
struct ChainSession {
  ChainConnection conn;
  std::unique_ptr<chain::NonceManager> nonces;
  std::unique_ptr<chain::TxSender> operator_sender;
  std::optional<chain::StorageMarket> market;

  absl::StatusOr<std::unique_ptr<chain::TxSender>> Sender(const crypto::PrivateKey& key) {
    return chain::TxSender::Create(*conn.eth, *nonces, key, SystemClockInstance());
  }
};

// Tops `address` up to `target` ETH from the operator when it has less than `min` ETH.
absl::Status Fund(ChainSession& c, const std::string& who, const crypto::EthAddress& address,
                  const char* min, const char* target) {
  GNR_ASSIGN_OR_RETURN(U256 balance, c.conn.eth->GetBalance(address, chain::BlockRef::Latest()));
  GNR_ASSIGN_OR_RETURN(U256 min_wei, chain::ParseUnits(min));
  GNR_ASSIGN_OR_RETURN(U256 target_wei, chain::ParseUnits(target));
  if (balance >= min_wei) return absl::OkStatus();
  U256 amount = target_wei - balance;
  Step(absl::StrCat("funds: sending ", chain::FormatUnits(amount), " ETH to ", who, " ",
                    crypto::EthAddressToChecksumHex(address)));
  chain::TxRequest request;
  request.to = address;
  request.value = amount;
  return c.operator_sender->SendAndWait(request).status();
}

// ---- Farmers ---------------------------------------------------------------------------------

// Waits until the farmer started as `pid` has written its farmer.json.
absl::Status WaitForFarmer(DevnetFarmer& f, int pid, absl::Time deadline) {
  std::string path = f.data_dir + "/farmer.json";
  while (absl::Now() < deadline) {
    if (CheckProcess(pid, 0, FarmerIdentity(f)) != ProcessCheck::kRunning) {
      return absl::UnavailableError(absl::StrCat(f.name, " exited at start; last lines of ",
                                                 f.process.log, ":\n", LogTail(f.process.log)));
    }
    if (std::optional<std::string> text = ReadFile(path)) {
      Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("pid", int64_t{0}) == pid) {
        f.endpoint = j.value("endpoint", "");
        f.node_id = j.value("node_id", "");
        f.curve_public_key = j.value("curve_public_key", "");
        return absl::OkStatus();
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(f.name, " did not write ", path, " in time; see ", f.process.log));
}

absl::StatusOr<int> StartFarmer(DevnetFarmer& f, const std::vector<std::string>& seeds) {
  if (!MakeDirs(f.data_dir, std::filesystem::perms::owner_all)) {
    return absl::PermissionDeniedError("cannot create " + f.data_dir);
  }
  int port = EndpointPort(f.listen);
  if (port <= 0 || LoopbackPortInUse(port)) {
    GNR_ASSIGN_OR_RETURN(port, PickFreeLoopbackPort());
    f.listen = absl::StrCat("tcp://127.0.0.1:", port);
  }
  // --config /dev/null: the devnet's farmers are fully described here; the user's
  // ~/.config/gnr/config.toml (e.g. a [farmer] advertise for a real farmer) must not leak in.
  std::vector<std::string> argv = {
      SelfExe(),    "farmer",   "run",      "--config", "/dev/null",         "--data", f.data_dir,
      "--capacity", f.capacity, "--listen", f.listen,   "--status-interval", "2"};
  for (const std::string& seed : seeds) argv.insert(argv.end(), {"--bootstrap", seed});
  Step(absl::StrCat(f.name, ": starting on ", f.listen,
                    seeds.empty() ? " (the seed)" : absl::StrCat(" (bootstrap ", seeds[0], ")"),
                    "; log ", f.process.log));
  GNR_ASSIGN_OR_RETURN(int pid, SpawnDetached({.argv = argv, .log_path = f.process.log}));
  Record(f.process, pid);
  return pid;
}

std::optional<Failure> EnsureFarmers(DevnetState& s, int wanted, const std::string& capacity) {
  int have = static_cast<int>(s.farmers.size());
  if (wanted > 0 && wanted < have) {
    Step(absl::StrCat(s.state_dir, " has ", have, " farmers; keeping all ", have,
                      " (their data would be lost otherwise)"));
  }
  int count = std::max(have, wanted > 0 ? wanted : (have > 0 ? have : kDefaultFarmers));
  for (int i = have; i < count; ++i) {
    DevnetFarmer f;
    f.name = absl::StrCat("farmer-", i);
    std::string dir = absl::StrCat(s.state_dir, "/farmers/", f.name);
    f.data_dir = dir + "/data";
    f.staker.keystore = dir + "/staker.json";
    f.capacity = capacity;
    s.farmers.push_back(f);
  }
  for (DevnetFarmer& f : s.farmers) {
    f.process.log = absl::StrCat(s.state_dir, "/logs/", f.name, ".log");
    f.staker.password_file = s.wallet.password_file;
    if (f.capacity.empty()) f.capacity = capacity;
  }
  // Seeds: farmers that run now, farmer-0 first.
  auto seeds_for = [&](const DevnetFarmer& self) {
    std::vector<std::string> seeds;
    for (const DevnetFarmer& other : s.farmers) {
      if (&other == &self || seeds.size() >= 3) continue;
      if (Running(other.process, FarmerIdentity(other)) && !other.BootstrapSeed().empty()) {
        seeds.push_back(other.BootstrapSeed());
      }
    }
    return seeds;
  };
  std::vector<DevnetFarmer*> started;
  for (size_t i = 0; i < s.farmers.size(); ++i) {
    DevnetFarmer& f = s.farmers[i];
    if (Running(f.process, FarmerIdentity(f))) {
      Step(absl::StrCat(f.name, ": already runs (pid ", f.process.pid, ") at ", f.endpoint));
      continue;
    }
    absl::StatusOr<int> pid = StartFarmer(f, seeds_for(f));
    if (!pid.ok()) return FromStatus(pid.status(), f.name);
    (void)SaveState(s);  // recorded at once: `down` finds it even if `up` is interrupted
    if (i == 0 || started.empty()) {
      // The first one started is the seed of the others: wait for it before going on.
      absl::Status up = WaitForFarmer(f, *pid, absl::Now() + absl::Seconds(30));
      if (!up.ok()) return Failure{std::string(up.message()), kExitUnavailable};
    }
    started.push_back(&f);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (DevnetFarmer* f : started) {
    absl::Status up = WaitForFarmer(*f, f->process.pid, deadline);
    if (!up.ok()) return Failure{std::string(up.message()), kExitUnavailable};
    Step(absl::StrCat(f->name, ": running (pid ", f->process.pid, "), node ", f->node_id, " at ",
                      f->endpoint));
  }
  return std::nullopt;
}

// Stakes from the farmer's staking wallet and binds its node, unless that is done already.
absl::Status StakeAndBind(ChainSession& c, DevnetFarmer& f, const std::string& password) {
  bool created = false;
  GNR_ASSIGN_OR_RETURN(crypto::PrivateKey staker_key,
                       EnsureKeystore(f.staker.keystore, password, &created));
  f.staker.address = AddressOf(staker_key);
  const crypto::EthAddress staker = crypto::EthereumAddress(staker_key.GetPublicKey());
  std::string node_key_path = f.data_dir + "/node.key";
  if (!Exists(node_key_path)) {
    return absl::NotFoundError(absl::StrCat(f.name, " has no node key at ", node_key_path));
  }
  GNR_ASSIGN_OR_RETURN(crypto::PrivateKey node_key,
                       farmer::LoadOrCreateNodeKey(node_key_path, crypto::OsRandom()));
  const crypto::NodeId node_id = crypto::NodeIdOf(node_key.GetPublicKey());
  GNR_ASSIGN_OR_RETURN(std::optional<crypto::EthAddress> owner, c.market->NodeOwner(node_id));
  if (owner && *owner == staker) {
    f.bound = true;
    return absl::OkStatus();
  }
  if (owner) {
    return absl::FailedPreconditionError(absl::StrCat(f.name, "'s node ", HexEncode(node_id),
                                                      " is bound to another wallet, ",
                                                      crypto::EthAddressToChecksumHex(*owner)));
  }
  GNR_RETURN_IF_ERROR(Fund(c, f.name + "'s staking wallet", staker, kStakerFundsMin, kStakerFunds));
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<chain::TxSender> sender, c.Sender(staker_key));
  GNR_ASSIGN_OR_RETURN(chain::MarketPrices prices, c.market->Prices());
  GNR_ASSIGN_OR_RETURN(U256 stake, c.market->StakeOf(staker));
  U256 need = std::max(prices.min_stake, prices.stake_per_node);
  if (stake < need) {
    Step(absl::StrCat(f.name, ": staking ", chain::FormatUnits(need - stake), " ETH from ",
                      f.staker.address));
    GNR_RETURN_IF_ERROR(c.market->Stake(*sender, need - stake).status());
  }
  Step(absl::StrCat(f.name, ": binding node ", HexEncode(node_id), " to ", f.staker.address));
  GNR_RETURN_IF_ERROR(c.market->BindNode(*sender, node_key).status());
  f.bound = true;
  return absl::OkStatus();
}

// ---- Mount -----------------------------------------------------------------------------------

std::optional<Failure> EnsureMount(DevnetState& s) {
  DevnetMount& m = s.mount;
  m.state_dir = s.state_dir + "/volume";
  m.process.log = m.state_dir + "/mount.log";
  std::tie(m.data_shards, m.parity_shards) = DevnetShardCounts(static_cast<int>(s.farmers.size()));
  std::optional<std::string> type = CurrentMountType(m.mountpoint);
  if (type && *type == kGnrfsMountType && Running(m.process, MountIdentity(s))) {
    m.mounted = true;
    m.error.clear();
    Step(absl::StrCat("drive: already mounted at ", m.mountpoint, " (daemon pid ", m.process.pid,
                      ")"));
    return std::nullopt;
  }
  if (type) {
    // Mounted, but not by the daemon we recorded. Adopt a live gnr daemon of this state dir;
    // detach a dead FUSE mount; refuse to touch anything else.
    std::optional<MountRecord> record = FindRecord(m.mountpoint);
    bool live = record && ProcessAlive(record->pid);
    if (live && record->state_dir == m.state_dir) {
      Record(m.process, record->pid);
      m.mounted = true;
      m.error.clear();
      Step(absl::StrCat("drive: already mounted at ", m.mountpoint, " (daemon pid ", record->pid,
                        ")"));
      return std::nullopt;
    }
    struct stat st;
    bool dead_fuse =
        type->starts_with("fuse") && ::stat(m.mountpoint.c_str(), &st) != 0 && errno == ENOTCONN;
    if (!dead_fuse) {
      m.error = absl::StrCat(m.mountpoint, " already has a ", *type, " mount",
                             live ? absl::StrCat(" (a gnr drive with state ", record->state_dir,
                                                 ", daemon pid ", record->pid, ")")
                                  : "");
      return Failure{
          absl::StrCat("drive: ", m.error, "; unmount it or choose another place with --mount DIR"),
          kExitUnavailable};
    }
    Step("drive: " + m.mountpoint + " is a dead FUSE mount; detaching it (fusermount3 -u -z)");
    RunAndCapture({"/bin/fusermount3", "-u", "-z", m.mountpoint}, absl::Seconds(10));
  }
  if (!MakeDirs(m.mountpoint, std::filesystem::perms::owner_all) ||
      !MakeDirs(m.state_dir, std::filesystem::perms::owner_all)) {
    return Failure{"cannot create " + m.mountpoint + " or " + m.state_dir, kExitCantCreate};
  }
  std::vector<std::string> argv = {
      SelfExe(),         "mount",           m.mountpoint,           "--state",  m.state_dir,
      "--rpc",           s.chain.rpc_url,   "--contract",           s.contract, "--keystore",
      s.wallet.keystore, "--password-file", s.wallet.password_file, "--bucket", s.bucket.id};
  for (const DevnetFarmer& f : s.farmers) {
    if (!f.BootstrapSeed().empty()) argv.insert(argv.end(), {"--bootstrap", f.BootstrapSeed()});
  }
  argv.insert(argv.end(), {"--data-shards", absl::StrCat(m.data_shards), "--parity-shards",
                           absl::StrCat(m.parity_shards)});
  Step(absl::StrCat("drive: gnr mount ", m.mountpoint, " (", m.data_shards, "+", m.parity_shards,
                    " shards over ", s.farmers.size(), " farmers, state ", m.state_dir, ")"));
  CommandResult r = RunAndCapture(argv, absl::Seconds(120));
  if (r.exit_code == 0 && IsMounted(m.mountpoint)) {
    std::optional<MountRecord> record = FindRecord(m.mountpoint);
    if (record && ProcessAlive(record->pid)) Record(m.process, record->pid);
    m.mounted = true;
    m.error.clear();
    Step(absl::StrCat("drive: mounted at ", m.mountpoint, " (daemon pid ", m.process.pid, ")"));
    return std::nullopt;
  }
  m.mounted = false;
  m.process.pid = 0;
  if (MountRefusedNetworkFlags(r.exit_code, r.output)) {
    m.error =
        "this build of `gnr mount` refused the real-network flags (--rpc, --contract, "
        "--keystore, --password-file, --bucket, --bootstrap): it cannot use the devnet's "
        "farmers yet. Nothing was mounted.";
    return Failure{absl::StrCat("drive: ", m.error,
                                "\n  The chain and the farmers are up (`gnr devnet status`); "
                                "stop them with `gnr devnet down`.\n  gnr mount said:\n",
                                Indent(r.output)),
                   kExitUnavailable};
  }
  m.error = absl::StrCat("gnr mount failed (exit ", r.exit_code, ")");
  return Failure{absl::StrCat("drive: ", m.error, ":\n", Indent(r.output), "  see ", m.process.log,
                              "; the chain and the farmers are up, `gnr devnet down` stops them"),
                 kExitUnavailable};
}

// ---- Summary ---------------------------------------------------------------------------------

void PrintSummary(const DevnetState& s) {
  std::string out = "\ngnrfs devnet is up (loopback only)\n";
  absl::StrAppend(&out, "  chain     anvil pid ", s.chain.process.pid, " at ", s.chain.rpc_url,
                  " (chain id ", s.chain.chain_id, ")\n");
  absl::StrAppend(&out, "  contract  StorageMarket ", s.contract, "\n");
  absl::StrAppend(&out, "  wallet    ", s.wallet.address, " (", s.wallet.keystore, ", password in ",
                  s.wallet.password_file, ")\n");
  absl::StrAppend(&out, "  bucket    ", s.bucket.id, " (", s.bucket.size_gb, " GB, ", s.bucket.days,
                  " days, ", s.bucket.backup, " copies), ", s.traffic_gb, " GB traffic\n");
  absl::StrAppend(&out, "  farmers   ", s.farmers.size(), "\n");
  for (const DevnetFarmer& f : s.farmers) {
    absl::StrAppend(&out, "    ", f.name, "  pid ", f.process.pid, "  ", f.endpoint, "  node ",
                    f.node_id, "  ", f.capacity, "\n              data ", f.data_dir, "\n");
  }
  if (s.mount.mounted) {
    absl::StrAppend(&out, "  drive     mounted at ", s.mount.mountpoint, " (daemon pid ",
                    s.mount.process.pid, ", ", s.mount.data_shards, "+", s.mount.parity_shards,
                    " shards, catalog in ", s.mount.state_dir, ")\n");
  } else {
    absl::StrAppend(&out, "  drive     NOT mounted: ", s.mount.error, "\n");
  }
  absl::StrAppend(&out, "  logs      ", s.state_dir, "/logs/ and ", s.mount.process.log, "\n",
                  "  state     ", StateFile(s.state_dir), "\n\n");
  std::string dir_flag = s.state_dir == DefaultStateDir() ? "" : " --dir " + s.state_dir;
  // The binary as the user can type it: `gnr` when that is what PATH finds, else its path
  // (after scripts/up it is build/tools/gnr, not installed).
  std::string gnr = SelfExe();
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      std::error_code ec;
      if (!dir.empty() && std::filesystem::equivalent(absl::StrCat(dir, "/gnr"), gnr, ec) && !ec) {
        gnr = "gnr";
        break;
      }
    }
  }
  absl::StrAppend(&out, "Use the drive: cp FILE ", s.mount.mountpoint, "/   status: ", gnr,
                  " devnet status", dir_flag, "\nStop everything: ", gnr, " devnet down", dir_flag,
                  "   (STATE stays; `", gnr, " devnet up", dir_flag, "` resumes it)\n");
  std::fprintf(stderr, "%s", out.c_str());
}

// ---- up --------------------------------------------------------------------------------------

std::optional<Failure> Up(const Flags& flags, DevnetState& s) {
  for (const char* sub : {"/logs", "/farmers"}) {
    if (!MakeDirs(s.state_dir + sub, std::filesystem::perms::owner_all)) {
      return Failure{absl::StrCat("cannot create ", s.state_dir, sub), kExitCantCreate};
    }
  }
  // Save after each part, so that `down` can stop what was started even if a later step
  // fails.
  auto save = [&]() -> std::optional<Failure> {
    absl::Status saved = SaveState(s);
    if (!saved.ok()) return FromStatus(saved, "cannot save the devnet state");
    return std::nullopt;
  };

  if (auto f = EnsureChain(s)) return f;
  if (auto f = save()) return f;

  ChainSession c;
  absl::StatusOr<ChainConnection> conn = ConnectChain(s.chain.rpc_url);
  if (!conn.ok()) return FromStatus(conn.status(), "chain");
  c.conn = *std::move(conn);
  c.nonces = std::make_unique<chain::NonceManager>(*c.conn.eth);
  absl::StatusOr<crypto::PrivateKey> op_key = OperatorKey(s);
  if (!op_key.ok()) return FromStatus(op_key.status(), "chain: anvil's dev account");
  absl::StatusOr<std::unique_ptr<chain::TxSender>> op = c.Sender(*op_key);
  if (!op.ok()) return FromStatus(op.status(), "chain");
  c.operator_sender = *std::move(op);
  s.operator_address = AddressOf(*op_key);

  // The contract: the recorded one if the chain still has it.
  if (!s.contract.empty()) {
    absl::StatusOr<crypto::EthAddress> address = crypto::ParseEthAddress(s.contract);
    absl::StatusOr<chain::StorageMarket> market =
        address.ok() ? chain::StorageMarket::At(*c.conn.eth, *address)
                     : absl::StatusOr<chain::StorageMarket>(address.status());
    if (market.ok()) {
      c.market.emplace(*std::move(market));
      Step("contract: StorageMarket at " + s.contract);
    } else if (absl::IsNotFound(market.status()) || !address.ok()) {
      Step("contract: " + s.contract +
           " is not on this chain (its state was lost): deploying a new one; the old bucket "
           "and node bindings are gone with it");
      s.contract.clear();
      s.bucket.id.clear();
      for (DevnetFarmer& f : s.farmers) f.bound = false;
    } else {
      return FromStatus(market.status(), "contract");
    }
  }
  if (!c.market) {
    Step("contract: deploying StorageMarket from the dev account " + s.operator_address);
    absl::StatusOr<chain::StorageMarket> market =
        chain::StorageMarket::Deploy(*c.operator_sender, *c.conn.eth);
    if (!market.ok()) return FromStatus(market.status(), "contract: deploy");
    s.contract = crypto::EthAddressToChecksumHex(market->address());
    c.market.emplace(*std::move(market));
    Step("contract: deployed at " + s.contract);
  }
  if (auto f = save()) return f;

  // The user's wallet.
  s.wallet.keystore = s.state_dir + "/wallet.json";
  s.wallet.password_file = s.state_dir + "/password";
  absl::StatusOr<std::string> password = EnsurePassword(s.wallet.password_file);
  if (!password.ok()) return FromStatus(password.status(), "wallet");
  bool created = false;
  absl::StatusOr<crypto::PrivateKey> wallet_key =
      EnsureKeystore(s.wallet.keystore, *password, &created);
  if (!wallet_key.ok()) return FromStatus(wallet_key.status(), "wallet");
  s.wallet.address = AddressOf(*wallet_key);
  Step(absl::StrCat("wallet: ", created ? "created " : "", s.wallet.address, " (",
                    s.wallet.keystore, ")"));
  const crypto::EthAddress wallet = crypto::EthereumAddress(wallet_key->GetPublicKey());
  if (absl::Status st = Fund(c, "the wallet", wallet, kWalletFundsMin, kWalletFunds); !st.ok()) {
    return FromStatus(st, "funds");
  }
  if (auto f = save()) return f;

  // Farmers, then their stakes and bindings.
  if (auto f = EnsureFarmers(s, flags.farmers, flags.capacity)) {
    (void)save();
    return f;
  }
  if (auto f = save()) return f;
  for (DevnetFarmer& f : s.farmers) {
    absl::Status st = StakeAndBind(c, f, *password);
    if (!st.ok()) {
      (void)save();
      return FromStatus(st, f.name + ": stake and bind");
    }
  }
  Step(absl::StrCat("farmers: all ", s.farmers.size(), " staked and bound"));
  if (auto f = save()) return f;

  // The bucket and traffic.
  absl::StatusOr<std::unique_ptr<chain::TxSender>> user = c.Sender(*wallet_key);
  if (!user.ok()) return FromStatus(user.status(), "wallet");
  bool have_bucket = false;
  if (!s.bucket.id.empty()) {
    absl::StatusOr<chain::BucketId> id = HexDecodeFixed<32>(s.bucket.id);
    absl::StatusOr<chain::BucketInfo> info =
        id.ok() ? c.market->Bucket(*id) : absl::StatusOr<chain::BucketInfo>(id.status());
    if (!info.ok() && !absl::IsInvalidArgument(info.status())) {
      return FromStatus(info.status(), "bucket");
    }
    have_bucket = info.ok() && info->exists();
    if (have_bucket) Step("bucket: " + s.bucket.id);
  }
  if (!have_bucket) {
    absl::StatusOr<chain::RpcBlock> head = c.conn.eth->GetBlockByNumber(chain::BlockRef::Latest());
    if (!head.ok()) return FromStatus(head.status(), "bucket");
    chain::BucketSpec spec;
    spec.bucket_id = crypto::OsRandom().Generate<32>();
    spec.size_gb = s.bucket.size_gb;
    spec.start = head->header.header.timestamp;
    spec.end = spec.start + s.bucket.days * 86400;
    spec.backup = static_cast<uint8_t>(std::min<uint64_t>(s.bucket.backup, 255));
    Step(absl::StrCat("bucket: buying ", spec.size_gb, " GB for ", s.bucket.days, " days, ",
                      s.bucket.backup, " copies"));
    auto bought = c.market->BuyBucketSpace(**user, spec);
    if (!bought.ok()) return FromStatus(bought.status(), "bucket");
    s.bucket.id = HexEncode(bought->event.bucket_id);
    Step("bucket: bought " + s.bucket.id);
  }
  absl::StatusOr<uint64_t> traffic = c.market->TrafficOf(wallet);
  if (!traffic.ok()) return FromStatus(traffic.status(), "traffic");
  if (*traffic < s.traffic_gb / 2) {
    Step(absl::StrCat("traffic: buying ", s.traffic_gb, " GB"));
    auto bought = c.market->BuyTraffic(**user, s.traffic_gb);
    if (!bought.ok()) return FromStatus(bought.status(), "traffic");
  } else {
    Step(absl::StrCat("traffic: ", *traffic, " GB left"));
  }
  if (auto f = save()) return f;

  // The chain so far mined a block per transaction (setup is quick that way). The auditor
  // seeds its challenges with confirmed block hashes, so from now on anvil also mines a
  // block every few seconds (a real chain's rhythm; transactions wait for the next block).
  absl::StatusOr<Json> interval =
      c.conn.client->Call("evm_setIntervalMining", Json::array({kDevnetBlockSeconds}));
  if (interval.ok()) {
    Step(absl::StrCat("chain: mining a block every ", kDevnetBlockSeconds,
                      " s from now on (the auditor's challenges are seeded by block hashes)"));
  } else {
    Step(absl::StrCat("chain: cannot switch anvil to interval mining (",
                      interval.status().message(), "); the auditor only runs as blocks come"));
  }

  // The drive.
  if (!flags.mount.empty()) s.mount.mountpoint = flags.mount;
  if (s.mount.mountpoint.empty()) s.mount.mountpoint = HomeDir() + "/gnr";
  std::optional<Failure> mount_failure = EnsureMount(s);
  if (auto f = save()) return f;
  return mount_failure;
}

int RunUp(const Flags& flags) {
  if (!MakeDirs(flags.dir, std::filesystem::perms::owner_all)) {
    return Report(
        {absl::StrCat("cannot create ", flags.dir, ": ", std::strerror(errno)), kExitCantCreate});
  }
  auto lock = StateLock::Acquire(flags.dir);
  if (auto* f = std::get_if<Failure>(&lock)) return Report(*f);
  absl::StatusOr<std::optional<DevnetState>> loaded = LoadState(flags.dir);
  if (!loaded.ok()) {
    return Report(
        {absl::StrCat(loaded.status().message(), "\n  (fix or remove the file; the rest of ",
                      flags.dir, " is kept)"),
         kExitConfig});
  }
  DevnetState s;
  if (loaded->has_value()) {
    s = **loaded;
    Step("resuming the devnet in " + flags.dir);
  } else {
    s.state_dir = flags.dir;
    Step("creating a devnet in " + flags.dir);
  }
  s.state_dir = flags.dir;
  std::optional<Failure> failure = Up(flags, s);
  if (flags.json) std::printf("%s\n", DevnetStateToJson(s).dump(2).c_str());
  if (failure) return Report(*failure);
  PrintSummary(s);
  return kExitOk;
}

// ---- down ------------------------------------------------------------------------------------

const char* OutcomeText(StopOutcome::Result r) {
  switch (r) {
    case StopOutcome::kNotRunning:
      return "already exited";
    case StopOutcome::kStopped:
      return "stopped";
    case StopOutcome::kKilled:
      return "killed (did not stop on SIGTERM in time)";
    case StopOutcome::kOtherProgram:
      return "left alone: its PID now belongs to another program";
    case StopOutcome::kStillRunning:
      return "STILL RUNNING after SIGKILL";
  }
  return "?";
}

int RunDown(const Flags& flags) {
  if (!Exists(StateFile(flags.dir))) {
    std::fprintf(stderr, "gnr devnet: no devnet in %s: nothing to stop\n", flags.dir.c_str());
    return kExitOk;
  }
  auto lock = StateLock::Acquire(flags.dir);
  if (auto* f = std::get_if<Failure>(&lock)) return Report(*f);
  absl::StatusOr<std::optional<DevnetState>> loaded = LoadState(flags.dir);
  if (!loaded.ok()) return Report(FromStatus(loaded.status(), "cannot read the devnet state"));
  DevnetState s = **loaded;
  bool clean = true;

  // 1. The drive: a clean unmount (uploads finish), then forced, then a lazy detach.
  const std::string& mp = s.mount.mountpoint;
  // Only a gnrfs mount is ours to unmount (something else may have been mounted there since).
  std::optional<std::string> type = mp.empty() ? std::nullopt : CurrentMountType(mp);
  if (type && *type != kGnrfsMountType) {
    Step(absl::StrCat("drive: ", mp, " has a ", *type, " mount now, not the drive; left alone"));
  }
  if (type && *type == kGnrfsMountType) {
    Step("drive: gnr umount " + mp + " (waiting up to 60 s for uploads)");
    CommandResult r =
        RunAndCapture({SelfExe(), "umount", mp, "--timeout", "60"}, absl::Seconds(90));
    if (IsMounted(mp)) {
      Step("drive: clean unmount failed:\n" + Indent(r.output) + "devnet: drive: forcing it");
      r = RunAndCapture({SelfExe(), "umount", mp, "--force"}, absl::Seconds(60));
    }
    if (IsMounted(mp)) {
      Step("drive: still mounted; detaching it with fusermount3 -u -z");
      RunAndCapture({"/bin/fusermount3", "-u", "-z", mp}, absl::Seconds(10));
    }
    if (IsMounted(mp)) {
      Step("drive: " + mp + " is STILL MOUNTED");
      clean = false;
    } else {
      Step("drive: unmounted " + mp);
    }
  }
  s.mount.mounted = CurrentMountType(mp) == kGnrfsMountType;

  // 2. The mount daemon, 3. the farmers, 4. the chain (SIGTERM makes anvil save its state).
  std::vector<StopOutcome> outcomes;
  auto stop = [&](std::vector<StopTarget> targets, absl::Duration grace) {
    for (StopOutcome& o : StopProcesses(targets, grace)) {
      if (o.result != StopOutcome::kNotRunning || o.pid != 0) {
        Step(absl::StrCat(o.name, " (pid ", o.pid, "): ", OutcomeText(o.result)));
      }
      if (o.result == StopOutcome::kStillRunning) clean = false;
      outcomes.push_back(o);
    }
  };
  if (s.mount.process.pid > 0) {
    stop({{"drive daemon", s.mount.process.pid, s.mount.process.start_ticks, MountIdentity(s)}},
         absl::Seconds(30));
  }
  std::vector<StopTarget> farmers;
  for (const DevnetFarmer& f : s.farmers) {
    if (f.process.pid > 0) {
      farmers.push_back({f.name, f.process.pid, f.process.start_ticks, FarmerIdentity(f)});
    }
  }
  stop(farmers, absl::Seconds(15));
  if (s.chain.process.pid > 0) {
    stop({{"anvil", s.chain.process.pid, s.chain.process.start_ticks, AnvilIdentity(s)}},
         absl::Seconds(10));
  }
  for (const StopOutcome& o : outcomes) {
    if (o.result == StopOutcome::kStillRunning) continue;
    if (o.name == "anvil") s.chain.process.pid = 0;
    if (o.name == "drive daemon") s.mount.process.pid = 0;
    for (DevnetFarmer& f : s.farmers) {
      if (f.name == o.name) f.process.pid = 0;
    }
  }
  absl::Status saved = SaveState(s);
  if (!saved.ok()) Step("warning: cannot save the devnet state: " + std::string(saved.message()));
  if (!clean) {
    std::fprintf(stderr, "gnr devnet: some parts could not be stopped (see above)\n");
    return kExitFailure;
  }
  std::fprintf(stderr,
               "devnet: everything stopped; the state stays in %s (`gnr devnet up%s` resumes "
               "it)\n",
               flags.dir.c_str(),
               flags.dir == DefaultStateDir() ? "" : (" --dir " + flags.dir).c_str());
  return kExitOk;
}

// ---- status ----------------------------------------------------------------------------------

int RunStatus(const Flags& flags) {
  absl::StatusOr<std::optional<DevnetState>> loaded = LoadState(flags.dir);
  if (!loaded.ok()) return Report(FromStatus(loaded.status(), "cannot read the devnet state"));
  if (!loaded->has_value()) {
    std::fprintf(stderr, "gnr devnet: no devnet in %s (start one with `gnr devnet up%s`)\n",
                 flags.dir.c_str(),
                 flags.dir == DefaultStateDir() ? "" : (" --dir " + flags.dir).c_str());
    return kExitNoInput;
  }
  const DevnetState& s = **loaded;
  bool chain_running = Running(s.chain.process, AnvilIdentity(s));
  bool chain_answers = chain_running && ChainAnswers(s.chain.rpc_url);
  bool mounted =
      !s.mount.mountpoint.empty() && CurrentMountType(s.mount.mountpoint) == kGnrfsMountType;
  bool daemon = Running(s.mount.process, MountIdentity(s));
  Json farmers = Json::array();
  int farmers_running = 0;
  for (const DevnetFarmer& f : s.farmers) {
    bool running = Running(f.process, FarmerIdentity(f));
    farmers_running += running ? 1 : 0;
    farmers.push_back({{"name", f.name},
                       {"running", running},
                       {"pid", running ? f.process.pid : 0},
                       {"endpoint", f.endpoint},
                       {"node_id", f.node_id},
                       {"bound", f.bound},
                       {"data_dir", f.data_dir}});
  }
  bool all =
      chain_answers && mounted && daemon && farmers_running == static_cast<int>(s.farmers.size());
  Json out{{"state_dir", s.state_dir},
           {"running", all},
           {"chain",
            {{"running", chain_running},
             {"answers", chain_answers},
             {"pid", chain_running ? s.chain.process.pid : 0},
             {"rpc_url", s.chain.rpc_url}}},
           {"contract", s.contract},
           {"wallet", s.wallet.address},
           {"bucket", s.bucket.id},
           {"farmers", farmers},
           {"farmers_running", farmers_running},
           {"mount",
            {{"mountpoint", s.mount.mountpoint},
             {"mounted", mounted},
             {"daemon_running", daemon},
             {"pid", daemon ? s.mount.process.pid : 0},
             {"error", s.mount.error}}}};
  if (flags.json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::string text =
      absl::StrCat("devnet in ", s.state_dir, ": ", all ? "running" : "NOT fully running", "\n");
  absl::StrAppend(&text, "  chain     ",
                  chain_answers
                      ? absl::StrCat("running, pid ", s.chain.process.pid, ", ", s.chain.rpc_url)
                  : chain_running ? absl::StrCat("pid ", s.chain.process.pid,
                                                 " runs but does not answer at ", s.chain.rpc_url)
                                  : std::string("stopped"),
                  "\n  contract  ", s.contract.empty() ? "(none)" : s.contract, "\n  wallet    ",
                  s.wallet.address, "\n  bucket    ", s.bucket.id.empty() ? "(none)" : s.bucket.id,
                  "\n  farmers   ", farmers_running, " of ", s.farmers.size(), " running\n");
  for (const Json& f : farmers) {
    absl::StrAppend(&text, "    ", f["name"].get<std::string>(), "  ",
                    f["running"].get<bool>() ? absl::StrCat("running, pid ", f["pid"].get<int>(),
                                                            ", ", f["endpoint"].get<std::string>())
                                             : std::string("stopped"),
                    "\n");
  }
  absl::StrAppend(
      &text, "  drive     ",
      mounted ? "mounted at " + s.mount.mountpoint
              : "not mounted" +
                    (s.mount.mountpoint.empty() ? std::string() : " (" + s.mount.mountpoint + ")"),
      daemon ? absl::StrCat(", daemon pid ", s.mount.process.pid) : "", "\n");
  if (!mounted && !s.mount.error.empty()) {
    absl::StrAppend(&text, "            last error: ", s.mount.error, "\n");
  }
  std::printf("%s", text.c_str());
  return kExitOk;
}

int RunDevnet(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return kExitUsage;
  }
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h" || a == "help") {
      std::printf("%s", kUsage);
      return kExitOk;
    }
  }
  Flags flags;
  if (std::optional<std::string> error = ParseFlags(args, &flags)) return UsageError(*error);
  // Children we start must not die with a broken pipe of ours, and a closed stdout (e.g.
  // `| head`) must not kill us half-way through.
  signal(SIGPIPE, SIG_IGN);
  if (flags.sub == "up") return RunUp(flags);
  if (flags.sub == "down") return RunDown(flags);
  return RunStatus(flags);
}

}  // namespace

Command DevnetCommand() {
  return {"devnet",
          "a complete local network on loopback: chain, farmers, mount (up | down | status)",
          kUsage, RunDevnet};
}

}  // namespace gnr::tools
