// `gnr wallet`: create, import and inspect the wallet key (a Web3 v3 keystore).
#include "tools/wallet_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "chain-client/keystore.h"
#include "chain-client/light_client.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/random.h"
#include "nlohmann/json.hpp"
#include "tools/config.h"
#include "tools/exit_codes.h"
#include "tools/flags.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kUsage[] =
    "Usage: gnr wallet new [--keystore PATH] [--password-file FILE] [--force] [--light-kdf]\n"
    "       gnr wallet import (--private-key-file FILE | --from-keystore FILE\n"
    "                         [--from-password-file FILE]) [--keystore PATH]\n"
    "                         [--password-file FILE] [--force] [--light-kdf]\n"
    "       gnr wallet show [--keystore PATH]\n"
    "       gnr wallet balance [--rpc URL] [--keystore PATH | --address ADDRESS]\n"
    "Every subcommand takes --json for machine-readable output.\n"
    "\n"
    "Your wallet is a secp256k1 key that pays for space and traffic, stakes as a farmer and\n"
    "is the root of every key that encrypts your files: keep a backup of the keystore and\n"
    "its password. It is stored as a Web3 Secret Storage v3 keystore (scrypt + AES-128-CTR),\n"
    "the format geth, ethers and MetaMask read and write.\n"
    "\n"
    "new      creates a wallet with a new random key.\n"
    "import   stores an existing key: a file holding the private key as 64 hex digits, or a\n"
    "         geth/ethers keystore (decrypted with --from-password-file, or with the same\n"
    "         password as the new wallet) which is re-encrypted under your password.\n"
    "show     prints the wallet's address (no password needed).\n"
    "balance  prints the wallet's balance, proven with eth_getProof against a verified block\n"
    "         header when the node supports it.\n"
    "\n"
    "  --keystore PATH       the wallet file (default $GNR_KEYSTORE, chain.keystore in the\n"
    "                        config, else ~/.local/share/gnr/wallet.json)\n"
    "  --password-file FILE  read the password from the first line of FILE; otherwise\n"
    "                        $GNR_PASSWORD_FILE, $GNR_PASSWORD, chain.password_file in the\n"
    "                        config, otherwise a prompt on the terminal\n"
    "  --force               replace an existing wallet (its key is lost unless backed up)\n"
    "  --light-kdf           scrypt n=4096 instead of 262144: fast and weak, for test chains\n"
    "  --rpc URL             the chain's JSON-RPC endpoint (default $GNR_RPC, chain.rpc in\n"
    "                        the config, else http://127.0.0.1:8545)\n"
    "  --address ADDRESS     show the balance of another account\n"
    "  --config FILE         configuration file (default ~/.config/gnr/config.toml)\n"
    "  --json                machine-readable output\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "gnr wallet: %s\n(try `gnr wallet --help`)\n", message.c_str());
  return kExitUsage;
}

int Failure(const absl::Status& status) {
  std::fprintf(stderr, "gnr wallet: %s\n", std::string(status.message()).c_str());
  if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
    std::fprintf(stderr,
                 "(start a local chain with `gnr devnet up`, or pass --rpc URL / set GNR_RPC)\n");
  }
  return ExitCodeFor(status);
}

struct Flags {
  WalletAccess access;
  std::string rpc;  // from the configuration, then --rpc
  std::string address;
  std::string private_key_file;
  std::string from_keystore;
  std::string from_password_file;
  bool force = false;
  bool light_kdf = false;
  bool json = false;
  bool help = false;
};

// Parses the flags after the subcommand; returns an error message for unknown ones.
std::optional<std::string> ParseFlags(const std::vector<std::string>& args, Flags* f) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    auto value = [&](std::string_view flag, std::string* out) {
      return TakeFlagValue(args, i, flag, out, &error);
    };
    if (a == "--help" || a == "-h") {
      f->help = true;
    } else if (a == "--json") {
      f->json = true;
    } else if (a == "--force") {
      f->force = true;
    } else if (a == "--light-kdf") {
      f->light_kdf = true;
    } else if (value("--keystore", &f->access.keystore_path) ||
               value("--password-file", &f->access.password_file) || value("--rpc", &f->rpc) ||
               value("--address", &f->address) ||
               value("--private-key-file", &f->private_key_file) ||
               value("--from-keystore", &f->from_keystore) ||
               value("--from-password-file", &f->from_password_file)) {
      if (!error.empty()) return error;
    } else if (a.starts_with("--")) {
      return "unknown option '" + a + "'";
    } else {
      return "unexpected argument '" + a + "'";
    }
  }
  return std::nullopt;
}

std::string KeystorePath(const WalletAccess& access) {
  return access.keystore_path.empty() ? DefaultKeystorePath() : access.keystore_path;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(AbslView(what), " ", path, " does not exist"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read ", AbslView(what), " ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string out = text.str();
  if (out.size() > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " ", path, " is too large"));
  }
  return out;
}

absl::StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  GNR_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, "password file"));
  size_t end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

// Reads a line from the terminal with echo off. nullopt when there is no terminal.
std::optional<std::string> PromptOnTerminal(const std::string& prompt) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  (void)!write(fd, prompt.data(), prompt.size());
  termios saved{};
  bool restore = tcgetattr(fd, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') {
    if (c != '\r') line.push_back(c);
  }
  if (restore) tcsetattr(fd, TCSAFLUSH, &saved);
  (void)!write(fd, "\n", 1);
  close(fd);
  return line;
}

// The password from the file, the environment or the terminal. `confirm` asks twice on the
// terminal (for a new wallet) and refuses an empty password.
absl::StatusOr<std::string> GetPassword(const WalletAccess& access, bool confirm) {
  std::string password;
  if (!access.password_file.empty()) {
    GNR_ASSIGN_OR_RETURN(password, ReadPasswordFile(access.password_file));
  } else if (const char* env = std::getenv("GNR_PASSWORD"); env != nullptr) {
    password = env;
  } else {
    std::optional<std::string> typed =
        PromptOnTerminal(confirm ? "New wallet password: " : "Wallet password: ");
    if (!typed) {
      return absl::InvalidArgumentError(
          "no wallet password: pass --password-file FILE or set GNR_PASSWORD (there is no "
          "terminal to ask on)");
    }
    password = *typed;
    if (confirm) {
      std::optional<std::string> again = PromptOnTerminal("Repeat the password: ");
      if (!again || *again != password) {
        return absl::InvalidArgumentError("the passwords differ; nothing was written");
      }
    }
  }
  if (confirm && password.empty()) {
    return absl::InvalidArgumentError("the wallet password must not be empty");
  }
  return password;
}

// Writes `contents` to `path` with mode 0600 (directories 0700), atomically: a crash
// leaves the old file or the new one, never a truncated keystore.
absl::Status WriteKeystoreFile(const std::string& path, const std::string& contents, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!force && fs::exists(path, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a wallet already exists at ", path,
                     "; pass --force to replace it (its key is lost unless you have a backup) or "
                     "--keystore PATH to write elsewhere"));
  }
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
    }
    chmod(parent.c_str(), 0700);
  }
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  fchmod(fd, 0600);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

chain::KeystoreOptions KdfOptions(bool light) {
  chain::KeystoreOptions options;
  if (light) options.scrypt = {.n = 4096, .r = 8, .p = 6};
  return options;
}

// Encrypts and writes the key; prints the result.
int StoreWallet(const Flags& f, const crypto::PrivateKey& key, std::string_view verb) {
  absl::StatusOr<std::string> password = GetPassword(f.access, /*confirm=*/true);
  if (!password.ok()) return Failure(password.status());
  absl::StatusOr<std::string> json =
      chain::EncryptKeystore(key, *password, crypto::OsRandom(), KdfOptions(f.light_kdf));
  if (!json.ok()) return Failure(json.status());
  std::string path = KeystorePath(f.access);
  absl::Status written = WriteKeystoreFile(path, *json, f.force);
  if (!written.ok()) {
    std::fprintf(stderr, "gnr wallet: %s\n", std::string(written.message()).c_str());
    return absl::IsAlreadyExists(written) ? kExitCantCreate : kExitIoErr;
  }
  std::string address =
      crypto::EthAddressToChecksumHex(crypto::EthereumAddress(key.GetPublicKey()));
  if (f.json) {
    std::printf("%s\n", Json{{"address", address}, {"keystore", path}}.dump().c_str());
  } else {
    std::printf(
        "%s wallet %s\nkeystore: %s\nKeep a backup of this file and of its password: "
        "together they are the only way to your files and funds.\n",
        std::string(verb).c_str(), address.c_str(), path.c_str());
  }
  return kExitOk;
}

int RunNew(const Flags& f) {
  return StoreWallet(f, crypto::PrivateKey::Generate(crypto::OsRandom()), "Created");
}

int RunImport(const Flags& f) {
  if (f.private_key_file.empty() == f.from_keystore.empty()) {
    return UsageError(
        "import needs exactly one of --private-key-file FILE or --from-keystore FILE");
  }
  std::optional<crypto::PrivateKey> key;
  if (!f.private_key_file.empty()) {
    absl::StatusOr<std::string> text = ReadSmallFile(f.private_key_file, "private key file");
    if (!text.ok()) return Failure(text.status());
    std::string hex(absl::StripAsciiWhitespace(*text));
    absl::StatusOr<FixedBytes<32>> bytes = HexDecodeFixed<32>(hex);
    absl::StatusOr<crypto::PrivateKey> parsed =
        bytes.ok() ? crypto::PrivateKey::FromBytes(*bytes)
                   : absl::StatusOr<crypto::PrivateKey>(bytes.status());
    if (!parsed.ok()) {
      return Failure(absl::InvalidArgumentError(absl::StrCat(
          f.private_key_file,
          " does not hold a private key (64 hex digits): ", parsed.status().message())));
    }
    key = *parsed;
  } else {
    absl::StatusOr<std::string> json = ReadSmallFile(f.from_keystore, "keystore");
    if (!json.ok()) return Failure(json.status());
    WalletAccess source{.keystore_path = f.from_keystore,
                        .password_file = f.from_password_file.empty() ? f.access.password_file
                                                                      : f.from_password_file};
    absl::StatusOr<std::string> password = GetPassword(source, /*confirm=*/false);
    if (!password.ok()) return Failure(password.status());
    absl::StatusOr<crypto::PrivateKey> decrypted = chain::DecryptKeystore(*json, *password);
    if (!decrypted.ok()) {
      return Failure(Annotate(decrypted.status(), absl::StrCat("reading ", f.from_keystore)));
    }
    key = *decrypted;
  }
  return StoreWallet(f, *key, "Imported");
}

int RunShow(const Flags& f) {
  absl::StatusOr<crypto::EthAddress> address = WalletAddress(f.access);
  if (!address.ok()) return Failure(address.status());
  std::string text = crypto::EthAddressToChecksumHex(*address);
  if (f.json) {
    std::printf("%s\n",
                Json{{"address", text}, {"keystore", KeystorePath(f.access)}}.dump().c_str());
  } else {
    std::printf("%s\n", text.c_str());
  }
  return kExitOk;
}

int RunBalance(const Flags& f) {
  absl::StatusOr<crypto::EthAddress> address =
      f.address.empty() ? WalletAddress(f.access) : crypto::ParseEthAddress(f.address);
  if (!address.ok()) return Failure(address.status());
  absl::StatusOr<ChainConnection> chain = ConnectChain(f.rpc);
  if (!chain.ok()) return Failure(chain.status());
  absl::StatusOr<AccountBalance> balance = ReadBalance(*chain->eth, *address);
  if (!balance.ok()) return Failure(balance.status());
  std::string who = crypto::EthAddressToChecksumHex(*address);
  if (f.json) {
    std::printf("%s\n", Json{{"address", who},
                             {"balance_wei", balance->wei.ToDecimal()},
                             {"balance", chain::FormatUnits(balance->wei)},
                             {"block", balance->block},
                             {"verified", balance->verified}}
                            .dump()
                            .c_str());
  } else {
    std::printf("%s ETH  (%s at block %llu%s)\n", chain::FormatUnits(balance->wei).c_str(),
                who.c_str(), static_cast<unsigned long long>(balance->block),
                balance->verified ? ", proven against the state root" : ", unverified");
  }
  return kExitOk;
}

int RunWallet(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  absl::StatusOr<std::optional<std::string>> config_file = TakeConfigFlag(&args);
  if (!config_file.ok()) return UsageError(std::string(config_file.status().message()));
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fprintf(args.empty() ? stderr : stdout, "%s", kUsage);
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::optional<Config> config = LoadCommandConfig("wallet", *config_file);
  if (!config) return kExitConfig;
  Flags f;
  f.access = WalletAccessFromConfig(*config);
  f.rpc = config->String("chain.rpc");
  if (std::optional<std::string> error = ParseFlags(args, &f)) return UsageError(*error);
  if (f.help) {
    std::printf("%s", kUsage);
    return kExitOk;
  }
  const std::string& sub = args[0];
  if (sub == "new") return RunNew(f);
  if (sub == "import") return RunImport(f);
  if (sub == "show") return RunShow(f);
  if (sub == "balance") return RunBalance(f);
  return UsageError("unknown subcommand '" + sub + "' (new, import, show or balance)");
}

}  // namespace

Command WalletCommand() {
  return {"wallet", "create, import and show your wallet; its balance", kUsage, RunWallet};
}

WalletAccess WalletAccessFromConfig(const Config& config) {
  WalletAccess access;
  access.keystore_path = config.String("chain.keystore");
  const ConfigValue& password_file = config.Get("chain.password_file");
  const char* password = std::getenv("GNR_PASSWORD");
  bool from_file = password_file.source.starts_with("config ");
  if (!from_file || password == nullptr) access.password_file = password_file.value();
  return access;
}

std::string DefaultKeystorePath() {
  if (absl::StatusOr<Config> config = LoadConfig({}, std::nullopt); config.ok()) {
    return config->String("chain.keystore");
  }
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg != '\0') return absl::StrCat(xdg, "/gnr/wallet.json");
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.local/share/gnr/wallet.json");
}

absl::StatusOr<crypto::EthAddress> WalletAddress(const WalletAccess& access) {
  std::string path = KeystorePath(access);
  absl::StatusOr<std::string> json = ReadSmallFile(path, "wallet");
  if (absl::IsNotFound(json.status())) {
    return absl::NotFoundError(absl::StrCat(
        "no wallet at ", path,
        ": create one with `gnr wallet new`, import one with `gnr wallet import`, or pass "
        "--keystore PATH"));
  }
  if (!json.ok()) return json.status();
  absl::StatusOr<chain::KeystoreInfo> info = chain::ReadKeystoreInfo(*json);
  if (!info.ok()) return Annotate(info.status(), path);
  if (info->address) return *info->address;
  // No address field: the password tells.
  GNR_ASSIGN_OR_RETURN(crypto::PrivateKey key, UnlockWallet(access));
  return crypto::EthereumAddress(key.GetPublicKey());
}

absl::StatusOr<crypto::PrivateKey> UnlockWallet(const WalletAccess& access) {
  std::string path = KeystorePath(access);
  absl::StatusOr<std::string> json = ReadSmallFile(path, "wallet");
  if (absl::IsNotFound(json.status())) {
    return absl::NotFoundError(absl::StrCat(
        "no wallet at ", path,
        ": create one with `gnr wallet new`, import one with `gnr wallet import`, or pass "
        "--keystore PATH"));
  }
  if (!json.ok()) return json.status();
  GNR_ASSIGN_OR_RETURN(std::string password, GetPassword(access, /*confirm=*/false));
  absl::StatusOr<crypto::PrivateKey> key = chain::DecryptKeystore(*json, password);
  if (absl::IsPermissionDenied(key.status())) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot unlock ", path, ": wrong password (or a corrupted keystore)"));
  }
  if (!key.ok()) return Annotate(key.status(), path);
  return key;
}

std::string DefaultRpcUrl() {
  if (absl::StatusOr<Config> config = LoadConfig({}, std::nullopt); config.ok()) {
    return config->String("chain.rpc");
  }
  const char* env = std::getenv("GNR_RPC");
  return env != nullptr && *env != '\0' ? env : "http://127.0.0.1:8545";
}

absl::StatusOr<ChainConnection> ConnectChain(const std::string& url) {
  absl::StatusOr<std::unique_ptr<chain::HttpTransport>> http = chain::HttpTransport::Create(url);
  if (!http.ok()) return Annotate(http.status(), "--rpc");
  ChainConnection c;
  c.client = std::make_unique<chain::JsonRpcClient>(*std::move(http));
  c.eth = std::make_unique<chain::EthRpc>(*c.client);
  return c;
}

absl::StatusOr<AccountBalance> ReadBalance(chain::EthRpc& eth, const crypto::EthAddress& address) {
  chain::LightClient light(eth);
  GNR_ASSIGN_OR_RETURN(chain::BlockHeader header, light.VerifiedHeader(chain::BlockRef::Latest()));
  absl::StatusOr<chain::AccountState> account = light.VerifiedAccount(header, address);
  if (account.ok()) return AccountBalance{account->balance, header.number, true};
  // Unimplemented: the node lacks eth_getProof. DataLoss at block 0: development chains'
  // genesis headers need not commit to their prefunded accounts (anvil's carries the empty
  // state root), so there is nothing to prove against yet.
  bool genesis_quirk = header.number == 0 && absl::IsDataLoss(account.status());
  if (!absl::IsUnimplemented(account.status()) && !genesis_quirk) return account.status();
  GNR_ASSIGN_OR_RETURN(chain::U256 wei,
                       eth.GetBalance(address, chain::BlockRef::Number(header.number)));
  return AccountBalance{wei, header.number, false};
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
      return kExitDataErr;
    case absl::StatusCode::kNotFound:
      return kExitNoInput;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnknown:
      return kExitUnavailable;
    case absl::StatusCode::kPermissionDenied:
      return kExitNoPerm;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return kExitFailure;
    default:
      return kExitSoftware;
  }
}

}  // namespace gnr::tools
