#pragma once
// `gnr wallet new | import | show | balance` (DESIGN.md sections 2 and 8), and the wallet
// access the other commands that sign with the wallet (`gnr market`) share.
//
// The wallet is a Web3 Secret Storage v3 keystore (chain-client/keystore.h) that geth and
// ethers read and write, by default at $XDG_DATA_HOME/gnr/wallet.json, i.e.
// ~/.local/share/gnr/wallet.json, mode 0600. Its password comes from, in order:
// --password-file FILE (first line), $GNR_PASSWORD_FILE, the GNR_PASSWORD environment
// variable (the password itself), chain.password_file in the configuration file, or a prompt
// on the terminal (echo off). Defaults come from the configuration (tools/config.h).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/json_rpc.h"
#include "chain-client/u256.h"
#include "crypto/secp256k1.h"
#include "tools/command.h"
#include "tools/config.h"

namespace gnr::tools {

// The `wallet` entry of AllCommands().
Command WalletCommand();

// ---- Shared with other commands -------------------------------------------------------------

// chain.keystore from the configuration ($GNR_KEYSTORE, the config file), else
// $XDG_DATA_HOME/gnr/wallet.json, else $HOME/.local/share/gnr/wallet.json.
std::string DefaultKeystorePath();

struct WalletAccess {
  std::string keystore_path;  // empty: DefaultKeystorePath()
  std::string password_file;  // empty: GNR_PASSWORD, else the terminal
};

// The wallet options of `config` (chain.keystore, chain.password_file). A password file from
// the configuration *file* yields to $GNR_PASSWORD (environment beats file); one from a flag
// or $GNR_PASSWORD_FILE does not. Flags parsed afterwards override the fields.
WalletAccess WalletAccessFromConfig(const Config& config);

// The wallet's address, read from the keystore without the password (NotFound with what to
// do if there is no wallet; InvalidArgument if the file is not a keystore or has no address).
absl::StatusOr<crypto::EthAddress> WalletAddress(const WalletAccess& access);

// Decrypts the wallet. PermissionDenied on a wrong password; InvalidArgument when no
// password source is available (the message lists them).
absl::StatusOr<crypto::PrivateKey> UnlockWallet(const WalletAccess& access);

// chain.rpc from the configuration ($GNR_RPC, the config file, else http://127.0.0.1:8545, a
// local devnet); $GNR_RPC or the default when the config file is invalid.
std::string DefaultRpcUrl();

// A JSON-RPC connection to a chain node (HTTP, timeouts and retries of json_rpc.h).
struct ChainConnection {
  std::unique_ptr<chain::JsonRpcClient> client;
  std::unique_ptr<chain::EthRpc> eth;
};
absl::StatusOr<ChainConnection> ConnectChain(const std::string& url);

// An account's balance at the latest block. When the node serves eth_getProof the balance is
// proven against the state root of a header whose hash was recomputed (verified = true);
// otherwise (or at the genesis block of a development chain, whose header need not commit to
// its prefunded accounts) it is the node's word (verified = false).
struct AccountBalance {
  chain::U256 wei;
  uint64_t block = 0;
  bool verified = false;
};
absl::StatusOr<AccountBalance> ReadBalance(chain::EthRpc& eth, const crypto::EthAddress& address);

// The sysexits code for a failed operation's status (tools/exit_codes.h): InvalidArgument 65,
// NotFound 66, Unavailable/DeadlineExceeded/Unknown 69, PermissionDenied 77,
// FailedPrecondition (a refusal: revert, insufficient balance) 1, DataLoss 65, others 70.
int ExitCodeFor(const absl::Status& status);

}  // namespace gnr::tools
