// `gnr ls`, `gnr put`, `gnr get`, `gnr rm` (tools/shell_command.h): the drive from a shell,
// through a running mount when there is one, else through a Volume opened here.
#include "tools/shell_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/hash.h"
#include "fs/catalog/catalog.h"
#include "fs/catalog/posix_error.h"
#include "fs/fuse/mounted_drive.h"
#include "fs/volume/volume.h"
#include "net/farmer/byte_size.h"
#include "nlohmann/json.hpp"
#include "tools/config.h"
#include "tools/devnet_state.h"
#include "tools/drive_env.h"
#include "tools/exit_codes.h"
#include "tools/flags.h"
#include "tools/mount_control.h"
#include "tools/transfer_progress.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::ordered_json;
using farmer::HumanBytes;

constexpr size_t kChunk = size_t{1} << 20;            // bytes per read/write call
constexpr uint64_t kResumeCheck = uint64_t{1} << 20;  // tail of a partial DST compared

constexpr char kDriveHelp[] =
    "Which drive:\n"
    "  --mount DIR          the drive mounted at DIR by `gnr mount`\n"
    "  --state DIR          the drive whose catalog is in DIR (default $GNR_STATE, else\n"
    "                       ~/.local/share/gnr/volumes/default)\n"
    "  --devnet[=STATE]     the drive of a `gnr devnet up` devnet (STATE/devnet.json;\n"
    "                       default ~/.local/share/gnr/devnet): its mount, else its network\n"
    "  --rpc URL, --contract ADDRESS, --keystore PATH, --password-file FILE, --bucket ID,\n"
    "  --bootstrap SEED, --data-shards K, --parity-shards M\n"
    "                       the network, as for `gnr mount` (also $GNR_RPC, ... and\n"
    "                       ~/.config/gnr/config.toml); used only when no mount runs\n"
    "  --config FILE        the configuration file (default ~/.config/gnr/config.toml)\n"
    "\n"
    "With a running mount of the drive (`gnr status` lists them), put, get and rm go\n"
    "through the mount point: put writes the file there and fsyncs it (so it returns once\n"
    "the content is committed on the network), get reads it from there, rm unlinks; the\n"
    "catalog is only read (for ls and the upload progress). Without a mount they open the\n"
    "drive themselves on the network (catalog, staging, farmers), which needs the network\n"
    "options; put then also waits (up to 2 minutes) until all k+m shards are stored, as no\n"
    "daemon is left to finish them; what is left continues at the drive's next use. Only\n"
    "one process may open a drive: one opened by a process that is not a registered mount\n"
    "is refused (exit 75).\n";

constexpr char kExitHelp[] =
    "\n"
    "Exit status: 0 ok; 1 failed; 64 bad arguments; 65 DST is not a partial copy of SRC\n"
    "(get); 66 no such file, directory, drive or catalog; 69 chain or farmers unreachable;\n"
    "73 cannot create the destination, or the bucket is full; 74 I/O error (local disk, or\n"
    "data the farmers could not deliver); 75 the drive is busy, retry later; 77 permission\n"
    "denied or wrong wallet password; 78 bad configuration or no network configured;\n"
    "128+N interrupted by signal N (put: DST unchanged; get: run it again to resume).\n";

constexpr char kLsUsage[] =
    "Usage: gnr ls [-l] [--json] [PATH] [drive options]\n"
    "\n"
    "Lists PATH in the drive (default /): a directory's entries, or one file. It reads the\n"
    "drive's catalog only, so it works with or without a running mount and needs no network.\n"
    "\n"
    "  -l, --long   one line per entry: mode, size, version, redundancy k+m, segments,\n"
    "               healthy shards (shard positions acknowledged in the worst segment, of\n"
    "               k+m; \"inline\" for small files kept in the catalog), the last audit and\n"
    "               the modification time; \"pending\" while an upload is not committed\n"
    "  --json       {\"ok\": true, \"path\": ..., \"entries\": [{\"name\", \"path\", \"type\",\n"
    "               \"mode\", \"size\", \"mtime\", \"version\", \"kind\", \"data_shards\",\n"
    "               \"parity_shards\", \"redundancy\", \"segments\", \"healthy_shards\",\n"
    "               \"total_shards\", \"upload\", \"last_audit\": {\"time\", \"result\"}}]}\n"
    "\n";

constexpr char kPutUsage[] =
    "Usage: gnr put [options] SRC DST\n"
    "\n"
    "Stores the local file SRC (\"-\": standard input) in the drive as DST, a path in the\n"
    "drive such as /docs/report.pdf (a DST ending in \"/\" or naming a directory gets SRC's\n"
    "name). Returns once the new content is committed on the network (k+1 shards of every\n"
    "segment acknowledged), as fsync does. An existing file is replaced atomically: the file\n"
    "is written as .NAME.gnr-put-PID next to DST and renamed over it once committed, so DST\n"
    "keeps its old content if the put fails or is interrupted.\n"
    "\n"
    "  -p, --parents  create DST's missing parent directories\n"
    "  --quiet        no progress bar (there is none either when stdout is not a terminal)\n"
    "  --json         print {\"ok\", \"source\", \"path\", \"bytes\", \"seconds\",\n"
    "                 \"bytes_per_second\", \"via\": \"mount\"|\"volume\"}\n"
    "\n";

constexpr char kGetUsage[] =
    "Usage: gnr get [options] SRC DST\n"
    "\n"
    "Copies SRC, a file in the drive, to the local file DST (\"-\": standard output; an\n"
    "existing directory: DST/<name of SRC>). Every byte is verified on the way (Merkle proofs\n"
    "of the shards, authenticated decryption) before it is written.\n"
    "\n"
    "Resumable: when DST exists and is shorter than what is asked for, the copy continues at\n"
    "its end, after checking that DST's last bytes (up to 1 MiB) equal SRC's at the same\n"
    "place. A DST that is not a partial copy is refused (exit 65) unless --overwrite.\n"
    "\n"
    "  --offset N     start at byte N of SRC (N may end in K, M, G or T: powers of 1024)\n"
    "  --length N     copy at most N bytes (default: to the end of SRC)\n"
    "  --overwrite    start from scratch even if DST has content\n"
    "  --quiet        no progress bar (there is none either when stdout is not a terminal)\n"
    "  --json         print {\"ok\", \"path\", \"destination\", \"offset\", \"length\",\n"
    "                 \"resumed_from\", \"bytes_copied\", \"sha256\" (of DST), \"seconds\", "
    "\"via\"}\n"
    "\n";

constexpr char kRmUsage[] =
    "Usage: gnr rm [-r] [--json] PATH... [drive options]\n"
    "\n"
    "Removes files from the drive; with -r also directories and everything in them.\n"
    "\n"
    "  -r, -R, --recursive  remove directories and their contents\n"
    "  -f, --force          no error for paths that do not exist\n"
    "  --json               print {\"ok\", \"removed\": N, \"paths\": [...]}\n"
    "\n";

std::string FullUsage(const char* usage) { return absl::StrCat(usage, kDriveHelp, kExitHelp); }

// --- Output ------------------------------------------------------------------------------

class Cli {
 public:
  explicit Cli(std::string name) : name_(std::move(name)) {}
  bool json = false;
  bool quiet = false;

  // Prints the error (stderr; and the JSON error object on stdout with --json).
  int Fail(int code, const std::string& message) const {
    std::fprintf(stderr, "gnr %s: %s\n", name_.c_str(), message.c_str());
    if (json) {
      Json j = {{"ok", false}, {"error", message}, {"exit_code", code}};
      std::printf("%s\n", j.dump().c_str());
    }
    return code;
  }
  int Usage(const std::string& message) const {
    std::fprintf(stderr, "gnr %s: %s\n(try `gnr %s --help`)\n", name_.c_str(), message.c_str(),
                 name_.c_str());
    if (json) {
      Json j = {{"ok", false}, {"error", message}, {"exit_code", kExitUsage}};
      std::printf("%s\n", j.dump().c_str());
    }
    return kExitUsage;
  }
  // The progress bar's output: stdout when it is a terminal and neither --quiet nor --json.
  std::FILE* ProgressOut() const {
    return (!json && !quiet && isatty(STDOUT_FILENO) == 1) ? stdout : nullptr;
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

std::string Message(const absl::Status& s) { return std::string(StdView(s.message())); }

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// The errno of a failed drive operation (the Volume and the mount path always set one).
int ErrnoOf(const absl::Status& s) {
  if (std::optional<int> e = catalog::PosixErrno(s)) return *e;
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return ENOENT;
    case absl::StatusCode::kPermissionDenied:
      return EACCES;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return EAGAIN;
    default:
      return EIO;
  }
}

int ExitForErrno(int e) {
  switch (e) {
    case ENOENT:
      return kExitNoInput;
    case ENOSPC:
    case EDQUOT:
    case EEXIST:
    case EROFS:
    case EFBIG:
      return kExitCantCreate;
    case EACCES:
    case EPERM:
      return kExitNoPerm;
    case EIO:
      return kExitIoErr;
    case EBUSY:
    case EAGAIN:
      return kExitTempFail;
    case ENOTCONN:
      return kExitUnavailable;
    default:
      return kExitFailure;
  }
}

// What to do about an errno, appended to messages ("" when there is nothing to add).
std::string Hint(int e) {
  switch (e) {
    case ENOSPC:
      return " (the bucket is full or expired: buy space with `gnr market buy-space`)";
    case EIO:
      return " (too few farmers delivered or took the data: see `gnr status` and the mount's "
             "log, then retry)";
    case ENOTCONN:
      return " (the mount's daemon is gone: `gnr umount --force` it and mount again)";
    case EAGAIN:
    case EBUSY:
      return " (busy: retry later)";
    default:
      return "";
  }
}

// "<what>: <message><hint>" and the exit code of a failed drive operation.
int FailDrive(const Cli& cli, const std::string& what, const absl::Status& s) {
  int e = ErrnoOf(s);
  return cli.Fail(ExitForErrno(e), absl::StrCat(what, ": ", Message(s), Hint(e)));
}

absl::Status ErrnoStatus(int e, const std::string& what) {
  return catalog::PosixError(e, absl::StrCat(what, ": ", std::strerror(e)));
}

// --- Paths -------------------------------------------------------------------------------

// "/a/b" from "a//b/", "/a/./b"; nullopt for ".." (drive paths never climb).
std::optional<std::string> NormalizeDrivePath(std::string_view path) {
  std::string out;
  for (absl::string_view part : absl::StrSplit(AbslView(path), '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return std::nullopt;
    absl::StrAppend(&out, "/", part);
  }
  return out.empty() ? "/" : out;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? absl::StrCat("/", name) : absl::StrCat(dir, "/", name);
}

// Lexically absolute, like the mount registry stores paths.
std::string AbsoluteLocal(const std::string& path) {
  std::string full = path;
  if (full.starts_with("~/")) {
    const char* home = getenv("HOME");
    if (home != nullptr) full = absl::StrCat(home, full.substr(1));
  }
  if (full.empty() || full[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) full = absl::StrCat(cwd, "/", full);
  }
  std::optional<std::string> n = NormalizeDrivePath(full);
  if (n.has_value()) return *n;
  return std::filesystem::path(full).lexically_normal().string();
}

// --- Which drive -------------------------------------------------------------------------

struct DriveFlags {
  std::optional<std::string> config_file;
  std::string state;
  std::string mount;
  std::optional<std::string> devnet;  // "" = the default devnet dir
  DriveConfig drive;
  bool data_shards_set = false;
  bool parity_shards_set = false;
};

std::string DefaultDevnetDir() {
  const char* xdg = getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg == '/') return absl::StrCat(xdg, "/gnr/devnet");
  const char* home = getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "/", "/.local/share/gnr/devnet");
}

// Takes one drive option at args[i] (advancing i past its value). False when args[i] is not
// one; `error` is set for a malformed one.
bool TakeDriveFlag(const std::vector<std::string>& args, size_t& i, DriveFlags* f,
                   std::string* error) {
  std::string v;
  const std::string& a = args[i];
  if (a == "--devnet") {
    // An optional value: taken when the next argument is a devnet state dir.
    if (i + 1 < args.size() && std::filesystem::exists(args[i + 1] + "/devnet.json")) {
      f->devnet = args[++i];
    } else {
      f->devnet = "";
    }
    return true;
  }
  if (TakeFlagValue(args, i, "--devnet", &v, error)) {
    f->devnet = v;
    return true;
  }
  if (TakeFlagValue(args, i, "--state", &f->state, error)) return true;
  if (TakeFlagValue(args, i, "--mount", &f->mount, error)) return true;
  if (TakeFlagValue(args, i, "--rpc", &f->drive.rpc_url, error)) return true;
  if (TakeFlagValue(args, i, "--contract", &f->drive.contract, error)) return true;
  if (TakeFlagValue(args, i, "--keystore", &f->drive.wallet.keystore_path, error)) return true;
  if (TakeFlagValue(args, i, "--password-file", &f->drive.wallet.password_file, error)) return true;
  if (TakeFlagValue(args, i, "--bucket", &f->drive.bucket_hex, error)) return true;
  if (TakeFlagValue(args, i, "--bootstrap", &v, error)) {
    if (error->empty()) f->drive.bootstrap.push_back(v);
    return true;
  }
  if (TakeFlagValue(args, i, "--data-shards", &v, error)) {
    f->drive.data_shards = std::atoi(v.c_str());
    f->data_shards_set = true;
    return true;
  }
  if (TakeFlagValue(args, i, "--parity-shards", &v, error)) {
    f->drive.parity_shards = std::atoi(v.c_str());
    f->parity_shards_set = true;
    return true;
  }
  return false;
}

struct Target {
  std::string state_dir;
  std::optional<MountRecord> mount;  // a live mount of the drive
  DriveConfig drive;                 // the network, for opening the drive without a mount
  std::string where;                 // "the drive in STATE", for messages
};

struct Failure {
  int code;
  std::string message;
};

std::optional<MountRecord> LiveMountOf(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::path want = std::filesystem::weakly_canonical(state_dir, ec);
  for (const MountRecord& r : AllRecords()) {
    if (!ProcessAlive(r.pid)) continue;
    std::error_code ec2;
    bool same = r.state_dir == state_dir ||
                (!ec && std::filesystem::weakly_canonical(r.state_dir, ec2) == want && !ec2);
    if (same && fuse::IsGnrfsMount(r.mountpoint)) return r;
  }
  return std::nullopt;
}

std::variant<Target, Failure> ResolveTarget(const DriveFlags& f, const Config& config) {
  Target t;
  // The network from the configuration (flags override below).
  t.drive.rpc_url = config.String("chain.rpc");
  t.drive.contract = config.String("chain.contract");
  t.drive.wallet = WalletAccessFromConfig(config);
  t.drive.bucket_hex = config.String("drive.bucket");
  t.drive.bootstrap = config.List("drive.bootstrap");
  t.drive.data_shards = std::atoi(config.String("drive.data_shards").c_str());
  t.drive.parity_shards = std::atoi(config.String("drive.parity_shards").c_str());

  if (f.devnet.has_value()) {
    std::string dir = AbsoluteLocal(f.devnet->empty() ? DefaultDevnetDir() : *f.devnet);
    std::ifstream in(dir + "/devnet.json");
    if (!in) {
      return Failure{kExitNoInput, absl::StrCat("no devnet in ", dir,
                                                " (no devnet.json): start one with `gnr devnet "
                                                "up`, or name its state dir: --devnet=STATE")};
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<DevnetState> s = ParseDevnetState(text.str());
    if (!s.ok()) {
      return Failure{kExitConfig, absl::StrCat(dir, "/devnet.json: ", Message(s.status()))};
    }
    t.state_dir = s->mount.state_dir;
    t.drive.rpc_url = s->chain.rpc_url;
    t.drive.contract = s->contract;
    t.drive.wallet.keystore_path = s->wallet.keystore;
    t.drive.wallet.password_file = s->wallet.password_file;
    t.drive.bucket_hex = s->bucket.id;
    t.drive.bootstrap.clear();
    for (const DevnetFarmer& farmer : s->farmers) {
      if (!farmer.BootstrapSeed().empty()) t.drive.bootstrap.push_back(farmer.BootstrapSeed());
    }
    t.drive.data_shards = s->mount.data_shards;
    t.drive.parity_shards = s->mount.parity_shards;
    if (t.state_dir.empty()) {
      return Failure{kExitConfig, absl::StrCat(dir, "/devnet.json names no drive state dir")};
    }
  }
  // Flags beat the configuration and the devnet.
  const DriveConfig& d = f.drive;
  if (!d.rpc_url.empty()) t.drive.rpc_url = d.rpc_url;
  if (!d.contract.empty()) t.drive.contract = d.contract;
  if (!d.wallet.keystore_path.empty()) t.drive.wallet.keystore_path = d.wallet.keystore_path;
  if (!d.wallet.password_file.empty()) t.drive.wallet.password_file = d.wallet.password_file;
  if (!d.bucket_hex.empty()) t.drive.bucket_hex = d.bucket_hex;
  if (!d.bootstrap.empty()) t.drive.bootstrap = d.bootstrap;
  if (f.data_shards_set) t.drive.data_shards = d.data_shards;
  if (f.parity_shards_set) t.drive.parity_shards = d.parity_shards;

  if (!f.mount.empty()) {
    std::string dir = AbsoluteLocal(f.mount);
    std::optional<MountRecord> r = FindRecord(dir);
    if (!r.has_value() || !ProcessAlive(r->pid) || !fuse::IsGnrfsMount(dir)) {
      return Failure{kExitNoInput, absl::StrCat(dir,
                                                " is not a running gnr mount (`gnr status` lists "
                                                "them; mount with `gnr mount ",
                                                dir, "`)")};
    }
    t.mount = *r;
    t.state_dir = r->state_dir;
  } else {
    if (!f.state.empty()) {
      t.state_dir = AbsoluteLocal(f.state);
    } else if (t.state_dir.empty()) {
      // A mount named by the configuration (drive.mount), when it runs.
      std::string configured = config.String("drive.mount");
      if (!configured.empty()) {
        std::optional<MountRecord> r = FindRecord(AbsoluteLocal(configured));
        if (r.has_value() && ProcessAlive(r->pid)) {
          t.mount = *r;
          t.state_dir = r->state_dir;
        }
      }
      if (t.state_dir.empty()) t.state_dir = AbsoluteLocal(config.String("drive.state"));
    }
    if (!t.mount.has_value()) t.mount = LiveMountOf(t.state_dir);
  }
  t.drive.state_dir = t.state_dir;
  t.where = t.mount.has_value() ? absl::StrCat("the drive mounted at ", t.mount->mountpoint)
                                : absl::StrCat("the drive in ", t.state_dir);
  return t;
}

// --- Drive access: through the mount, or a Volume opened here -------------------------------

struct NodeInfo {
  bool is_dir = false;
  uint64_t size = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;
  virtual uint64_t size() const = 0;
  // Fewer bytes than asked only at the end of the file.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;
  virtual absl::Status WriteAt(uint64_t offset, ByteView data) = 0;
  // Durable: returns once the content is committed on the network; closes the file.
  virtual absl::Status Commit() = 0;
};

class Drive {
 public:
  virtual ~Drive() = default;
  virtual const char* via() const = 0;
  // Errors carry an errno payload (ENOENT, ENOTDIR, EISDIR, EIO, ...).
  virtual absl::StatusOr<NodeInfo> Stat(const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<Reader>> OpenRead(const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<Writer>> Create(const std::string& path,
                                                         uint32_t mode) = 0;
  virtual absl::Status Mkdir(const std::string& path) = 0;
  // rename(2): atomically replaces an existing file `to`.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file, or with `recursive` a directory tree; counts removed nodes.
  virtual absl::Status Remove(const std::string& path, bool recursive, uint64_t* removed) = 0;
  // Before closing: for a Volume opened here, waits for the background shard top-ups.
  virtual absl::Status Finish() { return absl::OkStatus(); }
};

// --- Through the mount point ---

class FdReader : public Reader {
 public:
  FdReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FdReader() override { close(fd_); }
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) override {
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, absl::StrCat("read at byte ", offset + got));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

 private:
  int fd_;
  uint64_t size_;
};

absl::Status WriteAllAt(int fd, uint64_t offset, ByteView data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("write to ", what));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Sequential writes (standard output may be a pipe, a terminal or a file).
absl::Status WriteAll(int fd, ByteView data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("write to ", what));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

class FdWriter : public Writer {
 public:
  FdWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FdWriter() override {
    if (fd_ >= 0) close(fd_);
  }
  absl::Status WriteAt(uint64_t offset, ByteView data) override {
    return WriteAllAt(fd_, offset, data, path_);
  }
  absl::Status Commit() override {
    if (fsync(fd_) != 0) {
      int e = errno;
      close(fd_);
      fd_ = -1;
      return ErrnoStatus(e, absl::StrCat("committing ", path_, " (fsync)"));
    }
    int rc = close(fd_);
    fd_ = -1;
    if (rc != 0) return ErrnoStatus(errno, absl::StrCat("closing ", path_));
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string path_;
};

class MountDrive : public Drive {
 public:
  explicit MountDrive(std::string mountpoint) : root_(std::move(mountpoint)) {}
  const char* via() const override { return "mount"; }

  absl::StatusOr<NodeInfo> Stat(const std::string& path) override {
    struct stat st;
    if (lstat(Local(path).c_str(), &st) != 0) return ErrnoStatus(errno, path);
    return NodeInfo{S_ISDIR(st.st_mode), static_cast<uint64_t>(st.st_size)};
  }
  absl::StatusOr<std::unique_ptr<Reader>> OpenRead(const std::string& path) override {
    int fd = open(Local(path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int e = errno;
      close(fd);
      return ErrnoStatus(e, path);
    }
    if (S_ISDIR(st.st_mode)) {
      close(fd);
      return ErrnoStatus(EISDIR, path);
    }
    return std::make_unique<FdReader>(fd, static_cast<uint64_t>(st.st_size));
  }
  absl::StatusOr<std::unique_ptr<Writer>> Create(const std::string& path, uint32_t mode) override {
    int fd = open(Local(path).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return ErrnoStatus(errno, path);
    return std::make_unique<FdWriter>(fd, path);
  }
  absl::Status Mkdir(const std::string& path) override {
    if (mkdir(Local(path).c_str(), 0755) != 0) return ErrnoStatus(errno, path);
    return absl::OkStatus();
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (rename(Local(from).c_str(), Local(to).c_str()) != 0) return ErrnoStatus(errno, to);
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& path, bool recursive, uint64_t* removed) override {
    std::string local = Local(path);
    struct stat st;
    if (lstat(local.c_str(), &st) != 0) return ErrnoStatus(errno, path);
    if (!S_ISDIR(st.st_mode)) {
      if (unlink(local.c_str()) != 0) return ErrnoStatus(errno, path);
      ++*removed;
      return absl::OkStatus();
    }
    if (!recursive) return ErrnoStatus(EISDIR, path);
    std::error_code ec;
    std::uintmax_t n = std::filesystem::remove_all(local, ec);
    if (ec) return ErrnoStatus(ec.value(), path);
    *removed += n;
    return absl::OkStatus();
  }

 private:
  std::string Local(const std::string& path) const {
    return path == "/" ? root_ : absl::StrCat(root_, path);
  }
  std::string root_;
};

// --- A Volume opened in this process ---

volume::Caller Me() {
  return {static_cast<uint32_t>(getuid()), static_cast<uint32_t>(getgid()),
          static_cast<uint32_t>(getpid())};
}

class VolumeReader : public Reader {
 public:
  VolumeReader(volume::Volume& v, volume::FileHandle fh, uint64_t size)
      : v_(v), fh_(fh), size_(size) {}
  ~VolumeReader() override { (void)v_.Release(fh_); }
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, MutableByteView out) override {
    size_t got = 0;
    while (got < out.size()) {
      absl::StatusOr<size_t> n = v_.Read(fh_, offset + got, out.subspan(got));
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      got += *n;
    }
    return got;
  }

 private:
  volume::Volume& v_;
  volume::FileHandle fh_;
  uint64_t size_;
};

class VolumeWriter : public Writer {
 public:
  VolumeWriter(volume::Volume& v, volume::FileHandle fh) : v_(v), fh_(fh) {}
  ~VolumeWriter() override {
    if (open_) (void)v_.Release(fh_);
  }
  absl::Status WriteAt(uint64_t offset, ByteView data) override {
    absl::StatusOr<size_t> n = v_.Write(fh_, offset, data);
    if (!n.ok()) return n.status();
    if (*n != data.size()) return catalog::PosixError(EIO, "short write");
    return absl::OkStatus();
  }
  absl::Status Commit() override {
    absl::Status s = v_.Flush(fh_);
    if (s.ok()) s = v_.Fsync(fh_);
    absl::Status r = v_.Release(fh_);
    open_ = false;
    return s.ok() ? r : s;
  }

 private:
  volume::Volume& v_;
  volume::FileHandle fh_;
  bool open_ = true;
};

class VolumeDrive : public Drive {
 public:
  VolumeDrive(std::unique_ptr<DriveEnv> env, std::unique_ptr<volume::Volume> volume)
      : env_(std::move(env)), volume_(std::move(volume)) {}
  ~VolumeDrive() override { volume_.reset(); }  // before its environment
  const char* via() const override { return "volume"; }

  absl::StatusOr<NodeInfo> Stat(const std::string& path) override {
    absl::StatusOr<volume::Attr> a = volume_->LookupPath(path);
    if (!a.ok()) return a.status();
    return NodeInfo{S_ISDIR(a->mode), a->size};
  }
  absl::StatusOr<std::unique_ptr<Reader>> OpenRead(const std::string& path) override {
    absl::StatusOr<volume::Attr> a = volume_->LookupPath(path);
    if (!a.ok()) return a.status();
    if (S_ISDIR(a->mode)) return ErrnoStatus(EISDIR, path);
    absl::StatusOr<volume::FileHandle> fh = volume_->Open(Me(), a->ino, O_RDONLY);
    if (!fh.ok()) return fh.status();
    return std::make_unique<VolumeReader>(*volume_, *fh, a->size);
  }
  absl::StatusOr<std::unique_ptr<Writer>> Create(const std::string& path, uint32_t mode) override {
    absl::StatusOr<volume::Attr> parent = volume_->LookupPath(ParentOf(path));
    if (!parent.ok()) return parent.status();
    absl::StatusOr<volume::CreateResult> c =
        volume_->Create(Me(), parent->ino, BaseName(path), S_IFREG | mode, O_WRONLY | O_TRUNC);
    if (!c.ok()) return c.status();
    return std::make_unique<VolumeWriter>(*volume_, c->fh);
  }
  absl::Status Mkdir(const std::string& path) override {
    absl::StatusOr<volume::Attr> parent = volume_->LookupPath(ParentOf(path));
    if (!parent.ok()) return parent.status();
    return volume_->Mkdir(Me(), parent->ino, BaseName(path), S_IFDIR | 0755).status();
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    absl::StatusOr<volume::Attr> a = volume_->LookupPath(ParentOf(from));
    if (!a.ok()) return a.status();
    absl::StatusOr<volume::Attr> b = volume_->LookupPath(ParentOf(to));
    if (!b.ok()) return b.status();
    return volume_->Rename(a->ino, BaseName(from), b->ino, BaseName(to));
  }
  absl::Status Remove(const std::string& path, bool recursive, uint64_t* removed) override {
    absl::StatusOr<volume::Attr> parent = volume_->LookupPath(ParentOf(path));
    if (!parent.ok()) return parent.status();
    absl::StatusOr<volume::Attr> a = volume_->LookupPath(path);
    if (!a.ok()) return a.status();
    if (S_ISDIR(a->mode) && !recursive) return ErrnoStatus(EISDIR, path);
    return RemoveEntry(parent->ino, BaseName(path), *a, removed);
  }
  absl::Status Finish() override {
    return volume_->WaitForUploads(absl::Minutes(2), /*full_redundancy=*/true);
  }

 private:
  absl::Status RemoveEntry(volume::Ino parent, const std::string& name, const volume::Attr& a,
                           uint64_t* removed) {
    if (!S_ISDIR(a.mode)) {
      absl::Status s = volume_->Unlink(parent, name);
      if (s.ok()) ++*removed;
      return s;
    }
    // Children first; the listing restarts after each batch (entries are being removed).
    while (true) {
      absl::StatusOr<volume::DirHandle> dh = volume_->OpenDir(a.ino);
      if (!dh.ok()) return dh.status();
      absl::StatusOr<std::vector<volume::DirEntry>> entries =
          volume_->ReadDir(*dh, 0, 256, /*plus=*/true);
      (void)volume_->ReleaseDir(*dh);
      if (!entries.ok()) return entries.status();
      bool any = false;
      for (const volume::DirEntry& e : *entries) {
        if (e.name == "." || e.name == "..") continue;
        any = true;
        volume::Attr child;
        if (e.attr.has_value()) {
          child = *e.attr;
        } else {
          absl::StatusOr<volume::Attr> c = volume_->GetAttr(e.ino);
          if (!c.ok()) return c.status();
          child = *c;
        }
        GNR_RETURN_IF_ERROR(RemoveEntry(a.ino, e.name, child, removed));
      }
      if (!any) break;
    }
    absl::Status s = volume_->Rmdir(parent, name);
    if (s.ok()) ++*removed;
    return s;
  }

  std::unique_ptr<DriveEnv> env_;
  std::unique_ptr<volume::Volume> volume_;
};

std::variant<std::unique_ptr<Drive>, Failure> OpenDrive(const Target& t) {
  if (t.mount.has_value()) return std::unique_ptr<Drive>(new MountDrive(t.mount->mountpoint));
  std::error_code exists_ec;
  if (std::filesystem::exists(absl::StrCat(t.state_dir, "/test-mode-root.key"), exists_ec)) {
    return Failure{kExitUnavailable,
                   absl::StrCat("the drive in ", t.state_dir,
                                " is a TEST MODE drive (`gnr mount --in-memory-network`): its "
                                "shards live in the memory of its mount, which is not running. "
                                "Use the tools while it is mounted (files of an earlier run "
                                "cannot be read back)")};
  }
  DriveConfig config = t.drive;
  ApplyDriveEnvironment(config);
  if (config.contract.empty() || config.bucket_hex.empty() || config.bootstrap.empty()) {
    return Failure{kExitConfig,
                   absl::StrCat("no mount of the drive in ", t.state_dir,
                                " is running, and no network is configured to open it here: mount "
                                "it (`gnr mount DIR --state ",
                                t.state_dir,
                                " ...`, then use --mount DIR), use --devnet for a `gnr devnet "
                                "up` devnet, or pass --contract, --bucket and --bootstrap")};
  }
  if (absl::Status s = ValidateDriveConfig(config); !s.ok()) {
    return Failure{kExitUsage, Message(s)};
  }
  std::error_code ec;
  std::filesystem::create_directories(t.state_dir, ec);
  // The drive's informational log lines would drown the tool's own output: warnings and
  // errors only, unless $GNR_LOG_LEVEL asks for more.
  const char* level = getenv("GNR_LOG_LEVEL");
  if (level == nullptr || *level == '\0') SetLogLevel(LogLevel::kWarning);
  absl::StatusOr<std::unique_ptr<DriveEnv>> env = AssembleDriveEnv(config);
  if (!env.ok()) return Failure{ExitCodeForDriveEnv(env.status()), Message(env.status())};
  absl::StatusOr<std::unique_ptr<volume::Volume>> v =
      volume::Volume::Open((*env)->options, (*env)->env);
  if (!v.ok()) {
    if (v.status().code() == absl::StatusCode::kFailedPrecondition) {
      return Failure{kExitTempFail,
                     absl::StrCat("the drive in ", t.state_dir,
                                  " is open in another process (a mount `gnr status` does not "
                                  "list, or another gnr put/get/rm): wait for it, or unmount it (",
                                  Message(v.status()), ")")};
    }
    return Failure{kExitIoErr, absl::StrCat("cannot open the drive in ", t.state_dir, ": ",
                                            Message(v.status()))};
  }
  return std::unique_ptr<Drive>(new VolumeDrive(std::move(env).value(), std::move(v).value()));
}

// --- The catalog, read only ----------------------------------------------------------------

std::variant<std::unique_ptr<catalog::Catalog>, Failure> OpenCatalog(const std::string& state) {
  catalog::Catalog::Options o;
  o.create_if_missing = false;
  o.busy_timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<catalog::Catalog>> c =
      catalog::Catalog::Open(absl::StrCat(state, "/catalog.db"), SystemClockInstance(), o);
  if (c.ok()) return std::move(c).value();
  if (c.status().code() == absl::StatusCode::kNotFound) {
    return Failure{kExitNoInput,
                   absl::StrCat("no drive in ", state,
                                " (no catalog.db): name the drive with --mount DIR, --state DIR "
                                "or --devnet, or put a file there first")};
  }
  if (c.status().code() == absl::StatusCode::kUnavailable) {
    return Failure{kExitTempFail, absl::StrCat(Message(c.status()), " (busy: retry)")};
  }
  return Failure{kExitFailure, Message(c.status())};
}

absl::StatusOr<catalog::Attr> CatalogLookupPath(catalog::Catalog& c, const std::string& path) {
  absl::StatusOr<catalog::Attr> a = c.GetAttr(catalog::kRootIno);
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (!a.ok()) return a;
    a = c.Lookup(a->ino, StdView(part));
  }
  return a;
}

// Feeds `bar` with the upload progress the catalog records for `path` (bytes of the
// segments whose shards reached their quorum) until destroyed. Runs on its own thread, which
// owns `bar` meanwhile.
class UploadWatcher {
 public:
  UploadWatcher(std::string state_dir, std::string path, ProgressBar* bar)
      : state_dir_(std::move(state_dir)), path_(std::move(path)), bar_(bar) {
    if (bar_ != nullptr) thread_ = std::thread([this] { Run(); });
  }
  ~UploadWatcher() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    auto c = OpenCatalog(state_dir_);
    if (std::holds_alternative<Failure>(c)) return;
    catalog::Catalog& catalog = *std::get<std::unique_ptr<catalog::Catalog>>(c);
    std::optional<catalog::Ino> ino;
    while (!stop_) {
      if (!ino.has_value()) {
        absl::StatusOr<catalog::Attr> a = CatalogLookupPath(catalog, path_);
        if (a.ok()) ino = a->ino;
      }
      if (ino.has_value()) {
        absl::StatusOr<std::vector<catalog::Upload>> ups = catalog.ListUploadsForInode(*ino);
        if (ups.ok() && !ups->empty()) bar_->Update(ups->back().bytes_done);
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  std::string state_dir_;
  std::string path_;
  ProgressBar* bar_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// --- Shared command plumbing --------------------------------------------------------------

struct Common {
  DriveFlags drive;
  std::vector<std::string> positional;
};

// Removes --config FILE from `args` into f->config_file; false (error printed) when malformed.
bool TakeConfig(const Cli& cli, std::vector<std::string>* args, DriveFlags* f) {
  absl::StatusOr<std::optional<std::string>> config = TakeConfigFlag(args);
  if (!config.ok()) {
    cli.Usage(Message(config.status()));
    return false;
  }
  f->config_file = *config;
  return true;
}

// Loads the configuration; nullopt (and the error printed) on failure.
std::optional<Config> LoadConfigFor(const Cli& cli, const DriveFlags& f) {
  return LoadCommandConfig(cli.name(), f.config_file);
}

// Takes a command's own flag at args[i] (advancing i past its value): false when args[i] is
// not one of them; `*error` set for a malformed one.
using OwnFlags =
    std::function<bool(const std::vector<std::string>& args, size_t& i, std::string* error)>;

// Parses the arguments every shell command shares: --config, --help, --json, --quiet, the
// drive flags and positional arguments ("-" is one when `dash_is_positional`, meaning stdin or
// stdout), offering each argument to `own` first. Returns the exit code when the command must
// stop here (help printed: kExitOk; a usage error printed), else nullopt.
std::optional<int> ParseArgs(Cli& cli, std::vector<std::string> args, const char* usage,
                             const OwnFlags& own, Common* common, bool dash_is_positional = true) {
  if (!TakeConfig(cli, &args, &common->drive)) return kExitUsage;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    if (a == "--help" || a == "-h") {
      std::printf("%s", FullUsage(usage).c_str());
      return kExitOk;
    } else if (own(args, i, &error) || TakeDriveFlag(args, i, &common->drive, &error)) {
      if (!error.empty()) return cli.Usage(error);
    } else if (a == "--json") {
      cli.json = true;
    } else if (a == "--quiet" || a == "-q") {
      cli.quiet = true;
    } else if (a.starts_with("-") && !(dash_is_positional && a == "-")) {
      return cli.Usage(absl::StrCat("unknown argument '", a, "'"));
    } else {
      common->positional.push_back(a);
    }
  }
  return std::nullopt;
}

// --- gnr ls ---------------------------------------------------------------------------------

std::string ModeString(uint32_t mode) {
  std::string s = S_ISDIR(mode)    ? "d"
                  : S_ISLNK(mode)  ? "l"
                  : S_ISFIFO(mode) ? "p"
                  : S_ISSOCK(mode) ? "s"
                  : S_ISCHR(mode)  ? "c"
                  : S_ISBLK(mode)  ? "b"
                                   : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s.push_back((mode & (0400u >> i)) ? rwx[i] : '-');
  return s;
}

Json EntryJson(catalog::Catalog& c, const std::string& path, const std::string& name,
               const catalog::Attr& a) {
  Json j = {{"name", name},
            {"path", path},
            {"type", std::string(catalog::NodeTypeName(a.type))},
            {"mode", absl::StrFormat("%04o", a.mode & 07777)},
            {"size", a.size},
            {"mtime", TimeText(a.mtime)},
            {"version", nullptr},
            {"kind", nullptr},
            {"data_shards", nullptr},
            {"parity_shards", nullptr},
            {"redundancy", nullptr},
            {"segments", nullptr},
            {"healthy_shards", nullptr},
            {"total_shards", nullptr},
            {"upload", nullptr},
            {"last_audit", nullptr}};
  if (a.type != catalog::NodeType::kFile) return j;
  if (a.current_version.has_value()) {
    absl::StatusOr<catalog::Version> v = c.GetVersion(*a.current_version);
    if (v.ok()) {
      j["version"] = v->id;
      j["kind"] = std::string(catalog::VersionKindName(v->kind));
      if (v->kind == catalog::VersionKind::kSharded) {
        uint32_t total = v->data_shards + v->parity_shards;
        j["data_shards"] = v->data_shards;
        j["parity_shards"] = v->parity_shards;
        j["redundancy"] = absl::StrCat(v->data_shards, "+", v->parity_shards);
        j["segments"] = v->segment_count;
        j["total_shards"] = total;
        absl::StatusOr<std::vector<uint32_t>> acked = c.AckedShardsPerSegment(v->id);
        if (acked.ok()) {
          uint32_t worst = acked->empty() ? 0 : *std::min_element(acked->begin(), acked->end());
          j["healthy_shards"] = worst;
        }
      }
    }
  }
  absl::StatusOr<std::vector<catalog::Upload>> ups = c.ListUploadsForInode(a.ino);
  if (ups.ok() && !ups->empty()) {
    const catalog::Upload& u = ups->back();
    Json up = {{"state", std::string(catalog::UploadStateName(u.state))},
               {"bytes", u.bytes},
               {"bytes_done", u.bytes_done},
               {"attempts", u.attempts}};
    if (!u.last_error.empty()) up["last_error"] = u.last_error;
    j["upload"] = up;
  }
  if (c.schema_version() >= 2) {
    catalog::VerdictQuery q;
    q.ino = a.ino;
    q.limit = 1;
    absl::StatusOr<std::vector<catalog::Verdict>> vs = c.ListVerdicts(q);
    if (vs.ok() && !vs->empty()) {
      j["last_audit"] = {{"time", TimeText(vs->front().time)},
                         {"result", std::string(catalog::AuditResultName(vs->front().result))},
                         {"farmer", HexEncode(vs->front().farmer)}};
    }
  }
  return j;
}

// "2026-11-21 10:31" from "2026-11-21T10:31:49Z".
std::string ShortTime(std::string rfc3339) {
  rfc3339.resize(std::min<size_t>(rfc3339.size(), 16));
  if (rfc3339.size() > 10 && rfc3339[10] == 'T') rfc3339[10] = ' ';
  return rfc3339;
}

void PrintLong(const Json& e) {
  uint32_t mode =
      static_cast<uint32_t>(std::strtoul(e["mode"].get<std::string>().c_str(), nullptr, 8));
  std::string type = e["type"].get<std::string>();
  uint32_t type_bits = type == "directory" ? S_IFDIR
                       : type == "symlink" ? S_IFLNK
                       : type == "fifo"    ? S_IFIFO
                       : type == "socket"  ? S_IFSOCK
                                           : S_IFREG;
  std::string version = "-";
  std::string redundancy = "-";
  std::string segments = "-";
  std::string health = "-";
  std::string audit = "-";
  if (type == "file") {
    if (e["version"].is_null()) {
      version = "new";
    } else {
      version = absl::StrCat("v", e["version"].get<int64_t>());
    }
    if (e["kind"] == "inline") {
      health = "inline";
    } else if (!e["redundancy"].is_null()) {
      redundancy = e["redundancy"].get<std::string>();
      segments = absl::StrCat(e["segments"].get<uint64_t>());
      if (!e["healthy_shards"].is_null()) {
        health = absl::StrCat(e["healthy_shards"].get<uint32_t>(), "/",
                              e["total_shards"].get<uint32_t>());
      }
    }
    if (!e["upload"].is_null()) {
      std::string st = e["upload"]["state"].get<std::string>();
      if (st != "committed") version = absl::StrCat(version, " pending");
      if (st == "committed") health += "+";  // topping up towards k+m
    }
    if (!e["last_audit"].is_null()) {
      audit = absl::StrCat(e["last_audit"]["result"].get<std::string>(), " ",
                           ShortTime(e["last_audit"]["time"].get<std::string>()));
    }
  }
  std::string name = e["name"].get<std::string>();
  if (type == "directory") name += "/";
  std::printf("%s %10s %-10s %-5s %5s %-7s %-22s %s  %s\n", ModeString(type_bits | mode).c_str(),
              type == "directory" ? "-" : HumanBytes(e["size"].get<uint64_t>()).c_str(),
              version.c_str(), redundancy.c_str(), segments.c_str(), health.c_str(), audit.c_str(),
              ShortTime(e["mtime"].get<std::string>()).c_str(), name.c_str());
}

int RunLs(std::vector<std::string> args) {
  Cli cli("ls");
  Common common;
  bool long_format = false;
  auto own = [&](const std::vector<std::string>& a, size_t& i, std::string*) {
    if (a[i] != "-l" && a[i] != "--long") return false;
    long_format = true;
    return true;
  };
  if (std::optional<int> rc = ParseArgs(cli, std::move(args), kLsUsage, own, &common)) return *rc;
  if (common.positional.size() > 1) return cli.Usage("give at most one PATH");
  std::optional<std::string> path =
      NormalizeDrivePath(common.positional.empty() ? "/" : common.positional[0]);
  if (!path.has_value()) return cli.Usage("'..' is not allowed in drive paths");
  std::optional<Config> config = LoadConfigFor(cli, common.drive);
  if (!config) return kExitConfig;
  auto target = ResolveTarget(common.drive, *config);
  if (auto* f = std::get_if<Failure>(&target)) return cli.Fail(f->code, f->message);
  const Target& t = std::get<Target>(target);
  auto opened = OpenCatalog(t.state_dir);
  if (auto* f = std::get_if<Failure>(&opened)) return cli.Fail(f->code, f->message);
  catalog::Catalog& c = *std::get<std::unique_ptr<catalog::Catalog>>(opened);

  absl::StatusOr<catalog::Attr> a = CatalogLookupPath(c, *path);
  if (!a.ok()) {
    return cli.Fail(kExitNoInput, absl::StrCat("no such file or directory in ", t.where, ": ",
                                               *path, " (`gnr ls` lists the drive's root)"));
  }
  Json entries = Json::array();
  if (a->is_directory()) {
    uint64_t cookie = 0;
    while (true) {
      absl::StatusOr<std::vector<catalog::DirEntry>> batch = c.ReadDir(a->ino, cookie, 512);
      if (!batch.ok()) return cli.Fail(kExitFailure, Message(batch.status()));
      if (batch->empty()) break;
      for (const catalog::DirEntry& e : *batch) {
        cookie = e.cookie;
        entries.push_back(EntryJson(c, JoinPath(*path, e.name), e.name, e.attr));
      }
    }
  } else {
    entries.push_back(EntryJson(c, *path, BaseName(*path), *a));
  }
  if (cli.json) {
    Json out = {{"ok", true}, {"path", *path}, {"state_dir", t.state_dir}, {"entries", entries}};
    if (t.mount.has_value()) out["mountpoint"] = t.mount->mountpoint;
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  if (long_format) {
    if (!entries.empty()) {
      std::printf("%-10s %10s %-10s %-5s %5s %-7s %-22s %-16s  %s\n", "MODE", "SIZE", "VERSION",
                  "K+M", "SEGS", "SHARDS", "LAST AUDIT", "MODIFIED (UTC)", "NAME");
    }
    for (const Json& e : entries) PrintLong(e);
  } else {
    for (const Json& e : entries) {
      std::printf("%s%s\n", e["name"].get<std::string>().c_str(),
                  e["type"] == "directory" ? "/" : "");
    }
  }
  return kExitOk;
}

// --- gnr put --------------------------------------------------------------------------------

// The signal that interrupted a put (0: none), set by the handler InterruptGuard installs.
std::atomic<int> g_interrupted{0};
extern "C" void OnInterrupt(int sig) { g_interrupted = sig; }

// While alive, SIGINT, SIGTERM and SIGHUP set g_interrupted instead of killing the process
// (so a put can remove its temporary file); blocking calls return EINTR.
class InterruptGuard {
 public:
  InterruptGuard() {
    struct sigaction sa {};
    sa.sa_handler = OnInterrupt;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~InterruptGuard() {
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3];
};

int RunPut(std::vector<std::string> args) {
  Cli cli("put");
  Common common;
  bool parents = false;
  auto own = [&](const std::vector<std::string>& a, size_t& i, std::string*) {
    if (a[i] != "-p" && a[i] != "--parents") return false;
    parents = true;
    return true;
  };
  if (std::optional<int> rc = ParseArgs(cli, std::move(args), kPutUsage, own, &common)) return *rc;
  if (common.positional.size() != 2) return cli.Usage("usage: gnr put SRC DST");
  const std::string& src = common.positional[0];
  const std::string& dst_arg = common.positional[1];
  std::optional<std::string> dst = NormalizeDrivePath(dst_arg);
  if (!dst.has_value()) return cli.Usage("'..' is not allowed in drive paths");

  // The source first: a missing file is the most common mistake.
  int src_fd = STDIN_FILENO;
  std::optional<uint64_t> src_size;
  uint32_t mode = 0644;
  if (src != "-") {
    src_fd = open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (src_fd < 0) {
      int e = errno;
      return cli.Fail(e == ENOENT   ? kExitNoInput
                      : e == EACCES ? kExitNoPerm
                                    : kExitIoErr,
                      absl::StrCat("cannot read ", src, ": ", std::strerror(e)));
    }
    struct stat st;
    if (fstat(src_fd, &st) != 0 || S_ISDIR(st.st_mode)) {
      close(src_fd);
      return cli.Fail(kExitUsage,
                      absl::StrCat(src, " is a directory: gnr put stores one file at a time"));
    }
    if (S_ISREG(st.st_mode)) src_size = static_cast<uint64_t>(st.st_size);
    mode = st.st_mode & 0777;
  }
  struct CloseFd {
    int fd;
    ~CloseFd() {
      if (fd != STDIN_FILENO) close(fd);
    }
  } close_src{src_fd};

  std::optional<Config> config = LoadConfigFor(cli, common.drive);
  if (!config) return kExitConfig;
  auto target = ResolveTarget(common.drive, *config);
  if (auto* f = std::get_if<Failure>(&target)) return cli.Fail(f->code, f->message);
  const Target& t = std::get<Target>(target);
  auto opened = OpenDrive(t);
  if (auto* f = std::get_if<Failure>(&opened)) return cli.Fail(f->code, f->message);
  Drive& drive = *std::get<std::unique_ptr<Drive>>(opened);

  // DST naming a directory (or ending in "/") gets SRC's name.
  std::string path = *dst;
  absl::StatusOr<NodeInfo> existing = drive.Stat(path);
  if (dst_arg.ends_with("/") || (existing.ok() && existing->is_dir)) {
    if (src == "-") return cli.Usage("DST is a directory: name the file to create from stdin");
    path = JoinPath(path, BaseName(AbsoluteLocal(src)));
  }
  if (path == "/") return cli.Usage("DST must name a file, not the drive's root");
  if (parents) {
    std::vector<std::string> missing;
    for (std::string p = ParentOf(path); p != "/"; p = ParentOf(p)) {
      absl::StatusOr<NodeInfo> n = drive.Stat(p);
      if (n.ok()) break;
      missing.push_back(p);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      absl::Status s = drive.Mkdir(*it);
      if (!s.ok() && !catalog::IsPosixError(s, EEXIST)) {
        return FailDrive(cli, absl::StrCat("cannot create the directory ", *it), s);
      }
    }
  }
  // Written under a temporary name next to DST and renamed over it once committed, so DST
  // always holds a complete version: the old one until the new one is safe.
  std::string temp = path;
  if (BaseName(path).size() + 32 <= volume::kMaxNameLength) {
    temp = JoinPath(ParentOf(path), absl::StrCat(".", BaseName(path), ".gnr-put-", getpid()));
  }
  absl::StatusOr<std::unique_ptr<Writer>> writer = drive.Create(temp, mode);
  if (!writer.ok()) {
    int e = ErrnoOf(writer.status());
    if (e == ENOENT) {
      return cli.Fail(kExitNoInput, absl::StrCat("no directory ", ParentOf(path), " in ", t.where,
                                                 ": create it first, or pass -p"));
    }
    if (e == EISDIR) {
      return cli.Fail(kExitCantCreate, absl::StrCat(path, " is a directory in the drive"));
    }
    return FailDrive(cli, absl::StrCat("cannot create ", path, " in the drive"), writer.status());
  }

  // On failure: close and remove the temporary file (nothing of DST changed).
  struct RemoveTemp {
    Drive& drive;
    std::unique_ptr<Writer>& writer;
    const std::string& temp;
    bool armed;
    ~RemoveTemp() {
      if (!armed) return;
      writer.reset();
      uint64_t n = 0;
      (void)drive.Remove(temp, /*recursive=*/false, &n);
    }
  } remove_temp{drive, *writer, temp, temp != path};

  InterruptGuard interrupt_guard;
  auto interrupted = [&]() {
    return cli.Fail(128 + g_interrupted.load(),
                    absl::StrCat("interrupted; ", path, " is unchanged"));
  };
  absl::Time start = absl::Now();
  ProgressBar bar(cli.ProgressOut(), SystemClockInstance(), "copy  ", src_size);
  Bytes buf(kChunk);
  uint64_t offset = 0;
  while (true) {
    if (g_interrupted != 0) {
      bar.Finish();
      return interrupted();
    }
    ssize_t n = read(src_fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bar.Finish();
      return cli.Fail(kExitIoErr, absl::StrCat("reading ", src, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    absl::Status s = (*writer)->WriteAt(offset, ByteView(buf.data(), static_cast<size_t>(n)));
    if (!s.ok()) {
      bar.Finish();
      return FailDrive(cli, absl::StrCat("writing ", path), s);
    }
    offset += static_cast<uint64_t>(n);
    bar.Update(offset);
  }
  // The upload: fsync returns once committed; meanwhile the catalog says how far it got.
  bar.StartPhase("upload", offset);
  absl::Status committed;
  {
    UploadWatcher watcher(t.state_dir, temp, cli.ProgressOut() != nullptr ? &bar : nullptr);
    committed = (*writer)->Commit();
  }
  if (committed.ok()) bar.Update(offset);
  bar.Finish();
  if (g_interrupted != 0) return interrupted();
  if (!committed.ok()) {
    return FailDrive(cli, absl::StrCat("uploading ", path, " failed (", path, " is unchanged)"),
                     committed);
  }
  if (temp != path) {
    absl::Status renamed = drive.Rename(temp, path);
    if (!renamed.ok()) {
      return FailDrive(cli, absl::StrCat("cannot replace ", path, " (it is unchanged)"), renamed);
    }
    remove_temp.armed = false;
  }
  absl::Status finished = drive.Finish();
  if (!finished.ok()) {
    std::fprintf(stderr,
                 "gnr put: warning: %s is committed but not yet on all k+m farmers (%s); the "
                 "next use of the drive continues\n",
                 path.c_str(), Message(finished).c_str());
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (cli.json) {
    Json out = {{"ok", true},
                {"source", src},
                {"path", path},
                {"bytes", offset},
                {"seconds", seconds},
                {"bytes_per_second", seconds > 0 ? static_cast<double>(offset) / seconds : 0.0},
                {"via", drive.via()}};
    std::printf("%s\n", out.dump().c_str());
  } else if (!cli.quiet) {
    std::printf("%s -> %s: %s committed in %.1f s (%s)\n", src.c_str(), path.c_str(),
                HumanBytes(offset).c_str(), seconds,
                FormatRate(seconds > 0 ? static_cast<double>(offset) / seconds : 0).c_str());
  }
  return kExitOk;
}

// --- gnr get --------------------------------------------------------------------------------

absl::StatusOr<std::string> Sha256OfFile(int fd, uint64_t size) {
  crypto::Sha256Hasher h;
  Bytes buf(kChunk);
  uint64_t off = 0;
  while (off < size) {
    ssize_t n =
        pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - off), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "reading back the destination");
    h.Update(ByteView(buf.data(), static_cast<size_t>(n)));
    off += static_cast<uint64_t>(n);
  }
  return HexEncode(h.Finish());
}

int RunGet(std::vector<std::string> args) {
  Cli cli("get");
  Common common;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  bool overwrite = false;
  auto own = [&](const std::vector<std::string>& a, size_t& i, std::string* error) {
    std::string v;
    for (const char* flag : {"--offset", "--length"}) {
      if (!TakeFlagValue(a, i, flag, &v, error)) continue;
      if (!error->empty()) return true;
      absl::StatusOr<uint64_t> n = ParseByteCount(flag, v);
      if (!n.ok()) {
        *error = Message(n.status());
      } else if (flag == std::string_view("--offset")) {
        offset = *n;
      } else {
        length = *n;
      }
      return true;
    }
    if (a[i] != "--overwrite") return false;
    overwrite = true;
    return true;
  };
  if (std::optional<int> rc = ParseArgs(cli, std::move(args), kGetUsage, own, &common)) return *rc;
  if (common.positional.size() != 2) return cli.Usage("usage: gnr get SRC DST");
  std::optional<std::string> src = NormalizeDrivePath(common.positional[0]);
  if (!src.has_value()) return cli.Usage("'..' is not allowed in drive paths");
  std::string dst = common.positional[1];
  bool to_stdout = dst == "-";
  if (to_stdout && cli.json) return cli.Usage("--json needs a DST file (stdout carries the data)");

  std::optional<Config> config = LoadConfigFor(cli, common.drive);
  if (!config) return kExitConfig;
  auto target = ResolveTarget(common.drive, *config);
  if (auto* f = std::get_if<Failure>(&target)) return cli.Fail(f->code, f->message);
  const Target& t = std::get<Target>(target);
  auto opened = OpenDrive(t);
  if (auto* f = std::get_if<Failure>(&opened)) return cli.Fail(f->code, f->message);
  Drive& drive = *std::get<std::unique_ptr<Drive>>(opened);

  absl::StatusOr<std::unique_ptr<Reader>> reader = drive.OpenRead(*src);
  if (!reader.ok()) {
    int e = ErrnoOf(reader.status());
    if (e == ENOENT) {
      return cli.Fail(kExitNoInput,
                      absl::StrCat("no such file in ", t.where, ": ", *src, " (see `gnr ls`)"));
    }
    if (e == EISDIR) {
      return cli.Fail(kExitUsage, absl::StrCat(*src, " is a directory: gnr get copies one file"));
    }
    return FailDrive(cli, absl::StrCat("cannot open ", *src), reader.status());
  }
  absl::StatusOr<ByteRange> range = ResolveRange((*reader)->size(), offset, length, *src);
  if (!range.ok()) return cli.Usage(Message(range.status()));

  int fd = STDOUT_FILENO;
  uint64_t resumed_from = 0;
  if (!to_stdout) {
    struct stat st;
    if (stat(dst.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) dst = JoinPath(dst, BaseName(*src));
    fd = open(dst.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return cli.Fail(kExitCantCreate,
                      absl::StrCat("cannot create ", dst, ": ", std::strerror(errno)));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      return cli.Fail(kExitCantCreate, absl::StrCat(dst, " is not a regular file"));
    }
    uint64_t have = static_cast<uint64_t>(st.st_size);
    if (overwrite && have > 0) {
      if (ftruncate(fd, 0) != 0) {
        close(fd);
        return cli.Fail(kExitIoErr, absl::StrCat("truncating ", dst, ": ", std::strerror(errno)));
      }
      have = 0;
    }
    if (have > range->size()) {
      close(fd);
      return cli.Fail(kExitDataErr,
                      absl::StrCat(dst, " (", have, " bytes) is longer than what is asked of ",
                                   *src, " (", range->size(),
                                   " bytes): not a partial copy of it; remove it or pass "
                                   "--overwrite"));
    }
    if (have > 0) {
      // Resume only onto a prefix of the same data: compare the tail we have.
      uint64_t n = std::min(have, kResumeCheck);
      Bytes mine(n);
      Bytes theirs(n);
      ssize_t got = pread(fd, mine.data(), n, static_cast<off_t>(have - n));
      absl::StatusOr<size_t> read = (*reader)->ReadAt(range->begin + have - n, theirs);
      if (!read.ok()) {
        close(fd);
        return FailDrive(cli, absl::StrCat("reading ", *src), read.status());
      }
      if (got != static_cast<ssize_t>(n) || *read != n || mine != theirs) {
        uint64_t at = have - n;
        for (size_t i = 0; i < n && i < *read; ++i) {
          if (mine[i] != theirs[i]) {
            at += i;
            break;
          }
        }
        close(fd);
        return cli.Fail(kExitDataErr,
                        absl::StrCat(dst, " differs from ", *src, " at byte ", at,
                                     ": it is not a partial copy; remove it or pass --overwrite"));
      }
      resumed_from = have;
      if (!cli.json && !cli.quiet && have < range->size()) {
        std::fprintf(stderr, "gnr get: resuming %s at byte %llu of %llu\n", dst.c_str(),
                     static_cast<unsigned long long>(have),
                     static_cast<unsigned long long>(range->size()));
      }
    }
  }

  absl::Time start = absl::Now();
  ProgressBar bar(to_stdout ? nullptr : cli.ProgressOut(), SystemClockInstance(), "get",
                  range->size(), resumed_from);
  Bytes buf(kChunk);
  uint64_t pos = resumed_from;
  bar.Update(pos);
  while (pos < range->size()) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), range->size() - pos));
    absl::StatusOr<size_t> n =
        (*reader)->ReadAt(range->begin + pos, MutableByteView(buf.data(), want));
    if (!n.ok() || *n == 0) {
      bar.Finish();
      if (!to_stdout) close(fd);
      absl::Status s = n.ok()
                           ? catalog::PosixError(EIO, "the file ended early (changed while read?)")
                           : n.status();
      return FailDrive(cli,
                       absl::StrCat("reading ", *src, " at byte ", range->begin + pos,
                                    to_stdout ? "" : "; run the same command again to resume"),
                       s);
    }
    absl::Status w = to_stdout ? WriteAll(fd, ByteView(buf.data(), *n), "standard output")
                               : WriteAllAt(fd, pos, ByteView(buf.data(), *n), dst);
    if (!w.ok()) {
      bar.Finish();
      if (!to_stdout) close(fd);
      return cli.Fail(kExitIoErr, Message(w));
    }
    pos += *n;
    bar.Update(pos);
  }
  bar.Finish();
  std::string sha;
  if (!to_stdout) {
    if (fdatasync(fd) != 0) {
      int e = errno;
      close(fd);
      return cli.Fail(kExitIoErr, absl::StrCat("syncing ", dst, ": ", std::strerror(e)));
    }
    if (cli.json) {
      absl::StatusOr<std::string> h = Sha256OfFile(fd, range->size());
      if (!h.ok()) {
        close(fd);
        return cli.Fail(kExitIoErr, Message(h.status()));
      }
      sha = *h;
    }
    close(fd);
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  uint64_t copied = range->size() - resumed_from;
  if (cli.json) {
    Json out = {{"ok", true},
                {"path", *src},
                {"destination", dst},
                {"offset", range->begin},
                {"length", range->size()},
                {"resumed_from", resumed_from},
                {"bytes_copied", copied},
                {"sha256", sha},
                {"seconds", seconds},
                {"via", drive.via()}};
    std::printf("%s\n", out.dump().c_str());
  } else if (!cli.quiet && !to_stdout) {
    std::printf("%s -> %s: %s in %.1f s (%s)%s\n", src->c_str(), dst.c_str(),
                HumanBytes(copied).c_str(), seconds,
                FormatRate(seconds > 0 ? static_cast<double>(copied) / seconds : 0).c_str(),
                resumed_from > 0 ? absl::StrCat(", resumed at byte ", resumed_from).c_str() : "");
  }
  return kExitOk;
}

// --- gnr rm ---------------------------------------------------------------------------------

int RunRm(std::vector<std::string> args) {
  Cli cli("rm");
  Common common;
  bool recursive = false;
  bool force = false;
  auto own = [&](const std::vector<std::string>& a, size_t& i, std::string*) {
    const std::string& f = a[i];
    recursive |= f == "-r" || f == "-R" || f == "--recursive" || f == "-rf" || f == "-fr";
    force |= f == "-f" || f == "--force" || f == "-rf" || f == "-fr";
    return f == "-r" || f == "-R" || f == "--recursive" || f == "-f" || f == "--force" ||
           f == "-rf" || f == "-fr";
  };
  if (std::optional<int> rc = ParseArgs(cli, std::move(args), kRmUsage, own, &common,
                                        /*dash_is_positional=*/false)) {
    return *rc;
  }
  if (common.positional.empty()) return cli.Usage("which file? gnr rm PATH...");
  std::vector<std::string> paths;
  for (const std::string& p : common.positional) {
    std::optional<std::string> n = NormalizeDrivePath(p);
    if (!n.has_value()) return cli.Usage("'..' is not allowed in drive paths");
    if (*n == "/") return cli.Usage("refusing to remove the drive's root directory");
    paths.push_back(*n);
  }
  std::optional<Config> config = LoadConfigFor(cli, common.drive);
  if (!config) return kExitConfig;
  auto target = ResolveTarget(common.drive, *config);
  if (auto* f = std::get_if<Failure>(&target)) return cli.Fail(f->code, f->message);
  const Target& t = std::get<Target>(target);
  auto opened = OpenDrive(t);
  if (auto* f = std::get_if<Failure>(&opened)) return cli.Fail(f->code, f->message);
  Drive& drive = *std::get<std::unique_ptr<Drive>>(opened);

  uint64_t removed = 0;
  Json done = Json::array();
  for (const std::string& p : paths) {
    absl::Status s = drive.Remove(p, recursive, &removed);
    if (!s.ok()) {
      int e = ErrnoOf(s);
      if (e == ENOENT && force) continue;
      if (e == ENOENT) {
        return cli.Fail(kExitNoInput, absl::StrCat("no such file or directory in ", t.where, ": ",
                                                   p, " (see `gnr ls`)"));
      }
      if (e == EISDIR) {
        return cli.Fail(kExitFailure,
                        absl::StrCat(p, " is a directory: pass -r to remove it and its contents"));
      }
      return FailDrive(cli, absl::StrCat("cannot remove ", p), s);
    }
    done.push_back(p);
  }
  if (cli.json) {
    std::printf("%s\n", Json{{"ok", true}, {"removed", removed}, {"paths", done}}.dump().c_str());
  }
  return kExitOk;
}

}  // namespace

Command LsCommand() {
  return {"ls", "list files in the drive: size, version, k+m, healthy shards, last audit",
          FullUsage(kLsUsage), [](const std::vector<std::string>& a) { return RunLs(a); }};
}

Command PutCommand() {
  return {"put", "store a local file in the drive (returns once committed)", FullUsage(kPutUsage),
          [](const std::vector<std::string>& a) { return RunPut(a); }};
}

Command GetCommand() {
  return {"get", "copy a file (or a byte range) out of the drive; resumable", FullUsage(kGetUsage),
          [](const std::vector<std::string>& a) { return RunGet(a); }};
}

Command RmCommand() {
  return {"rm", "remove files (-r: directories) from the drive", FullUsage(kRmUsage),
          [](const std::vector<std::string>& a) { return RunRm(a); }};
}

}  // namespace gnr::tools
