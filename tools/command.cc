#include "tools/command.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/audit_command.h"
#include "tools/config_command.h"
#include "tools/devnet_command.h"
#include "tools/exit_codes.h"
#include "tools/farmer_command.h"
#include "tools/market_command.h"
#include "tools/mount_command.h"
#include "tools/shell_command.h"
#include "tools/version.h"
#include "tools/wallet_command.h"

namespace gnr::tools {
namespace {

constexpr char kOverview[] =
    "gnr — a decentralized drive: files encrypted on this machine, erasure-coded,\n"
    "tagged with secret sentinels and spread over storage farmers.\n";

std::string ProgramHelp() {
  std::string out = absl::StrCat(kOverview, "\nUsage: gnr <command> [args...]\n",
                                 "       gnr-<command> [args...]\n"
                                 "       gnr --version | --help\n\nCommands:\n");
  for (const Command& c : AllCommands()) {
    absl::StrAppend(&out, "  ", c.name,
                    std::string(c.name.size() < 10 ? 10 - c.name.size() : 1, ' '), c.summary, "\n");
  }
  absl::StrAppend(&out,
                  "\nRun `gnr <command> --help` for a command's options.\n"
                  "Exit codes follow sysexits(3): 0 ok, 1 failure, 64 usage, 69 unavailable,\n"
                  "70 internal error, 74 I/O error, 78 configuration error.\n");
  return out;
}

int RunVersion(const std::vector<std::string>& args) {
  bool json = false;
  for (const std::string& a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("%s", FindCommand("version")->usage.c_str());
      return kExitOk;
    } else {
      std::fprintf(stderr, "gnr version: unknown argument '%s' (try --help)\n", a.c_str());
      return kExitUsage;
    }
  }
  if (json) {
    std::printf("{\"version\":\"%s\"}\n", GNR_VERSION);
  } else {
    std::printf("gnr %s\n", GNR_VERSION);
  }
  return kExitOk;
}

}  // namespace

const std::vector<Command>& AllCommands() {
  static const std::vector<Command>* commands = new std::vector<Command>{
      {"version", "print the version",
       "Usage: gnr version [--json]\n\nPrints the version of gnr.\n", RunVersion},
      FarmerCommand(),
      MountCommand(),
      UmountCommand(),
      StatusCommand(),
      LsCommand(),
      PutCommand(),
      GetCommand(),
      RmCommand(),
      WalletCommand(),
      MarketCommand(),
      AuditCommand(),
      ConfigCommand(),
      DevnetCommand(),
  };
  return *commands;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& c : AllCommands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

int Main(int argc, char** argv) {
  std::string_view program = argc > 0 ? argv[0] : "gnr";
  size_t slash = program.rfind('/');
  if (slash != std::string_view::npos) program.remove_prefix(slash + 1);

  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  std::string sub;
  if (program.starts_with("gnr-")) {
    sub = std::string(program.substr(4));
  } else {
    if (args.empty()) {
      std::fprintf(stderr, "%s", ProgramHelp().c_str());
      return kExitUsage;
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      if (args.size() > 1) {
        if (const Command* c = FindCommand(args[1])) {
          std::printf("%s", c->usage.c_str());
          return kExitOk;
        }
      }
      std::printf("%s", ProgramHelp().c_str());
      return kExitOk;
    }
    if (args[0] == "--version" || args[0] == "-V") {
      return RunVersion({});
    }
    sub = args[0];
    args.erase(args.begin());
  }
  const Command* command = FindCommand(sub);
  if (command == nullptr) {
    std::fprintf(stderr, "gnr: unknown command '%s'. Run `gnr --help` for the list.\n",
                 sub.c_str());
    return kExitUsage;
  }
  return command->run(args);
}

}  // namespace gnr::tools
