#include "tools/config.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPath[] = "/etc/gnr/test.toml";

std::map<std::string, std::string> Home() { return {{"HOME", "/home/ann"}}; }

TEST(ConfigOptions, EveryOptionHasEnvFlagAndTable) {
  for (const ConfigOption& o : ConfigOptions()) {
    std::string key = o.key;
    EXPECT_NE(key.find('.'), std::string::npos) << key;
    EXPECT_TRUE(std::string(o.env).starts_with("GNR_")) << key;
    EXPECT_TRUE(std::string(o.flag).starts_with("--")) << key;
    EXPECT_EQ(FindConfigOption(key), &o);
  }
  EXPECT_EQ(FindConfigOption("chain.nope"), nullptr);
}

TEST(ResolveConfig, DefaultsComeFromHome) {
  ConfigInputs in;
  in.env = Home();
  ASSERT_OK_AND_ASSIGN(Config c, ResolveConfig(in));
  EXPECT_EQ(c.String("chain.rpc"), "http://127.0.0.1:8545");
  EXPECT_EQ(c.Get("chain.rpc").source, "default");
  EXPECT_EQ(c.String("chain.keystore"), "/home/ann/.local/share/gnr/wallet.json");
  EXPECT_EQ(c.String("drive.state"), "/home/ann/.local/share/gnr/volumes/default");
  EXPECT_EQ(c.String("farmer.data"), "/home/ann/.local/share/gnr/farmer");
  EXPECT_EQ(c.String("drive.data_shards"), "4");
  EXPECT_EQ(c.String("log.level"), "info");
  EXPECT_FALSE(c.Get("chain.contract").is_set());
  EXPECT_EQ(c.Get("chain.contract").source, "unset");
  EXPECT_EQ(c.values().size(), ConfigOptions().size());
  EXPECT_FALSE(c.file_read());

  in.env["XDG_DATA_HOME"] = "/data";
  ASSERT_OK_AND_ASSIGN(Config x, ResolveConfig(in));
  EXPECT_EQ(x.String("chain.keystore"), "/data/gnr/wallet.json");
}

TEST(ResolveConfig, FlagBeatsEnvBeatsFileBeatsDefault) {
  ASSERT_OK_AND_ASSIGN(ConfigFile file, ParseConfigFile("# comment\n[chain]\n\nrpc = "
                                                        "\"http://file:1\"\n",
                                                        kPath));
  ConfigInputs in;
  in.env = Home();
  in.file = &file;
  ASSERT_OK_AND_ASSIGN(Config from_file, ResolveConfig(in));
  EXPECT_EQ(from_file.String("chain.rpc"), "http://file:1");
  EXPECT_EQ(from_file.Get("chain.rpc").source, "config /etc/gnr/test.toml:4");
  EXPECT_TRUE(from_file.file_read());
  EXPECT_EQ(from_file.file_path(), kPath);

  in.env["GNR_RPC"] = "http://env:2";
  ASSERT_OK_AND_ASSIGN(Config from_env, ResolveConfig(in));
  EXPECT_EQ(from_env.String("chain.rpc"), "http://env:2");
  EXPECT_EQ(from_env.Get("chain.rpc").source, "env GNR_RPC");

  in.flags["chain.rpc"] = {"http://flag:3"};
  ASSERT_OK_AND_ASSIGN(Config from_flag, ResolveConfig(in));
  EXPECT_EQ(from_flag.String("chain.rpc"), "http://flag:3");
  EXPECT_EQ(from_flag.Get("chain.rpc").source, "flag");
}

TEST(ResolveConfig, EmptyEnvironmentVariableCountsAsUnset) {
  ConfigInputs in;
  in.env = Home();
  in.env["GNR_RPC"] = "";
  ASSERT_OK_AND_ASSIGN(Config c, ResolveConfig(in));
  EXPECT_EQ(c.Get("chain.rpc").source, "default");
}

TEST(ResolveConfig, ListsSplitOnCommasInTheEnvironmentAndReplaceWhole) {
  ASSERT_OK_AND_ASSIGN(
      ConfigFile file,
      ParseConfigFile("[drive]\nbootstrap = [\"tcp://a:1#aa\", \"/var/lib/f\"]\n", kPath));
  ConfigInputs in;
  in.env = Home();
  in.file = &file;
  ASSERT_OK_AND_ASSIGN(Config c, ResolveConfig(in));
  EXPECT_THAT(c.List("drive.bootstrap"), ElementsAre("tcp://a:1#aa", "/var/lib/f"));

  in.env["GNR_BOOTSTRAP"] = " tcp://b:2#bb ,, tcp://c:3#cc";
  ASSERT_OK_AND_ASSIGN(Config e, ResolveConfig(in));
  EXPECT_THAT(e.List("drive.bootstrap"), ElementsAre("tcp://b:2#bb", "tcp://c:3#cc"));

  in.flags["drive.bootstrap"] = {"x", "y", "z"};
  ASSERT_OK_AND_ASSIGN(Config f, ResolveConfig(in));
  EXPECT_THAT(f.List("drive.bootstrap"), ElementsAre("x", "y", "z"));
}

TEST(ResolveConfig, BadEnvironmentValueNamesTheVariable) {
  ConfigInputs in;
  in.env = Home();
  in.env["GNR_DATA_SHARDS"] = "four";
  absl::StatusOr<Config> c = ResolveConfig(in);
  EXPECT_STATUS(c, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("GNR_DATA_SHARDS"));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("drive.data_shards"));

  in.env["GNR_DATA_SHARDS"] = "33";  // above the codec's limit
  EXPECT_STATUS(ResolveConfig(in), absl::StatusCode::kInvalidArgument);
  in.env["GNR_DATA_SHARDS"] = "32";
  EXPECT_OK(ResolveConfig(in));
  in.env["GNR_LOG_LEVEL"] = "loud";
  EXPECT_STATUS(ResolveConfig(in), absl::StatusCode::kInvalidArgument);
  in.env.erase("GNR_LOG_LEVEL");
  ASSERT_OK_AND_ASSIGN(Config defaults, ResolveConfig(in));
  EXPECT_FALSE(defaults.Bool("farmer.verify_reads"));
  in.env["GNR_FARMER_VERIFY_READS"] = "true";
  ASSERT_OK_AND_ASSIGN(Config verify, ResolveConfig(in));
  EXPECT_TRUE(verify.Bool("farmer.verify_reads"));
  in.env["GNR_FARMER_VERIFY_READS"] = "1";
  EXPECT_STATUS(ResolveConfig(in), absl::StatusCode::kInvalidArgument);
  in.env.erase("GNR_FARMER_VERIFY_READS");
  EXPECT_TRUE(defaults.Bool("drive.upload_while_writing"));
  in.env["GNR_UPLOAD_WHILE_WRITING"] = "false";
  ASSERT_OK_AND_ASSIGN(Config lazy, ResolveConfig(in));
  EXPECT_FALSE(lazy.Bool("drive.upload_while_writing"));
}

TEST(ResolveConfig, BadFlagValueNamesTheFlag) {
  ConfigInputs in;
  in.flags["farmer.capacity"] = {"lots"};
  absl::StatusOr<Config> c = ResolveConfig(in);
  EXPECT_STATUS(c, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--capacity"));
  in.flags.clear();
  in.flags["chain.nope"] = {"1"};
  EXPECT_STATUS(ResolveConfig(in), absl::StatusCode::kInvalidArgument);
}

TEST(ResolveConfig, TildeInFilePathsMeansHome) {
  ASSERT_OK_AND_ASSIGN(ConfigFile file, ParseConfigFile("[chain]\nkeystore = \"~/keys/w.json\"\n"
                                                        "[farmer]\ndata = \"/srv/~x\"\n",
                                                        kPath));
  ConfigInputs in;
  in.env = Home();
  in.file = &file;
  ASSERT_OK_AND_ASSIGN(Config c, ResolveConfig(in));
  EXPECT_EQ(c.String("chain.keystore"), "/home/ann/keys/w.json");
  EXPECT_EQ(c.String("farmer.data"), "/srv/~x");
}

TEST(ParseConfigFile, EveryTypeParses) {
  ASSERT_OK_AND_ASSIGN(ConfigFile file, ParseConfigFile(R"([chain]
rpc = "http://10.0.0.1:8545"
contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
[drive]
data_shards = 6
parity_shards = 3
cache_size = "2G"
bootstrap = "tcp://a:1#aa"
[farmer]
capacity = 1048576
advertise = []
verify_reads = true
[log]
level = "debug"
)",
                                                        kPath));
  EXPECT_THAT(file.warnings, IsEmpty());
  EXPECT_THAT(file.entries.at("drive.data_shards").values, ElementsAre("6"));
  EXPECT_EQ(file.entries.at("drive.data_shards").line, 5);
  EXPECT_THAT(file.entries.at("drive.cache_size").values, ElementsAre("2G"));
  EXPECT_THAT(file.entries.at("drive.bootstrap").values, ElementsAre("tcp://a:1#aa"));
  EXPECT_THAT(file.entries.at("farmer.capacity").values, ElementsAre("1048576"));
  EXPECT_THAT(file.entries.at("farmer.advertise").values, IsEmpty());
  EXPECT_THAT(file.entries.at("farmer.verify_reads").values, ElementsAre("true"));
  EXPECT_THAT(file.entries.at("log.level").values, ElementsAre("debug"));
}

TEST(ParseConfigFile, UnknownKeysAreWarningsWithLine) {
  ASSERT_OK_AND_ASSIGN(ConfigFile file, ParseConfigFile("top = 1\n[chain]\nrcp = \"x\"\n"
                                                        "[drive.extra]\nk = 1\n[wat]\nq = 2\n",
                                                        kPath));
  ASSERT_EQ(file.warnings.size(), 4u);
  EXPECT_THAT(file.warnings[0], HasSubstr("/etc/gnr/test.toml:1: unknown key 'top'"));
  EXPECT_THAT(file.warnings[1], HasSubstr("/etc/gnr/test.toml:3: unknown key 'chain.rcp'"));
  EXPECT_THAT(file.warnings[2], HasSubstr("unknown key 'drive.extra'"));
  EXPECT_THAT(file.warnings[3], HasSubstr("/etc/gnr/test.toml:7: unknown key 'wat.q'"));
  EXPECT_TRUE(file.entries.empty());
}

TEST(ParseConfigFile, WrongTypeIsAnErrorNamingKeyAndLine) {
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : {
           Case{"[drive]\n\ndata_shards = \"4\"\n",
                "/etc/gnr/test.toml:3: drive.data_shards must be an integer in [1, 32], got "
                "a string"},
           Case{"[drive]\ndata_shards = 0\n", "drive.data_shards must be an integer"},
           Case{"[chain]\nrpc = 8545\n", "chain.rpc must be a string, got an integer"},
           Case{"[drive]\nbootstrap = [1, 2]\n", "an array holding an integer"},
           Case{"[drive]\ncache_size = \"big\"\n", "drive.cache_size must be a size"},
           Case{"[drive]\ncache_size = -1\n", "drive.cache_size must be a size"},
           Case{"[chain]\nkeystore = \"\"\n", "chain.keystore must be a path"},
           Case{"[log]\nlevel = \"chatty\"\n", "log.level must be one of"},
           Case{"[farmer]\nlisten = true\n", "got a boolean"},
           Case{"[farmer]\nverify_reads = \"yes\"\n",
                "farmer.verify_reads must be true or false, got a string"},
       }) {
    absl::StatusOr<ConfigFile> file = ParseConfigFile(c.text, kPath);
    EXPECT_STATUS(file, absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(c.want)) << c.text;
  }
}

TEST(ParseConfigFile, SyntaxErrorHasFileLineAndColumn) {
  absl::StatusOr<ConfigFile> file = ParseConfigFile("[chain]\nrpc = \n", kPath);
  EXPECT_STATUS(file, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("/etc/gnr/test.toml:2:"));
  EXPECT_STATUS(ParseConfigFile("[chain\n", kPath), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseConfigFile("\xff\xfe", kPath), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigFilePath, FlagThenEnvThenXdgThenHome) {
  std::map<std::string, std::string> env = Home();
  bool explicit_path = true;
  EXPECT_EQ(ConfigFilePath(std::nullopt, env, &explicit_path), "/home/ann/.config/gnr/config.toml");
  EXPECT_FALSE(explicit_path);
  env["XDG_CONFIG_HOME"] = "/xdg";
  EXPECT_EQ(ConfigFilePath(std::nullopt, env), "/xdg/gnr/config.toml");
  env["GNR_CONFIG"] = "/env.toml";
  EXPECT_EQ(ConfigFilePath(std::nullopt, env, &explicit_path), "/env.toml");
  EXPECT_TRUE(explicit_path);
  EXPECT_EQ(ConfigFilePath(std::string("/flag.toml"), env), "/flag.toml");
}

TEST(TakeConfigFlag, RemovesBothFormsAndStopsAtDoubleDash) {
  std::vector<std::string> args = {"run", "--config", "/a.toml", "--data", "d"};
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> path, TakeConfigFlag(&args));
  EXPECT_EQ(path, "/a.toml");
  EXPECT_THAT(args, ElementsAre("run", "--data", "d"));

  args = {"--config=/b.toml", "x", "--", "--config", "y"};
  ASSERT_OK_AND_ASSIGN(path, TakeConfigFlag(&args));
  EXPECT_EQ(path, "/b.toml");
  EXPECT_THAT(args, ElementsAre("x", "--", "--config", "y"));

  args = {"x"};
  ASSERT_OK_AND_ASSIGN(path, TakeConfigFlag(&args));
  EXPECT_EQ(path, std::nullopt);

  args = {"x", "--config"};
  EXPECT_STATUS(TakeConfigFlag(&args), absl::StatusCode::kInvalidArgument);
}

TEST(LoadConfig, ReadsTheNamedFileAndRefusesAMissingOne) {
  std::string path = ::testing::TempDir() + "/gnr_config_test.toml";
  {
    std::ofstream out(path);
    out << "[farmer]\nlisten = \"tcp://127.0.0.1:7777\"\nnope = 1\n";
  }
  ASSERT_OK_AND_ASSIGN(Config c, LoadConfig({}, path));
  EXPECT_TRUE(c.file_read());
  EXPECT_EQ(c.file_path(), path);
  if (std::getenv("GNR_FARMER_LISTEN") == nullptr) {
    EXPECT_EQ(c.String("farmer.listen"), "tcp://127.0.0.1:7777");
    EXPECT_EQ(c.Get("farmer.listen").source, "config " + path + ":2");
  }
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_THAT(c.warnings()[0], HasSubstr(path + ":3: unknown key 'farmer.nope'"));

  ASSERT_OK_AND_ASSIGN(Config f, LoadConfig({{"farmer.listen", {"tcp://x:1"}}}, path));
  EXPECT_EQ(f.Get("farmer.listen").source, "flag");
  std::remove(path.c_str());

  absl::StatusOr<Config> missing = LoadConfig({}, path);
  EXPECT_STATUS(missing, absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("--config"));
}

}  // namespace
}  // namespace gnr::tools
