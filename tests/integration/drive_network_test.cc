// The drive on the real network, end to end (issue 6; DESIGN.md section 9): a live anvil with
// the StorageMarket contract and a bucket bought through the C++ API, six `gnr farmer run`
// daemons that check payments on that contract, and the real `gnr mount` binary in the background
// on a temporary directory. The test then uses the mount with plain POSIX calls, like any program:
//   - files of several sizes (inline, one segment, more than one segment) read back
//     identical after `gnr umount` + a remount with --cache-size 0 (so from the farmers);
//   - no farmer's data dir contains a plaintext marker written in a file;
//   - with two farmers killed -9, every file still reads back identical;
//   - the `gnr mount` daemon killed -9 right after fsync returned: after a remount the file
//     is there and identical, and the catalog passes PRAGMA integrity_check.
// Sizes scale with GNR_INTEGRATION_SCALE (0.25 under ASan).

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "chain-client/json_rpc.h"
#include "chain-client/keystore.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/farmer/testing/temp_dir.h"
#include "tests/e2e/mount_guard.h"
#include "tests/integration/farmer_process.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::integration {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr char kMarker[] = "GNR-PLAINTEXT-MARKER-7f3a9c";

double Scale() {
  const char* s = std::getenv("GNR_INTEGRATION_SCALE");
  double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

// Runs a command (no shell), returns its exit code; its stdout+stderr go to `*output`.
int RunCommand(const std::vector<std::string>& args, std::string* output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  output->clear();
  char buf[4096];
  ssize_t n;
  // The background daemon of `gnr mount` redirects its output to its log, so EOF comes when
  // the foreground command exits.
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) output->append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A test file: content regenerated from its seed, in chunks (a 1 GiB file never sits in
// memory).
struct TestFile {
  std::string name;
  uint64_t size = 0;
  uint64_t seed = 0;
  bool marker = false;  // kMarker every 4 KiB (plaintext to look for on the farmers)
  bool sync = true;     // fsync after writing (= committed on the network)
};

constexpr size_t kChunk = 4 << 20;  // a multiple of 4096

// The content of `f`, chunk by chunk, in order.
class ContentStream {
 public:
  explicit ContentStream(const TestFile& f) : f_(f), rng_(f.seed) {}
  // The next chunk (empty at the end).
  ByteView Next() {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, f_.size - offset_));
    buf_.resize(n);
    rng_.Fill(MutableByteView(buf_.data(), n));
    if (f_.marker) {
      for (size_t at = 0; at + sizeof(kMarker) <= n; at += 4096) {
        std::memcpy(buf_.data() + at, kMarker, sizeof(kMarker) - 1);
      }
    }
    offset_ += n;
    return buf_;
  }

 private:
  const TestFile& f_;
  crypto::DeterministicRandom rng_;
  uint64_t offset_ = 0;
  Bytes buf_;
};

absl::Status WriteFile(const std::string& dir, const TestFile& f) {
  std::string path = dir + "/" + f.name;
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  ContentStream content(f);
  for (ByteView chunk = content.Next(); !chunk.empty(); chunk = content.Next()) {
    size_t done = 0;
    while (done < chunk.size()) {
      ssize_t n = write(fd, chunk.data() + done, std::min<size_t>(chunk.size() - done, 1 << 20));
      if (n <= 0) {
        int e = errno;
        close(fd);
        return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(e)));
      }
      done += static_cast<size_t>(n);
    }
  }
  // fsync on the drive returns once the file is committed on the network.
  if (f.sync && fsync(fd) != 0) {
    int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("fsync ", path, ": ", std::strerror(e)));
  }
  if (close(fd) != 0) return absl::InternalError(absl::StrCat("close ", path));
  return absl::OkStatus();
}

absl::Status CheckFile(const std::string& dir, const TestFile& f) {
  std::string path = dir + "/" + f.name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  ContentStream content(f);
  uint64_t offset = 0;
  Bytes got(kChunk);
  absl::Status status = absl::OkStatus();
  for (ByteView want = content.Next(); status.ok(); want = content.Next()) {
    size_t done = 0;
    // One byte more than expected at the end, to notice a file that is too long.
    size_t ask = want.empty() ? 1 : want.size();
    while (done < ask) {
      ssize_t n = read(fd, got.data() + done, ask - done);
      if (n < 0) {
        status = absl::DataLossError(absl::StrCat("read ", path, ": ", std::strerror(errno)));
        break;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    if (!status.ok()) break;
    if (done != want.size()) {
      status = absl::DataLossError(
          absl::StrCat(path, ": ", offset + done, " bytes or more, want ", f.size));
    } else if (!std::equal(want.begin(), want.end(), got.begin())) {
      status = absl::DataLossError(
          absl::StrCat(path, ": content differs in the ", kChunk, "-byte chunk at ", offset));
    }
    offset += want.size();
    if (want.empty()) break;
  }
  close(fd);
  return status;
}

// True if any regular file under `dir` contains `needle`.
[[maybe_unused]] bool TreeContains(const std::string& dir, std::string_view needle) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find(needle) != std::string::npos) return true;
  }
  return false;
}

[[maybe_unused]] std::string IntegrityCheck(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string e = db != nullptr ? sqlite3_errmsg(db) : "open failed";
    sqlite3_close(db);
    return e;
  }
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      absl::StrAppend(&result, reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
  } else {
    result = sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// Kills every process this test started — the `gnr mount` daemon, which runs in its own
// session, and the farmers — when the test process ends, normally or not (a crash, a CTest
// timeout kill), and detaches a mount left behind. They are recognised by the test's unique
// temporary directory in their command line. A child process forked at construction blocks
// on a pipe; at EOF it scans /proc (three times, a second apart, to catch a daemon that was
// still starting) and SIGKILLs every match. The child makes only async-signal-safe calls.
class ProcessReaper {
 public:
  ProcessReaper(const std::string& tag, const std::string& mountpoint) {
    if (tag.size() >= sizeof(tag_) || mountpoint.size() >= sizeof(mountpoint_)) return;
    std::memcpy(tag_, tag.c_str(), tag.size() + 1);
    std::memcpy(mountpoint_, mountpoint.c_str(), mountpoint.size() + 1);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    child_ = fork();
    if (child_ == 0) {
      close(fds[1]);
      char byte;
      while (read(fds[0], &byte, 1) > 0) {
      }
      for (int round = 0; round < 3; ++round) {
        KillMatching();
        umount2(mountpoint_, MNT_FORCE | MNT_DETACH);
        struct timespec second = {1, 0};
        if (round < 2) nanosleep(&second, nullptr);
      }
      _exit(0);
    }
    close(fds[0]);
    fd_ = fds[1];
  }
  ~ProcessReaper() {
    if (fd_ >= 0) close(fd_);
    if (child_ > 0) waitpid(child_, nullptr, 0);
  }

 private:
  void KillMatching() {
    int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return;
    alignas(8) char buf[8192];
    const pid_t self = getpid();
    for (;;) {
      long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
      if (n <= 0) break;
      for (long at = 0; at < n;) {
        auto* entry = reinterpret_cast<struct Dirent64*>(buf + at);
        at += entry->d_reclen;
        pid_t pid = 0;
        const char* name = entry->d_name;
        for (; *name >= '0' && *name <= '9'; ++name) pid = pid * 10 + (*name - '0');
        if (*name != '\0' || pid <= 0 || pid == self) continue;
        if (CommandLineHasTag(pid)) kill(pid, SIGKILL);
      }
    }
    close(dir);
  }

  bool CommandLineHasTag(pid_t pid) const {
    char path[40] = "/proc/";
    char digits[16];
    int d = 0;
    for (unsigned v = static_cast<unsigned>(pid); v > 0 && d < 15; v /= 10) {
      digits[d++] = static_cast<char>('0' + v % 10);
    }
    size_t at = 6;
    while (d > 0) path[at++] = digits[--d];
    for (const char* t = "/cmdline"; *t != '\0'; ++t) path[at++] = *t;
    path[at] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char cmd[2048];
    ssize_t n = read(fd, cmd, sizeof(cmd));
    close(fd);
    size_t tag_len = std::strlen(tag_);
    for (ssize_t i = 0; n > 0 && i + static_cast<ssize_t>(tag_len) <= n; ++i) {
      if (std::memcmp(cmd + i, tag_, tag_len) == 0) return true;
    }
    return false;
  }

  struct Dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
  };

  char tag_[512] = {};
  char mountpoint_[512] = {};
  pid_t child_ = -1;
  int fd_ = -1;
};

#ifdef GNR_DRIVE_SOAK
constexpr absl::Duration kGuardTimeout = absl::Minutes(15);
#else
constexpr absl::Duration kGuardTimeout = absl::Minutes(3);
#endif

class DriveNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kWarning);
    ASSERT_EQ(access("/dev/fuse", R_OK | W_OK), 0) << "these tests need /dev/fuse";
    mnt_ = dir_.Sub("mnt");
    state_ = dir_.Sub("state");
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);

    // The chain: contract deployed, bucket bought by the wallet that will mount.
    ASSERT_OK_AND_ASSIGN(anvil_, gnr::testing::AnvilProcess::Start());
    ASSERT_OK_AND_ASSIGN(auto http, chain::HttpTransport::Create(anvil_->rpc_url()));
    rpc_ = std::make_unique<chain::JsonRpcClient>(std::move(http));
    eth_ = std::make_unique<chain::EthRpc>(*rpc_);
    nonces_ = std::make_unique<chain::NonceManager>(*eth_);
    ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key,
                         crypto::PrivateKey::FromBytes(anvil_->accounts()[0].private_key));
    chain::TxSenderOptions so;
    so.poll_interval = absl::Milliseconds(20);
    ASSERT_OK_AND_ASSIGN(sender_,
                         chain::TxSender::Create(*eth_, *nonces_, key, SystemClockInstance(), so));
    ASSERT_OK_AND_ASSIGN(chain::StorageMarket market,
                         chain::StorageMarket::Deploy(*sender_, *eth_));
    contract_ = HexEncode0x(market.address());
    ASSERT_OK_AND_ASSIGN(chain::RpcBlock head, eth_->GetBlockByNumber(chain::BlockRef::Latest()));
    uint64_t now = head.header.header.timestamp;
    chain::BucketId bucket = rng_.Generate<32>();
    ASSERT_OK(market
                  .BuyBucketSpace(*sender_, {.bucket_id = bucket,
                                             .size_gb = 4,
                                             .start = now,
                                             .end = now + 30 * 86400,
                                             .backup = 3})
                  .status());
    bucket_hex_ = HexEncode(bucket);

    // The wallet file (a light scrypt: this is a test).
    chain::KeystoreOptions ko;
    ko.scrypt = {.n = 1024, .r = 8, .p = 1};
    ASSERT_OK_AND_ASSIGN(std::string json, chain::EncryptKeystore(key, "test password", rng_, ko));
    keystore_ = dir_.Sub("wallet.json");
    password_file_ = dir_.Sub("password");
    std::ofstream(keystore_) << json;
    std::ofstream(password_file_) << "test password\n";

    // Six farmers, all joined through the first, checking payments on chain
    // (tools/chain_admission.h): they store only for the bucket's owner.
    for (int i = 0; i < 6; ++i) {
      FarmerProcessOptions o;
      o.data_dir = dir_.Sub(absl::StrCat("farmer", i));
      o.capacity = "2G";
      o.extra_args = {"--rpc", anvil_->rpc_url(), "--contract", contract_};
      if (i > 0) o.bootstrap.push_back(farmers_[0]->data_dir());
      farmers_.push_back(std::make_unique<FarmerProcess>(std::move(o)));
      ASSERT_OK(farmers_.back()->Start());
    }
    ASSERT_OK_AND_ASSIGN(guard_, e2e::MountGuard::Start(mnt_, kGuardTimeout));
  }

  void TearDown() override {
    if (daemon_pid_ > 0 && kill(daemon_pid_, 0) == 0) {
      std::string out;
      RunCommand({GnrBinary(), "umount", "--force", mnt_}, &out);
      if (kill(daemon_pid_, 0) == 0) kill(daemon_pid_, SIGKILL);
    }
    e2e::ForceUnmount(mnt_);
    guard_.reset();
    farmers_.clear();
  }

  // `gnr mount` in the background; returns its exit code, keeps the daemon's pid.
  int Mount(std::vector<std::string> extra, std::string* out) {
    std::vector<std::string> args = {GnrBinary(),
                                     "mount",
                                     mnt_,
                                     "--state",
                                     state_,
                                     "--rpc",
                                     anvil_->rpc_url(),
                                     "--contract",
                                     contract_,
                                     "--keystore",
                                     keystore_,
                                     "--password-file",
                                     password_file_,
                                     "--bucket",
                                     bucket_hex_,
                                     "--bootstrap",
                                     farmers_[0]->data_dir() + "/farmer.json"};
    args.insert(args.end(), extra.begin(), extra.end());
    int rc = RunCommand(args, out);
    size_t at = out->find("daemon pid ");
    daemon_pid_ = at == std::string::npos ? -1 : std::atoi(out->c_str() + at + 11);
    return rc;
  }

  int Umount(std::string* out, int timeout_s = 120) {
    int rc = RunCommand({GnrBinary(), "umount", "--timeout", absl::StrCat(timeout_s), mnt_}, out);
    // The daemon exits once the unmount is done.
    for (int i = 0; i < 200 && daemon_pid_ > 0 && kill(daemon_pid_, 0) == 0; ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    return rc;
  }

  bool fuse_mounted() const {
    std::ifstream mounts("/proc/self/mounts");
    std::string line;
    while (std::getline(mounts, line)) {
      if (line.find(" " + mnt_ + " ") != std::string::npos) return true;
    }
    return false;
  }

  void CheckAll(const std::vector<TestFile>& files, const std::string& when) {
    for (const TestFile& f : files) {
      absl::Status s = CheckFile(mnt_, f);
      EXPECT_TRUE(s.ok()) << when << ": " << s;
    }
  }

  farmer::testing::TempDir dir_{"drive_network"};
  crypto::DeterministicRandom rng_{606};
  std::unique_ptr<gnr::testing::AnvilProcess> anvil_;
  std::unique_ptr<chain::JsonRpcClient> rpc_;
  std::unique_ptr<chain::EthRpc> eth_;
  std::unique_ptr<chain::NonceManager> nonces_;
  std::unique_ptr<chain::TxSender> sender_;
  std::string contract_, bucket_hex_, keystore_, password_file_, mnt_, state_;
  std::vector<std::unique_ptr<FarmerProcess>> farmers_;
  std::unique_ptr<e2e::MountGuard> guard_;
  pid_t daemon_pid_ = -1;
  // Constructed with the fixture, before SetUp starts anything (the directory name is
  // unique: mkdtemp).
  ProcessReaper reaper_{dir_.path(), dir_.Sub("mnt")};
};

#ifndef GNR_DRIVE_SOAK
TEST_F(DriveNetworkTest, FilesSurviveRemountFarmerLossAndClientCrash) {
  const absl::Time t0 = absl::Now();
  std::string out;
  // The pre-mount checks say what is wrong: a bucket that was never bought, and fewer
  // farmers than RS(k, m) needs.
  std::string bought = bucket_hex_;
  bucket_hex_ = std::string(64, 'e');
  EXPECT_EQ(Mount({}, &out), 66) << out;
  EXPECT_NE(out.find("gnr market buy-space"), std::string::npos) << out;
  bucket_hex_ = bought;
  EXPECT_EQ(Mount({"--data-shards", "7", "--parity-shards", "2"}, &out), 78) << out;
  EXPECT_NE(out.find("only 6 farmer(s) reachable"), std::string::npos) << out;
  EXPECT_FALSE(fuse_mounted());

  ASSERT_EQ(Mount({}, &out), 0) << out;
  ASSERT_GT(daemon_pid_, 0) << out;

  const double scale = Scale();
  std::vector<TestFile> files = {
      {.name = "empty", .size = 0, .seed = 1},
      {.name = "inline.txt", .size = 100, .seed = 2},
      {.name = "marker.bin", .size = 200 * 1024, .seed = 3, .marker = true},
      {.name = "three-mib.bin", .size = 3 * kMiB + 17, .seed = 4},
      // More than one 64 MiB segment at scale 1.
      {.name = "big.bin", .size = static_cast<uint64_t>((64 + 6) * kMiB * scale) + 5, .seed = 5},
  };
  ASSERT_EQ(mkdir((mnt_ + "/dir").c_str(), 0755), 0);
  files.push_back({.name = "dir/nested.bin", .size = 300 * 1024, .seed = 6});
  absl::Time w0 = absl::Now();
  uint64_t total = 0;
  for (const TestFile& f : files) {
    ASSERT_OK(WriteFile(mnt_, f));
    total += f.size;
  }
  std::printf("wrote %.1f MiB (fsync = committed) in %.2f s\n", total / double(kMiB),
              absl::ToDoubleSeconds(absl::Now() - w0));
  CheckAll(files, "before unmount");

  ASSERT_EQ(RunCommand({GnrBinary(), "status", "--json"}, &out), 0) << out;
  EXPECT_NE(out.find("\"farmers\""), std::string::npos) << out;

  // Remount without a cache: everything comes from the farmers.
  ASSERT_EQ(Umount(&out), 0) << out;
  ASSERT_EQ(Mount({"--cache-size", "0"}, &out), 0) << out;
  absl::Time r0 = absl::Now();
  CheckAll(files, "after remount");
  std::printf("read back %.1f MiB from the farmers in %.2f s\n", total / double(kMiB),
              absl::ToDoubleSeconds(absl::Now() - r0));

  // No plaintext on the farmers.
  for (const auto& f : farmers_) {
    EXPECT_FALSE(TreeContains(f->data_dir(), kMarker)) << "plaintext found in " << f->data_dir();
  }

  // Two farmers die (m = 2): the drive mounts degraded (4 of RS(4,2)'s 6 farmers answer,
  // enough to read) and every file still reads back.
  ASSERT_EQ(Umount(&out), 0) << out;
  farmers_[1]->Kill();
  farmers_[4]->Kill();
  absl::Time k0 = absl::Now();
  ASSERT_EQ(Mount({"--cache-size", "0"}, &out), 0) << out;
  CheckAll(files, "with two farmers dead");
  std::printf("remounted and read back with two farmers dead in %.2f s\n",
              absl::ToDoubleSeconds(absl::Now() - k0));
  // New files need k+1 live farmers to commit: with 4 left, write them with RS(2,2) (old
  // files keep RS(4,2) from the catalog).
  ASSERT_EQ(Umount(&out), 0) << out;
  ASSERT_EQ(Mount({"--cache-size", "0", "--data-shards", "2", "--parity-shards", "2"}, &out), 0)
      << out;

  // The client dies right after fsync returned: the file is committed.
  TestFile crash = {.name = "crash.bin", .size = 2 * kMiB + 3, .seed = 7};
  ASSERT_OK(WriteFile(mnt_, crash));
  ASSERT_GT(daemon_pid_, 0);
  ASSERT_EQ(kill(daemon_pid_, SIGKILL), 0);
  for (int i = 0; i < 100 && kill(daemon_pid_, 0) == 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  RunCommand({"/usr/bin/fusermount3", "-u", "-z", mnt_}, &out);
  EXPECT_EQ(IntegrityCheck(state_ + "/catalog.db"), "ok");
  ASSERT_EQ(Mount({"--cache-size", "0", "--data-shards", "2", "--parity-shards", "2"}, &out), 0)
      << out;
  files.push_back(crash);
  CheckAll(files, "after the client was killed -9");
  ASSERT_EQ(Umount(&out), 0) << out;
  EXPECT_EQ(IntegrityCheck(state_ + "/catalog.db"), "ok");
  std::printf("whole scenario in %.1f s\n", absl::ToDoubleSeconds(absl::Now() - t0));
}
#else
// Label "soak": a 1 GiB file and 2,000 small files (a tree of 20 directories; sizes 1 B to
// 16 KiB, so both inline and sharded) round-trip after unmount and remount without cache.
TEST_F(DriveNetworkTest, SoakOneGibAndTwoThousandSmallFiles) {
  std::string out;
  ASSERT_EQ(Mount({}, &out), 0) << out;
  std::vector<TestFile> files = {
      {.name = "one-gib.bin", .size = static_cast<uint64_t>(1024 * kMiB * Scale()), .seed = 1}};
  absl::Time w0 = absl::Now();
  ASSERT_OK(WriteFile(mnt_, files[0]));
  std::printf("1 GiB written and committed in %.1f s\n", absl::ToDoubleSeconds(absl::Now() - w0));
  crypto::DeterministicRandom sizes(99);
  for (int d = 0; d < 20; ++d) {
    ASSERT_EQ(mkdir(absl::StrCat(mnt_, "/d", d).c_str(), 0755), 0);
  }
  w0 = absl::Now();
  for (int i = 0; i < 2000; ++i) {
    TestFile f = {.name = absl::StrCat("d", i % 20, "/f", i),
                  .size = 1 + sizes.NextU64() % (16 * 1024),
                  .seed = 1000 + static_cast<uint64_t>(i),
                  .sync = false};
    ASSERT_OK(WriteFile(mnt_, f));
    files.push_back(f);
  }
  ASSERT_EQ(Umount(&out, 300), 0) << out;
  std::printf("2,000 small files written and uploaded in %.1f s\n",
              absl::ToDoubleSeconds(absl::Now() - w0));
  ASSERT_EQ(Mount({"--cache-size", "0"}, &out), 0) << out;
  absl::Time r0 = absl::Now();
  CheckAll(files, "after remount");
  std::printf("everything read back from the farmers in %.1f s\n",
              absl::ToDoubleSeconds(absl::Now() - r0));
  ASSERT_EQ(Umount(&out), 0) << out;
  EXPECT_EQ(IntegrityCheck(state_ + "/catalog.db"), "ok");
}
#endif

}  // namespace
}  // namespace gnr::integration
