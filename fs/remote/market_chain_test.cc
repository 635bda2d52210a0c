// MarketChain against the real StorageMarket contract on a live anvil.

#include "fs/remote/market_chain.h"

#include <memory>
#include <string>

#include "chain-client/json_rpc.h"
#include "chain-client/tx_sender.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::remote {
namespace {

using ::testing::HasSubstr;

TEST(MarketChain, ReadsBucketsFromALiveContract) {
  ASSERT_OK_AND_ASSIGN(auto anvil, gnr::testing::AnvilProcess::Start());
  ASSERT_OK_AND_ASSIGN(auto http, chain::HttpTransport::Create(anvil->rpc_url()));
  chain::JsonRpcClient client(std::move(http));
  chain::EthRpc eth(client);
  chain::NonceManager nonces(eth);
  chain::TxSenderOptions so;
  so.poll_interval = absl::Milliseconds(20);
  ASSERT_OK_AND_ASSIGN(
      auto sender,
      chain::TxSender::Create(eth, nonces,
                              *crypto::PrivateKey::FromBytes(anvil->accounts()[0].private_key),
                              SystemClockInstance(), so));
  ASSERT_OK_AND_ASSIGN(chain::StorageMarket market, chain::StorageMarket::Deploy(*sender, eth));
  ASSERT_OK_AND_ASSIGN(chain::RpcBlock head, eth.GetBlockByNumber(chain::BlockRef::Latest()));
  uint64_t now = head.header.header.timestamp;
  chain::BucketId id{};
  id[0] = 0x42;
  ASSERT_OK(
      market
          .BuyBucketSpace(
              *sender,
              {.bucket_id = id, .size_gb = 3, .start = now, .end = now + 7 * 86400, .backup = 2})
          .status());

  MarketChain chain(market, anvil->rpc_url());
  ASSERT_OK_AND_ASSIGN(volume::BucketInfo b, chain.GetBucket(id));
  EXPECT_EQ(b.size_bytes, uint64_t{3} << 30);
  EXPECT_EQ(b.start, absl::FromUnixSeconds(now));
  EXPECT_EQ(b.end, absl::FromUnixSeconds(now + 7 * 86400));
  EXPECT_EQ(b.backup_count, 2u);
  EXPECT_FALSE(b.ExpiredAt(absl::FromUnixSeconds(now + 86400)));
  EXPECT_TRUE(b.ExpiredAt(absl::FromUnixSeconds(now + 8 * 86400)));

  chain::BucketId missing{};
  missing[0] = 0x43;
  absl::StatusOr<volume::BucketInfo> none = chain.GetBucket(missing);
  EXPECT_STATUS(none.status(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("gnr market buy-space"));
  EXPECT_STATUS(chain.GetBucket(Bytes(5, 1)).status(), absl::StatusCode::kInvalidArgument);

  // The chain goes away: Unavailable, naming the endpoint.
  anvil.reset();
  absl::StatusOr<volume::BucketInfo> down = chain.GetBucket(id);
  EXPECT_STATUS(down.status(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gnr::remote
