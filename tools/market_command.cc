// `gnr market`: the storage market's special transactions from the command line.
#include "tools/market_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/random.h"
#include "nlohmann/json.hpp"
#include "tools/config.h"
#include "tools/exit_codes.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::ordered_json;
using chain::U256;

constexpr char kUsage[] =
    "Usage: gnr market <subcommand> [options]\n"
    "\n"
    "Buys space and traffic, and stakes for farming, with special transactions sent from\n"
    "your wallet to the StorageMarket contract (Genaro's types in brackets).\n"
    "\n"
    "  stake AMOUNT            add AMOUNT ETH (e.g. 1.5) to your stake [1]\n"
    "  buy-space --size GB --days N [--backup N] [--bucket ID] [--start UNIX]\n"
    "                          buy a bucket of GB gigabytes for N days from now (or UNIX),\n"
    "                          kept in N copies (default 3); ID is 64 hex digits (default:\n"
    "                          random) [3]\n"
    "  buy-traffic --gb N      buy N GB of download traffic [4]\n"
    "  bind-node --node-key FILE\n"
    "                          bind a farmer node to your stake; FILE is its node key (64\n"
    "                          hex digits, as `gnr farmer run` writes to DIR/node.key) [8]\n"
    "  unbind-node (--node-id ID | --node-key FILE)\n"
    "                          unbind a node you bound [14]\n"
    "  unstake (AMOUNT | --all)\n"
    "                          start releasing AMOUNT ETH of stake (unbind nodes first) [11]\n"
    "  unstake --withdraw      pay out released stake once the unstake delay has passed\n"
    "  supplement --bucket ID [--add-gb GB] [--add-days N]\n"
    "                          grow or extend one of your buckets before it expires [41]\n"
    "  status [--address ADDRESS]\n"
    "                          stake, nodes, heft, committee points, traffic, buckets and\n"
    "                          prices of your wallet (or of ADDRESS); no password needed\n"
    "  deploy                  deploy a new StorageMarket contract (for development chains);\n"
    "                          your wallet becomes its owner\n"
    "\n"
    "Options for every subcommand:\n"
    "  --rpc URL               the chain's JSON-RPC endpoint (default $GNR_RPC, chain.rpc\n"
    "                          in the config, else http://127.0.0.1:8545)\n"
    "  --contract ADDRESS      the StorageMarket contract (default $GNR_MARKET_CONTRACT or\n"
    "                          chain.contract in the config)\n"
    "  --keystore PATH         your wallet (default $GNR_KEYSTORE, chain.keystore in the\n"
    "                          config, else ~/.local/share/gnr/wallet.json)\n"
    "  --password-file FILE    the wallet password's file (else $GNR_PASSWORD_FILE,\n"
    "                          $GNR_PASSWORD, chain.password_file in the config, or a prompt)\n"
    "  --config FILE           configuration file (default ~/.config/gnr/config.toml)\n"
    "  --json                  machine-readable output\n"
    "\n"
    "Payments are the contract's own quote, read just before sending; refusals print the\n"
    "contract's reason (e.g. \"stake below minimum\") and exit with 1.\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "gnr market: %s\n(try `gnr market --help`)\n", message.c_str());
  return kExitUsage;
}

int Failure(const absl::Status& status, int code = -1) {
  std::fprintf(stderr, "gnr market: %s\n", std::string(status.message()).c_str());
  if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
    std::fprintf(stderr,
                 "(start a local chain with `gnr devnet up`, or pass --rpc URL / set GNR_RPC)\n");
  }
  return code >= 0 ? code : ExitCodeFor(status);
}

// ---- Flags ----------------------------------------------------------------------------------

const std::set<std::string>& ValueFlags() {
  static const std::set<std::string>* flags = new std::set<std::string>{
      "--rpc",      "--contract", "--keystore", "--password-file", "--size",
      "--days",     "--backup",   "--bucket",   "--start",         "--gb",
      "--node-key", "--node-id",  "--add-gb",   "--add-days",      "--address"};
  return *flags;
}

// The value and boolean flags each subcommand accepts, besides the common ones.
const std::map<std::string, std::set<std::string>>& SubcommandFlags() {
  static const auto* flags = new std::map<std::string, std::set<std::string>>{
      {"stake", {}},
      {"buy-space", {"--size", "--days", "--backup", "--bucket", "--start"}},
      {"buy-traffic", {"--gb"}},
      {"bind-node", {"--node-key"}},
      {"unbind-node", {"--node-id", "--node-key"}},
      {"unstake", {"--all", "--withdraw"}},
      {"supplement", {"--bucket", "--add-gb", "--add-days"}},
      {"status", {"--address"}},
      {"deploy", {}},
  };
  return *flags;
}

struct Flags {
  std::string sub;
  WalletAccess access;  // access, rpc and contract: from the configuration, then flags
  std::string rpc;
  std::string contract;
  bool json = false;
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  std::vector<std::string> positional;

  std::optional<std::string> Value(const std::string& flag) const {
    auto it = values.find(flag);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  bool Has(const std::string& flag) const { return switches.contains(flag); }
};

std::optional<std::string> ParseFlags(const std::vector<std::string>& args, Flags* f) {
  f->sub = args[0];
  auto sub = SubcommandFlags().find(f->sub);
  if (sub == SubcommandFlags().end()) {
    return "unknown subcommand '" + f->sub +
           "' (stake, buy-space, buy-traffic, bind-node, unbind-node, unstake, supplement, "
           "status or deploy)";
  }
  const std::set<std::string> common = {"--rpc", "--contract", "--keystore", "--password-file"};
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--json") {
      f->json = true;
      continue;
    }
    if (!a.starts_with("--")) {
      f->positional.push_back(a);
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (!common.contains(name) && !sub->second.contains(name)) {
      return "unknown option '" + name + "' for `gnr market " + f->sub + "`";
    }
    if (!ValueFlags().contains(name)) {
      if (value) return "option '" + name + "' takes no value";
      f->switches.insert(name);
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return "option '" + name + "' needs a value";
      value = args[++i];
    }
    if (name == "--rpc") {
      f->rpc = *value;
    } else if (name == "--contract") {
      f->contract = *value;
    } else if (name == "--keystore") {
      f->access.keystore_path = *value;
    } else if (name == "--password-file") {
      f->access.password_file = *value;
    } else {
      f->values[name] = *value;
    }
  }
  return std::nullopt;
}

absl::StatusOr<uint64_t> ParseCount(const Flags& f, const std::string& flag, bool required,
                                    uint64_t fallback = 0) {
  std::optional<std::string> v = f.Value(flag);
  if (!v) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("missing ", flag));
    return fallback;
  }
  uint64_t out = 0;
  if (!absl::SimpleAtoi(*v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be a whole number, got '", *v, "'"));
  }
  return out;
}

absl::StatusOr<chain::BucketId> ParseBucketId(const std::string& text) {
  absl::StatusOr<chain::BucketId> id = HexDecodeFixed<32>(text);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bucket id must be 64 hex digits, got '", text, "'"));
  }
  return *id;
}

absl::StatusOr<crypto::PrivateKey> ReadNodeKey(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read node key ", path, " (the farmer writes it to DIR/node.key)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string hex(absl::StripAsciiWhitespace(text.str()));
  absl::StatusOr<FixedBytes<32>> bytes = HexDecodeFixed<32>(hex);
  absl::StatusOr<crypto::PrivateKey> key = bytes.ok()
                                               ? crypto::PrivateKey::FromBytes(*bytes)
                                               : absl::StatusOr<crypto::PrivateKey>(bytes.status());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a node key (64 hex digits): ", key.status().message()));
  }
  return key;
}

std::string Eth(const U256& wei) { return chain::FormatUnits(wei) + " ETH"; }
std::string Addr(const crypto::EthAddress& a) { return crypto::EthAddressToChecksumHex(a); }
std::string When(uint64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

Json TxJson(const chain::RpcReceipt& r) {
  return Json{{"transaction", HexEncode0x(r.transaction_hash)},
              {"block", r.block_number},
              {"gas_used", r.gas_used}};
}

std::string TxLine(const chain::RpcReceipt& r) {
  return absl::StrCat("(transaction ", HexEncode0x(r.transaction_hash), " in block ",
                      r.block_number, ")");
}

// ---- The connection to the chain, the contract and the wallet -------------------------------

struct Session {
  ChainConnection chain;
  std::optional<chain::StorageMarket> market;
  std::unique_ptr<chain::NonceManager> nonces;
  std::unique_ptr<chain::TxSender> sender;
};

// Errors come back as the exit code to return.
struct SessionError {
  absl::Status status;
  int exit_code;
};

std::variant<std::unique_ptr<Session>, SessionError> Open(const Flags& f, bool need_contract,
                                                          bool need_sender) {
  auto s = std::make_unique<Session>();
  absl::StatusOr<ChainConnection> chain = ConnectChain(f.rpc);
  if (!chain.ok()) return SessionError{chain.status(), kExitUsage};
  s->chain = *std::move(chain);
  if (need_contract) {
    if (f.contract.empty()) {
      return SessionError{
          absl::FailedPreconditionError(
              "which StorageMarket? Pass --contract ADDRESS, set GNR_MARKET_CONTRACT or put "
              "contract = \"0x...\" in the [chain] table of the config file (on a "
              "development chain, `gnr market deploy` creates one)"),
          kExitConfig};
    }
    absl::StatusOr<crypto::EthAddress> address = crypto::ParseEthAddress(f.contract);
    if (!address.ok()) {
      return SessionError{Annotate(address.status(), "--contract"), kExitUsage};
    }
    absl::StatusOr<chain::StorageMarket> market = chain::StorageMarket::At(*s->chain.eth, *address);
    if (!market.ok()) {
      return SessionError{market.status(), absl::IsNotFound(market.status())
                                               ? kExitConfig
                                               : ExitCodeFor(market.status())};
    }
    s->market.emplace(*std::move(market));
  }
  if (need_sender) {
    absl::StatusOr<crypto::PrivateKey> key = UnlockWallet(f.access);
    if (!key.ok()) {
      return SessionError{key.status(), absl::IsInvalidArgument(key.status())
                                            ? kExitUsage
                                            : ExitCodeFor(key.status())};
    }
    s->nonces = std::make_unique<chain::NonceManager>(*s->chain.eth);
    absl::StatusOr<std::unique_ptr<chain::TxSender>> sender =
        chain::TxSender::Create(*s->chain.eth, *s->nonces, *key, SystemClockInstance());
    if (!sender.ok()) return SessionError{sender.status(), ExitCodeFor(sender.status())};
    s->sender = *std::move(sender);
  }
  return s;
}

void Print(const Flags& f, const Json& json, const std::string& human) {
  if (f.json) {
    std::printf("%s\n", json.dump().c_str());
  } else {
    std::printf("%s\n", human.c_str());
  }
}

// ---- Subcommands ----------------------------------------------------------------------------

int RunDeploy(const Flags& f, Session& s) {
  absl::StatusOr<chain::StorageMarket> market =
      chain::StorageMarket::Deploy(*s.sender, *s.chain.eth);
  if (!market.ok()) return Failure(market.status());
  std::string address = Addr(market->address());
  Print(f, Json{{"contract", address}, {"owner", Addr(s.sender->address())}},
        absl::StrCat("Deployed StorageMarket at ", address, "\nowner and heft oracle: ",
                     Addr(s.sender->address()), "\nUse it with --contract ", address,
                     " or export GNR_MARKET_CONTRACT=", address));
  return kExitOk;
}

int RunStake(const Flags& f, Session& s) {
  if (f.positional.size() != 1) return UsageError("stake needs one AMOUNT in ETH, e.g. 1.5");
  absl::StatusOr<U256> amount = chain::ParseUnits(f.positional[0]);
  if (!amount.ok()) return UsageError("AMOUNT: " + std::string(amount.status().message()));
  auto r = s.market->Stake(*s.sender, *amount);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["staker"] = Addr(r->event.staker);
  j["amount_wei"] = r->event.amount.ToDecimal();
  j["stake_wei"] = r->event.new_stake.ToDecimal();
  Print(f, j,
        absl::StrCat("Staked ", Eth(r->event.amount), "; your stake is now ",
                     Eth(r->event.new_stake), " ", TxLine(r->receipt)));
  return kExitOk;
}

absl::StatusOr<uint64_t> ChainTime(chain::EthRpc& eth) {
  GNR_ASSIGN_OR_RETURN(chain::RpcBlock b, eth.GetBlockByNumber(chain::BlockRef::Latest()));
  return b.header.header.timestamp;
}

int RunBuySpace(const Flags& f, Session& s) {
  absl::StatusOr<uint64_t> size = ParseCount(f, "--size", true);
  absl::StatusOr<uint64_t> days = ParseCount(f, "--days", true);
  absl::StatusOr<uint64_t> backup = ParseCount(f, "--backup", false, 3);
  for (const absl::Status& st : {size.status(), days.status(), backup.status()}) {
    if (!st.ok()) return UsageError(std::string(st.message()));
  }
  if (*size == 0 || *days == 0) return UsageError("--size and --days must be at least 1");
  if (*backup > 255) return UsageError("--backup must be at most 255");
  chain::BucketSpec spec;
  if (std::optional<std::string> id = f.Value("--bucket")) {
    absl::StatusOr<chain::BucketId> parsed = ParseBucketId(*id);
    if (!parsed.ok()) return UsageError(std::string(parsed.status().message()));
    spec.bucket_id = *parsed;
  } else {
    spec.bucket_id = crypto::OsRandom().Generate<32>();
  }
  if (f.Value("--start")) {
    absl::StatusOr<uint64_t> start = ParseCount(f, "--start", true);
    if (!start.ok()) return UsageError(std::string(start.status().message()));
    spec.start = *start;
  } else {
    absl::StatusOr<uint64_t> now = ChainTime(*s.chain.eth);
    if (!now.ok()) return Failure(now.status());
    spec.start = *now;
  }
  spec.size_gb = *size;
  spec.end = spec.start + *days * 86400;
  spec.backup = static_cast<uint8_t>(*backup);
  auto r = s.market->BuyBucketSpace(*s.sender, spec);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["bucket_id"] = HexEncode(r->event.bucket_id);
  j["owner"] = Addr(r->event.owner);
  j["size_gb"] = r->event.size_gb;
  j["start"] = r->event.start;
  j["end"] = r->event.end;
  j["backup"] = r->event.backup;
  j["cost_wei"] = r->event.cost.ToDecimal();
  Print(f, j,
        absl::StrCat("Bought bucket ", HexEncode(r->event.bucket_id), ": ", r->event.size_gb,
                     " GB in ", r->event.backup, " copies until ", When(r->event.end), " for ",
                     Eth(r->event.cost), " ", TxLine(r->receipt)));
  return kExitOk;
}

int RunBuyTraffic(const Flags& f, Session& s) {
  absl::StatusOr<uint64_t> gb = ParseCount(f, "--gb", true);
  if (!gb.ok()) return UsageError(std::string(gb.status().message()));
  if (*gb == 0) return UsageError("--gb must be at least 1");
  auto r = s.market->BuyTraffic(*s.sender, *gb);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["buyer"] = Addr(r->event.buyer);
  j["gb"] = r->event.gb;
  j["traffic_gb"] = r->event.new_traffic_gb;
  j["cost_wei"] = r->event.cost.ToDecimal();
  Print(f, j,
        absl::StrCat("Bought ", r->event.gb, " GB of traffic for ", Eth(r->event.cost),
                     "; you have ", r->event.new_traffic_gb, " GB ", TxLine(r->receipt)));
  return kExitOk;
}

int RunBindNode(const Flags& f, Session& s) {
  std::optional<std::string> path = f.Value("--node-key");
  if (!path) return UsageError("bind-node needs --node-key FILE");
  absl::StatusOr<crypto::PrivateKey> node_key = ReadNodeKey(*path);
  if (!node_key.ok()) return Failure(node_key.status());
  auto r = s.market->BindNode(*s.sender, *node_key);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["staker"] = Addr(r->event.staker);
  j["node_id"] = HexEncode(r->event.node_id);
  Print(f, j,
        absl::StrCat("Bound node ", HexEncode(r->event.node_id), " to ", Addr(r->event.staker), " ",
                     TxLine(r->receipt)));
  return kExitOk;
}

int RunUnbindNode(const Flags& f, Session& s) {
  chain::NodeId id{};
  if (std::optional<std::string> text = f.Value("--node-id")) {
    absl::StatusOr<chain::NodeId> parsed = HexDecodeFixed<20>(*text);
    if (!parsed.ok()) return UsageError("--node-id must be 40 hex digits, got '" + *text + "'");
    id = *parsed;
  } else if (std::optional<std::string> path = f.Value("--node-key")) {
    absl::StatusOr<crypto::PrivateKey> key = ReadNodeKey(*path);
    if (!key.ok()) return Failure(key.status());
    id = crypto::NodeIdOf(key->GetPublicKey());
  } else {
    return UsageError("unbind-node needs --node-id ID or --node-key FILE");
  }
  auto r = s.market->UnbindNode(*s.sender, id);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["staker"] = Addr(r->event.staker);
  j["node_id"] = HexEncode(r->event.node_id);
  Print(f, j, absl::StrCat("Unbound node ", HexEncode(r->event.node_id), " ", TxLine(r->receipt)));
  return kExitOk;
}

int RunUnstake(const Flags& f, Session& s) {
  if (f.Has("--withdraw")) {
    if (!f.positional.empty() || f.Has("--all")) {
      return UsageError("unstake --withdraw takes no AMOUNT");
    }
    auto r = s.market->WithdrawUnstaked(*s.sender);
    if (!r.ok()) return Failure(r.status());
    Json j = TxJson(r->receipt);
    j["amount_wei"] = r->event.amount.ToDecimal();
    Print(f, j, absl::StrCat("Withdrew ", Eth(r->event.amount), " ", TxLine(r->receipt)));
    return kExitOk;
  }
  U256 amount;
  if (f.Has("--all")) {
    if (!f.positional.empty()) return UsageError("give AMOUNT or --all, not both");
    absl::StatusOr<U256> stake = s.market->StakeOf(s.sender->address());
    if (!stake.ok()) return Failure(stake.status());
    if (stake->IsZero()) {
      return Failure(absl::FailedPreconditionError("you have no stake to unstake"));
    }
    amount = *stake;
  } else {
    if (f.positional.size() != 1) return UsageError("unstake needs AMOUNT in ETH or --all");
    absl::StatusOr<U256> parsed = chain::ParseUnits(f.positional[0]);
    if (!parsed.ok()) return UsageError("AMOUNT: " + std::string(parsed.status().message()));
    amount = *parsed;
  }
  auto r = s.market->Unstake(*s.sender, amount);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["amount_wei"] = r->event.amount.ToDecimal();
  j["pending_wei"] = r->event.pending_amount.ToDecimal();
  j["release_at"] = r->event.release_at;
  Print(f, j,
        absl::StrCat("Unstaking ", Eth(r->event.amount), "; ", Eth(r->event.pending_amount),
                     " can be withdrawn from ", When(r->event.release_at),
                     " with `gnr market unstake --withdraw` ", TxLine(r->receipt)));
  return kExitOk;
}

int RunSupplement(const Flags& f, Session& s) {
  std::optional<std::string> text = f.Value("--bucket");
  if (!text) return UsageError("supplement needs --bucket ID");
  absl::StatusOr<chain::BucketId> id = ParseBucketId(*text);
  if (!id.ok()) return UsageError(std::string(id.status().message()));
  absl::StatusOr<uint64_t> add_gb = ParseCount(f, "--add-gb", false);
  absl::StatusOr<uint64_t> add_days = ParseCount(f, "--add-days", false);
  for (const absl::Status& st : {add_gb.status(), add_days.status()}) {
    if (!st.ok()) return UsageError(std::string(st.message()));
  }
  if (*add_gb == 0 && *add_days == 0) return UsageError("give --add-gb GB and/or --add-days N");
  auto r = s.market->BucketSupplement(*s.sender, *id, *add_gb, *add_days);
  if (!r.ok()) return Failure(r.status());
  Json j = TxJson(r->receipt);
  j["bucket_id"] = HexEncode(r->event.bucket_id);
  j["size_gb"] = r->event.new_size_gb;
  j["end"] = r->event.new_end;
  j["cost_wei"] = r->event.cost.ToDecimal();
  Print(f, j,
        absl::StrCat("Bucket ", HexEncode(r->event.bucket_id), " now holds ", r->event.new_size_gb,
                     " GB until ", When(r->event.new_end), "; paid ", Eth(r->event.cost), " ",
                     TxLine(r->receipt)));
  return kExitOk;
}

// What can be checked before connecting and asking for the password.
std::optional<std::string> Precheck(const Flags& f) {
  bool takes_amount = f.sub == "stake" || f.sub == "unstake";
  if (!takes_amount && !f.positional.empty()) {
    return "unexpected argument '" + f.positional[0] + "'";
  }
  if (f.positional.size() > 1) return "unexpected argument '" + f.positional[1] + "'";
  auto require = [&](const char* flag) -> std::optional<std::string> {
    if (f.Value(flag)) return std::nullopt;
    return absl::StrCat(f.sub, " needs ", flag);
  };
  for (const char* flag :
       {"--size", "--days", "--backup", "--start", "--gb", "--add-gb", "--add-days"}) {
    absl::StatusOr<uint64_t> v = ParseCount(f, flag, false);
    if (!v.ok()) return std::string(v.status().message());
  }
  if (std::optional<std::string> id = f.Value("--bucket")) {
    absl::StatusOr<chain::BucketId> parsed = ParseBucketId(*id);
    if (!parsed.ok()) return std::string(parsed.status().message());
  }
  if (f.sub == "stake" && f.positional.size() != 1) return "stake needs AMOUNT in ETH, e.g. 1.5";
  if (f.sub == "buy-space") {
    if (auto e = require("--size")) return e;
    if (auto e = require("--days")) return e;
  }
  if (f.sub == "buy-traffic") return require("--gb");
  if (f.sub == "bind-node") return require("--node-key");
  if (f.sub == "unbind-node" && !f.Value("--node-id") && !f.Value("--node-key")) {
    return "unbind-node needs --node-id ID or --node-key FILE";
  }
  if (f.sub == "unstake" && f.positional.empty() && !f.Has("--all") && !f.Has("--withdraw")) {
    return "unstake needs AMOUNT in ETH, --all or --withdraw";
  }
  if (f.sub == "supplement") {
    if (auto e = require("--bucket")) return e;
    if (!f.Value("--add-gb") && !f.Value("--add-days"))
      return "give --add-gb GB and/or --add-days N";
  }
  return std::nullopt;
}

// Fixed-point 1e18 as a decimal ("0.8").
std::string Points(const U256& scaled) { return chain::FormatUnits(scaled, 18); }

absl::Status ShowStatus(const Flags& f, Session& s) {
  crypto::EthAddress who{};
  if (std::optional<std::string> a = f.Value("--address")) {
    GNR_ASSIGN_OR_RETURN(who, crypto::ParseEthAddress(*a));
  } else {
    GNR_ASSIGN_OR_RETURN(who, WalletAddress(f.access));
  }
  const chain::StorageMarket& m = *s.market;
  GNR_ASSIGN_OR_RETURN(AccountBalance balance, ReadBalance(*s.chain.eth, who));
  GNR_ASSIGN_OR_RETURN(uint64_t now, ChainTime(*s.chain.eth));
  GNR_ASSIGN_OR_RETURN(U256 stake, m.StakeOf(who));
  GNR_ASSIGN_OR_RETURN(chain::PendingUnstake pending, m.PendingUnstakeOf(who));
  GNR_ASSIGN_OR_RETURN(U256 heft, m.HeftOf(who));
  GNR_ASSIGN_OR_RETURN(U256 points, m.CommitteePoints(who));
  GNR_ASSIGN_OR_RETURN(uint64_t traffic, m.TrafficOf(who));
  GNR_ASSIGN_OR_RETURN(std::vector<chain::NodeId> nodes, m.NodesOf(who));
  GNR_ASSIGN_OR_RETURN(uint64_t max_nodes, m.MaxNodesOf(who));
  GNR_ASSIGN_OR_RETURN(std::vector<chain::BucketId> bucket_ids, m.BucketsOf(who));
  GNR_ASSIGN_OR_RETURN(chain::MarketPrices prices, m.Prices());
  std::vector<chain::BucketInfo> buckets;
  for (const chain::BucketId& id : bucket_ids) {
    GNR_ASSIGN_OR_RETURN(chain::BucketInfo b, m.Bucket(id));
    buckets.push_back(b);
  }

  if (f.json) {
    Json j{{"contract", Addr(m.address())},
           {"address", Addr(who)},
           {"block", balance.block},
           {"chain_time", now},
           {"balance_wei", balance.wei.ToDecimal()},
           {"balance_verified", balance.verified},
           {"stake_wei", stake.ToDecimal()},
           {"pending_unstake",
            {{"amount_wei", pending.amount.ToDecimal()}, {"release_at", pending.release_at}}},
           {"heft", heft.ToDecimal()},
           {"committee_points", Points(points)},
           {"traffic_gb", traffic},
           {"max_nodes", max_nodes}};
    Json node_list = Json::array();
    for (const chain::NodeId& n : nodes) node_list.push_back(HexEncode(n));
    j["nodes"] = std::move(node_list);
    Json bucket_list = Json::array();
    for (size_t i = 0; i < buckets.size(); ++i) {
      const chain::BucketInfo& b = buckets[i];
      bucket_list.push_back(Json{{"bucket_id", HexEncode(bucket_ids[i])},
                                 {"size_gb", b.size_gb},
                                 {"used_bytes", b.used_bytes},
                                 {"start", b.start},
                                 {"end", b.end},
                                 {"backup", b.backup},
                                 {"expired", now >= b.end}});
    }
    j["buckets"] = std::move(bucket_list);
    j["prices"] = Json{{"price_per_gb_day_wei", prices.price_per_gb_day.ToDecimal()},
                       {"price_per_gb_traffic_wei", prices.price_per_gb_traffic.ToDecimal()},
                       {"min_stake_wei", prices.min_stake.ToDecimal()},
                       {"stake_per_node_wei", prices.stake_per_node.ToDecimal()},
                       {"unstake_delay_seconds", prices.unstake_delay}};
    std::printf("%s\n", j.dump().c_str());
    return absl::OkStatus();
  }

  std::string out = absl::StrCat("Account      ", Addr(who), "\n", "Balance      ",
                                 Eth(balance.wei), balance.verified ? "" : " (unverified)",
                                 " at block ", balance.block, "\n", "Stake        ", Eth(stake),
                                 " (allows ", max_nodes, " nodes, ", nodes.size(), " bound)\n");
  if (!pending.amount.IsZero()) {
    absl::StrAppend(&out, "Unstaking    ", Eth(pending.amount),
                    now >= pending.release_at ? ", withdrawable now"
                                              : ", withdrawable from " + When(pending.release_at),
                    "\n");
  }
  absl::StrAppend(&out, "Heft         ", heft.ToDecimal(), " (committee points ", Points(points),
                  ")\n", "Traffic      ", traffic, " GB\n");
  for (const chain::NodeId& n : nodes) absl::StrAppend(&out, "Node         ", HexEncode(n), "\n");
  absl::StrAppend(&out, "Buckets      ", buckets.size(), "\n");
  for (size_t i = 0; i < buckets.size(); ++i) {
    const chain::BucketInfo& b = buckets[i];
    absl::StrAppend(&out, "  ", HexEncode(bucket_ids[i]), "\n    ", b.size_gb, " GB, ",
                    b.used_bytes, " bytes used, ", static_cast<int>(b.backup), " copies, ",
                    now >= b.end ? "expired " : "until ", When(b.end), "\n");
  }
  absl::StrAppend(&out, "Prices       space ", Eth(prices.price_per_gb_day),
                  " per GB-day, traffic ", Eth(prices.price_per_gb_traffic), " per GB\n",
                  "             stake at least ", Eth(prices.min_stake), ", ",
                  Eth(prices.stake_per_node), " per node, unstake delay ",
                  prices.unstake_delay / 3600.0, " h\n");
  std::printf("%s", out.c_str());
  return absl::OkStatus();
}

int RunMarket(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  absl::StatusOr<std::optional<std::string>> config_file = TakeConfigFlag(&args);
  if (!config_file.ok()) return UsageError(std::string(config_file.status().message()));
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fprintf(args.empty() ? stderr : stdout, "%s", kUsage);
    return args.empty() ? kExitUsage : kExitOk;
  }
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return kExitOk;
    }
  }
  std::optional<Config> config = LoadCommandConfig("market", *config_file);
  if (!config) return kExitConfig;
  Flags f;
  f.access = WalletAccessFromConfig(*config);
  f.rpc = config->String("chain.rpc");
  f.contract = config->String("chain.contract");
  if (std::optional<std::string> error = ParseFlags(args, &f)) return UsageError(*error);
  if (std::optional<std::string> error = Precheck(f)) return UsageError(*error);
  bool is_status = f.sub == "status";
  auto opened = Open(f, /*need_contract=*/f.sub != "deploy", /*need_sender=*/!is_status);
  if (auto* error = std::get_if<SessionError>(&opened)) {
    return Failure(error->status, error->exit_code);
  }
  Session& s = *std::get<std::unique_ptr<Session>>(opened);
  if (f.sub == "deploy") return RunDeploy(f, s);
  if (f.sub == "stake") return RunStake(f, s);
  if (f.sub == "buy-space") return RunBuySpace(f, s);
  if (f.sub == "buy-traffic") return RunBuyTraffic(f, s);
  if (f.sub == "bind-node") return RunBindNode(f, s);
  if (f.sub == "unbind-node") return RunUnbindNode(f, s);
  if (f.sub == "unstake") return RunUnstake(f, s);
  if (f.sub == "supplement") return RunSupplement(f, s);
  absl::Status status = ShowStatus(f, s);
  return status.ok() ? kExitOk : Failure(status);
}

}  // namespace

Command MarketCommand() {
  return {"market", "buy space and traffic, stake and bind farmer nodes (special transactions)",
          kUsage, RunMarket};
}

}  // namespace gnr::tools
