#pragma once
// The subcommand registry of the `gnr` multi-call binary.
//
// Each subcommand is a function taking its arguments (without the program and subcommand
// names) and returning a process exit code (sysexits(3) values, see tools/exit_codes.h).
// `gnr <sub> args...` and `gnr-<sub> args...` (a symlink to gnr) run the same command.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gnr::tools {

struct Command {
  std::string name;     // "wallet"
  std::string summary;  // one line for `gnr --help`
  std::string usage;    // full text for `gnr <name> --help`
  std::function<int(const std::vector<std::string>& args)> run;
};

// All subcommands, in the order `gnr --help` lists them.
const std::vector<Command>& AllCommands();

// Returns the command called `name`, or nullptr.
const Command* FindCommand(std::string_view name);

// Runs the multi-call binary: dispatches on argv[0] ("gnr-ls" -> "ls") or on argv[1].
int Main(int argc, char** argv);

}  // namespace gnr::tools
