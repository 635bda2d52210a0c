// The typed StorageMarket bindings against the real contract on a live anvil started by each
// test: every special transaction lands, its event is decoded and the views show the new
// state; every rule refuses bad input with a clear error.

#include <memory>
#include <string>
#include <vector>

#include "chain-client/json_rpc.h"
#include "chain-client/light_client.h"
#include "chain-client/storage_market.h"
#include "common/clock.h"
#include "common/hex.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using ::testing::HasSubstr;

U256 Ether(std::string_view amount) { return *ParseUnits(amount); }

// EXPECT that `result` failed with FailedPrecondition and a message containing `text`.
#define EXPECT_REFUSED(result, text)                                                     \
  do {                                                                                   \
    auto _r = (result);                                                                  \
    ASSERT_FALSE(_r.ok()) << "expected a refusal containing: " << (text);                \
    EXPECT_EQ(_r.status().code(), absl::StatusCode::kFailedPrecondition) << _r.status(); \
    EXPECT_THAT(std::string(_r.status().message()), HasSubstr(text));                    \
  } while (0)

class StorageMarketLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(anvil_, gnr::testing::AnvilProcess::Start());
    ASSERT_OK_AND_ASSIGN(auto http, HttpTransport::Create(anvil_->rpc_url()));
    client_ = std::make_unique<JsonRpcClient>(std::move(http));
    eth_ = std::make_unique<EthRpc>(*client_);
    nonces_ = std::make_unique<NonceManager>(*eth_);
    for (int i = 0; i < 4; ++i) {
      ASSERT_OK_AND_ASSIGN(
          auto s, MakeSender(*crypto::PrivateKey::FromBytes(anvil_->accounts()[i].private_key)));
      senders_.push_back(std::move(s));
    }
    ASSERT_OK_AND_ASSIGN(StorageMarket market, StorageMarket::Deploy(Sender(0), *eth_));
    market_ = std::make_unique<StorageMarket>(std::move(market));
  }

  absl::StatusOr<std::unique_ptr<TxSender>> MakeSender(const crypto::PrivateKey& key) {
    TxSenderOptions options;
    options.poll_interval = absl::Milliseconds(20);
    return TxSender::Create(*eth_, *nonces_, key, SystemClockInstance(), options);
  }

  TxSender& Sender(int i) { return *senders_[i]; }
  EthAddress Address(int i) const { return anvil_->accounts()[i].address; }

  uint64_t ChainNow() {
    absl::StatusOr<RpcBlock> b = eth_->GetBlockByNumber(BlockRef::Latest());
    EXPECT_OK(b.status());
    return b.ok() ? b->header.header.timestamp : 0;
  }

  BucketId NewBucketId() { return random_.Generate<32>(); }

  // Buys a bucket of `gb` GB for `days` days from now with account `who`.
  BucketId BuyBucket(int who, uint64_t gb, uint64_t days) {
    BucketId id = NewBucketId();
    uint64_t now = ChainNow();
    absl::StatusOr<MarketTx<BucketBoughtEvent>> r = market_->BuyBucketSpace(
        Sender(who),
        {.bucket_id = id, .size_gb = gb, .start = now, .end = now + days * 86400, .backup = 3});
    EXPECT_OK(r.status());
    return id;
  }

  crypto::DeterministicRandom random_{42};
  std::unique_ptr<gnr::testing::AnvilProcess> anvil_;
  std::unique_ptr<JsonRpcClient> client_;
  std::unique_ptr<EthRpc> eth_;
  std::unique_ptr<NonceManager> nonces_;
  std::vector<std::unique_ptr<TxSender>> senders_;
  std::unique_ptr<StorageMarket> market_;
};

TEST_F(StorageMarketLiveTest, DeployedWithDefaultsAndFoundAgainByAddress) {
  ASSERT_OK_AND_ASSIGN(MarketPrices p, market_->Prices());
  EXPECT_EQ(p.min_stake, Ether("1"));
  EXPECT_EQ(p.stake_per_node, Ether("1"));
  EXPECT_EQ(p.unstake_delay, 86400u);
  EXPECT_EQ(*market_->Owner(), Address(0));
  EXPECT_EQ(*market_->HeftOracle(), Address(0));

  ASSERT_OK_AND_ASSIGN(StorageMarket again, StorageMarket::At(*eth_, market_->address()));
  EXPECT_EQ(*again.Owner(), Address(0));
  absl::StatusOr<StorageMarket> nothing = StorageMarket::At(*eth_, Address(5));
  EXPECT_STATUS(nothing, absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(nothing.status().message()), HasSubstr("no contract at"));
}

TEST_F(StorageMarketLiveTest, StakeLandsAndShowsInViews) {
  ASSERT_OK_AND_ASSIGN(auto staked, market_->Stake(Sender(1), Ether("1.5")));
  EXPECT_EQ(staked.event.staker, Address(1));
  EXPECT_EQ(staked.event.amount, Ether("1.5"));
  EXPECT_EQ(staked.event.new_stake, Ether("1.5"));
  EXPECT_TRUE(staked.receipt.succeeded());

  ASSERT_OK_AND_ASSIGN(staked, market_->Stake(Sender(1), Ether("0.5")));
  EXPECT_EQ(staked.event.new_stake, Ether("2"));
  EXPECT_EQ(*market_->StakeOf(Address(1)), Ether("2"));
  EXPECT_EQ(*market_->TotalStake(), Ether("2"));
  EXPECT_EQ(*market_->MaxNodesOf(Address(1)), 2u);

  // The receipt carrying the event is proven against the block's receipts root.
  LightClient light(*eth_);
  EXPECT_OK(light.VerifiedTransactionReceipt(staked.receipt.transaction_hash).status());
}

TEST_F(StorageMarketLiveTest, TooLittleStakeIsRefused) {
  EXPECT_REFUSED(market_->Stake(Sender(1), U256(5)),
                 "execution reverted: StorageMarket: stake below minimum: have 5 wei, "
                 "need 1000000000000000000");
  EXPECT_REFUSED(market_->Stake(Sender(1), U256(0)), "stake amount must be positive");
  EXPECT_TRUE(market_->StakeOf(Address(1))->IsZero());
}

TEST_F(StorageMarketLiveTest, HeftSyncOnlyByTheOracleAndAbsolute) {
  EXPECT_REFUSED(market_->SyncHeft(Sender(1), Address(1), U256(100)),
                 "StorageMarket: caller is not the heft oracle");

  ASSERT_OK_AND_ASSIGN(auto synced, market_->SyncHeft(Sender(0), Address(2), U256(100)));
  EXPECT_EQ(synced.event.node, Address(2));
  EXPECT_EQ(synced.event.heft, U256(100));
  EXPECT_TRUE(synced.event.previous_heft.IsZero());
  ASSERT_OK_AND_ASSIGN(synced, market_->SyncHeft(Sender(0), Address(2), U256(40)));
  EXPECT_EQ(synced.event.previous_heft, U256(100));
  EXPECT_EQ(*market_->HeftOf(Address(2)), U256(40));
  EXPECT_EQ(*market_->TotalHeft(), U256(40));
}

TEST_F(StorageMarketLiveTest, BuyBucketSpacePaysTheQuoteAndShowsTheBucket) {
  uint64_t now = ChainNow();
  BucketSpec spec{.bucket_id = NewBucketId(),
                  .size_gb = 10,
                  .start = now,
                  .end = now + 30 * 86400,
                  .backup = 3};
  ASSERT_OK_AND_ASSIGN(U256 quote, market_->QuoteSpace(10, now, now + 30 * 86400));
  EXPECT_EQ(quote, U256(1000000000000ull) * U256(10 * 30));  // 1 szabo per GB-day
  ASSERT_OK_AND_ASSIGN(auto bought, market_->BuyBucketSpace(Sender(1), spec));
  EXPECT_EQ(bought.event.bucket_id, spec.bucket_id);
  EXPECT_EQ(bought.event.owner, Address(1));
  EXPECT_EQ(bought.event.size_gb, 10u);
  EXPECT_EQ(bought.event.start, spec.start);
  EXPECT_EQ(bought.event.end, spec.end);
  EXPECT_EQ(bought.event.backup, 3);
  EXPECT_EQ(bought.event.cost, quote);

  ASSERT_OK_AND_ASSIGN(BucketInfo b, market_->Bucket(spec.bucket_id));
  EXPECT_TRUE(b.exists());
  EXPECT_EQ(b.owner, Address(1));
  EXPECT_EQ(b.size_gb, 10u);
  EXPECT_EQ(b.used_bytes, 0u);
  EXPECT_EQ(b.end, spec.end);
  EXPECT_EQ(b.backup, 3);
  EXPECT_THAT(*market_->BucketsOf(Address(1)), ::testing::ElementsAre(spec.bucket_id));
  EXPECT_FALSE(market_->Bucket(NewBucketId())->exists());

  // The same id twice, and a bucket that ends before it starts.
  EXPECT_REFUSED(market_->BuyBucketSpace(Sender(2), spec), "bucket id already exists");
  spec.bucket_id = NewBucketId();
  spec.end = spec.start;
  EXPECT_REFUSED(market_->BuyBucketSpace(Sender(1), spec, U256(1)),
                 "bucket end must be after its start");
}

TEST_F(StorageMarketLiveTest, BuyTrafficAddsUpAndUnderpaymentIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto bought, market_->BuyTraffic(Sender(1), 10));
  EXPECT_EQ(bought.event.buyer, Address(1));
  EXPECT_EQ(bought.event.gb, 10u);
  EXPECT_EQ(bought.event.new_traffic_gb, 10u);
  EXPECT_EQ(bought.event.cost, *market_->QuoteTraffic(10));
  ASSERT_OK_AND_ASSIGN(bought, market_->BuyTraffic(Sender(1), 5));
  EXPECT_EQ(bought.event.new_traffic_gb, 15u);
  EXPECT_EQ(*market_->TrafficOf(Address(1)), 15u);

  EXPECT_REFUSED(market_->BuyTraffic(Sender(1), 10, U256(1)),
                 "StorageMarket: insufficient payment: need 100000000000000 wei, got 1");
}

TEST_F(StorageMarketLiveTest, InsufficientWalletBalanceIsRefusedBeforeSending) {
  crypto::PrivateKey poor_key = crypto::PrivateKey::Generate(random_);
  EthAddress poor = crypto::EthereumAddress(poor_key.GetPublicKey());
  ASSERT_OK(anvil_
                ->Rpc("anvil_setBalance",
                      nlohmann::json::array({HexEncode0x(poor), Ether("0.01").ToQuantity()}))
                .status());
  ASSERT_OK_AND_ASSIGN(auto sender, MakeSender(poor_key));
  absl::StatusOr<MarketTx<StakedEvent>> r = market_->Stake(*sender, Ether("1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("insufficient balance: " + crypto::EthAddressToChecksumHex(poor) +
                        " has 0.01 ETH, the transaction sends 1 ETH plus gas"));
  EXPECT_TRUE(market_->StakeOf(poor)->IsZero());
  // Nothing was mined from that wallet.
  EXPECT_EQ(*eth_->GetTransactionCount(poor, BlockRef::Latest()), 0u);
}

TEST_F(StorageMarketLiveTest, BindNodeChecksSignatureKeyAndStake) {
  crypto::PrivateKey node_a = crypto::PrivateKey::Generate(random_);
  crypto::PrivateKey node_b = crypto::PrivateKey::Generate(random_);
  crypto::PrivateKey node_c = crypto::PrivateKey::Generate(random_);
  NodeId id_a = crypto::NodeIdOf(node_a.GetPublicKey());

  // Without stake.
  EXPECT_REFUSED(market_->BindNode(Sender(1), node_a), "stake below minimum: have 0 wei");

  ASSERT_OK(market_->Stake(Sender(1), Ether("2")).status());
  ASSERT_OK_AND_ASSIGN(auto bound, market_->BindNode(Sender(1), node_a));
  EXPECT_EQ(bound.event.staker, Address(1));
  EXPECT_EQ(bound.event.node_id, id_a);
  EXPECT_EQ(*market_->NodeOwner(id_a), std::optional<EthAddress>(Address(1)));
  EXPECT_EQ(*market_->NodeOwner(crypto::NodeIdOf(node_b.GetPublicKey())), std::nullopt);

  // A node binds once.
  EXPECT_REFUSED(market_->BindNode(Sender(1), node_a), "node already bound to the caller");
  ASSERT_OK(market_->Stake(Sender(2), Ether("1")).status());
  EXPECT_REFUSED(market_->BindNode(Sender(2), node_a), "node already bound to another staker");

  // A proof signed for another staker, a forged signature, a key that is not the node's.
  NodeBindingProof for_other = MakeNodeBindingProof(node_b, Address(2));
  EXPECT_REFUSED(market_->BindNode(Sender(1), for_other), "StorageMarket: bad node signature");
  NodeBindingProof forged = MakeNodeBindingProof(node_b, Address(1));
  forged.signature[10] ^= 1;
  EXPECT_REFUSED(market_->BindNode(Sender(1), forged), "StorageMarket: bad node signature");
  NodeBindingProof wrong_key = MakeNodeBindingProof(node_b, Address(1));
  wrong_key.node_id = id_a;
  EXPECT_REFUSED(market_->BindNode(Sender(1), wrong_key), "node already bound");
  wrong_key.node_id = crypto::NodeIdOf(node_c.GetPublicKey());
  EXPECT_REFUSED(market_->BindNode(Sender(1), wrong_key), "node id does not match public key");

  // 2 ether of stake allow 2 nodes.
  ASSERT_OK(market_->BindNode(Sender(1), MakeNodeBindingProof(node_b, Address(1))).status());
  EXPECT_REFUSED(market_->BindNode(Sender(1), node_c),
                 "StorageMarket: stake allows 2 nodes, 2 already bound");
  EXPECT_THAT(*market_->NodesOf(Address(1)),
              ::testing::ElementsAre(id_a, crypto::NodeIdOf(node_b.GetPublicKey())));
}

TEST_F(StorageMarketLiveTest, UnstakeNeedsUnbindingThenWaitsForTheDelay) {
  crypto::PrivateKey node = crypto::PrivateKey::Generate(random_);
  NodeId id = crypto::NodeIdOf(node.GetPublicKey());
  ASSERT_OK(market_->Stake(Sender(1), Ether("1")).status());
  ASSERT_OK(market_->BindNode(Sender(1), node).status());

  EXPECT_REFUSED(market_->Unstake(Sender(1), Ether("1")),
                 "StorageMarket: unbind nodes first: 1 bound, remaining stake allows 0");
  EXPECT_REFUSED(market_->UnbindNode(Sender(2), id), "node is bound to another staker");

  ASSERT_OK_AND_ASSIGN(auto unbound, market_->UnbindNode(Sender(1), id));
  EXPECT_EQ(unbound.event.staker, Address(1));
  EXPECT_EQ(unbound.event.node_id, id);
  EXPECT_TRUE(market_->NodesOf(Address(1))->empty());
  EXPECT_EQ(*market_->NodeOwner(id), std::nullopt);
  EXPECT_REFUSED(market_->UnbindNode(Sender(1), id), "node is not bound");

  ASSERT_OK_AND_ASSIGN(auto requested, market_->Unstake(Sender(1), Ether("1")));
  EXPECT_EQ(requested.event.amount, Ether("1"));
  EXPECT_EQ(requested.event.pending_amount, Ether("1"));
  EXPECT_TRUE(market_->StakeOf(Address(1))->IsZero());
  ASSERT_OK_AND_ASSIGN(PendingUnstake pending, market_->PendingUnstakeOf(Address(1)));
  EXPECT_EQ(pending.amount, Ether("1"));
  EXPECT_EQ(pending.release_at, requested.event.release_at);

  EXPECT_REFUSED(market_->WithdrawUnstaked(Sender(1)), "StorageMarket: unstake still locked");
  ASSERT_OK(anvil_->IncreaseTime(86400 + 1));
  ASSERT_OK_AND_ASSIGN(U256 before, eth_->GetBalance(Address(1)));
  ASSERT_OK_AND_ASSIGN(auto withdrawn, market_->WithdrawUnstaked(Sender(1)));
  EXPECT_EQ(withdrawn.event.amount, Ether("1"));
  ASSERT_OK_AND_ASSIGN(U256 after, eth_->GetBalance(Address(1)));
  EXPECT_GT(after, before);  // 1 ether back, minus gas
  EXPECT_REFUSED(market_->WithdrawUnstaked(Sender(1)), "nothing to withdraw");
}

TEST_F(StorageMarketLiveTest, SupplementGrowsAndExtendsOnlyForTheOwner) {
  BucketId id = BuyBucket(1, 10, 30);
  ASSERT_OK_AND_ASSIGN(BucketInfo before, market_->Bucket(id));

  EXPECT_REFUSED(market_->BucketSupplement(Sender(2), id, 5, 0),
                 "StorageMarket: caller is not the bucket owner");
  EXPECT_REFUSED(market_->BucketSupplement(Sender(1), NewBucketId(), 5, 0, U256(0)),
                 "StorageMarket: no such bucket");

  ASSERT_OK_AND_ASSIGN(U256 quote, market_->QuoteSupplement(id, 5, 10));
  ASSERT_OK_AND_ASSIGN(auto supplemented, market_->BucketSupplement(Sender(1), id, 5, 10));
  EXPECT_EQ(supplemented.event.bucket_id, id);
  EXPECT_EQ(supplemented.event.owner, Address(1));
  EXPECT_EQ(supplemented.event.add_size_gb, 5u);
  EXPECT_EQ(supplemented.event.add_days, 10u);
  EXPECT_EQ(supplemented.event.new_size_gb, 15u);
  EXPECT_EQ(supplemented.event.new_end, before.end + 10 * 86400);
  EXPECT_LE(supplemented.event.cost, quote);
  ASSERT_OK_AND_ASSIGN(BucketInfo after, market_->Bucket(id));
  EXPECT_EQ(after.size_gb, 15u);
  EXPECT_EQ(after.end, before.end + 10 * 86400);
}

TEST_F(StorageMarketLiveTest, ExpiredBucketRefusesSupplementAndFiles) {
  BucketId id = BuyBucket(1, 1, 1);
  ASSERT_OK(anvil_->IncreaseTime(2 * 86400));
  EXPECT_REFUSED(market_->BucketSupplement(Sender(1), id, 1, 1, Ether("1")),
                 "StorageMarket: bucket has expired");
  EXPECT_REFUSED(market_->RegisterFile(Sender(1), id, random_.Generate<32>(),
                                       random_.Generate<32>(), 10, 1000),
                 "StorageMarket: bucket has expired");
}

TEST_F(StorageMarketLiveTest, PricesAreSetByTheOwnerOnly) {
  MarketPrices prices{.price_per_gb_day = U256(7),
                      .price_per_gb_traffic = U256(11),
                      .min_stake = Ether("2"),
                      .stake_per_node = Ether("0.5"),
                      .unstake_delay = 3600};
  EXPECT_REFUSED(market_->SetPrices(Sender(1), prices), "caller is not the owner");
  ASSERT_OK_AND_ASSIGN(auto set, market_->SetPrices(Sender(0), prices));
  EXPECT_EQ(set.event.price_per_gb_day, U256(7));
  EXPECT_EQ(set.event.unstake_delay, 3600u);
  ASSERT_OK_AND_ASSIGN(MarketPrices now, market_->Prices());
  EXPECT_EQ(now.price_per_gb_traffic, U256(11));
  EXPECT_EQ(now.min_stake, Ether("2"));
  EXPECT_EQ(now.stake_per_node, Ether("0.5"));
  EXPECT_EQ(*market_->QuoteTraffic(3), U256(33));
}

TEST_F(StorageMarketLiveTest, FilesAreChargedAgainstTheirBucket) {
  BucketId id = BuyBucket(1, 1, 30);
  FixedBytes<32> file = random_.Generate<32>();
  FixedBytes<32> root = random_.Generate<32>();
  EXPECT_REFUSED(market_->RegisterFile(Sender(2), id, file, root, 30, 1000),
                 "caller is not the bucket owner");
  ASSERT_OK_AND_ASSIGN(auto registered, market_->RegisterFile(Sender(1), id, file, root, 30, 1000));
  EXPECT_EQ(registered.event.bucket_id, id);
  EXPECT_EQ(registered.event.file_id, file);
  EXPECT_EQ(registered.event.commitment_root, root);
  EXPECT_EQ(registered.event.shard_count, 30u);
  EXPECT_EQ(registered.event.size_bytes, 1000u);
  ASSERT_OK_AND_ASSIGN(FileRecord record, market_->FileOf(id, file));
  EXPECT_EQ(record.commitment_root, root);
  EXPECT_EQ(record.shard_count, 30u);
  EXPECT_GT(record.registered_at, 0u);
  EXPECT_EQ(market_->Bucket(id)->used_bytes, 1000u);
  EXPECT_REFUSED(
      market_->RegisterFile(Sender(1), id, random_.Generate<32>(), root, 1, uint64_t{1} << 30),
      "StorageMarket: bucket full");

  ASSERT_OK_AND_ASSIGN(auto removed, market_->RemoveFile(Sender(1), id, file));
  EXPECT_EQ(removed.event.size_bytes, 1000u);
  EXPECT_EQ(market_->Bucket(id)->used_bytes, 0u);
  EXPECT_EQ(market_->FileOf(id, file)->registered_at, 0u);
}

TEST_F(StorageMarketLiveTest, AuditsAreRecordedInBatches) {
  std::vector<AuditEntry> entries;
  for (int i = 0; i < 300; ++i) {
    entries.push_back({random_.Generate<20>(), static_cast<uint32_t>(i % 5),
                       static_cast<uint32_t>(i % 5 == 0 ? 1 : 0)});
  }
  // Only paying users report.
  EXPECT_REFUSED(market_->RecordAudits(Sender(1), std::span(entries).first(3)),
                 "StorageMarket: only bucket owners may report audits");
  // Refused locally, nothing sent.
  EXPECT_STATUS(market_->RecordAudits(Sender(1), {}), absl::StatusCode::kInvalidArgument);
  std::vector<AuditEntry> empty_entry = {{random_.Generate<20>(), 0, 0}};
  EXPECT_STATUS(market_->RecordAudits(Sender(1), empty_entry), absl::StatusCode::kInvalidArgument);

  BuyBucket(1, 1, 30);
  ASSERT_OK_AND_ASSIGN(std::vector<AuditRecordedEvent> events,
                       market_->RecordAudits(Sender(1), entries));
  ASSERT_EQ(events.size(), entries.size());  // two transactions: 256 + 44
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(events[i].reporter, Address(1));
    EXPECT_EQ(events[i].node_id, entries[i].node_id);
    EXPECT_EQ(events[i].passed, entries[i].passed);
    EXPECT_EQ(events[i].failed, entries[i].failed);
  }
  ASSERT_OK_AND_ASSIGN(AuditStats stats, market_->AuditStatsOf(entries[299].node_id));
  EXPECT_EQ(stats.passed, 4u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_GT(stats.last_report_at, 0u);
  // Again for the same node: counters add up.
  std::vector<AuditEntry> again = {{entries[0].node_id, 2, 3}};
  ASSERT_OK(market_->RecordAudits(Sender(1), again).status());
  stats = *market_->AuditStatsOf(entries[0].node_id);
  EXPECT_EQ(stats.passed, 2u);
  EXPECT_EQ(stats.failed, 4u);
}

TEST_F(StorageMarketLiveTest, CommitteePointsAreStakeShareplusHeftShare) {
  ASSERT_OK(market_->Stake(Sender(1), Ether("3")).status());
  ASSERT_OK(market_->Stake(Sender(2), Ether("1")).status());
  ASSERT_OK(market_->Stake(Sender(3), Ether("1")).status());
  // No heft anywhere yet: zero points whatever the stake.
  EXPECT_TRUE(market_->CommitteePoints(Address(1))->IsZero());

  ASSERT_OK(market_->SyncHeft(Sender(0), Address(1), U256(1)).status());
  ASSERT_OK(market_->SyncHeft(Sender(0), Address(2), U256(4)).status());
  // 1: 3/5 + 1/5; 2: 1/5 + 4/5; 3: staked, but no heft.
  EXPECT_EQ(*market_->CommitteePoints(Address(1)), U256(800000000000000000ull));
  EXPECT_EQ(*market_->CommitteePoints(Address(2)), U256(kCommitteePointsScale));
  EXPECT_TRUE(market_->CommitteePoints(Address(3))->IsZero());
  // Heft without stake: heft share only.
  ASSERT_OK(market_->SyncHeft(Sender(0), Address(4), U256(5)).status());
  EXPECT_EQ(*market_->CommitteePoints(Address(4)), U256(500000000000000000ull));
}

}  // namespace
}  // namespace gnr::chain
