#pragma once
// The user's configuration: every option of the gnr commands that is also a key of
// ~/.config/gnr/config.toml and an environment variable (DESIGN.md section 8).
//
// Precedence, highest first:
//   1. a flag on the command line              source "flag"
//   2. the option's environment variable       source "env GNR_RPC"
//   3. the configuration file                  source "config /home/u/.config/gnr/config.toml:3"
//   4. the built-in default                    source "default"
// An option none of them sets is unset (source "unset").
//
// The file is --config FILE, else $GNR_CONFIG, else $XDG_CONFIG_HOME/gnr/config.toml, else
// ~/.config/gnr/config.toml. A file named by --config or $GNR_CONFIG must exist; the default
// one is optional. It is TOML with one table per command area:
//
//   [chain]
//   rpc = "http://127.0.0.1:8545"
//   [drive]
//   bootstrap = ["tcp://10.0.0.5:7700#5f3a...", "/var/lib/gnr-farmer"]
//   data_shards = 4
//
// Unknown keys are warnings ("FILE:LINE: unknown key ..."), values of the wrong type are
// errors naming the key and line. "~/" at the start of a path in the file means $HOME.
// The full list is ConfigOptions(); man/gnr-config.toml.5 documents it for people.
//
// ResolveConfig() and ParseConfigFile() are pure (no environment, no files) and thread-safe;
// LoadConfig() reads the process environment and the file.
//
// Example, in a command:
//   absl::StatusOr<Config> config = LoadConfig(/*flags=*/{}, config_flag);
//   if (!config.ok()) ... exit kExitConfig
//   std::string rpc = flag_rpc.empty() ? config->String("chain.rpc") : flag_rpc;

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gnr::tools {

enum class ConfigType {
  kString,    // any text
  kPath,      // a file or directory; "~/" expanded in the config file
  kInteger,   // a whole number in [min, max]
  kSize,      // bytes: 1073741824, "1G", "1.5T", "750GB" (net/farmer/byte_size.h); "0" allowed
  kList,      // strings: a TOML array (or one string); comma-separated in the environment
  kLogLevel,  // debug, info, warning, error or off
  kBool,      // true or false (a TOML boolean; "true"/"false" in flags and the environment)
};

struct ConfigOption {
  const char* key;   // "chain.rpc": `rpc = ...` in the [chain] table
  const char* env;   // "GNR_RPC"
  const char* flag;  // "--rpc": the flag the commands take for it
  ConfigType type;
  const char* help;  // one line, for `gnr config show` and the man page
  int64_t min = 0;   // kInteger only
  int64_t max = 0;
};

// Every option, in the order `gnr config show` prints them.
const std::vector<ConfigOption>& ConfigOptions();

// The option called `key` ("drive.bucket"), or nullptr.
const ConfigOption* FindConfigOption(std::string_view key);

// One effective value and where it came from.
struct ConfigValue {
  std::string key;
  std::vector<std::string> values;  // scalars hold at most one; empty when unset
  std::string source;               // "flag", "env GNR_RPC", "config PATH:LINE", "default", "unset"

  bool is_set() const { return !values.empty(); }
  // The (first) value, or "" when unset.
  std::string value() const { return values.empty() ? std::string() : values.front(); }
};

// What a configuration file says about each known key, after type checks.
struct ConfigFile {
  struct Entry {
    std::vector<std::string> values;
    int line = 0;
  };
  std::string path;
  std::map<std::string, Entry> entries;  // by key ("drive.cache_size")
  std::vector<std::string> warnings;     // "PATH:LINE: unknown key 'drive.foo' (ignored)"
};

// Parses the TOML `text` of the file at `path` (used in messages only). InvalidArgument on a
// TOML syntax error ("PATH:LINE:COLUMN: ...") or a value of the wrong type or range
// ("PATH:LINE: drive.data_shards must be an integer in [1, 32], got a string").
absl::StatusOr<ConfigFile> ParseConfigFile(std::string_view text, std::string_view path);

// Everything the resolver looks at.
struct ConfigInputs {
  // Values given as flags, by key; a list option's flag may be repeated.
  std::map<std::string, std::vector<std::string>> flags;
  // The environment: the options' variables, and HOME / XDG_DATA_HOME for the defaults.
  // Empty variables count as unset.
  std::map<std::string, std::string> env;
  // The configuration file, if one was read (not owned; may be null).
  const ConfigFile* file = nullptr;
  // The file consulted, also when it did not exist (shown by `gnr config show`).
  std::string file_path;
};

// The effective configuration.
class Config {
 public:
  // The value of `key`; an unknown key gives an unset value with source "unknown key".
  const ConfigValue& Get(std::string_view key) const;
  // Get(key).value(): the value, or "" when unset.
  std::string String(std::string_view key) const { return Get(key).value(); }
  // Get(key).values.
  const std::vector<std::string>& List(std::string_view key) const { return Get(key).values; }
  // A kBool option: true when its value is "true" (unset: false).
  bool Bool(std::string_view key) const { return Get(key).value() == "true"; }

  // Every option's value, in ConfigOptions() order.
  const std::vector<ConfigValue>& values() const { return values_; }
  // The configuration file consulted (it may not exist), and whether it was read.
  const std::string& file_path() const { return file_path_; }
  bool file_read() const { return file_read_; }
  // Warnings about the file (unknown keys), each "PATH:LINE: ...".
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  friend absl::StatusOr<Config> ResolveConfig(const ConfigInputs& inputs);

  std::vector<ConfigValue> values_;
  std::string file_path_;
  bool file_read_ = false;
  std::vector<std::string> warnings_;
};

// Resolves every option by the precedence above. Flag and environment values are checked
// like the file's: InvalidArgument naming the source, e.g. "GNR_DATA_SHARDS:
// drive.data_shards must be an integer in [1, 32], got \"x\"". Flags for unknown keys are
// InvalidArgument too.
absl::StatusOr<Config> ResolveConfig(const ConfigInputs& inputs);

// Where the configuration file is: `config_flag`, else $GNR_CONFIG, else
// $XDG_CONFIG_HOME/gnr/config.toml, else $HOME/.config/gnr/config.toml (all from `env`).
// `explicit_path` (if not null) is set when the path came from the flag or $GNR_CONFIG.
std::string ConfigFilePath(const std::optional<std::string>& config_flag,
                           const std::map<std::string, std::string>& env,
                           bool* explicit_path = nullptr);

// $XDG_DATA_HOME/gnr, else $HOME/.local/share/gnr (from `env`): where gnr keeps data.
std::string DataHome(const std::map<std::string, std::string>& env);

// The process environment's variables that the configuration reads.
std::map<std::string, std::string> ProcessConfigEnv();

// Reads the process environment and the configuration file (ConfigFilePath) and resolves.
// NotFound when a file named by --config or $GNR_CONFIG does not exist; InvalidArgument for
// bad contents or values; PermissionDenied / Internal when it cannot be read.
absl::StatusOr<Config> LoadConfig(const std::map<std::string, std::vector<std::string>>& flags,
                                  const std::optional<std::string>& config_flag);

// Removes "--config FILE" / "--config=FILE" from `args` (stopping at a "--" argument) and
// returns FILE, or nullopt when absent. InvalidArgument when --config has no value.
absl::StatusOr<std::optional<std::string>> TakeConfigFlag(std::vector<std::string>* args);

// For commands: LoadConfig() with no flags. Prints the file's warnings to stderr as
// "gnr <command>: warning: ...". On error prints "gnr <command>: <message>" and returns
// nullopt: the command should exit with kExitConfig (78).
std::optional<Config> LoadCommandConfig(std::string_view command,
                                        const std::optional<std::string>& config_flag);

}  // namespace gnr::tools
