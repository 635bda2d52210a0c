// ShardAuditNetwork against a real farmer running in this process (farmer::Farmer: shard
// store on disk, shard server, DHT host over ZeroMQ on loopback), challenged from a client
// host that knows no DHT node: the farmer is reached through the placement's hint.

#include "fs/audit/shard_audit_network.h"

#include <memory>
#include <optional>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "common/log.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "fs/remote/net_shard_network.h"
#include "gtest/gtest.h"
#include "net/farmer/farmer.h"
#include "net/farmer/testing/temp_dir.h"
#include "net/shard/contact_hint.h"
#include "net/shard/signing.h"
#include "tests/testing/status_matchers.h"

namespace gnr::audit {
namespace {

constexpr uint32_t kLeaf = 4096;

template <typename T>
T Await(absl::AnyInvocable<void(absl::AnyInvocable<void(T)>)> start) {
  absl::Notification done;
  std::optional<T> result;
  start([&](T value) {
    result.emplace(std::move(value));
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  return std::move(*result);
}

TEST(ShardAuditNetwork, ReachesAFarmerTheDhtCannotResolveThroughTheHint) {
  SetLogLevel(LogLevel::kWarning);
  farmer::testing::TempDir dir("shard_audit_network");
  farmer::FarmerOptions fo;
  fo.data_dir = dir.Sub("farmer");
  fo.capacity_bytes = 64 << 20;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<farmer::Farmer> farmer,
                       farmer::Farmer::Start(std::move(fo)));

  // A client that joined no DHT: resolving the farmer's id finds nothing.
  node::HostOptions h;
  h.advertise = false;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<node::Host> host, node::Host::Start(std::move(h)));
  crypto::DeterministicRandom rng(11);
  shard::PrivateKeySigner signer(crypto::PrivateKey::Generate(rng));
  shard::ShardClientOptions co;
  co.transport = &host->transport();
  co.signer = &signer;
  co.request_timeout = absl::Seconds(2);
  co.transfer_timeout = absl::Seconds(5);
  shard::ShardClient client(std::move(co));
  shard::FarmerSelector selector(*host, client);
  remote::NetShardNetwork network(*host, client, selector, {});

  // A shard stored the way the drive stores it (the hint names the farmer's address).
  shard::FarmerAddress address;
  address.id = farmer->id();
  address.endpoint = farmer->endpoint();
  address.curve_key = farmer->curve_public_key();
  const std::string hint = shard::EncodeContactHint(address);
  auto data = std::make_shared<Bytes>(5 * kLeaf);
  rng.Fill(MutableByteView(*data));
  volume::PutShardRequest put;
  put.bucket_id = Bytes(32, 0xb1);
  put.shard_id = rng.Generate<32>();
  ASSERT_OK_AND_ASSIGN(crypto::MerkleTree tree, crypto::MerkleTree::Build(*data, kLeaf));
  put.merkle_root = tree.root();
  put.size = data->size();
  put.leaf_size = kLeaf;
  put.data = data;
  const ShardId shard_id = put.shard_id;
  ASSERT_OK(Await<absl::StatusOr<volume::FarmerContact>>([&](auto done) {
              network.PutShard({farmer->id().bytes(), hint}, std::move(put), std::move(done));
            }).status());

  ShardAuditNetwork audit(client, *host, SystemClockInstance());
  // With the hint: the DHT has no record, the hinted address answers.
  absl::StatusOr<MerkleAnswer> answer = Await<absl::StatusOr<MerkleAnswer>>([&](auto done) {
    audit.ChallengeMerkle({farmer->id().bytes(), hint}, shard_id, 2, absl::Seconds(5),
                          std::move(done));
  });
  ASSERT_OK(answer.status());
  EXPECT_EQ(answer->leaf, Bytes(data->begin() + 2 * kLeaf, data->begin() + 3 * kLeaf));
  // Without one: unreachable (Unavailable), never a wrong answer.
  answer = Await<absl::StatusOr<MerkleAnswer>>([&](auto done) {
    audit.ChallengeMerkle({farmer->id().bytes(), ""}, shard_id, 2, absl::Seconds(5),
                          std::move(done));
  });
  EXPECT_STATUS(answer.status(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace gnr::audit
