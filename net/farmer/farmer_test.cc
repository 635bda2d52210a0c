// The farmer daemon in-process, spoken to over real loopback ZeroMQ by a ShardClient.
#include "net/farmer/farmer.h"

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/hex.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/farmer/byte_size.h"
#include "net/farmer/node_key.h"
#include "net/farmer/testing/temp_dir.h"
#include "net/shard/shard_client.h"
#include "net/shard/signing.h"
#include "net/zmq/transport.h"
#include "tests/testing/status_matchers.h"

namespace gnr::farmer {
namespace {

using ::gnr::farmer::testing::TempDir;

constexpr uint32_t kLeaf = 16 * 1024;

class RefuseBucketAdmission final : public Admission {
 public:
  absl::Status AdmitPut(ByteView bucket, ByteView, uint64_t) override {
    if (bucket.size() == 1 && bucket[0] == 'x') {
      return absl::FailedPreconditionError("bucket 0x78 is not paid for");
    }
    return absl::OkStatus();
  }
  absl::Status AdmitGet(ByteView, ByteView, uint64_t) override { return absl::OkStatus(); }
};

class FarmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(net_zmq::CurveKeyPair keys, net_zmq::GenerateCurveKeyPair(rng_));
    net_zmq::Options o;
    o.keys = keys;
    ASSERT_OK_AND_ASSIGN(client_transport_, net_zmq::Transport::Start(std::move(o)));
    signer_ = std::make_unique<shard::PrivateKeySigner>(crypto::PrivateKey::Generate(rng_));
    shard::ShardClientOptions client;
    client.transport = client_transport_.get();
    client.signer = signer_.get();
    client_ = std::make_unique<shard::ShardClient>(std::move(client));
  }

  void StartFarmer(uint64_t capacity = 8 << 20) {
    FarmerOptions o;
    o.data_dir = dir_.path();
    o.capacity_bytes = capacity;
    o.admission = &admission_;
    o.store.min_free_disk_bytes = 0;
    ASSERT_OK_AND_ASSIGN(farmer_, Farmer::Start(std::move(o)));
    address_ =
        shard::FarmerAddress{farmer_->id(), farmer_->endpoint(), farmer_->curve_public_key()};
  }

  shard::PutShardArgs MakeShard(size_t size, Bytes* data) {
    *data = rng_.Generate(size);
    shard::PutShardArgs a;
    a.bucket_id = Bytes{'b', 'k'};
    a.shard_id = rng_.Generate<32>();
    a.leaf_size = kLeaf;
    a.merkle_root = crypto::MerkleTree::Build(*data, kLeaf)->root();
    a.data = net_zmq::SharedBytes::Copy(*data);
    return a;
  }

  TempDir dir_{"farmer"};
  crypto::DeterministicRandom rng_{7};
  RefuseBucketAdmission admission_;
  std::unique_ptr<net_zmq::Transport> client_transport_;
  std::unique_ptr<shard::PrivateKeySigner> signer_;
  std::unique_ptr<shard::ShardClient> client_;
  std::unique_ptr<Farmer> farmer_;
  shard::FarmerAddress address_;
};

TEST_F(FarmerTest, ServesTheShardProtocolFromDisk) {
  StartFarmer();
  Bytes data;
  shard::PutShardArgs put = MakeShard(5 * kLeaf + 100, &data);
  ASSERT_OK_AND_ASSIGN(shard::PutShardAck ack, client_->PutSync(address_, put));
  EXPECT_FALSE(ack.already_stored);
  EXPECT_EQ(ack.free_bytes, (8u << 20) - data.size());
  ASSERT_OK_AND_ASSIGN(ack, client_->PutSync(address_, put));
  EXPECT_TRUE(ack.already_stored);

  shard::GetRangeArgs get{
      .shard_id = put.shard_id, .bucket_id = put.bucket_id, .first_leaf = 2, .leaf_count = 4};
  ASSERT_OK_AND_ASSIGN(shard::GetRangeReply reply, client_->GetRangeSync(address_, get));
  EXPECT_EQ(reply.leaves.ToBytes(), Bytes(data.begin() + 2 * kLeaf, data.end()));
  EXPECT_OK(shard::VerifyRangeReply(get, reply, put.merkle_root, data.size(), kLeaf));

  ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> sentinels,
                       client_->ChallengeSentinelsSync(address_, put.shard_id, {64, 9000}));
  ASSERT_EQ(sentinels.size(), 2u);
  EXPECT_TRUE(std::equal(sentinels[1].begin(), sentinels[1].end(), data.begin() + 9000));

  ASSERT_OK_AND_ASSIGN(shard::MerkleChallengeResult leaf,
                       client_->ChallengeMerkleSync(address_, put.shard_id, 5));
  EXPECT_OK(shard::VerifyMerkleChallengeReply(5, leaf, put.merkle_root, data.size(), kLeaf));

  ASSERT_OK_AND_ASSIGN(shard::ShardInfo info, client_->StatShardSync(address_, put.shard_id));
  EXPECT_EQ(info.size, data.size());
  EXPECT_EQ(info.payer, signer_->address());
  ASSERT_OK_AND_ASSIGN(shard::NodeStatus node, client_->StatNodeSync(address_));
  EXPECT_EQ(node.capacity_bytes, 8u << 20);
  EXPECT_EQ(node.used_bytes, data.size());
  EXPECT_EQ(node.shard_count, 1u);
  EXPECT_TRUE(node.accepting);

  ASSERT_OK(client_->DeleteSync(address_, put.shard_id, put.bucket_id));
  EXPECT_STATUS(client_->StatShardSync(address_, put.shard_id), absl::StatusCode::kNotFound);
  EXPECT_GE(farmer_->status().requests.total(), 8u);
}

TEST_F(FarmerTest, RefusalsReachTheClientWithTheirReason) {
  StartFarmer(/*capacity=*/4 * kLeaf);
  Bytes data;
  shard::PutShardArgs big = MakeShard(5 * kLeaf, &data);
  absl::StatusOr<shard::PutShardAck> full = client_->PutSync(address_, big);
  EXPECT_STATUS(full, absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(full.status().message()).find("farmer full"), std::string::npos)
      << full.status();

  shard::PutShardArgs bad_root = MakeShard(kLeaf, &data);
  bad_root.merkle_root[3] ^= 1;
  EXPECT_STATUS(client_->PutSync(address_, bad_root), absl::StatusCode::kDataLoss);

  shard::PutShardArgs unpaid = MakeShard(kLeaf, &data);
  unpaid.bucket_id = Bytes{'x'};
  absl::StatusOr<shard::PutShardAck> refused = client_->PutSync(address_, unpaid);
  EXPECT_STATUS(refused, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(refused.status().message()).find("not paid"), std::string::npos);

  farmer_->service().SetAccepting(false);
  shard::PutShardArgs paused = MakeShard(kLeaf, &data);
  EXPECT_STATUS(client_->PutSync(address_, paused), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(farmer_->store().usage().used_bytes, 0u);
}

TEST_F(FarmerTest, RestartKeepsIdentityAndShards) {
  StartFarmer();
  Bytes data;
  shard::PutShardArgs put = MakeShard(3 * kLeaf, &data);
  ASSERT_OK(client_->PutSync(address_, put));
  kademlia::NodeId id = farmer_->id();
  net_zmq::CurveKey curve = farmer_->curve_public_key();
  farmer_.reset();  // graceful shutdown

  ASSERT_OK_AND_ASSIGN(FarmerContactFile file, ReadFarmerContactFile(dir_.Sub("farmer.json")));
  EXPECT_EQ(file.node_id, id);
  struct stat st;
  ASSERT_EQ(::stat(dir_.Sub("node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  StartFarmer();
  EXPECT_EQ(farmer_->id(), id);
  EXPECT_EQ(farmer_->curve_public_key(), curve);
  ASSERT_OK_AND_ASSIGN(shard::GetRangeReply reply,
                       client_->GetRangeSync(address_, {.shard_id = put.shard_id,
                                                        .bucket_id = put.bucket_id,
                                                        .first_leaf = 0,
                                                        .leaf_count = 3}));
  EXPECT_EQ(reply.leaves.ToBytes(), data);
}

TEST(FarmerSeeds, ParsesEndpointsAndContactFiles) {
  std::string key(64, 'a');
  ASSERT_OK_AND_ASSIGN(node::BootstrapPeer p, ParseBootstrapSeed("tcp://127.0.0.1:4100#" + key));
  EXPECT_EQ(p.endpoint, "tcp://127.0.0.1:4100");
  EXPECT_EQ(p.curve_key[0], 0xaa);
  EXPECT_STATUS(ParseBootstrapSeed("tcp://127.0.0.1:4100"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseBootstrapSeed("tcp://127.0.0.1:4100#zz"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseBootstrapSeed("/no/such/dir"), absl::StatusCode::kNotFound);
}

TEST(ByteSize, ParsesHumanSizes) {
  EXPECT_EQ(*ParseByteSize("500G"), 500ull << 30);
  EXPECT_EQ(*ParseByteSize("1.5T"), 3ull << 39);
  EXPECT_EQ(*ParseByteSize("750GB"), 750'000'000'000ull);
  EXPECT_EQ(*ParseByteSize("64MiB"), 64ull << 20);
  EXPECT_EQ(*ParseByteSize("64 mib"), 64ull << 20);
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("10B"), 10u);
  for (const char* bad : {"", "G", "0", "-5G", "5X", "1.2.3G", "99999999999P"}) {
    SCOPED_TRACE(bad);
    EXPECT_STATUS(ParseByteSize(bad), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(3ull << 29), "1.5 GiB");
}

TEST(NodeKey, CreatedOnceThenLoaded) {
  TempDir dir("node_key");
  crypto::DeterministicRandom rng(1);
  bool created = false;
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey a, LoadOrCreateNodeKey(dir.Sub("k"), rng, &created));
  EXPECT_TRUE(created);
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey b, LoadOrCreateNodeKey(dir.Sub("k"), rng, &created));
  EXPECT_FALSE(created);
  EXPECT_EQ(a.bytes(), b.bytes());
  ASSERT_EQ(::chmod(dir.Sub("k").c_str(), 0644), 0);
  EXPECT_STATUS(LoadOrCreateNodeKey(dir.Sub("k"), rng), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace gnr::farmer
