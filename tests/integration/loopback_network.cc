#include "tests/integration/loopback_network.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chain-client/keystore.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/status.h"
#include "tests/testing/proc_file.h"

namespace gnr::integration {
namespace {

struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

std::string TempRoot() {
  const char* tmp = getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

}  // namespace

ProcessReaper::ProcessReaper(const std::string& tag, const std::string& mountpoint,
                             bool remove_tag_dir)
    : remove_tag_dir_(remove_tag_dir) {
  if (tag.empty() || tag.size() >= sizeof(tag_) || mountpoint.size() >= sizeof(mountpoint_)) {
    return;
  }
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
      if (mountpoint_[0] != '\0') umount2(mountpoint_, MNT_FORCE | MNT_DETACH);
      struct timespec second = {1, 0};
      if (round < 2) nanosleep(&second, nullptr);
    }
    if (remove_tag_dir_ && tag_[0] == '/') {
      char* const argv[] = {const_cast<char*>("rm"), const_cast<char*>("-rf"),
                            const_cast<char*>("--"), tag_, nullptr};
      execv("/bin/rm", argv);
    }
    _exit(0);
  }
  close(fds[0]);
  if (child_ < 0) {
    close(fds[1]);
    return;
  }
  fd_ = fds[1];
}

ProcessReaper::~ProcessReaper() {
  if (fd_ >= 0) close(fd_);
  if (child_ > 0) waitpid(child_, nullptr, 0);
}

void ProcessReaper::KillMatching() {
  int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  alignas(8) char buf[8192];
  const pid_t self = getpid();
  const pid_t parent = getppid();
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      auto* entry = reinterpret_cast<Dirent64*>(buf + at);
      at += entry->d_reclen;
      pid_t pid = 0;
      const char* name = entry->d_name;
      for (; *name >= '0' && *name <= '9'; ++name) pid = pid * 10 + (*name - '0');
      if (*name != '\0' || pid <= 0 || pid == self || pid == parent) continue;
      if (CommandLineHasTag(pid)) kill(pid, SIGKILL);
    }
  }
  close(dir);
}

bool ProcessReaper::CommandLineHasTag(pid_t pid) const {
  char cmd[4096];
  const ssize_t n = gnr::testing::ReadProcFile(pid, "cmdline", cmd, sizeof(cmd));
  const size_t tag_len = std::strlen(tag_);
  for (ssize_t i = 0; n > 0 && i + static_cast<ssize_t>(tag_len) <= n; ++i) {
    if (std::memcmp(cmd + i, tag_, tag_len) == 0) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<LoopbackNetwork>> LoopbackNetwork::Start(
    const LoopbackNetworkOptions& options) {
  if (options.farmers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a loopback network needs at least 1 farmer, got ", options.farmers));
  }
  std::unique_ptr<LoopbackNetwork> net(new LoopbackNetwork());
  std::string pattern = absl::StrCat(TempRoot(), "/gnr_", options.tag, "_XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  net->dir_ = pattern;
  // Before any daemon starts: from now on nothing outlives the test process.
  net->reaper_ = std::make_unique<ProcessReaper>(net->dir_, "", /*remove_tag_dir=*/true);

  // The chain: contract deployed, a bucket bought by the wallet.
  GNR_ASSIGN_OR_RETURN(net->anvil_, gnr::testing::AnvilProcess::Start());
  GNR_ASSIGN_OR_RETURN(auto http, chain::HttpTransport::Create(net->anvil_->rpc_url()));
  net->rpc_ = std::make_unique<chain::JsonRpcClient>(std::move(http));
  net->eth_ = std::make_unique<chain::EthRpc>(*net->rpc_);
  net->nonces_ = std::make_unique<chain::NonceManager>(*net->eth_);
  GNR_ASSIGN_OR_RETURN(net->wallet_key_,
                       crypto::PrivateKey::FromBytes(net->anvil_->accounts()[0].private_key));
  chain::TxSenderOptions sender_options;
  sender_options.poll_interval = absl::Milliseconds(20);
  GNR_ASSIGN_OR_RETURN(net->sender_,
                       chain::TxSender::Create(*net->eth_, *net->nonces_, net->wallet_key_,
                                               SystemClockInstance(), sender_options));
  GNR_ASSIGN_OR_RETURN(chain::StorageMarket market,
                       chain::StorageMarket::Deploy(*net->sender_, *net->eth_));
  net->market_ = std::make_unique<chain::StorageMarket>(std::move(market));
  net->contract_ = HexEncode0x(net->market_->address());
  GNR_ASSIGN_OR_RETURN(net->bucket_hex_, net->BuyBucket(options.bucket_gb, options.bucket_days));

  // The wallet as `gnr mount` reads it (a light scrypt: this is a test).
  chain::KeystoreOptions keystore_options;
  keystore_options.scrypt = {.n = 1024, .r = 8, .p = 1};
  GNR_ASSIGN_OR_RETURN(std::string json, chain::EncryptKeystore(net->wallet_key_, kPassword,
                                                                net->rng_, keystore_options));
  net->keystore_ = net->Sub("wallet.json");
  net->password_file_ = net->Sub("password");
  std::ofstream(net->keystore_) << json;
  std::ofstream(net->password_file_) << kPassword << "\n";

  // The farmers, all joined through the first, checking payments on chain.
  for (int i = 0; i < options.farmers; ++i) {
    FarmerProcessOptions o;
    o.data_dir = net->Sub(absl::StrCat("farmer", i));
    o.capacity = options.farmer_capacity;
    o.extra_args = {"--rpc", net->rpc_url(), "--contract", net->contract_};
    if (i > 0) o.bootstrap.push_back(net->farmers_[0]->data_dir());
    net->farmers_.push_back(std::make_unique<FarmerProcess>(std::move(o)));
    GNR_RETURN_IF_ERROR(net->farmers_.back()->Start(options.farmer_start_timeout));
  }
  return net;
}

LoopbackNetwork::~LoopbackNetwork() {
  farmers_.clear();  // SIGKILL each
  market_.reset();
  sender_.reset();
  nonces_.reset();
  eth_.reset();
  rpc_.reset();
  anvil_.reset();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  reaper_.reset();  // last: nothing of ours is left for it to kill
}

absl::StatusOr<std::string> LoopbackNetwork::BuyBucket(uint64_t size_gb, uint64_t days) {
  GNR_ASSIGN_OR_RETURN(chain::RpcBlock head, eth_->GetBlockByNumber(chain::BlockRef::Latest()));
  const uint64_t now = head.header.header.timestamp;
  const chain::BucketId bucket = rng_.Generate<32>();
  GNR_RETURN_IF_ERROR(market_
                          ->BuyBucketSpace(*sender_, {.bucket_id = bucket,
                                                      .size_gb = size_gb,
                                                      .start = now,
                                                      .end = now + days * 86400,
                                                      .backup = 3})
                          .status());
  return HexEncode(bucket);
}

std::string LoopbackNetwork::bootstrap_seed() const {
  return farmers_.empty() ? std::string() : farmers_[0]->data_dir() + "/farmer.json";
}

}  // namespace gnr::integration
