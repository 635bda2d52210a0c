// Deploys the generated StorageMarket bytecode on a live anvil with raw JSON-RPC and pokes it
// with hand-built calls. The full rule tests go through the C++ chain client.

#include <set>
#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "chain-client/generated/storage_market_artifact.h"
#include "common/hex.h"
#include "crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using ::gnr::testing::AnvilOptions;
using ::gnr::testing::AnvilProcess;
using nlohmann::json;

// "0x" + the 4-byte selector of `signature`, e.g. "owner()".
std::string Selector(std::string_view signature) {
  crypto::Hash256 h = crypto::Keccak256(AsBytes(signature));
  return HexEncode0x(ByteView(h).first(4));
}

// A 20-byte address left-padded to a 32-byte ABI word, as hex without 0x.
std::string AddressWord(const FixedBytes<20>& address) {
  return std::string(24, '0') + HexEncode(address);
}

class StorageMarketContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    AnvilOptions options;
    options.hardfork = GetParam();
    ASSERT_OK_AND_ASSIGN(anvil_, AnvilProcess::Start(options));
    from_ = anvil_->accounts()[0].address_hex;
  }

  // Sends a transaction from an unlocked dev account and returns its receipt.
  absl::StatusOr<json> Transact(json tx) {
    tx["from"] = from_;
    // Legacy gas pricing works on every hardfork (berlin has no EIP-1559 fee fields).
    absl::StatusOr<json> gas_price = anvil_->Rpc("eth_gasPrice");
    if (!gas_price.ok()) return gas_price.status();
    tx["gasPrice"] = *gas_price;
    absl::StatusOr<json> hash = anvil_->Rpc("eth_sendTransaction", json::array({tx}));
    if (!hash.ok()) return hash.status();
    // Automine does not guarantee the receipt exists when eth_sendTransaction returns.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (true) {
      absl::StatusOr<json> receipt = anvil_->Rpc("eth_getTransactionReceipt", json::array({*hash}));
      if (!receipt.ok() || !receipt->is_null()) return receipt;
      if (absl::Now() > deadline)
        return absl::DeadlineExceededError("no receipt for " + hash->dump());
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  absl::StatusOr<std::string> Call(const std::string& to, const std::string& data) {
    absl::StatusOr<json> out =
        anvil_->Rpc("eth_call", json::array({{{"to", to}, {"data", data}}, "latest"}));
    if (!out.ok()) return out.status();
    return out->get<std::string>();
  }

  // Deploys the contract and returns its address.
  std::string Deploy() {
    absl::StatusOr<json> receipt =
        Transact({{"data", "0x" + std::string(kStorageMarketBytecodeHex)}});
    EXPECT_OK(receipt);
    if (!receipt.ok()) return "";
    EXPECT_EQ((*receipt)["status"], "0x1") << receipt->dump();
    EXPECT_TRUE((*receipt)["contractAddress"].is_string()) << receipt->dump();
    return (*receipt)["contractAddress"].is_string()
               ? (*receipt)["contractAddress"].get<std::string>()
               : "";
  }

  std::unique_ptr<AnvilProcess> anvil_;
  std::string from_;
};

TEST(StorageMarketArtifact, AbiHasTheSpecialTransactions) {
  json abi = json::parse(kStorageMarketAbiJson, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(abi.is_array());
  std::set<std::string> functions;
  for (const json& entry : abi) {
    if (entry["type"] == "function") functions.insert(entry["name"].get<std::string>());
  }
  for (const char* name :
       {"stake",        "syncHeft",         "buyBucketSpace", "buyTraffic",       "bindNode",
        "unstake",      "withdrawUnstaked", "unbindNode",     "bucketSupplement", "setPrices",
        "registerFile", "removeFile",       "recordAudits",   "bucket",           "trafficOf",
        "stakeOf",      "heftOf",           "nodesOf",        "nodeOwner",        "committeePoints",
        "auditStats"}) {
    EXPECT_TRUE(functions.count(name)) << name;
  }
  EXPECT_FALSE(kStorageMarketBytecodeHex.empty());
  EXPECT_EQ(kStorageMarketBytecodeHex.substr(0, 2), "60");  // PUSH1: not 0x-prefixed.
}

TEST_P(StorageMarketContractTest, DeploysAndAnswersViews) {
  const std::string address = Deploy();
  ASSERT_FALSE(address.empty());

  ASSERT_OK_AND_ASSIGN(json code, anvil_->Rpc("eth_getCode", json::array({address, "latest"})));
  EXPECT_EQ(code.get<std::string>(), "0x" + std::string(kStorageMarketRuntimeBytecodeHex));

  // owner() is the deployer.
  ASSERT_OK_AND_ASSIGN(std::string owner, Call(address, Selector("owner()")));
  EXPECT_EQ(owner, "0x" + AddressWord(anvil_->accounts()[0].address));

  // minStake() defaults to 1 ether.
  ASSERT_OK_AND_ASSIGN(std::string min_stake, Call(address, Selector("minStake()")));
  EXPECT_EQ(min_stake, "0x" + std::string(64 - 15, '0') + "de0b6b3a7640000");
}

TEST_P(StorageMarketContractTest, StakeLandsAndShowsInTheView) {
  const std::string address = Deploy();
  ASSERT_FALSE(address.empty());
  ASSERT_OK_AND_ASSIGN(json receipt, Transact({{"to", address},
                                               {"data", Selector("stake()")},
                                               {"value", "0xde0b6b3a7640000"}}));  // 1 ether
  EXPECT_EQ(receipt["status"], "0x1") << receipt.dump();
  ASSERT_EQ(receipt["logs"].size(), 1u);
  const crypto::Hash256 staked = crypto::Keccak256(AsBytes("Staked(address,uint256,uint256)"));
  EXPECT_EQ(receipt["logs"][0]["topics"][0], HexEncode0x(staked));

  ASSERT_OK_AND_ASSIGN(
      std::string stake,
      Call(address, Selector("stakeOf(address)") + AddressWord(anvil_->accounts()[0].address)));
  EXPECT_EQ(stake, "0x" + std::string(64 - 15, '0') + "de0b6b3a7640000");
}

TEST_P(StorageMarketContractTest, RevertReasonReachesTheCaller) {
  const std::string address = Deploy();
  ASSERT_FALSE(address.empty());
  // 1 wei is below the minimum stake. eth_call reports the revert with its reason...
  const json tx = {
      {"from", from_}, {"to", address}, {"data", Selector("stake()")}, {"value", "0x1"}};
  absl::StatusOr<json> call = anvil_->Rpc("eth_call", json::array({tx, "latest"}));
  ASSERT_FALSE(call.ok()) << call->dump();
  EXPECT_NE(call.status().message().find("StorageMarket: stake below minimum"),
            absl::string_view::npos)
      << call.status();
  // ...while anvil's eth_sendTransaction mines the failing transaction (status 0).
  ASSERT_OK_AND_ASSIGN(
      json receipt,
      Transact(
          {{"to", address}, {"data", Selector("stake()")}, {"value", "0x1"}, {"gas", "0x100000"}}));
  EXPECT_EQ(receipt["status"], "0x0") << receipt.dump();
}

INSTANTIATE_TEST_SUITE_P(Hardforks, StorageMarketContractTest,
                         ::testing::Values(std::string("berlin"), std::string()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param.empty() ? std::string("Default") : info.param;
                         });

}  // namespace
}  // namespace gnr::chain
