#pragma once
// A real anvil (Foundry's development EVM chain) on a free loopback port, for tests.
//
//   gnr::testing::AnvilOptions options;
//   options.hardfork = "berlin";
//   ASSERT_OK_AND_ASSIGN(auto anvil, gnr::testing::AnvilProcess::Start(options));
//   ASSERT_OK_AND_ASSIGN(nlohmann::json id, anvil->Rpc("eth_chainId"));
//   // ... point the client at anvil->rpc_url(), sign with anvil->accounts()[0].private_key.
//
// The binary is the one npm installs from package-lock.json (scripts/setup):
// $GNR_ANVIL if set, else <source dir>/node_modules/.bin/anvil.
//
// Lifetime: Start() returns once the chain answers eth_chainId. The destructor stops the
// process (SIGTERM, then SIGKILL after a grace period) and reaps it, so no anvil outlives
// its AnvilProcess; the child also gets SIGKILL if the thread that started it dies
// (PR_SET_PDEATHSIG), which covers a test binary that crashes.
//
// Thread-safety: the accessors are const and safe from any thread; Rpc() may be called
// concurrently (one HTTP connection per call).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace gnr::testing {

struct AnvilOptions {
  // Seconds between blocks; 0 mines one block per transaction (automine).
  int block_time_seconds = 0;
  // anvil --hardfork value ("berlin", "london", "cancun", ...); empty = anvil's default.
  // "berlin" gives GenaroCore's 15-field header.
  std::string hardfork;
  // Genesis block timestamp (unix seconds), for reproducible block hashes.
  std::optional<uint64_t> timestamp;
  uint64_t chain_id = 31337;
  // Number of funded dev accounts (anvil's well-known mnemonic) and their balance in ether.
  int accounts = 10;
  uint64_t balance_ether = 10000;
  // Further anvil arguments, appended as given.
  std::vector<std::string> extra_args;
  // How long Start() waits for the port line and for eth_chainId to answer.
  absl::Duration start_timeout = absl::Seconds(30);
};

// One funded, unlocked dev account as anvil printed it.
struct AnvilAccount {
  FixedBytes<20> address;
  FixedBytes<32> private_key;
  // "0x..." as printed (EIP-55 checksummed).
  std::string address_hex;
};

class AnvilProcess {
 public:
  // Starts anvil with --host 127.0.0.1 --port 0 and the options. Errors: NotFound when the
  // binary is missing, Internal when it exits early or prints something unexpected,
  // DeadlineExceeded when it is not ready within options.start_timeout (the process is
  // stopped again in every error case; messages include the tail of anvil's output).
  static absl::StatusOr<std::unique_ptr<AnvilProcess>> Start(const AnvilOptions& options = {});

  // The path Start() runs.
  static std::string BinaryPath();

  ~AnvilProcess();
  AnvilProcess(const AnvilProcess&) = delete;
  AnvilProcess& operator=(const AnvilProcess&) = delete;

  // "http://127.0.0.1:<port>".
  const std::string& rpc_url() const { return rpc_url_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  uint64_t chain_id() const { return chain_id_; }
  const std::vector<AnvilAccount>& accounts() const { return accounts_; }

  // One JSON-RPC call over HTTP (timeout `timeout`). Returns the "result" member. A JSON-RPC
  // error becomes a Status with code Unknown whose message holds the error's code, message
  // and data (anvil puts revert data there); transport failures are Unavailable.
  absl::StatusOr<nlohmann::json> Rpc(std::string_view method,
                                     const nlohmann::json& params = nlohmann::json::array(),
                                     absl::Duration timeout = absl::Seconds(10)) const;

  // Moves the chain's clock forward by `seconds` and mines one block (evm_increaseTime +
  // evm_mine), e.g. to pass an unstake delay or expire a bucket.
  absl::Status IncreaseTime(uint64_t seconds) const;

  // Everything anvil has printed so far (stdout and stderr), for failure messages.
  std::string Output() const;

 private:
  AnvilProcess() = default;
  void Stop();

  pid_t pid_ = -1;
  int port_ = 0;
  uint64_t chain_id_ = 0;
  std::string rpc_url_;
  int log_fd_ = -1;  // anvil's stdout+stderr: an unlinked temporary file.
  std::vector<AnvilAccount> accounts_;
};

}  // namespace gnr::testing
