// The beacon against a fake RPC that serves a scripted chain: confirmation depth, order
// without gaps or duplicates, outages, shallow and deep reorgs, a lying RPC, resuming.

#include "chain-client/beacon.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "chain-client/json_rpc.h"
#include "common/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using ::testing::HasSubstr;

// A chain of berlin-style headers; fork tags in extraData make branches differ.
std::vector<BlockHeader> MakeChain(uint64_t length, uint8_t tag = 0,
                                   const std::vector<BlockHeader>& base = {},
                                   uint64_t fork_at = 0) {
  std::vector<BlockHeader> chain(base.begin(),
                                 base.begin() + std::min<size_t>(fork_at, base.size()));
  while (chain.size() < length) {
    BlockHeader h;
    h.number = chain.size();
    h.parent_hash = chain.empty() ? Hash256{} : chain.back().Hash();
    h.timestamp = 1700000000 + h.number * 12;
    h.gas_limit = 30000000;
    h.difficulty = U256(1);
    h.extra_data = {tag, static_cast<uint8_t>(h.number)};
    h.state_root[0] = tag;
    chain.push_back(h);
  }
  return chain;
}

Json BlockJson(const BlockHeader& h) {
  return Json{{"hash", HexEncode0x(h.Hash())},
              {"parentHash", HexEncode0x(h.parent_hash)},
              {"sha3Uncles", HexEncode0x(h.ommers_hash)},
              {"miner", HexEncode0x(h.beneficiary)},
              {"stateRoot", HexEncode0x(h.state_root)},
              {"transactionsRoot", HexEncode0x(h.transactions_root)},
              {"receiptsRoot", HexEncode0x(h.receipts_root)},
              {"logsBloom", HexEncode0x(h.logs_bloom)},
              {"difficulty", h.difficulty.ToQuantity()},
              {"number", U256(h.number).ToQuantity()},
              {"gasLimit", U256(h.gas_limit).ToQuantity()},
              {"gasUsed", U256(h.gas_used).ToQuantity()},
              {"timestamp", U256(h.timestamp).ToQuantity()},
              {"extraData", HexEncode0x(h.extra_data)},
              {"mixHash", HexEncode0x(h.mix_hash)},
              {"nonce", HexEncode0x(h.nonce)},
              {"transactions", Json::array()}};
}

// Serves eth_blockNumber and eth_getBlockByNumber from a chain the test can replace, fail
// for a number of requests, make lag (announce a head it does not serve) or make lie.
class FakeChain : public RpcTransport {
 public:
  void SetChain(std::vector<BlockHeader> chain) {
    absl::MutexLock lock(&mu_);
    chain_ = std::move(chain);
  }
  void FailNext(int n) {
    absl::MutexLock lock(&mu_);
    failures_ = n;
  }
  void SetLag(uint64_t blocks) {
    absl::MutexLock lock(&mu_);
    lag_ = blocks;
  }
  void TamperWithBlock(std::optional<uint64_t> number) {
    absl::MutexLock lock(&mu_);
    tamper_ = number;
  }
  int requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  absl::StatusOr<std::string> Send(std::string_view request_body) override {
    absl::MutexLock lock(&mu_);
    ++requests_;
    if (failures_ > 0) {
      --failures_;
      return absl::UnavailableError("connection refused");
    }
    Json request = Json::parse(request_body);
    Json result;
    const std::string method = request["method"];
    if (method == "eth_blockNumber") {
      result = U256(chain_.size() - 1).ToQuantity();
    } else if (method == "eth_getBlockByNumber") {
      uint64_t n = *U256::FromQuantity(request["params"][0].get<std::string>())->ToUint64();
      if (n < chain_.size() - lag_) {
        result = BlockJson(chain_[n]);
        if (tamper_ == n) result["timestamp"] = U256(chain_[n].timestamp + 1).ToQuantity();
      }
    } else {
      return Json{{"jsonrpc", "2.0"},
                  {"id", request["id"]},
                  {"error", {{"code", -32601}, {"message", "method not found"}}}}
          .dump();
    }
    return Json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", result}}.dump();
  }
  std::string endpoint() const override { return "http://fake:8545"; }

 private:
  absl::Mutex mu_;
  std::vector<BlockHeader> chain_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t lag_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<uint64_t> tamper_ ABSL_GUARDED_BY(mu_);
  int requests_ ABSL_GUARDED_BY(mu_) = 0;
};

class BeaconTest : public ::testing::Test {
 protected:
  BeaconTest() {
    auto fake = std::make_unique<FakeChain>();
    fake_ = fake.get();
    client_ = std::make_unique<JsonRpcClient>(std::move(fake), RetryPolicy{.max_attempts = 1},
                                              [](absl::Duration) {});
    eth_ = std::make_unique<EthRpc>(*client_);
    light_ = std::make_unique<LightClient>(*eth_);
  }

  Beacon MakeBeacon(BeaconOptions options) {
    return Beacon(*light_, std::move(options), [this](absl::Duration d) {
      sleeps_.push_back(d);
      if (on_sleep_) on_sleep_();
    });
  }

  // Ticks until nothing new comes, collecting everything.
  std::vector<ConfirmedBlock> Drain(Beacon& beacon) {
    std::vector<ConfirmedBlock> all;
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<std::vector<ConfirmedBlock>> got = beacon.Tick();
      EXPECT_OK(got.status());
      if (!got.ok() || got->empty()) break;
      all.insert(all.end(), got->begin(), got->end());
    }
    return all;
  }

  static void ExpectMatches(const std::vector<ConfirmedBlock>& got,
                            const std::vector<BlockHeader>& chain, uint64_t first, uint64_t last) {
    ASSERT_EQ(got.size(), last - first + 1);
    for (uint64_t n = first; n <= last; ++n) {
      const ConfirmedBlock& b = got[n - first];
      EXPECT_EQ(b.number, n);
      EXPECT_EQ(b.hash, chain[n].Hash()) << "block " << n;
      EXPECT_EQ(b.parent_hash, chain[n].parent_hash);
      EXPECT_EQ(b.timestamp, chain[n].timestamp);
    }
  }

  FakeChain* fake_;
  std::unique_ptr<JsonRpcClient> client_;
  std::unique_ptr<EthRpc> eth_;
  std::unique_ptr<LightClient> light_;
  std::vector<absl::Duration> sleeps_;
  std::function<void()> on_sleep_;
};

TEST_F(BeaconTest, StartsAtTheNewestConfirmedBlockAndWaitsForTheDepth) {
  std::vector<BlockHeader> chain = MakeChain(10);  // head 9
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 3});
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> got, beacon.Tick());
  ExpectMatches(got, chain, 6, 6);
  EXPECT_EQ(beacon.pending(), 3u);
  ASSERT_OK_AND_ASSIGN(got, beacon.Tick());
  EXPECT_TRUE(got.empty());  // no new block, nothing newly confirmed

  chain = MakeChain(13, 0, chain, 10);
  fake_->SetChain(chain);
  ASSERT_OK_AND_ASSIGN(got, beacon.Tick());
  ExpectMatches(got, chain, 7, 9);
  EXPECT_EQ(beacon.last_emitted()->number, 9u);
}

TEST_F(BeaconTest, ZeroConfirmationsEmitsTheHead) {
  std::vector<BlockHeader> chain = MakeChain(5);
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 0});
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> got, beacon.Tick());
  ExpectMatches(got, chain, 4, 4);
}

TEST_F(BeaconTest, CatchesUpFromAStartBlockOverSeveralTicks) {
  std::vector<BlockHeader> chain = MakeChain(40);
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 2, .start_block = 0, .max_headers_per_tick = 7});
  std::vector<ConfirmedBlock> got = Drain(beacon);
  ExpectMatches(got, chain, 0, 37);
}

TEST_F(BeaconTest, AnOutageLeavesTheStreamGapless) {
  std::vector<BlockHeader> chain = MakeChain(10);
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 2, .start_block = 0, .max_headers_per_tick = 4});
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> got, beacon.Tick());
  ExpectMatches(got, chain, 0, 1);

  // Down in the middle of fetching: the headers fetched so far are kept, nothing is lost.
  fake_->FailNext(100);
  absl::StatusOr<std::vector<ConfirmedBlock>> down = beacon.Tick();
  EXPECT_STATUS(down, absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsTransientBeaconError(down.status()));
  fake_->FailNext(0);
  chain = MakeChain(20, 0, chain, 10);
  fake_->SetChain(chain);
  std::vector<ConfirmedBlock> rest = Drain(beacon);
  ExpectMatches(rest, chain, 2, 17);
}

TEST_F(BeaconTest, RunRetriesOutagesWithBackoffAndStopsWhenAsked) {
  std::vector<BlockHeader> chain = MakeChain(6);
  fake_->SetChain(chain);
  int sleeps = 0;
  on_sleep_ = [&] {
    ++sleeps;
    if (sleeps == 2) fake_->FailNext(3);  // the RPC restarts
    // A new block every poll.
    if (chain.size() < 30) {
      chain = MakeChain(chain.size() + 1, 0, chain, chain.size());
      fake_->SetChain(chain);
    }
  };
  Beacon beacon = MakeBeacon({.confirmations = 2,
                              .start_block = 0,
                              .poll_interval = absl::Milliseconds(100),
                              .max_backoff = absl::Milliseconds(300)});
  std::vector<ConfirmedBlock> got;
  ASSERT_OK(beacon.Run([&](const ConfirmedBlock& b) {
    got.push_back(b);
    return b.number < 20;
  }));
  ExpectMatches(got, chain, 0, 20);
  EXPECT_THAT(sleeps_, ::testing::Contains(absl::Milliseconds(200)));  // backoff doubled
  EXPECT_THAT(sleeps_, ::testing::Contains(absl::Milliseconds(300)));  // and capped
  EXPECT_EQ(beacon.last_emitted()->number, 20u);

  // Blocks confirmed in the last round but not delivered come next, without a gap.
  on_sleep_ = nullptr;
  chain = MakeChain(40, 0, chain, chain.size());
  fake_->SetChain(chain);
  std::vector<ConfirmedBlock> next = Drain(beacon);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next.front().number, 21u);
}

TEST_F(BeaconTest, RunGivesUpAfterTooManyErrorsInARow) {
  fake_->SetChain(MakeChain(5));
  fake_->FailNext(1000);
  Beacon beacon = MakeBeacon({.confirmations = 1, .max_consecutive_errors = 5});
  absl::Status s = beacon.Run([](const ConfirmedBlock&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("giving up after 5 errors in a row"));
  EXPECT_EQ(sleeps_.size(), 4u);
}

TEST_F(BeaconTest, FollowsAShallowReorg) {
  std::vector<BlockHeader> chain = MakeChain(11);  // head 10
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 4, .start_block = 0});
  std::vector<ConfirmedBlock> got = Drain(beacon);
  ExpectMatches(got, chain, 0, 6);

  // Blocks 8..10 are replaced by a longer branch.
  std::vector<BlockHeader> fork = MakeChain(14, /*tag=*/1, chain, 8);
  ASSERT_NE(fork[8].Hash(), chain[8].Hash());
  fake_->SetChain(fork);
  std::vector<ConfirmedBlock> more = Drain(beacon);
  ExpectMatches(more, fork, 7, 9);
  EXPECT_EQ(more[0].parent_hash, got.back().hash);
  EXPECT_EQ(beacon.reorged_blocks(), 3u);
}

TEST_F(BeaconTest, FollowsAReorgToAShorterChain) {
  std::vector<BlockHeader> chain = MakeChain(11);
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 4, .start_block = 0});
  Drain(beacon);
  // 8..10 replaced by a single block 8': the head goes back to 8.
  std::vector<BlockHeader> fork = MakeChain(9, 1, chain, 8);
  fake_->SetChain(fork);
  ASSERT_OK_AND_ASSIGN(std::vector<ConfirmedBlock> got, beacon.Tick());
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(beacon.pending(), 2u);  // 7 and 8'
  fork = MakeChain(13, 1, fork, 9);
  fake_->SetChain(fork);
  ASSERT_OK_AND_ASSIGN(got, beacon.Tick());
  ExpectMatches(got, fork, 7, 8);
}

TEST_F(BeaconTest, AReorgDeeperThanTheDepthIsDataLoss) {
  std::vector<BlockHeader> chain = MakeChain(11);
  fake_->SetChain(chain);
  Beacon beacon = MakeBeacon({.confirmations = 2, .start_block = 0});
  std::vector<ConfirmedBlock> got = Drain(beacon);
  ExpectMatches(got, chain, 0, 8);
  fake_->SetChain(MakeChain(15, 1, chain, 6));  // replaces emitted blocks 6..8
  absl::StatusOr<std::vector<ConfirmedBlock>> r = beacon.Tick();
  EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("reorganized deeper than the confirmation depth (2 blocks): block 8"));
  EXPECT_FALSE(IsTransientBeaconError(r.status()));
  // And Run reports it instead of retrying.
  EXPECT_EQ(beacon.Run([](const ConfirmedBlock&) { return true; }).code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(BeaconTest, ALyingRpcIsDataLoss) {
  std::vector<BlockHeader> chain = MakeChain(10);
  fake_->SetChain(chain);
  fake_->TamperWithBlock(8);
  Beacon beacon = MakeBeacon({.confirmations = 1, .start_block = 0});
  absl::StatusOr<std::vector<ConfirmedBlock>> r;
  for (int i = 0; i < 5; ++i) {
    r = beacon.Tick();
    if (!r.ok()) break;
  }
  EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("http://fake:8545"));
  // Nothing unverified was emitted: the stream stops before the tampered block.
  EXPECT_TRUE(!beacon.last_emitted() || beacon.last_emitted()->number <= 7);
}

TEST_F(BeaconTest, ALaggingNodeIsWaitedFor) {
  std::vector<BlockHeader> chain = MakeChain(10);
  fake_->SetChain(chain);
  fake_->SetLag(2);  // announces 9, serves up to 7
  Beacon beacon = MakeBeacon({.confirmations = 1, .start_block = 0});
  std::vector<ConfirmedBlock> got = Drain(beacon);
  ExpectMatches(got, chain, 0, 6);
  fake_->SetLag(0);
  std::vector<ConfirmedBlock> more = Drain(beacon);
  ExpectMatches(more, chain, 7, 8);
}

TEST_F(BeaconTest, ResumesAfterAnEarlierStream) {
  std::vector<BlockHeader> chain = MakeChain(12);
  fake_->SetChain(chain);
  ConfirmedBlock last{5, chain[5].Hash(), chain[5].parent_hash, chain[5].timestamp};
  Beacon beacon = MakeBeacon({.confirmations = 2, .resume_after = last});
  std::vector<ConfirmedBlock> got = Drain(beacon);
  ExpectMatches(got, chain, 6, 9);

  // Resuming after a block the chain no longer has.
  last.hash[0] ^= 1;
  Beacon stale = MakeBeacon({.confirmations = 2, .resume_after = last});
  EXPECT_STATUS(stale.Tick(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gnr::chain
