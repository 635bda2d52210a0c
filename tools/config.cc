#include "tools/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "net/farmer/byte_size.h"
#include "toml++/toml.h"

namespace gnr::tools {
namespace {

using Values = std::vector<std::string>;

// Quotes a value for a message: "x".
std::string Quoted(std::string_view v) { return absl::StrCat("\"", std::string(v), "\""); }

std::string Lookup(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string TypeName(const ConfigOption& o) {
  switch (o.type) {
    case ConfigType::kString:
      return "a string";
    case ConfigType::kPath:
      return "a path (string)";
    case ConfigType::kInteger:
      return absl::StrCat("an integer in [", o.min, ", ", o.max, "]");
    case ConfigType::kSize:
      return "a size (bytes, or a string like \"1G\")";
    case ConfigType::kList:
      return "a list of strings";
    case ConfigType::kLogLevel:
      return "one of \"debug\", \"info\", \"warning\", \"error\", \"off\"";
    case ConfigType::kBool:
      return "true or false";
  }
  return "a value";
}

// Checks one textual value of `o` (from a flag, the environment or a file string). Returns
// the error text (without the source) or nullopt.
std::optional<std::string> CheckValue(const ConfigOption& o, const std::string& v) {
  std::string bad = absl::StrCat(o.key, " must be ", TypeName(o), ", got ", Quoted(v));
  switch (o.type) {
    case ConfigType::kString:
    case ConfigType::kList:
      return std::nullopt;
    case ConfigType::kPath:
      if (v.empty()) return absl::StrCat(o.key, " must be a path, got an empty string");
      return std::nullopt;
    case ConfigType::kInteger: {
      if (v.empty() || v.size() > 18) return bad;
      size_t i = v[0] == '-' ? 1 : 0;
      if (i == v.size()) return bad;
      for (; i < v.size(); ++i) {
        if (v[i] < '0' || v[i] > '9') return bad;
      }
      int64_t n = std::strtoll(v.c_str(), nullptr, 10);
      if (n < o.min || n > o.max) return bad;
      return std::nullopt;
    }
    case ConfigType::kSize: {
      if (v == "0") return std::nullopt;
      absl::StatusOr<uint64_t> n = farmer::ParseByteSize(v);
      if (!n.ok()) return absl::StrCat(bad, " (", std::string(n.status().message()), ")");
      return std::nullopt;
    }
    case ConfigType::kBool:
      if (v != "true" && v != "false") return bad;
      return std::nullopt;
    case ConfigType::kLogLevel: {
      LogLevel level;
      if (!ParseLogLevel(v, &level)) return bad;
      return std::nullopt;
    }
  }
  return bad;
}

// "~" or "~/x" -> $HOME, $HOME/x (config file paths only: the shell does it for the rest).
std::string ExpandHome(const std::string& v, const std::map<std::string, std::string>& env) {
  std::string home = Lookup(env, "HOME");
  if (home.empty()) return v;
  if (v == "~") return home;
  if (v.starts_with("~/")) return absl::StrCat(home, v.substr(1));
  return v;
}

// The built-in default of `o`, or an empty list.
Values DefaultOf(const ConfigOption& o, const std::map<std::string, std::string>& env) {
  std::string key = o.key;
  std::string data = DataHome(env);
  if (key == "chain.rpc") return {"http://127.0.0.1:8545"};
  if (key == "chain.keystore") return {absl::StrCat(data, "/wallet.json")};
  if (key == "drive.state") return {absl::StrCat(data, "/volumes/default")};
  if (key == "drive.data_shards") return {"4"};
  if (key == "drive.parity_shards") return {"2"};
  if (key == "drive.cache_size") return {"1G"};
  if (key == "farmer.data") return {absl::StrCat(data, "/farmer")};
  if (key == "farmer.listen") return {"tcp://127.0.0.1:0"};
  if (key == "drive.upload_while_writing") return {"true"};
  if (key == "farmer.verify_reads") return {"false"};
  if (key == "log.level") return {"info"};
  return {};
}

// One TOML node as the strings of option `o`, or the error text.
absl::StatusOr<Values> FromToml(const ConfigOption& o, const toml::node& node,
                                const std::string& where) {
  auto wrong = [&](std::string_view got) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", o.key, " must be ", TypeName(o), ", got ", std::string(got)));
  };
  auto type_of = [](const toml::node& n) -> std::string {
    switch (n.type()) {
      case toml::node_type::table:
        return "a table";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      default:
        return "a date/time";
    }
  };
  Values out;
  switch (o.type) {
    case ConfigType::kInteger:
      if (!node.is_integer()) return wrong(type_of(node));
      out.push_back(std::to_string(node.as_integer()->get()));
      break;
    case ConfigType::kSize:
      if (node.is_integer()) {
        int64_t n = node.as_integer()->get();
        if (n < 0) return wrong(std::to_string(n));
        out.push_back(std::to_string(n));
      } else if (node.is_string()) {
        out.push_back(node.as_string()->get());
      } else {
        return wrong(type_of(node));
      }
      break;
    case ConfigType::kList:
      if (node.is_string()) {
        out.push_back(node.as_string()->get());
      } else if (const toml::array* a = node.as_array()) {
        for (const toml::node& item : *a) {
          if (!item.is_string()) return wrong(absl::StrCat("an array holding ", type_of(item)));
          out.push_back(item.as_string()->get());
        }
      } else {
        return wrong(type_of(node));
      }
      break;
    case ConfigType::kBool:
      if (!node.is_boolean()) return wrong(type_of(node));
      out.push_back(node.as_boolean()->get() ? "true" : "false");
      break;
    case ConfigType::kString:
    case ConfigType::kPath:
    case ConfigType::kLogLevel:
      if (!node.is_string()) return wrong(type_of(node));
      out.push_back(node.as_string()->get());
      break;
  }
  for (const std::string& v : out) {
    if (std::optional<std::string> error = CheckValue(o, v)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", *error));
    }
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    std::string item = Trim(std::string_view(v).substr(pos, comma - pos));
    if (!item.empty()) out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

// The LINE of a "PATH:LINE: ..." warning.
int LineOf(const std::string& warning, const std::string& path) {
  return std::atoi(warning.c_str() + std::min(warning.size(), path.size() + 1));
}

}  // namespace

const std::vector<ConfigOption>& ConfigOptions() {
  using T = ConfigType;
  static const auto* options = new std::vector<ConfigOption>{
      {"chain.rpc", "GNR_RPC", "--rpc", T::kString, "the chain's JSON-RPC endpoint"},
      {"chain.contract", "GNR_MARKET_CONTRACT", "--contract", T::kString,
       "the StorageMarket contract address"},
      {"chain.keystore", "GNR_KEYSTORE", "--keystore", T::kPath, "the wallet (keystore file)"},
      {"chain.password_file", "GNR_PASSWORD_FILE", "--password-file", T::kPath,
       "file whose first line is the wallet password"},
      {"drive.state", "GNR_STATE", "--state", T::kPath,
       "the drive's catalog, staged writes and read cache"},
      {"drive.mount", "GNR_MOUNT", "--mount", T::kPath, "where the drive is mounted"},
      {"drive.bucket", "GNR_BUCKET", "--bucket", T::kString,
       "the bucket the drive stores into (64 hex digits)"},
      {"drive.bootstrap", "GNR_BOOTSTRAP", "--bootstrap", T::kList,
       "farmers to join the network through"},
      {"drive.data_shards", "GNR_DATA_SHARDS", "--data-shards", T::kInteger,
       "data shards per segment (k)", 1, 32},
      {"drive.parity_shards", "GNR_PARITY_SHARDS", "--parity-shards", T::kInteger,
       "parity shards per segment (m)", 1, 16},
      {"drive.cache_size", "GNR_CACHE_SIZE", "--cache-size", T::kSize,
       "read cache on local disk (0 disables it)"},
      {"drive.upload_while_writing", "GNR_UPLOAD_WHILE_WRITING", "--upload-while-writing", T::kBool,
       "send a file's full segments while it is written (false: from fsync/close)"},
      {"farmer.data", "GNR_FARMER_DATA", "--data", T::kPath, "the farmer's data directory"},
      {"farmer.capacity", "GNR_FARMER_CAPACITY", "--capacity", T::kSize,
       "disk space shared with the network"},
      {"farmer.listen", "GNR_FARMER_LISTEN", "--listen", T::kString,
       "where the farmer accepts connections"},
      {"farmer.advertise", "GNR_FARMER_ADVERTISE", "--advertise", T::kList,
       "endpoints published to the network"},
      {"farmer.bootstrap", "GNR_FARMER_BOOTSTRAP", "--bootstrap", T::kList,
       "peers the farmer joins through"},
      {"farmer.verify_reads", "GNR_FARMER_VERIFY_READS", "--verify-reads", T::kBool,
       "re-hash every leaf served (readers verify them anyway)"},
      {"log.level", "GNR_LOG_LEVEL", "--log-level", T::kLogLevel, "least severe level logged"},
  };
  return *options;
}

const ConfigOption* FindConfigOption(std::string_view key) {
  for (const ConfigOption& o : ConfigOptions()) {
    if (key == o.key) return &o;
  }
  return nullptr;
}

const ConfigValue& Config::Get(std::string_view key) const {
  for (const ConfigValue& v : values_) {
    if (v.key == key) return v;
  }
  static const ConfigValue* unknown = new ConfigValue{"", {}, "unknown key"};
  return *unknown;
}

absl::StatusOr<ConfigFile> ParseConfigFile(std::string_view text, std::string_view path) {
  ConfigFile file;
  file.path = std::string(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(file.path, ":", e.source().begin.line, ":",
                                                   e.source().begin.column, ": ",
                                                   std::string(e.description())));
  }
  auto where = [&](const toml::key& k) {
    return absl::StrCat(file.path, ":", k.source().begin.line);
  };
  for (const auto& [section_key, section] : root) {
    std::string section_name(section_key.str());
    const toml::table* table = section.as_table();
    if (table == nullptr) {
      file.warnings.push_back(absl::StrCat(where(section_key), ": unknown key '", section_name,
                                           "' (options live in tables: [chain], [drive], "
                                           "[farmer], [log]; ignored)"));
      continue;
    }
    for (const auto& [key, node] : *table) {
      std::string full = absl::StrCat(section_name, ".", std::string(key.str()));
      const ConfigOption* o = FindConfigOption(full);
      if (o == nullptr) {
        file.warnings.push_back(absl::StrCat(where(key), ": unknown key '", full,
                                             "' (ignored; see gnr-config.toml(5))"));
        continue;
      }
      absl::StatusOr<Values> values = FromToml(*o, node, where(key));
      if (!values.ok()) return values.status();
      file.entries[full] =
          ConfigFile::Entry{*std::move(values), static_cast<int>(key.source().begin.line)};
    }
  }
  // toml++ iterates keys in sorted order: report in file order.
  std::stable_sort(file.warnings.begin(), file.warnings.end(),
                   [&](const std::string& a, const std::string& b) {
                     return LineOf(a, file.path) < LineOf(b, file.path);
                   });
  return file;
}

absl::StatusOr<Config> ResolveConfig(const ConfigInputs& inputs) {
  for (const auto& [key, values] : inputs.flags) {
    if (FindConfigOption(key) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no configuration option '", key, "'"));
    }
  }
  Config config;
  config.file_path_ = inputs.file != nullptr ? inputs.file->path : inputs.file_path;
  config.file_read_ = inputs.file != nullptr;
  if (inputs.file != nullptr) config.warnings_ = inputs.file->warnings;
  for (const ConfigOption& o : ConfigOptions()) {
    ConfigValue v{o.key, {}, "unset"};
    std::string env = Lookup(inputs.env, o.env);
    if (auto flag = inputs.flags.find(o.key); flag != inputs.flags.end()) {
      for (const std::string& s : flag->second) {
        if (std::optional<std::string> error = CheckValue(o, s)) {
          return absl::InvalidArgumentError(absl::StrCat(o.flag, ": ", *error));
        }
      }
      v.values = flag->second;
      v.source = "flag";
    } else if (!env.empty()) {
      v.values = o.type == ConfigType::kList ? SplitList(env) : Values{env};
      for (const std::string& s : v.values) {
        if (std::optional<std::string> error = CheckValue(o, s)) {
          return absl::InvalidArgumentError(absl::StrCat(o.env, ": ", *error));
        }
      }
      v.source = absl::StrCat("env ", o.env);
    } else if (inputs.file != nullptr && inputs.file->entries.contains(o.key)) {
      const ConfigFile::Entry& e = inputs.file->entries.at(o.key);
      v.values = e.values;
      if (o.type == ConfigType::kPath) {
        for (std::string& s : v.values) s = ExpandHome(s, inputs.env);
      }
      v.source = absl::StrCat("config ", inputs.file->path, ":", e.line);
    } else if (Values d = DefaultOf(o, inputs.env); !d.empty()) {
      v.values = std::move(d);
      v.source = "default";
    }
    config.values_.push_back(std::move(v));
  }
  return config;
}

std::string DataHome(const std::map<std::string, std::string>& env) {
  std::string xdg = Lookup(env, "XDG_DATA_HOME");
  if (!xdg.empty()) return absl::StrCat(xdg, "/gnr");
  std::string home = Lookup(env, "HOME");
  return absl::StrCat(home.empty() ? "." : home, "/.local/share/gnr");
}

std::string ConfigFilePath(const std::optional<std::string>& config_flag,
                           const std::map<std::string, std::string>& env, bool* explicit_path) {
  if (explicit_path != nullptr) *explicit_path = true;
  if (config_flag.has_value()) return *config_flag;
  if (std::string v = Lookup(env, "GNR_CONFIG"); !v.empty()) return v;
  if (explicit_path != nullptr) *explicit_path = false;
  if (std::string xdg = Lookup(env, "XDG_CONFIG_HOME"); !xdg.empty()) {
    return absl::StrCat(xdg, "/gnr/config.toml");
  }
  std::string home = Lookup(env, "HOME");
  return absl::StrCat(home.empty() ? "." : home, "/.config/gnr/config.toml");
}

std::map<std::string, std::string> ProcessConfigEnv() {
  std::map<std::string, std::string> env;
  auto take = [&](const char* name) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') env[name] = v;
  };
  for (const char* name : {"HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "GNR_CONFIG"}) take(name);
  for (const ConfigOption& o : ConfigOptions()) take(o.env);
  return env;
}

absl::StatusOr<Config> LoadConfig(const std::map<std::string, std::vector<std::string>>& flags,
                                  const std::optional<std::string>& config_flag) {
  ConfigInputs inputs;
  inputs.flags = flags;
  inputs.env = ProcessConfigEnv();
  bool explicit_path = false;
  inputs.file_path = ConfigFilePath(config_flag, inputs.env, &explicit_path);
  std::optional<ConfigFile> file;
  struct stat st;
  if (stat(inputs.file_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the configuration file ", inputs.file_path, " is a directory"));
  }
  std::ifstream in(inputs.file_path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) {
      return absl::InternalError(absl::StrCat("cannot read ", inputs.file_path));
    }
    absl::StatusOr<ConfigFile> parsed = ParseConfigFile(text.str(), inputs.file_path);
    if (!parsed.ok()) return parsed.status();
    file = *std::move(parsed);
    inputs.file = &*file;
  } else if (errno == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat("cannot read the configuration file ",
                                                    inputs.file_path, ": ", std::strerror(errno)));
  } else if (explicit_path) {
    return absl::NotFoundError(absl::StrCat(
        "no configuration file ", inputs.file_path, " (named by ",
        config_flag.has_value() ? "--config" : "$GNR_CONFIG", "): ", std::strerror(errno)));
  }
  return ResolveConfig(inputs);
}

absl::StatusOr<std::optional<std::string>> TakeConfigFlag(std::vector<std::string>* args) {
  std::optional<std::string> path;
  for (size_t i = 0; i < args->size();) {
    const std::string& a = (*args)[i];
    if (a == "--") break;
    if (a == "--config") {
      if (i + 1 >= args->size()) {
        return absl::InvalidArgumentError("--config needs a FILE");
      }
      path = (*args)[i + 1];
      args->erase(args->begin() + i, args->begin() + i + 2);
    } else if (a.starts_with("--config=")) {
      path = a.substr(9);
      args->erase(args->begin() + i);
    } else {
      ++i;
    }
  }
  return path;
}

std::optional<Config> LoadCommandConfig(std::string_view command,
                                        const std::optional<std::string>& config_flag) {
  std::string name(command);
  absl::StatusOr<Config> config = LoadConfig({}, config_flag);
  if (!config.ok()) {
    std::fprintf(stderr, "gnr %s: %s\n(see `gnr config show` and gnr-config.toml(5))\n",
                 name.c_str(), std::string(config.status().message()).c_str());
    return std::nullopt;
  }
  for (const std::string& w : config->warnings()) {
    std::fprintf(stderr, "gnr %s: warning: %s\n", name.c_str(), w.c_str());
  }
  return *std::move(config);
}

}  // namespace gnr::tools
