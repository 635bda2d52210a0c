#pragma once
// A whole gnrfs network on loopback, for multi-process and end-to-end tests (DESIGN.md
// section 9): a live anvil with the StorageMarket contract deployed, a bucket bought by a
// funded wallet (also written as a keystore + password file, as `gnr mount` reads it), and N
// `gnr farmer run` daemons joined through the first one and checking payments on that
// contract (tools/chain_admission.h: they store only for a bucket's owner).
//
//   ASSERT_OK_AND_ASSIGN(auto net, LoopbackNetwork::Start());
//   tools::DriveConfig c;
//   c.rpc_url = net->rpc_url(); c.contract = net->contract(); c.bucket_hex = net->bucket_hex();
//   c.wallet_key = net->wallet_key(); c.bootstrap = {net->bootstrap_seed()};
//   ... net->farmer(1).Kill();
//
// Cleanup: the destructor kills the farmers (SIGKILL), stops anvil and removes the temporary
// directory. If the test process dies without running it (a crash, a CTest timeout kill), a
// ProcessReaper started before anything else kills every process whose command line names
// the network's directory (the farmers) and removes the directory, and anvil dies with the thread
// that started it (AnvilProcess uses PR_SET_PDEATHSIG): so start the network from the main thread.
//
// Thread-safety: none; one thread drives it. The accessors return stable references.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chain-client/json_rpc.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "crypto/random.h"
#include "crypto/secp256k1.h"
#include "tests/integration/farmer_process.h"
#include "tests/testing/anvil.h"

namespace gnr::integration {

// Kills the processes a test started when the test process ends, normally or not: every
// process whose command line contains `tag` (e.g. the test's unique temporary directory) gets
// SIGKILL, and `mountpoint` (if not empty) is force-detached. A child forked at construction
// blocks on a pipe; at EOF (this object destroyed, or the process dead) it scans /proc three
// times, a second apart (to catch a daemon that was still starting), then exits. The child
// makes only async-signal-safe calls, so constructing one in a threaded process is safe.
// With `remove_tag_dir`, `tag` is a directory the child finally removes (`rm -rf`, exec'd).
// Destruction waits for the child (about 2 s).
class ProcessReaper {
 public:
  explicit ProcessReaper(const std::string& tag, const std::string& mountpoint = "",
                         bool remove_tag_dir = false);
  ~ProcessReaper();
  ProcessReaper(const ProcessReaper&) = delete;
  ProcessReaper& operator=(const ProcessReaper&) = delete;

 private:
  void KillMatching();
  bool CommandLineHasTag(pid_t pid) const;

  char tag_[512] = {};
  char mountpoint_[512] = {};
  bool remove_tag_dir_ = false;
  pid_t child_ = -1;
  int fd_ = -1;
};

struct LoopbackNetworkOptions {
  int farmers = 6;
  std::string farmer_capacity = "2G";  // `gnr farmer run --capacity`
  // The bucket bought at start (bucket_hex()).
  uint64_t bucket_gb = 4;
  uint64_t bucket_days = 30;
  // Name part of the temporary directory (gnr_<tag>_XXXXXX under the test temp dir).
  std::string tag = "loopback";
  absl::Duration farmer_start_timeout = absl::Seconds(30);
};

class LoopbackNetwork {
 public:
  // Starts everything and returns once every farmer serves. Errors from anvil (NotFound when
  // it is not installed: scripts/setup), the chain (deploy, buy) or a farmer that does not
  // come up (its log tail in the message); whatever was started is stopped again.
  static absl::StatusOr<std::unique_ptr<LoopbackNetwork>> Start(
      const LoopbackNetworkOptions& options = {});

  ~LoopbackNetwork();
  LoopbackNetwork(const LoopbackNetwork&) = delete;
  LoopbackNetwork& operator=(const LoopbackNetwork&) = delete;

  // The temporary directory holding the wallet files and farmerN/ (with farmerN.log).
  const std::string& dir() const { return dir_; }
  std::string Sub(const std::string& name) const { return dir() + "/" + name; }

  gnr::testing::AnvilProcess& anvil() { return *anvil_; }
  const std::string& rpc_url() const { return anvil_->rpc_url(); }
  // The StorageMarket address, "0x" + 40 hex digits.
  const std::string& contract() const { return contract_; }
  chain::StorageMarket& market() { return *market_; }
  chain::EthRpc& eth() { return *eth_; }
  // Sends as the wallet (nonces tracked here: send the wallet's transactions through it).
  chain::TxSender& sender() { return *sender_; }

  // The wallet (anvil's first dev account): owns the buckets, pays the farmers.
  const crypto::PrivateKey& wallet_key() const { return wallet_key_; }
  // Its Web3 keystore file (light scrypt) and a file holding its password.
  const std::string& keystore() const { return keystore_; }
  const std::string& password_file() const { return password_file_; }
  static constexpr char kPassword[] = "test password";

  // The bucket bought at start: 64 hex digits, no 0x.
  const std::string& bucket_hex() const { return bucket_hex_; }
  // Buys another bucket for the wallet (a random id); returns its 64 hex digits.
  absl::StatusOr<std::string> BuyBucket(uint64_t size_gb, uint64_t days = 30);

  // farmer0's farmer.json: a --bootstrap seed for clients and farmers.
  std::string bootstrap_seed() const;
  int farmer_count() const { return static_cast<int>(farmers_.size()); }
  FarmerProcess& farmer(int i) { return *farmers_.at(static_cast<size_t>(i)); }

 private:
  LoopbackNetwork() = default;

  std::string dir_;  // removed by the destructor
  std::unique_ptr<ProcessReaper> reaper_;
  crypto::DeterministicRandom rng_{0x10bac};
  std::unique_ptr<gnr::testing::AnvilProcess> anvil_;
  std::unique_ptr<chain::JsonRpcClient> rpc_;
  std::unique_ptr<chain::EthRpc> eth_;
  std::unique_ptr<chain::NonceManager> nonces_;
  std::unique_ptr<chain::TxSender> sender_;
  std::unique_ptr<chain::StorageMarket> market_;
  crypto::PrivateKey wallet_key_ = crypto::PrivateKey::Generate(crypto::OsRandom());
  std::string contract_, bucket_hex_, keystore_, password_file_;
  std::vector<std::unique_ptr<FarmerProcess>> farmers_;
};

}  // namespace gnr::integration
