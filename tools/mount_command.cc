// `gnr mount <dir>` runs the drive daemon (in the background unless --foreground):
// Volume + FUSE mount + control socket (tools/mount_control.h). `gnr umount <dir>` asks the
// daemon to finish its uploads, then unmounts; `gnr status` shows every mounted drive.
#include "tools/mount_command.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "fs/catalog/posix_error.h"
#include "fs/codec/keys.h"
#include "fs/fuse/mounted_drive.h"
#include "fs/volume/volume.h"
#include "net/farmer/byte_size.h"
#include "nlohmann/json.hpp"
#include "tools/config.h"
#include "tools/drive_auditor.h"
#include "tools/drive_env.h"
#include "tools/exit_codes.h"
#include "tools/flags.h"
#include "tools/mount_control.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::json;
using farmer::HumanBytes;

constexpr char kMountUsage[] =
    "Usage: gnr mount <dir> [options]\n"
    "\n"
    "Mounts your drive at <dir> (an existing directory). Every file written there is\n"
    "encrypted on this machine, erasure-coded and stored on farmers; writes are staged\n"
    "on local disk first, so nothing you were told is written is lost if the machine or\n"
    "a farmer goes away. Runs in the background; `gnr umount <dir>` stops it once every\n"
    "file is stored, `gnr status` shows what it is doing.\n"
    "\n"
    "  --state DIR          the drive's catalog, staged writes and read cache\n"
    "                       (default $XDG_DATA_HOME/gnr/volumes/default, i.e.\n"
    "                       ~/.local/share/gnr/volumes/default)\n"
    "  --rpc URL            the chain's JSON-RPC endpoint (default $GNR_RPC, else\n"
    "                       http://127.0.0.1:8545)\n"
    "  --contract ADDRESS   the StorageMarket contract (default $GNR_MARKET_CONTRACT)\n"
    "  --keystore PATH      your wallet (default $GNR_KEYSTORE, else\n"
    "                       ~/.local/share/gnr/wallet.json); it pays for the shards and\n"
    "                       every file key is derived from it\n"
    "  --password-file FILE the wallet password's file (default $GNR_PASSWORD_FILE, else\n"
    "                       the password itself in $GNR_PASSWORD, else a prompt)\n"
    "  --bucket ID          the bucket to store into: 64 hex digits, as `gnr market\n"
    "                       buy-space` prints them (default $GNR_BUCKET)\n"
    "  --bootstrap SEED     join the network through SEED: tcp://host:port#<curve key hex>\n"
    "                       or a farmer's farmer.json (repeatable; default $GNR_BOOTSTRAP,\n"
    "                       comma-separated)\n"
    "  --data-shards K      Reed-Solomon data shards of new files (default 4)\n"
    "  --parity-shards M    parity shards: files survive the loss of M farmers (default 2)\n"
    "  --audit-confirmations N  the background auditor challenges farmers with hashes of\n"
    "                       blocks N deep (default 2); see gnr-audit(1)\n"
    "  --no-audit           do not run the background auditor in this daemon\n"
    "  --foreground         stay attached: log to stderr, Ctrl-C (SIGINT/SIGTERM) unmounts\n"
    "  --allow-other        let other users use the mount (needs user_allow_other in\n"
    "                       /etc/fuse.conf unless root)\n"
    "  --cache-size SIZE    read cache on local disk (default 1G; 0 disables it)\n"
    "  --upload-while-writing BOOL  send each full segment of a file while it is written\n"
    "                       (default true); false: nothing leaves before fsync or close\n"
    "  --config FILE        the configuration file (default $GNR_CONFIG, else\n"
    "                       ~/.config/gnr/config.toml): its [chain] and [drive] settings\n"
    "                       fill in every option not given as a flag or GNR_* variable\n"
    "  --log-level LEVEL    debug, info, warning or error (default info); background logs\n"
    "                       go to <state>/mount.log\n"
    "\n"
    "TEST MODE (for trying the drive out; never for real data):\n"
    "  --in-memory-network N  instead of the real network, run N in-memory farmers inside\n"
    "                       this process. Everything they store is LOST when the mount\n"
    "                       ends; without --state a temporary state dir is used and removed.\n"
    "  --test-farmer-delay-ms MS  delay every answer of those farmers by MS milliseconds\n"
    "                       (to watch pending uploads in `gnr status` / `gnr umount`)\n"
    "\n"
    "Before mounting, the bucket must exist on chain and not be expired, and at least\n"
    "K+M farmers must answer through the seeds; otherwise the command says what is wrong.\n"
    "\n"
    "Exit status: 0 mounted; 64 bad arguments; 66 no wallet, contract or bucket;\n"
    "69 the chain, the farmers, the FUSE device or the mount failed; 77 wrong wallet\n"
    "password; 78 bucket expired, too few farmers, or no network configured.\n";

constexpr char kUmountUsage[] =
    "Usage: gnr umount <dir> [--force] [--timeout SECONDS]\n"
    "\n"
    "Unmounts the drive at <dir>. First every file written there is uploaded: the command\n"
    "waits (up to --timeout, default 120 s) until all are committed on the network, then\n"
    "unmounts and waits for the daemon to exit. If uploads are still pending it lists\n"
    "them and refuses (exit 75): they continue in the background, retry later.\n"
    "\n"
    "  --force            unmount even with pending uploads (they stay staged in the state\n"
    "                     dir and resume at the next `gnr mount` of it) and even if files\n"
    "                     are open (the mount is detached; open files work until closed)\n"
    "  --timeout SECONDS  how long to wait for uploads (default 120)\n"
    "\n"
    "Exit status: 0 unmounted; 1 failed; 64 bad arguments; 66 <dir> is not a gnrfs mount;\n"
    "75 uploads pending or files open (nothing was changed).\n";

constexpr char kStatusUsage[] =
    "Usage: gnr status [<dir>] [--json]\n"
    "\n"
    "Shows every mounted drive (or the one at <dir>): its daemon, pending uploads (each\n"
    "file not yet committed on the network), the shard network and its farmers, the read\n"
    "cache and the bucket's space.\n"
    "\n"
    "  --json   machine-readable output: {\"mounts\": [...]}\n";

int UsageError(const char* cmd, const std::string& message) {
  std::fprintf(stderr, "gnr %s: %s\n(try `gnr %s --help`)\n", cmd, message.c_str(), cmd);
  return kExitUsage;
}

// Lexically absolute (no stat: the path may be a dead mount).
std::string Absolute(const std::string& path) {
  std::string full = path;
  if (full.empty() || full[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) full = absl::StrCat(cwd, "/", path);
  }
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= full.size()) {
    size_t next = full.find('/', pos);
    if (next == std::string::npos) next = full.size();
    std::string part = full.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const std::string& p : parts) absl::StrAppend(&out, "/", p);
  return out.empty() ? "/" : out;
}

bool MakeDirs(const std::string& path) {
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      cur = path.substr(0, i);
      if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return false;
    }
  }
  return true;
}

std::string DefaultStateDir() {
  const char* xdg = getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg != '\0') return absl::StrCat(xdg, "/gnr/volumes/default");
  const char* home = getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "/root", "/.local/share/gnr/volumes/default");
}

// --- gnr mount -----------------------------------------------------------------------------

struct MountArgs {
  std::string mountpoint;  // absolute
  std::string state_dir;   // absolute
  bool state_is_temporary = false;
  bool foreground = false;
  bool allow_other = false;
  uint64_t cache_bytes = uint64_t{1} << 30;
  bool upload_while_writing = true;
  int in_memory_farmers = 0;  // test mode when > 0
  int farmer_delay_ms = 0;
  DriveConfig drive;  // the real network (when in_memory_farmers == 0)
  bool audit = true;  // run the background auditor (real network only)
  uint64_t audit_confirmations = 2;
};

// What the daemon runs on: the real network (tools/drive_env.h) or the TEST MODE one.
absl::StatusOr<std::unique_ptr<DriveEnv>> AssembleEnv(const MountArgs& args) {
  if (args.in_memory_farmers > 0) {
    return AssembleTestModeEnv({.state_dir = args.state_dir,
                                .farmers = args.in_memory_farmers,
                                .farmer_delay_ms = args.farmer_delay_ms,
                                .cache_bytes = args.cache_bytes,
                                .upload_while_writing = args.upload_while_writing});
  }
  DriveConfig config = args.drive;
  config.state_dir = args.state_dir;
  config.cache_bytes = args.cache_bytes;
  config.upload_while_writing = args.upload_while_writing;
  return AssembleDriveEnv(config);
}

// Paths of `wanted` inodes, found by walking the tree from the root through the Volume
// (breadth first, at most `budget` entries): the Volume's PendingUpload::path may only name
// the inode. Inodes not found (unlinked, or beyond the budget) are absent from the result.
std::map<volume::Ino, std::string> FindPaths(volume::Volume& volume, std::set<volume::Ino> wanted,
                                             size_t budget = 200'000) {
  std::map<volume::Ino, std::string> found;
  std::deque<std::pair<volume::Ino, std::string>> dirs = {{volume::kRootIno, ""}};
  while (!dirs.empty() && !wanted.empty() && budget > 0) {
    auto [dir, prefix] = dirs.front();
    dirs.pop_front();
    absl::StatusOr<volume::DirHandle> dh = volume.OpenDir(dir);
    if (!dh.ok()) continue;
    uint64_t cookie = 0;
    while (budget > 0) {
      absl::StatusOr<std::vector<volume::DirEntry>> entries =
          volume.ReadDir(*dh, cookie, 512, /*plus=*/false);
      if (!entries.ok() || entries->empty()) break;
      for (const volume::DirEntry& e : *entries) {
        cookie = e.next_cookie;
        if (e.name == "." || e.name == "..") continue;
        --budget;
        std::string path = absl::StrCat(prefix, "/", e.name);
        if (wanted.erase(e.ino) > 0) found[e.ino] = path;
        if (S_ISDIR(e.mode)) dirs.emplace_back(e.ino, path);
      }
    }
    (void)volume.ReleaseDir(*dh);
  }
  return found;
}

Json PendingJson(volume::Volume& volume) {
  Json list = Json::array();
  absl::Time now = absl::Now();
  std::vector<volume::PendingUpload> pending = volume.PendingUploads();
  std::set<volume::Ino> unnamed;
  for (const volume::PendingUpload& p : pending) {
    if (p.path.empty() || p.path[0] != '/') unnamed.insert(p.ino);
  }
  std::map<volume::Ino, std::string> paths;
  if (!unnamed.empty()) paths = FindPaths(volume, unnamed);
  for (const volume::PendingUpload& p : pending) {
    std::string path = p.path;
    if (auto it = paths.find(p.ino); it != paths.end()) path = it->second;
    list.push_back({{"ino", p.ino},
                    {"path", path},
                    {"size", p.size},
                    {"dirty_seconds", absl::ToDoubleSeconds(now - p.dirty_since)},
                    {"committed", p.committed},
                    {"state", p.state}});
  }
  return list;
}

Json StatusJson(const MountRecord& record, volume::Volume& volume, fuse::MountedDrive& drive,
                const DriveEnv& env) {
  volume::VolumeStats s = volume.Stats();
  fuse::DriveStats d = drive.stats();
  Json farmers = env.FarmersJson();
  return {
      {"mountpoint", record.mountpoint},
      {"state_dir", record.state_dir},
      {"pid", record.pid},
      {"pending_uploads", PendingJson(volume)},
      {"staged_bytes", s.staged_bytes},
      // Shards past k+1 held back until their version commits (VolumeOptions::
      // deferred_shard_bytes).
      {"deferred_shards", {{"count", s.deferred_shards}, {"bytes", s.deferred_shard_bytes}}},
      {"farmers", farmers},
      {"cache",
       {{"bytes", s.cache_bytes},
        {"limit_bytes", s.cache_limit_bytes},
        {"hits", s.cache_hits},
        {"misses", s.cache_misses}}},
      {"bucket", {{"used_stored_bytes", s.used_stored_bytes}, {"size_bytes", s.bucket_size_bytes}}},
      {"fuse",
       {{"requests", d.requests}, {"errors", d.errors}, {"kernel_inodes", d.kernel_inodes}}}};
}

// Tells the waiting parent (background mode) how the mount went: "OK\n" or "ERR <exit>
// <message>\n".
void Notify(int fd, int exit_code, const std::string& message) {
  if (fd < 0) return;
  std::string line =
      exit_code == kExitOk ? "OK\n" : absl::StrCat("ERR ", exit_code, " ", message, "\n");
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

int Fail(int notify_fd, int exit_code, const std::string& message) {
  GNR_LOG(kError) << message;
  if (notify_fd >= 0) {
    Notify(notify_fd, exit_code, message);
  } else {
    std::fprintf(stderr, "gnr mount: %s\n", message.c_str());
  }
  return exit_code;
}

// The daemon: everything after argument parsing (and after the fork in background mode).
// Removes a TEST MODE temporary state dir on every way out of RunDrive (declared first, so
// it runs after the Volume is gone).
class TemporaryStateCleanup {
 public:
  explicit TemporaryStateCleanup(const MountArgs& args) : args_(args) {}
  ~TemporaryStateCleanup() {
    if (!args_.state_is_temporary) return;
    std::error_code ec;
    std::filesystem::remove_all(args_.state_dir, ec);
  }

 private:
  const MountArgs& args_;
};

int RunDrive(const MountArgs& args, int notify_fd) {
  TemporaryStateCleanup cleanup(args);
  fuse::BlockTerminationSignals();  // before any thread exists
  std::optional<MountRecord> existing = FindRecord(args.mountpoint);
  if (existing && ProcessAlive(existing->pid) && existing->pid != getpid()) {
    return Fail(notify_fd, kExitUnavailable,
                absl::StrCat(args.mountpoint, " is already mounted by gnr (pid ", existing->pid,
                             "); `gnr umount ", args.mountpoint, "` first"));
  }
  absl::StatusOr<std::unique_ptr<DriveEnv>> env = AssembleEnv(args);
  if (!env.ok())
    return Fail(notify_fd, ExitCodeForDriveEnv(env.status()), std::string(env.status().message()));
  absl::StatusOr<std::unique_ptr<volume::Volume>> volume =
      volume::Volume::Open((*env)->options, (*env)->env);
  if (!volume.ok()) {
    return Fail(
        notify_fd, kExitIoErr,
        absl::StrCat("cannot open the drive in ", args.state_dir, ": ", volume.status().message()));
  }
  fuse::MountOptions mount_options;
  mount_options.mountpoint = args.mountpoint;
  mount_options.allow_other = args.allow_other;
  mount_options.debug = GetLogLevel() == LogLevel::kDebug;
  absl::StatusOr<std::unique_ptr<fuse::MountedDrive>> drive =
      fuse::MountedDrive::Mount(**volume, mount_options);
  if (!drive.ok()) return Fail(notify_fd, kExitUnavailable, std::string(drive.status().message()));

  absl::StatusOr<MountRecord> record = RecordPathsFor(args.mountpoint);
  std::unique_ptr<ControlServer> control;
  std::atomic<int64_t> exit_wait_ms{10'000};
  if (record.ok()) {
    record->state_dir = args.state_dir;
    record->pid = getpid();
    record->network = (*env)->description;
    volume::Volume* v = volume->get();
    fuse::MountedDrive* dr = drive->get();
    const DriveEnv* e = env->get();
    MountRecord rec = *record;
    absl::StatusOr<std::unique_ptr<ControlServer>> server = ControlServer::Start(
        record->socket, [v, dr, e, rec, &exit_wait_ms](const Json& request) -> Json {
          std::string op = request.value("op", "");
          if (op == "status") return {{"ok", true}, {"status", StatusJson(rec, *v, *dr, *e)}};
          if (op == "drain") {
            int64_t ms = request.value("timeout_ms", int64_t{60'000});
            // Full redundancy: shards past k+1 go out after the commit (docs/mount.md),
            // and a daemon that exits before they land leaves the files at k+1 until a
            // repair, which needs the drive mounted.
            absl::Status s = v->WaitForUploads(absl::Milliseconds(ms), /*full_redundancy=*/true);
            Json reply = {{"ok", s.ok()}, {"status", StatusJson(rec, *v, *dr, *e)}};
            if (!s.ok()) reply["error"] = std::string(s.message());
            return reply;
          }
          if (op == "exit_wait") {
            exit_wait_ms = request.value("ms", int64_t{0});
            return {{"ok", true}};
          }
          return {{"ok", false}, {"error", absl::StrCat("unknown op '", op, "'")}};
        });
    if (server.ok()) {
      control = std::move(server).value();
      absl::Status w = WriteRecord(*record);
      if (!w.ok()) {
        GNR_LOG(kWarning) << "gnr status/umount will not find this mount: " << w;
      }
    } else {
      GNR_LOG(kWarning) << "no control socket (gnr status/umount cannot reach this daemon): "
                        << server.status();
    }
  } else {
    GNR_LOG(kWarning) << "no runtime dir for the control socket: " << record.status();
  }
  GNR_LOG(kInfo) << "drive mounted at " << args.mountpoint << " (state " << args.state_dir << ", "
                 << (*env)->description << ")";
  if (notify_fd >= 0) {
    Notify(notify_fd, kExitOk, "");
  } else {
    std::fprintf(stderr, "gnr: mounted %s (state %s); Ctrl-C or `gnr umount %s` to stop\n",
                 args.mountpoint.c_str(), args.state_dir.c_str(), args.mountpoint.c_str());
  }

  // The background auditor (real network only): challenges seeded by confirmed blocks,
  // verdicts in the catalog, repairs of what farmers lost.
  std::unique_ptr<DriveAuditor> auditor;
  if (args.audit && args.in_memory_farmers == 0) {
    absl::StatusOr<std::unique_ptr<DriveAuditor>> started =
        DriveAuditor::Start(**env, **volume, {.confirmations = args.audit_confirmations});
    if (started.ok()) {
      auditor = *std::move(started);
    } else {
      GNR_LOG(kWarning) << "no background auditor: " << started.status();
    }
  }

  absl::StatusOr<int> served = (*drive)->ServeUntilSignal();
  auditor.reset();
  if (!served.ok()) {
    GNR_LOG(kError) << served.status();
  }
  control.reset();
  if (record.ok()) RemoveRecord(*record);
  absl::Status drained = (*volume)->WaitForUploads(absl::Milliseconds(exit_wait_ms.load()),
                                                   /*full_redundancy=*/true);
  if (!drained.ok()) {
    GNR_LOG(kWarning) << "unmounted with uploads still pending; they stay staged in "
                      << args.state_dir << " and resume at the next mount: " << drained;
  }
  drive->reset();
  volume->reset();
  env->reset();
  GNR_LOG(kInfo) << "drive at " << args.mountpoint << " stopped";
  return served.ok() ? kExitOk : kExitSoftware;
}

int RunMount(const std::vector<std::string>& raw_argv) {
  MountArgs args;
  std::string state;
  // --config FILE first: the configuration fills every option no flag gave (tools/config.h:
  // flag > environment > config.toml > default).
  std::vector<std::string> argv = raw_argv;
  absl::StatusOr<std::optional<std::string>> config_flag = TakeConfigFlag(&argv);
  if (!config_flag.ok()) return UsageError("mount", std::string(config_flag.status().message()));
  bool data_shards_flag = false, parity_shards_flag = false, cache_flag = false;
  bool log_level_flag = false, upload_flag = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string error;
    auto value = [&](std::string_view flag, std::string* out) {
      return TakeFlagValue(argv, i, flag, out, &error);
    };
    std::string v;
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kMountUsage);
      return kExitOk;
    } else if (value("--state", &v)) {
      state = v;
    } else if (a == "--foreground" || a == "-f") {
      args.foreground = true;
    } else if (a == "--allow-other") {
      args.allow_other = true;
    } else if (value("--cache-size", &v)) {
      cache_flag = true;
      if (v == "0") {
        args.cache_bytes = 0;
      } else {
        absl::StatusOr<uint64_t> b = farmer::ParseByteSize(v);
        if (!b.ok()) return UsageError("mount", std::string(b.status().message()));
        args.cache_bytes = *b;
      }
    } else if (value("--upload-while-writing", &v)) {
      if (v != "true" && v != "false") {
        return UsageError("mount", "--upload-while-writing takes true or false, not '" + v + "'");
      }
      upload_flag = true;
      args.upload_while_writing = v == "true";
    } else if (value("--log-level", &v)) {
      log_level_flag = true;
      LogLevel level;
      if (!ParseLogLevel(v, &level)) return UsageError("mount", "unknown log level '" + v + "'");
      SetLogLevel(level);
    } else if (value("--in-memory-network", &v)) {
      args.in_memory_farmers = std::atoi(v.c_str());
      if (args.in_memory_farmers < 2 || args.in_memory_farmers > 64) {
        return UsageError("mount", "--in-memory-network needs 2..64 farmers");
      }
    } else if (value("--test-farmer-delay-ms", &v)) {
      args.farmer_delay_ms = std::atoi(v.c_str());
    } else if (value("--rpc", &v)) {
      args.drive.rpc_url = v;
    } else if (value("--contract", &v)) {
      args.drive.contract = v;
    } else if (value("--keystore", &v)) {
      args.drive.wallet.keystore_path = v;
    } else if (value("--password-file", &v)) {
      args.drive.wallet.password_file = v;
    } else if (value("--bucket", &v)) {
      args.drive.bucket_hex = v;
    } else if (value("--bootstrap", &v)) {
      args.drive.bootstrap.push_back(v);
    } else if (value("--data-shards", &v)) {
      data_shards_flag = true;
      args.drive.data_shards = std::atoi(v.c_str());
    } else if (value("--parity-shards", &v)) {
      parity_shards_flag = true;
      args.drive.parity_shards = std::atoi(v.c_str());
    } else if (a == "--no-audit") {
      args.audit = false;
    } else if (value("--audit-confirmations", &v)) {
      if (!absl::SimpleAtoi(v, &args.audit_confirmations) || args.audit_confirmations > 1000) {
        return UsageError("mount", "--audit-confirmations must be a number of blocks, 0..1000");
      }
    } else if (a.starts_with("-")) {
      return UsageError("mount", "unknown argument '" + a + "'");
    } else if (args.mountpoint.empty()) {
      args.mountpoint = Absolute(a);
    } else {
      return UsageError("mount", "more than one mount point given");
    }
    if (!error.empty()) return UsageError("mount", error);
  }
  if (args.mountpoint.empty()) return UsageError("mount", "which directory? gnr mount <dir>");
  std::optional<Config> config = LoadCommandConfig("mount", *config_flag);
  if (!config) return kExitConfig;
  {
    // What no flag said comes from the environment or config.toml (values the resolver
    // reports as built-in defaults are left to the code below, which has the same ones).
    auto configured = [&](std::string_view key) {
      const ConfigValue& v = config->Get(key);
      return v.is_set() && v.source != "default";
    };
    DriveConfig& d = args.drive;
    if (d.rpc_url.empty() && configured("chain.rpc")) d.rpc_url = config->String("chain.rpc");
    if (d.contract.empty()) d.contract = config->String("chain.contract");
    WalletAccess wallet = WalletAccessFromConfig(*config);
    if (d.wallet.keystore_path.empty()) d.wallet.keystore_path = wallet.keystore_path;
    if (d.wallet.password_file.empty()) d.wallet.password_file = wallet.password_file;
    if (d.bucket_hex.empty()) d.bucket_hex = config->String("drive.bucket");
    if (d.bootstrap.empty()) d.bootstrap = config->List("drive.bootstrap");
    if (!data_shards_flag && configured("drive.data_shards")) {
      d.data_shards = std::atoi(config->String("drive.data_shards").c_str());
    }
    if (!parity_shards_flag && configured("drive.parity_shards")) {
      d.parity_shards = std::atoi(config->String("drive.parity_shards").c_str());
    }
    if (!upload_flag && configured("drive.upload_while_writing")) {
      args.upload_while_writing = config->Bool("drive.upload_while_writing");
    }
    if (!cache_flag && configured("drive.cache_size")) {
      const std::string size = config->String("drive.cache_size");
      absl::StatusOr<uint64_t> b = size == "0" ? uint64_t{0} : farmer::ParseByteSize(size);
      if (!b.ok()) return UsageError("mount", std::string(b.status().message()));
      args.cache_bytes = *b;
    }
    if (state.empty() && configured("drive.state")) state = config->String("drive.state");
    if (!log_level_flag && configured("log.level")) {
      LogLevel level;
      if (ParseLogLevel(config->String("log.level"), &level)) SetLogLevel(level);
    }
  }
  if (args.farmer_delay_ms > 0 && args.in_memory_farmers == 0) {
    return UsageError("mount", "--test-farmer-delay-ms only works with --in-memory-network");
  }
  if (args.in_memory_farmers == 0) {
    // Say what is missing before doing anything else.
    ApplyDriveEnvironment(args.drive);
    if (args.drive.contract.empty() && args.drive.bucket_hex.empty() &&
        args.drive.bootstrap.empty()) {
      std::fprintf(stderr,
                   "gnr mount: no shard network configured: pass --contract ADDRESS, --bucket ID "
                   "and --bootstrap SEED (or set GNR_MARKET_CONTRACT, GNR_BUCKET and "
                   "GNR_BOOTSTRAP; `gnr devnet up` prints them). To try the drive without a "
                   "network, use the TEST MODE flag --in-memory-network N (data is lost when "
                   "the mount ends).\n");
      return kExitConfig;
    }
    if (absl::Status s = ValidateDriveConfig(args.drive); !s.ok()) {
      return UsageError("mount", std::string(s.message()));
    }
    // The daemon runs in "/": seeds given as a farmer.json path must not be relative.
    for (std::string& seed : args.drive.bootstrap) {
      if (seed.find("://") == std::string::npos) seed = Absolute(seed);
    }
  }
  struct stat st;
  if (stat(args.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "gnr mount: %s is not a directory%s\n", args.mountpoint.c_str(),
                 errno == ENOTCONN ? " (a dead mount: run `gnr umount --force` on it)"
                                   : " (create it first)");
    return kExitNoInput;
  }
  if (state.empty()) {
    if (args.in_memory_farmers > 0) {
      std::string tmpl = "/tmp/gnr-test-state-XXXXXX";
      if (mkdtemp(tmpl.data()) == nullptr) {
        std::fprintf(stderr, "gnr mount: mkdtemp: %s\n", std::strerror(errno));
        return kExitCantCreate;
      }
      state = tmpl;
      args.state_is_temporary = true;
    } else {
      state = DefaultStateDir();
    }
  }
  args.state_dir = Absolute(state);
  if (!MakeDirs(args.state_dir)) {
    std::fprintf(stderr, "gnr mount: cannot create %s: %s\n", args.state_dir.c_str(),
                 std::strerror(errno));
    return kExitCantCreate;
  }
  if (args.in_memory_farmers > 0 && !args.state_is_temporary) {
    struct stat db;
    if (stat(absl::StrCat(args.state_dir, "/catalog.db").c_str(), &db) == 0) {
      std::fprintf(stderr,
                   "gnr mount: warning: TEST MODE with an existing state dir: files from an "
                   "earlier in-memory run cannot be read back (their shards were in memory)\n");
    }
  }
  if (args.in_memory_farmers == 0) {
    // Unlock the wallet here, while a terminal may still be attached for the password
    // prompt; the daemon gets the key through fork() and never stores it.
    absl::StatusOr<crypto::PrivateKey> key = UnlockWallet(args.drive.wallet);
    if (!key.ok()) {
      std::fprintf(stderr, "gnr mount: %s\n", std::string(key.status().message()).c_str());
      return ExitCodeForDriveEnv(key.status());
    }
    args.drive.wallet_key = *key;
  }
  if (args.foreground) return RunDrive(args, -1);

  // Background: the child becomes the daemon (before any thread exists); the parent
  // reports how the mount went.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "gnr mount: pipe: %s\n", std::strerror(errno));
    return kExitSoftware;
  }
  std::string log_path = absl::StrCat(args.state_dir, "/mount.log");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "gnr mount: fork: %s\n", std::strerror(errno));
    return kExitSoftware;
  }
  if (pid == 0) {
    close(fds[0]);
    setsid();
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log_fd = open(log_path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    if (chdir("/") != 0) {
      // Not fatal: the daemon only uses absolute paths.
    }
    _exit(RunDrive(args, fds[1]));
  }
  close(fds[1]);
  std::string reply;
  char buf[1024];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (reply.starts_with("OK")) {
    std::printf("gnr: mounted %s (daemon pid %d, state %s, log %s)\n", args.mountpoint.c_str(),
                static_cast<int>(pid), args.state_dir.c_str(), log_path.c_str());
    if (args.in_memory_farmers > 0) {
      std::printf("gnr: TEST MODE: %d in-memory farmers; everything is lost at unmount\n",
                  args.in_memory_farmers);
    }
    return kExitOk;
  }
  int code = kExitSoftware;
  std::string message = "the daemon exited before mounting (see " + log_path + ")";
  if (reply.starts_with("ERR ")) {
    size_t sp = reply.find(' ', 4);
    code = std::atoi(reply.substr(4, sp - 4).c_str());
    if (sp != std::string::npos) message = reply.substr(sp + 1);
    while (!message.empty() && message.back() == '\n') message.pop_back();
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::fprintf(stderr, "gnr mount: %s\n", message.c_str());
  return code;
}

// --- gnr umount ----------------------------------------------------------------------------

void PrintPending(const Json& status) {
  const Json& pending = status.value("pending_uploads", Json::array());
  for (const Json& p : pending) {
    std::string path = p.value("path", "");
    if (path.empty()) path = absl::StrCat("(unlinked inode ", p.value("ino", 0), ")");
    std::fprintf(stderr, "  %-40s %10s  %s%s, dirty for %.0f s\n", path.c_str(),
                 HumanBytes(p.value("size", uint64_t{0})).c_str(), p.value("state", "").c_str(),
                 p.value("committed", false) ? " (committed, adding redundancy)" : "",
                 p.value("dirty_seconds", 0.0));
  }
}

bool WaitForExit(int pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (ProcessAlive(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

int RunUmount(const std::vector<std::string>& argv) {
  std::string dir;
  bool force = false;
  double timeout_s = 120;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string error;
    auto value = [&](std::string_view flag, std::string* out) {
      return TakeFlagValue(argv, i, flag, out, &error);
    };
    std::string v;
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUmountUsage);
      return kExitOk;
    } else if (a == "--force" || a == "-f") {
      force = true;
    } else if (value("--timeout", &v)) {
      timeout_s = std::atof(v.c_str());
      if (!(timeout_s >= 0)) return UsageError("umount", "--timeout must be >= 0 seconds");
    } else if (a.starts_with("-")) {
      return UsageError("umount", "unknown argument '" + a + "'");
    } else if (dir.empty()) {
      dir = Absolute(a);
    } else {
      return UsageError("umount", "more than one directory given");
    }
    if (!error.empty()) return UsageError("umount", error);
  }
  if (dir.empty()) return UsageError("umount", "which directory? gnr umount <dir>");
  if (!fuse::IsGnrfsMount(dir)) {
    std::fprintf(stderr, "gnr umount: %s is not a gnrfs mount\n", dir.c_str());
    return kExitNoInput;
  }
  std::optional<MountRecord> record = FindRecord(dir);
  bool daemon_alive = record.has_value() && ProcessAlive(record->pid);
  if (record && !daemon_alive) {
    // A dead daemon has nothing in flight: its staged writes are on disk and resume at the
    // next mount. Remove the dead mount.
    std::fprintf(stderr, "gnr umount: the daemon of %s (pid %d) is gone; removing the dead mount\n",
                 dir.c_str(), record->pid);
    RemoveRecord(*record);
    absl::Status s = fuse::UnmountPath(dir, fuse::UnmountMode::kLazy);
    if (!s.ok()) {
      std::fprintf(stderr, "gnr umount: %s\n", std::string(s.message()).c_str());
      return kExitFailure;
    }
    std::printf("gnr: unmounted %s\n", dir.c_str());
    return kExitOk;
  }
  std::optional<Json> status;
  if (daemon_alive) {
    std::fprintf(stderr, "gnr umount: uploading pending files of %s (up to %.0f s)...\n",
                 dir.c_str(), timeout_s);
    absl::StatusOr<Json> reply = ControlRequest(
        record->socket, {{"op", "drain"}, {"timeout_ms", static_cast<int64_t>(timeout_s * 1000)}});
    if (reply.ok()) {
      status = reply->value("status", Json::object());
      if (!reply->value("ok", false)) {
        size_t n = status->value("pending_uploads", Json::array()).size();
        std::fprintf(stderr, "gnr umount: %zu upload%s still pending on %s:\n", n,
                     n == 1 ? "" : "s", dir.c_str());
        PrintPending(*status);
        bool all_committed = true;
        for (const Json& p : status->value("pending_uploads", Json::array())) {
          all_committed = all_committed && p.value("committed", false);
        }
        if (!force && all_committed) {
          std::fprintf(stderr,
                       "gnr umount: not unmounting: these files are committed (k+1 shards of "
                       "every segment stored) but still short of full redundancy, which the "
                       "daemon is adding; retry later, or use --force (the auditor repairs "
                       "them at a later mount).\n");
          return kExitTempFail;
        }
        if (!force) {
          std::fprintf(stderr,
                       "gnr umount: not unmounting: these files are not yet safe on the network. "
                       "They keep uploading in the background; retry later, or use --force "
                       "(they stay staged in %s and resume at the next mount).\n",
                       record->state_dir.c_str());
          return kExitTempFail;
        }
        std::fprintf(stderr,
                     "gnr umount: --force: unmounting anyway; the pending files stay "
                     "staged and resume at the next mount\n");
        (void)ControlRequest(record->socket, {{"op", "exit_wait"}, {"ms", 0}});
      }
    } else if (!force) {
      std::fprintf(stderr,
                   "gnr umount: cannot ask the daemon of %s about pending uploads (%s); use "
                   "--force to unmount anyway\n",
                   dir.c_str(), std::string(reply.status().message()).c_str());
      return kExitTempFail;
    }
  } else if (!force) {
    std::fprintf(stderr,
                 "gnr umount: no daemon record for %s (mounted by another user or an older "
                 "gnr?): pending uploads unknown; use --force to unmount anyway\n",
                 dir.c_str());
    return kExitTempFail;
  }
  absl::Status s = fuse::UnmountPath(dir, fuse::UnmountMode::kNormal);
  if (catalog::IsPosixError(s, EBUSY)) {
    if (!force) {
      std::fprintf(stderr,
                   "gnr umount: %s is busy: files or directories on it are open (see `fuser -vm "
                   "%s`); close them, or use --force to detach it now\n",
                   dir.c_str(), dir.c_str());
      return kExitTempFail;
    }
    std::fprintf(stderr, "gnr umount: busy; detaching (open files keep working until closed)\n");
    s = fuse::UnmountPath(dir, fuse::UnmountMode::kLazy);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "gnr umount: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  if (daemon_alive && !WaitForExit(record->pid, absl::Seconds(60))) {
    std::fprintf(stderr, "gnr umount: unmounted, but the daemon (pid %d) is still finishing\n",
                 record->pid);
  }
  std::printf("gnr: unmounted %s\n", dir.c_str());
  return kExitOk;
}

// --- gnr status ----------------------------------------------------------------------------

int RunStatus(const std::vector<std::string>& argv) {
  bool json = false;
  std::string only;
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      std::printf("%s", kStatusUsage);
      return kExitOk;
    } else if (a == "--json") {
      json = true;
    } else if (a.starts_with("-")) {
      return UsageError("status", "unknown argument '" + a + "'");
    } else {
      only = Absolute(a);
    }
  }
  Json mounts = Json::array();
  for (const MountRecord& r : AllRecords()) {
    if (!only.empty() && r.mountpoint != only) continue;
    Json m = {{"mountpoint", r.mountpoint},
              {"state_dir", r.state_dir},
              {"pid", r.pid},
              {"network", r.network}};
    bool mounted = fuse::IsGnrfsMount(r.mountpoint);
    if (!ProcessAlive(r.pid)) {
      if (!mounted) {
        RemoveRecord(r);  // stale record of a daemon that exited uncleanly
        continue;
      }
      m["state"] = "dead";
      m["hint"] = absl::StrCat("the daemon exited; run `gnr umount ", r.mountpoint, "`");
    } else {
      absl::StatusOr<Json> reply = ControlRequest(r.socket, {{"op", "status"}});
      if (reply.ok() && reply->value("ok", false)) {
        m["state"] = "mounted";
        m.update(reply->value("status", Json::object()));
      } else {
        m["state"] = "unreachable";
        m["hint"] = reply.ok() ? reply->value("error", "") : std::string(reply.status().message());
      }
    }
    mounts.push_back(m);
  }
  if (json) {
    std::printf("%s\n", Json{{"mounts", mounts}}.dump(2).c_str());
    return kExitOk;
  }
  if (mounts.empty()) {
    std::printf(only.empty() ? "no gnrfs drive is mounted\n" : "%s: no gnrfs drive mounted there\n",
                only.c_str());
    return only.empty() ? kExitOk : kExitNoInput;
  }
  for (const Json& m : mounts) {
    std::printf("%s  (%s, pid %d, state %s)\n", m.value("mountpoint", "").c_str(),
                m.value("state", "").c_str(), m.value("pid", 0), m.value("state_dir", "").c_str());
    if (m.contains("hint")) std::printf("  %s\n", m.value("hint", "").c_str());
    if (m.value("state", "") != "mounted") continue;
    const Json& f = m.value("farmers", Json::object());
    std::printf("  network:  %s\n", f.value("description", "").c_str());
    if (f.contains("farmers")) {
      const Json& list = f["farmers"];
      std::printf("  farmers:  %zu in use\n", list.size());
      for (const Json& x : list) {
        std::string id = x.value("id", "");
        std::printf("            %.16s  %-28s ok %llu, failed %llu, %.1f ms%s%s\n", id.c_str(),
                    x.value("endpoint", "").c_str(),
                    static_cast<unsigned long long>(x.value("ok", uint64_t{0})),
                    static_cast<unsigned long long>(x.value("failed", uint64_t{0})),
                    x.value("ewma_ms", 0.0), x.contains("last_error") ? ", last error: " : "",
                    x.value("last_error", "").c_str());
      }
    }
    if (f.contains("shards")) {
      std::printf("  farmers:  %d, holding %llu shards (%s)\n", f.value("count", 0),
                  static_cast<unsigned long long>(f.value("shards", uint64_t{0})),
                  HumanBytes(f.value("stored_bytes", uint64_t{0})).c_str());
    }
    const Json& pending = m.value("pending_uploads", Json::array());
    const Json& deferred = m.value("deferred_shards", Json::object());
    const uint64_t deferred_count = deferred.value("count", uint64_t{0});
    std::printf("  uploads:  %zu pending (%s staged)", pending.size(),
                HumanBytes(m.value("staged_bytes", uint64_t{0})).c_str());
    if (deferred_count > 0) {
      std::printf(", %llu shards (%s) held until their files commit",
                  static_cast<unsigned long long>(deferred_count),
                  HumanBytes(deferred.value("bytes", uint64_t{0})).c_str());
    }
    std::printf("\n");
    for (const Json& p : pending) {
      std::string path = p.value("path", "");
      if (path.empty()) path = absl::StrCat("(unlinked inode ", p.value("ino", 0), ")");
      std::printf("            %-36s %10s  %s, dirty %.0f s\n", path.c_str(),
                  HumanBytes(p.value("size", uint64_t{0})).c_str(), p.value("state", "").c_str(),
                  p.value("dirty_seconds", 0.0));
    }
    const Json& c = m.value("cache", Json::object());
    std::printf("  cache:    %s of %s (hits %llu, misses %llu)\n",
                HumanBytes(c.value("bytes", uint64_t{0})).c_str(),
                HumanBytes(c.value("limit_bytes", uint64_t{0})).c_str(),
                static_cast<unsigned long long>(c.value("hits", uint64_t{0})),
                static_cast<unsigned long long>(c.value("misses", uint64_t{0})));
    const Json& b = m.value("bucket", Json::object());
    std::printf("  bucket:   %s stored of %s bought\n",
                HumanBytes(b.value("used_stored_bytes", uint64_t{0})).c_str(),
                HumanBytes(b.value("size_bytes", uint64_t{0})).c_str());
  }
  return kExitOk;
}

}  // namespace

Command MountCommand() {
  return {"mount", "mount the drive on a directory", kMountUsage, RunMount};
}

Command UmountCommand() {
  return {"umount", "unmount the drive once every file is stored", kUmountUsage, RunUmount};
}

Command StatusCommand() {
  return {"status", "show mounted drives: pending uploads, farmers, cache", kStatusUsage,
          RunStatus};
}

}  // namespace gnr::tools
