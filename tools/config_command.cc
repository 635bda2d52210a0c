#include "tools/config_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "tools/config.h"
#include "tools/exit_codes.h"

namespace gnr::tools {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kUsage[] =
    "Usage: gnr config show [--json] [--config FILE] [OPTION VALUE...]\n"
    "       gnr config path [--json] [--config FILE]\n"
    "\n"
    "show  prints every option's effective value and where it came from: a flag, an\n"
    "      environment variable (GNR_RPC, ...), the configuration file (with its line) or the\n"
    "      built-in default. Option flags given here (e.g. --rpc URL, --data-shards 6) are\n"
    "      resolved as a command would resolve them. Unknown keys in the file are warnings.\n"
    "path  prints the configuration file's path (it need not exist).\n"
    "\n"
    "The file is --config FILE, else $GNR_CONFIG, else $XDG_CONFIG_HOME/gnr/config.toml,\n"
    "else ~/.config/gnr/config.toml; see gnr-config.toml(5) for its keys.\n"
    "Precedence: flag > environment variable > configuration file > default.\n"
    "\n"
    "  --config FILE   read FILE instead (it must exist)\n"
    "  --json          machine-readable output\n"
    "\n"
    "Exit status: 0 ok; 64 bad arguments; 78 the file or a value is invalid.\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "gnr config: %s\n(try `gnr config --help`)\n", message.c_str());
  return kExitUsage;
}

struct Flags {
  bool json = false;
  std::map<std::string, std::vector<std::string>> options;  // key -> values
};

// Parses --json and the options' own flags (a flag two options share sets both).
std::optional<std::string> ParseFlags(const std::vector<std::string>& args, bool with_options,
                                      Flags* f) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      f->json = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    if (size_t eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    bool known = false;
    for (const ConfigOption& o : ConfigOptions()) {
      if (!with_options || name != o.flag) continue;
      if (!value.has_value()) {
        if (i + 1 >= args.size()) return name + " needs a value";
        value = args[++i];
      }
      f->options[o.key].push_back(*value);
      known = true;
    }
    if (!known) return "unknown argument '" + a + "'";
  }
  return std::nullopt;
}

std::string FileState(const Config& c) {
  if (c.file_read()) return "";
  struct stat st;
  return stat(c.file_path().c_str(), &st) == 0 ? " (unreadable)" : " (not found: defaults apply)";
}

int RunShow(const std::vector<std::string>& args, const std::optional<std::string>& file) {
  Flags f;
  if (std::optional<std::string> error = ParseFlags(args, /*with_options=*/true, &f)) {
    return UsageError(*error);
  }
  absl::StatusOr<Config> config = LoadConfig(f.options, file);
  if (!config.ok()) {
    std::fprintf(stderr, "gnr config: %s\n", std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  for (const std::string& w : config->warnings()) {
    std::fprintf(stderr, "gnr config: warning: %s\n", w.c_str());
  }
  if (f.json) {
    Json values = Json::object();
    for (const ConfigValue& v : config->values()) {
      const ConfigOption* o = FindConfigOption(v.key);
      Json value = nullptr;
      if (o->type == ConfigType::kList) {
        value = v.values;
      } else if (v.is_set()) {
        value = v.value();
      }
      values[v.key] = {{"value", value}, {"source", v.source}, {"env", o->env}, {"flag", o->flag}};
    }
    Json out{{"config_file", config->file_path()},
             {"config_file_read", config->file_read()},
             {"warnings", config->warnings()},
             {"values", values}};
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("configuration file: %s%s\n\n", config->file_path().c_str(),
              FileState(*config).c_str());
  size_t key_width = 3;
  size_t value_width = 5;
  std::vector<std::string> shown;
  for (const ConfigValue& v : config->values()) {
    std::string text = v.is_set() ? absl::StrJoin(v.values, ", ") : "-";
    if (FindConfigOption(v.key)->type == ConfigType::kList && v.is_set()) {
      text = absl::StrCat("[", text, "]");
    }
    key_width = std::max(key_width, v.key.size());
    value_width = std::max(value_width, text.size());
    shown.push_back(text);
  }
  value_width = std::min<size_t>(value_width, 48);
  std::printf("%-*s  %-*s  %s\n", static_cast<int>(key_width), "KEY", static_cast<int>(value_width),
              "VALUE", "SOURCE");
  for (size_t i = 0; i < shown.size(); ++i) {
    const ConfigValue& v = config->values()[i];
    std::printf("%-*s  %-*s  %s\n", static_cast<int>(key_width), v.key.c_str(),
                static_cast<int>(value_width), shown[i].c_str(), v.source.c_str());
  }
  return kExitOk;
}

int RunPath(const std::vector<std::string>& args, const std::optional<std::string>& file) {
  Flags f;
  if (std::optional<std::string> error = ParseFlags(args, /*with_options=*/false, &f)) {
    return UsageError(*error);
  }
  bool explicit_path = false;
  std::string path = ConfigFilePath(file, ProcessConfigEnv(), &explicit_path);
  struct stat st;
  bool exists = stat(path.c_str(), &st) == 0;
  if (f.json) {
    Json out{{"path", path}, {"exists", exists}, {"explicit", explicit_path}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s\n", path.c_str());
  }
  return kExitOk;
}

int RunConfig(const std::vector<std::string>& in) {
  std::vector<std::string> args = in;
  if (args.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return kExitUsage;
  }
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h" || a == "help") {
      std::printf("%s", kUsage);
      return kExitOk;
    }
  }
  absl::StatusOr<std::optional<std::string>> file = TakeConfigFlag(&args);
  if (!file.ok()) return UsageError(std::string(file.status().message()));
  if (args.empty()) return UsageError("expected `show` or `path`");
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "show") return RunShow(rest, *file);
  if (args[0] == "path") return RunPath(rest, *file);
  return UsageError("unknown subcommand '" + args[0] + "' (expected show or path)");
}

}  // namespace

Command ConfigCommand() {
  return {"config", "show the effective configuration and where each value comes from", kUsage,
          RunConfig};
}

}  // namespace gnr::tools
