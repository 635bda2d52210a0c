// The beacon on a live anvil: the hashes it emits equal keccak256(RLP(header)) recomputed
// here from the raw RPC answer; an RPC outage (a proxy that refuses for a while) leaves the
// stream gapless; anvil_reorg shallower than the depth is followed, deeper is DataLoss.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "chain-client/beacon.h"
#include "chain-client/json_rpc.h"
#include "common/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using ::testing::HasSubstr;

// Forwards to a real transport unless switched off, when it fails like a stopped node.
class SwitchableTransport : public RpcTransport {
 public:
  explicit SwitchableTransport(std::unique_ptr<RpcTransport> inner) : inner_(std::move(inner)) {}
  void SetDown(bool down) { down_ = down; }
  absl::StatusOr<std::string> Send(std::string_view body) override {
    if (down_) return absl::UnavailableError("connection refused (proxy is down)");
    return inner_->Send(body);
  }
  std::string endpoint() const override { return inner_->endpoint(); }

 private:
  std::unique_ptr<RpcTransport> inner_;
  std::atomic<bool> down_{false};
};

class BeaconLiveTest : public ::testing::Test {
 protected:
  void Start(gnr::testing::AnvilOptions options) {
    ASSERT_OK_AND_ASSIGN(anvil_, gnr::testing::AnvilProcess::Start(options));
    ASSERT_OK_AND_ASSIGN(auto http, HttpTransport::Create(anvil_->rpc_url()));
    auto proxy = std::make_unique<SwitchableTransport>(std::move(http));
    proxy_ = proxy.get();
    client_ = std::make_unique<JsonRpcClient>(std::move(proxy), RetryPolicy{.max_attempts = 1},
                                              [](absl::Duration) {});
    eth_ = std::make_unique<EthRpc>(*client_);
    light_ = std::make_unique<LightClient>(*eth_);
  }

  void Mine(int blocks) {
    ASSERT_OK(
        anvil_->Rpc("anvil_mine", nlohmann::json::array({U256(blocks).ToQuantity()})).status());
  }

  // The block's hash recomputed here from anvil's raw answer, checked against its "hash".
  Hash256 RecomputedHash(uint64_t number) {
    absl::StatusOr<nlohmann::json> raw = anvil_->Rpc(
        "eth_getBlockByNumber", nlohmann::json::array({U256(number).ToQuantity(), false}));
    EXPECT_OK(raw.status());
    if (!raw.ok()) return {};
    absl::StatusOr<RpcBlockHeader> parsed = ParseRpcBlockHeader(*raw);
    EXPECT_OK(parsed.status());
    if (!parsed.ok()) return {};
    Hash256 recomputed = crypto::Keccak256(parsed->header.Encode());
    EXPECT_EQ(recomputed, parsed->claimed_hash) << "block " << number;
    return recomputed;
  }

  void ExpectGaplessAndLocallyVerified(const std::vector<ConfirmedBlock>& got) {
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].hash, RecomputedHash(got[i].number));
      if (i > 0) {
        EXPECT_EQ(got[i].number, got[i - 1].number + 1);
        EXPECT_EQ(got[i].parent_hash, got[i - 1].hash);
      }
    }
  }

  std::unique_ptr<gnr::testing::AnvilProcess> anvil_;
  SwitchableTransport* proxy_ = nullptr;
  std::unique_ptr<JsonRpcClient> client_;
  std::unique_ptr<EthRpc> eth_;
  std::unique_ptr<LightClient> light_;
};

// Real time: anvil mines a block every second, the beacon polls every 200 ms.
TEST_F(BeaconLiveTest, HashesEqualLocallyRecomputedHeaderHashes) {
  for (const char* hardfork : {"berlin", ""}) {
    SCOPED_TRACE(std::string("hardfork ") + (*hardfork ? hardfork : "(default)"));
    gnr::testing::AnvilOptions options;
    options.block_time_seconds = 1;
    options.hardfork = hardfork;
    Start(options);
    Beacon beacon(*light_,
                  {.confirmations = 2, .start_block = 0, .poll_interval = absl::Milliseconds(200)});
    std::vector<ConfirmedBlock> got;
    ASSERT_OK(beacon.Run([&](const ConfirmedBlock& b) {
      got.push_back(b);
      return got.size() < 4;
    }));
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].number, 0u);
    ExpectGaplessAndLocallyVerified(got);
    anvil_.reset();
  }
}

TEST_F(BeaconLiveTest, AnRpcOutageLeavesTheStreamGapless) {
  Start({});
  Mine(5);
  int polls = 0;
  // Every poll mines a block; polls 3 to 6 find the RPC down.
  Beacon beacon(*light_,
                {.confirmations = 2, .start_block = 0, .poll_interval = absl::Milliseconds(1)},
                [&](absl::Duration) {
                  ++polls;
                  proxy_->SetDown(polls >= 3 && polls <= 6);
                  Mine(1);
                });
  std::vector<ConfirmedBlock> got;
  ASSERT_OK(beacon.Run([&](const ConfirmedBlock& b) {
    got.push_back(b);
    return b.number < 12;
  }));
  EXPECT_GE(polls, 7);
  ASSERT_EQ(got.size(), 13u);
  EXPECT_EQ(got.front().number, 0u);
  ExpectGaplessAndLocallyVerified(got);
}

TEST_F(BeaconLiveTest, FollowsAShallowAnvilReorg) {
  Start({});
  Mine(10);  // head 10
  Beacon beacon(*light_, {.confirmations = 3, .start_block = 0});
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> got, beacon.Tick());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().number, 7u);
  Hash256 old9 = RecomputedHash(9);

  ASSERT_OK(
      anvil_->Rpc("anvil_reorg", nlohmann::json::array({2, nlohmann::json::array()})).status());
  ASSERT_NE(RecomputedHash(9), old9) << "anvil_reorg did not change block 9";
  Mine(2);  // head 12
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> more, beacon.Tick());
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(more[0].number, 8u);
  EXPECT_EQ(more[0].parent_hash, got.back().hash);
  EXPECT_EQ(more[1].number, 9u);
  EXPECT_NE(more[1].hash, old9);
  EXPECT_EQ(beacon.reorged_blocks(), 2u);
  got.insert(got.end(), more.begin(), more.end());
  ExpectGaplessAndLocallyVerified(got);
}

TEST_F(BeaconLiveTest, AnAnvilReorgDeeperThanTheDepthIsDataLoss) {
  Start({});
  Mine(10);
  Beacon beacon(*light_, {.confirmations = 2, .start_block = 0});
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> got, beacon.Tick());
  EXPECT_EQ(got.back().number, 8u);
  ASSERT_OK(
      anvil_->Rpc("anvil_reorg", nlohmann::json::array({5, nlohmann::json::array()})).status());
  Mine(1);
  absl::StatusOr<std::vector<ConfirmedBlock>> r = beacon.Tick();
  EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("reorganized deeper than the confirmation depth"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(anvil_->rpc_url()));
}

}  // namespace
}  // namespace gnr::chain
