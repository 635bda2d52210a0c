// NetShardNetwork against real farmer daemons running in this process (farmer::Farmer: shard
// store on disk, shard server, DHT host over ZeroMQ on loopback) and a client-only host.

#include "fs/remote/net_shard_network.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/farmer/farmer.h"
#include "net/farmer/testing/temp_dir.h"
#include "net/shard/signing.h"
#include "tests/testing/status_matchers.h"

namespace gnr::remote {
namespace {

constexpr uint32_t kLeaf = 64 * 1024;

// Blocks until an async ShardNetwork callback ran.
template <typename T>
class Waiter {
 public:
  absl::AnyInvocable<void(T)> Callback() {
    return [this](T value) {
      result_.emplace(std::move(value));
      done_.Notify();
    };
  }
  T Wait() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return std::move(*result_);
  }

 private:
  absl::Notification done_;
  std::optional<T> result_;
};

class NetShardNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kWarning);
    for (int i = 0; i < 3; ++i) {
      farmer::FarmerOptions o;
      o.data_dir = dir_.Sub(absl::StrCat("farmer", i));
      o.capacity_bytes = 256 << 20;
      if (i > 0) {
        o.bootstrap.push_back(
            node::BootstrapPeer{farmers_[0]->endpoint(), farmers_[0]->curve_public_key()});
      }
      ASSERT_OK_AND_ASSIGN(auto f, farmer::Farmer::Start(std::move(o)));
      ASSERT_OK(f->Join());
      farmers_.push_back(std::move(f));
    }
    node::HostOptions h;
    h.advertise = false;
    ASSERT_OK_AND_ASSIGN(host_, node::Host::Start(std::move(h)));
    ASSERT_OK(host_->BootstrapSync(
        {node::BootstrapPeer{farmers_[0]->endpoint(), farmers_[0]->curve_public_key()}}));
    signer_ = std::make_unique<shard::PrivateKeySigner>(crypto::PrivateKey::Generate(rng_));
    shard::ShardClientOptions o;
    o.transport = &host_->transport();
    o.signer = signer_.get();
    o.request_timeout = absl::Seconds(2);
    o.transfer_timeout = absl::Seconds(2);
    client_ = std::make_unique<shard::ShardClient>(std::move(o));
    selector_ = std::make_unique<shard::FarmerSelector>(*host_, *client_);
    network_ = std::make_unique<NetShardNetwork>(*host_, *client_, *selector_,
                                                 NetShardNetworkOptions{.shard_size_estimate = 1});
  }

  void TearDown() override {
    network_.reset();
    selector_.reset();
    client_.reset();
    host_.reset();
    farmers_.clear();
  }

  volume::PutShardRequest MakePut(size_t size, uint64_t seed) {
    crypto::DeterministicRandom r(seed);
    auto data = std::make_shared<Bytes>(size);
    r.Fill(MutableByteView(data->data(), data->size()));
    volume::PutShardRequest p;
    p.bucket_id = bucket_;
    p.shard_id = r.Generate<32>();
    p.merkle_root = crypto::MerkleTree::Build(*data, kLeaf)->root();
    p.size = data->size();
    p.leaf_size = kLeaf;
    p.data = data;
    return p;
  }

  farmer::testing::TempDir dir_{"remote"};
  crypto::DeterministicRandom rng_{7};
  Bytes bucket_ = Bytes(32, 0xb1);
  std::vector<std::unique_ptr<farmer::Farmer>> farmers_;
  std::unique_ptr<node::Host> host_;
  std::unique_ptr<shard::PrivateKeySigner> signer_;
  std::unique_ptr<shard::ShardClient> client_;
  std::unique_ptr<shard::FarmerSelector> selector_;
  std::unique_ptr<NetShardNetwork> network_;
};

TEST_F(NetShardNetworkTest, PutGetDeleteRoundTrip) {
  crypto::Hash256 key = rng_.Generate<32>();
  ASSERT_OK_AND_ASSIGN(std::vector<volume::FarmerContact> chosen,
                       network_->ChooseFarmers(bucket_, key, 5, {}));
  ASSERT_EQ(chosen.size(), 3u);  // every farmer, none twice
  EXPECT_NE(chosen[0].id, chosen[1].id);
  // Excluded farmers are not offered again.
  std::vector<volume::FarmerId> exclude = {chosen[0].id};
  ASSERT_OK_AND_ASSIGN(std::vector<volume::FarmerContact> rest,
                       network_->ChooseFarmers(bucket_, key, 5, exclude));
  ASSERT_EQ(rest.size(), 2u);
  for (const auto& c : rest) EXPECT_NE(c.id, chosen[0].id);

  volume::PutShardRequest put = MakePut(3 * kLeaf + 1000, 11);
  volume::SharedBuffer data = put.data;
  codec::ShardId shard_id = put.shard_id;
  crypto::Hash256 root = put.merkle_root;
  Waiter<absl::StatusOr<volume::FarmerContact>> put_done;
  network_->PutShard(chosen[0], std::move(put), put_done.Callback());
  ASSERT_OK_AND_ASSIGN(volume::FarmerContact acked, put_done.Wait());
  EXPECT_EQ(acked.id, chosen[0].id);

  // A fresh network (a restarted drive) reads through the hint alone.
  NetShardNetwork fresh(*host_, *client_, *selector_);
  codec::StoredRangeRequest get;
  get.shard_id = shard_id;
  get.leaves = {.begin = 2, .end = 4};
  Waiter<absl::StatusOr<codec::StoredRangeReply>> got;
  fresh.GetShardRange(acked, bucket_, get, got.Callback());
  ASSERT_OK_AND_ASSIGN(codec::StoredRangeReply reply, got.Wait());
  ASSERT_EQ(reply.leaves.size(), kLeaf + 1000u);
  EXPECT_TRUE(std::equal(reply.leaves.begin(), reply.leaves.end(), data->begin() + 2 * kLeaf));
  shard::GetRangeReply check{.leaves = net_zmq::SharedBytes(reply.leaves), .proof = reply.proof};
  EXPECT_OK(shard::VerifyRangeReply({.shard_id = shard_id, .first_leaf = 2, .leaf_count = 2}, check,
                                    root, data->size(), kLeaf));

  // A contact with no usable hint is resolved through the DHT.
  NetShardNetwork by_id(*host_, *client_, *selector_);
  Waiter<absl::Status> deleted;
  by_id.DeleteShard({.id = acked.id, .endpoint = ""}, bucket_, shard_id, deleted.Callback());
  EXPECT_OK(deleted.Wait());
  Waiter<absl::StatusOr<codec::StoredRangeReply>> gone;
  fresh.GetShardRange(acked, bucket_, get, gone.Callback());
  EXPECT_STATUS(gone.Wait().status(), absl::StatusCode::kNotFound);
  Waiter<absl::Status> again;
  network_->DeleteShard(acked, bucket_, shard_id, again.Callback());
  EXPECT_STATUS(again.Wait(), absl::StatusCode::kNotFound);

  std::vector<FarmerInUse> known = network_->KnownFarmers();
  EXPECT_EQ(known.size(), 3u);
}

TEST_F(NetShardNetworkTest, DeadFarmerFailsWithinTheTimeout) {
  ASSERT_OK_AND_ASSIGN(std::vector<volume::FarmerContact> chosen,
                       network_->ChooseFarmers(bucket_, rng_.Generate<32>(), 3, {}));
  ASSERT_EQ(chosen.size(), 3u);
  volume::FarmerContact victim = chosen[0];
  for (auto& f : farmers_) {
    if (f->id().bytes() == victim.id) f->Shutdown();
  }
  absl::Time start = absl::Now();
  Waiter<absl::StatusOr<volume::FarmerContact>> put_done;
  network_->PutShard(victim, MakePut(kLeaf, 3), put_done.Callback());
  absl::StatusOr<volume::FarmerContact> r = put_done.Wait();
  EXPECT_FALSE(r.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << r.status();
  // Marked dead: the next request fails at once instead of waiting for the timeout again.
  start = absl::Now();
  Waiter<absl::StatusOr<codec::StoredRangeReply>> got;
  codec::StoredRangeRequest get;
  get.leaves = {.begin = 0, .end = 1};
  network_->GetShardRange(victim, bucket_, get, got.Callback());
  EXPECT_STATUS(got.Wait().status(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  // The selector no longer offers it.
  ASSERT_OK_AND_ASSIGN(std::vector<volume::FarmerContact> live,
                       network_->ChooseFarmers(bucket_, rng_.Generate<32>(), 3, {}));
  EXPECT_EQ(live.size(), 2u);
  for (const auto& c : live) EXPECT_NE(c.id, victim.id);
}

}  // namespace
}  // namespace gnr::remote
