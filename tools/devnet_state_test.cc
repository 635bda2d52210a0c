#include "tools/devnet_state.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::tools {
namespace {

DevnetState Sample() {
  DevnetState s;
  s.state_dir = "/tmp/devnet";
  s.chain.rpc_url = "http://127.0.0.1:40123";
  s.chain.port = 40123;
  s.chain.state_file = "/tmp/devnet/chain/state.json";
  s.chain.binary = "/opt/anvil";
  s.chain.process = {.pid = 4242, .start_ticks = 81234, .log = "/tmp/devnet/logs/anvil.log"};
  s.contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  s.operator_address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
  s.wallet = {"0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "/tmp/devnet/wallet.json",
              "/tmp/devnet/password"};
  s.bucket.id = std::string(64, 'a');
  s.traffic_gb = 7;
  DevnetFarmer f;
  f.name = "farmer-0";
  f.data_dir = "/tmp/devnet/farmers/farmer-0/data";
  f.listen = "tcp://127.0.0.1:40200";
  f.endpoint = "tcp://127.0.0.1:40200";
  f.node_id = std::string(40, 'b');
  f.curve_public_key = std::string(64, 'c');
  f.staker = {"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "/tmp/devnet/s.json",
              "/tmp/devnet/password"};
  f.capacity = "4G";
  f.bound = true;
  f.process = {.pid = 4250, .start_ticks = 81240, .log = "/tmp/devnet/logs/farmer-0.log"};
  s.farmers.push_back(f);
  s.mount.mountpoint = "/home/u/gnr";
  s.mount.state_dir = "/tmp/devnet/volume";
  s.mount.mounted = true;
  s.mount.error = "none";
  s.mount.process = {.pid = 4300, .start_ticks = 81300, .log = "/tmp/devnet/volume/mount.log"};
  s.updated_unix = 1795254851;
  return s;
}

TEST(DevnetState, RoundTripsEveryField) {
  DevnetState s = Sample();
  std::string text = DevnetStateToJson(s).dump(2);
  ASSERT_OK_AND_ASSIGN(DevnetState back, ParseDevnetState(text));
  EXPECT_EQ(DevnetStateToJson(back).dump(), DevnetStateToJson(s).dump());
  EXPECT_EQ(back.chain.process.pid, 4242);
  EXPECT_EQ(back.chain.process.start_ticks, 81234u);
  ASSERT_EQ(back.farmers.size(), 1u);
  EXPECT_EQ(back.farmers[0].staker.address, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
  EXPECT_TRUE(back.farmers[0].bound);
  EXPECT_EQ(back.mount.process.pid, 4300);
  EXPECT_EQ(back.traffic_gb, 7u);
}

TEST(DevnetState, MissingMembersTakeDefaults) {
  ASSERT_OK_AND_ASSIGN(DevnetState s, ParseDevnetState("{}"));
  EXPECT_EQ(s.chain.chain_id, 31337u);
  EXPECT_EQ(s.chain.process.pid, 0);
  EXPECT_EQ(s.bucket.size_gb, 16u);
  EXPECT_EQ(s.bucket.backup, 2u);
  EXPECT_TRUE(s.farmers.empty());
  EXPECT_EQ(s.mount.data_shards, 4);
  EXPECT_FALSE(s.mount.mounted);
}

TEST(DevnetState, RejectsMalformedInputWithTheMemberName) {
  struct Case {
    const char* json;
    const char* mentions;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[1, 2]", "not a JSON object"},
      {R"({"version": 2})", "version 2"},
      {R"({"chain": 5})", "chain must be an object"},
      {R"({"chain": {"pid": -3}})", "chain.pid"},
      {R"({"chain": {"pid": "12"}})", "chain.pid"},
      {R"({"chain": {"port": 70000}})", "chain.port"},
      {R"({"farmers": {}})", "farmers must be an array"},
      {R"({"farmers": [3]})", "farmers[0] must be an object"},
      {R"({"farmers": [{"name": "x"}]})", "farmers[0].data_dir"},
      {R"({"farmers": [{"data_dir": "/d", "bound": 1}]})", "farmers[0].bound"},
      {R"({"mount": {"mounted": "yes"}})", "mount.mounted"},
      {R"({"bucket": {"size_gb": -1}})", "bucket.size_gb"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<DevnetState> s = ParseDevnetState(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(std::string(s.status().message()).find(c.mentions), std::string::npos)
        << c.json << " -> " << s.status();
  }
}

TEST(DevnetState, IgnoresUnknownMembersAndNulls) {
  ASSERT_OK_AND_ASSIGN(DevnetState s, ParseDevnetState(R"({"future": [1], "contract": null,
                                            "chain": {"pid": 7, "extra": true}})"));
  EXPECT_EQ(s.chain.process.pid, 7);
  EXPECT_TRUE(s.contract.empty());
}

TEST(DevnetFarmer, BootstrapSeedNeedsEndpointAndKey) {
  DevnetFarmer f;
  EXPECT_EQ(f.BootstrapSeed(), "");
  f.endpoint = "tcp://127.0.0.1:5000";
  EXPECT_EQ(f.BootstrapSeed(), "");
  f.curve_public_key = "abcd";
  EXPECT_EQ(f.BootstrapSeed(), "tcp://127.0.0.1:5000#abcd");
}

TEST(EndpointPort, ParsesThePortOrZero) {
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1:40200"), 40200);
  EXPECT_EQ(EndpointPort("http://127.0.0.1:8545"), 8545);
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1"), 0);
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1:99999"), 0);
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1:x"), 0);
  EXPECT_EQ(EndpointPort(""), 0);
}

TEST(DevnetShardCounts, FourPlusTwoFromSixFarmers) {
  EXPECT_EQ(DevnetShardCounts(2), std::make_pair(1, 1));
  EXPECT_EQ(DevnetShardCounts(3), std::make_pair(1, 2));
  EXPECT_EQ(DevnetShardCounts(4), std::make_pair(2, 2));
  EXPECT_EQ(DevnetShardCounts(5), std::make_pair(3, 2));
  EXPECT_EQ(DevnetShardCounts(6), std::make_pair(4, 2));
  EXPECT_EQ(DevnetShardCounts(20), std::make_pair(4, 2));
}

TEST(MountRefusedNetworkFlags, RecognisesAnOldMountOnly) {
  EXPECT_TRUE(MountRefusedNetworkFlags(
      64, "gnr mount: unknown argument '--rpc'\n(try `gnr mount --help`)\n"));
  EXPECT_TRUE(MountRefusedNetworkFlags(64, "gnr mount: unknown argument '--data-shards'\n"));
  EXPECT_TRUE(MountRefusedNetworkFlags(
      78, "gnr mount: no shard network configured: this build of `gnr mount` cannot ..."));
  EXPECT_FALSE(MountRefusedNetworkFlags(0, "gnr mount: unknown argument '--rpc'"));
  EXPECT_FALSE(MountRefusedNetworkFlags(78, "gnr mount: bucket 65bc... has expired"));
  EXPECT_FALSE(MountRefusedNetworkFlags(64, "gnr mount: unknown argument '--frobnicate'"));
}

}  // namespace
}  // namespace gnr::tools
