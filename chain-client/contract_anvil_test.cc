// The generic Contract client against the real StorageMarket contract (compiled at build
// time, chain-client/generated/storage_market_artifact.h) on a live anvil: deployment, view
// calls, transactions, decoded events, and rules refused with their revert reasons.

#include <set>
#include <string>

#include "chain-client/contract.h"
#include "chain-client/generated/storage_market_artifact.h"
#include "chain-client/json_rpc.h"
#include "chain-client/light_client.h"
#include "common/clock.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

TEST(StorageMarketAbi, ParsesWithUniqueSelectorsAndTopics) {
  ASSERT_OK_AND_ASSIGN(AbiContract abi, AbiContract::FromJson(kStorageMarketAbiJson));
  std::set<FixedBytes<4>> selectors;
  for (const AbiFunction& f : abi.functions()) {
    EXPECT_TRUE(selectors.insert(f.Selector()).second) << f.Signature();
  }
  std::set<Hash256> topics;
  for (const AbiEvent& e : abi.events()) EXPECT_TRUE(topics.insert(e.Topic0()).second);
  const AbiFunction* buy = abi.FindFunction("buyBucketSpace");
  ASSERT_NE(buy, nullptr);
  EXPECT_EQ(buy->Signature(), "buyBucketSpace(bytes32,uint64,uint64,uint64,uint8)");
  EXPECT_EQ(buy->state_mutability, "payable");
  const AbiFunction* audits = abi.FindFunction("recordAudits");
  ASSERT_NE(audits, nullptr);
  EXPECT_EQ(audits->Signature(), "recordAudits(bytes20[],uint32[],uint32[])");
}

class StorageMarketLive : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(anvil_, gnr::testing::AnvilProcess::Start());
    ASSERT_OK_AND_ASSIGN(auto http, HttpTransport::Create(anvil_->rpc_url()));
    client_ = std::make_unique<JsonRpcClient>(std::move(http));
    eth_ = std::make_unique<EthRpc>(*client_);
    nonces_ = std::make_unique<NonceManager>(*eth_);
    TxSenderOptions options;
    options.poll_interval = absl::Milliseconds(20);
    ASSERT_OK_AND_ASSIGN(sender_,
                         TxSender::Create(*eth_, *nonces_, Key(0), SystemClockInstance(), options));
    ASSERT_OK_AND_ASSIGN(AbiContract abi, AbiContract::FromJson(kStorageMarketAbiJson));
    ASSERT_OK_AND_ASSIGN(Bytes bytecode, HexDecode(kStorageMarketBytecodeHex));
    ASSERT_OK_AND_ASSIGN(Contract market, Contract::Deploy(*sender_, *eth_, abi, bytecode));
    market_ = std::make_unique<Contract>(std::move(market));
  }

  crypto::PrivateKey Key(int i) const {
    return *crypto::PrivateKey::FromBytes(anvil_->accounts()[i].private_key);
  }
  EthAddress Address(int i) const { return anvil_->accounts()[i].address; }

  std::unique_ptr<gnr::testing::AnvilProcess> anvil_;
  std::unique_ptr<JsonRpcClient> client_;
  std::unique_ptr<EthRpc> eth_;
  std::unique_ptr<NonceManager> nonces_;
  std::unique_ptr<TxSender> sender_;
  std::unique_ptr<Contract> market_;
};

TEST_F(StorageMarketLive, StakeLandsEmitsStakedAndShowsInViews) {
  ASSERT_OK_AND_ASSIGN(std::vector<AbiValue> min, market_->Call(*eth_, "minStake"));
  ASSERT_OK_AND_ASSIGN(U256 min_stake, min[0].AsUint());
  EXPECT_EQ(min_stake, U256(1000000000000000000ull));

  ASSERT_OK_AND_ASSIGN(RpcReceipt r, market_->Transact(*sender_, "stake", {}, min_stake));
  ASSERT_OK_AND_ASSIGN(std::vector<DecodedEvent> events, market_->DecodeEvents(r.logs));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name(), "Staked");
  EXPECT_EQ(*events[0].Get("staker")->AsAddress(), Address(0));
  EXPECT_EQ(*events[0].Get("amount")->AsUint(), min_stake);
  EXPECT_STATUS(events[0].Get("nope"), absl::StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(std::vector<AbiValue> stake,
                       market_->Call(*eth_, "stakeOf", std::vector{AbiValue::Address(Address(0))}));
  EXPECT_EQ(*stake[0].AsUint(), min_stake);

  // The receipt is proven against the block's receipts root.
  LightClient light(*eth_);
  EXPECT_OK(light.VerifiedTransactionReceipt(r.transaction_hash));
}

TEST_F(StorageMarketLive, RulesRefuseWithTheirReasons) {
  // Too little stake: refused at estimation, nothing is sent.
  absl::StatusOr<RpcReceipt> r = market_->Transact(*sender_, "stake", {}, U256(5));
  EXPECT_STATUS(r, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message())
                .find("execution reverted: StorageMarket: stake below minimum: have 5 wei"),
            std::string::npos)
      << r.status();

  // Traffic without payment.
  r = market_->Transact(*sender_, "buyTraffic", std::vector{AbiValue::Uint(10)});
  EXPECT_STATUS(r, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("StorageMarket: insufficient payment"),
            std::string::npos)
      << r.status();

  // The same refusal through a view call (eth_call).
  absl::StatusOr<std::vector<AbiValue>> v =
      market_->Call(*eth_, "unstake", std::vector{AbiValue::Uint(0)}, Address(0));
  EXPECT_STATUS(v, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(v.status().message())
                .find("execution reverted: StorageMarket: unstake amount must be positive"),
            std::string::npos)
      << v.status();

  // Unknown function and ill-typed arguments are caught locally.
  EXPECT_STATUS(market_->Call(*eth_, "noSuchFunction"), absl::StatusCode::kNotFound);
  EXPECT_STATUS(market_->Call(*eth_, "stakeOf", std::vector{AbiValue::Bool(true)}),
                absl::StatusCode::kInvalidArgument);
}

TEST_F(StorageMarketLive, BuyTrafficPaysTheQuote) {
  ASSERT_OK_AND_ASSIGN(std::vector<AbiValue> quote,
                       market_->Call(*eth_, "quoteTraffic", std::vector{AbiValue::Uint(10)}));
  ASSERT_OK_AND_ASSIGN(U256 cost, quote[0].AsUint());
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, market_->Transact(*sender_, "buyTraffic",
                                                       std::vector{AbiValue::Uint(10)}, cost));
  ASSERT_OK_AND_ASSIGN(std::vector<DecodedEvent> events, market_->DecodeEvents(r.logs));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name(), "TrafficBought");
  EXPECT_EQ(*events[0].Get("gb")->AsUint64(), 10u);
  ASSERT_OK_AND_ASSIGN(
      std::vector<AbiValue> left,
      market_->Call(*eth_, "trafficOf", std::vector{AbiValue::Address(Address(0))}));
  EXPECT_EQ(*left[0].AsUint64(), 10u);
}

}  // namespace
}  // namespace gnr::chain
