// ChainAdmission against the real StorageMarket contract on a live anvil.

#include "tools/chain_admission.h"

#include <memory>

#include "chain-client/json_rpc.h"
#include "chain-client/tx_sender.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::tools {
namespace {

TEST(ChainAdmission, AdmitsOnlyTheOwnerOfALiveBucketWithRoom) {
  ASSERT_OK_AND_ASSIGN(auto anvil, gnr::testing::AnvilProcess::Start());
  ASSERT_OK_AND_ASSIGN(auto http, chain::HttpTransport::Create(anvil->rpc_url()));
  chain::JsonRpcClient client(std::move(http));
  chain::EthRpc eth(client);
  chain::NonceManager nonces(eth);
  chain::TxSenderOptions so;
  so.poll_interval = absl::Milliseconds(20);
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key,
                       crypto::PrivateKey::FromBytes(anvil->accounts()[0].private_key));
  ASSERT_OK_AND_ASSIGN(auto sender,
                       chain::TxSender::Create(eth, nonces, key, SystemClockInstance(), so));
  ASSERT_OK_AND_ASSIGN(chain::StorageMarket market, chain::StorageMarket::Deploy(*sender, eth));
  ASSERT_OK_AND_ASSIGN(chain::RpcBlock head, eth.GetBlockByNumber(chain::BlockRef::Latest()));
  const uint64_t now = head.header.header.timestamp;
  chain::BucketId bucket{};
  bucket[0] = 7;
  ASSERT_OK(
      market
          .BuyBucketSpace(
              *sender,
              {.bucket_id = bucket, .size_gb = 1, .start = now, .end = now + 86400, .backup = 1})
          .status());
  const crypto::EthAddress owner = anvil->accounts()[0].address;
  const crypto::EthAddress other = anvil->accounts()[1].address;

  FakeClock clock(absl::FromUnixSeconds(static_cast<int64_t>(now) + 10));
  ChainAdmission admission(market, clock);
  EXPECT_OK(admission.AdmitPut(bucket, owner, 1 << 20));
  EXPECT_OK(admission.AdmitGet(bucket, owner, 1 << 20));
  EXPECT_STATUS(admission.AdmitPut(bucket, other, 1 << 20), absl::StatusCode::kPermissionDenied);
  EXPECT_STATUS(admission.AdmitPut(bucket, owner, (uint64_t{1} << 30) + 1),
                absl::StatusCode::kFailedPrecondition);
  chain::BucketId missing{};
  missing[0] = 8;
  EXPECT_STATUS(admission.AdmitPut(missing, owner, 1), absl::StatusCode::kFailedPrecondition);
  EXPECT_STATUS(admission.AdmitPut(Bytes(3, 1), owner, 1), absl::StatusCode::kInvalidArgument);

  // Expiry, by the clock.
  clock.Set(absl::FromUnixSeconds(static_cast<int64_t>(now) + 86400));
  EXPECT_STATUS(admission.AdmitGet(bucket, owner, 1), absl::StatusCode::kFailedPrecondition);
  EXPECT_STATUS(admission.AdmitPut(bucket, owner, 1), absl::StatusCode::kFailedPrecondition);

  // The chain goes away: a cached bucket is still admitted, an unknown one is Unavailable.
  clock.Set(absl::FromUnixSeconds(static_cast<int64_t>(now) + 86400 - 100));
  anvil.reset();
  EXPECT_OK(admission.AdmitPut(bucket, owner, 1 << 20));
  chain::BucketId unknown{};
  unknown[0] = 9;
  EXPECT_STATUS(admission.AdmitPut(unknown, owner, 1), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gnr::tools
