// Real `gnr farmer run` daemons on loopback and a client in this process (DESIGN.md section 9,
// issue 5): the client joins the DHT through one farmer, finds farmers for each shard through
// it, puts, reads back byte-exact, and watches what happens when farmers are killed -9,
// restarted, killed in the middle of a PUT, or filled up.
//
// Shard sizes are 1-16 MiB times GNR_INTEGRATION_SCALE (default 1; e.g. 0.25 on a slow
// machine). Logs of the daemons are in the test's temp directory (<farmer dir>.log).

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/farmer/testing/temp_dir.h"
#include "net/node/host.h"
#include "net/shard/placement.h"
#include "net/shard/shard_client.h"
#include "net/shard/signing.h"
#include "nlohmann/json.hpp"
#include "tests/integration/farmer_process.h"
#include "tests/testing/status_matchers.h"

namespace gnr::integration {
namespace {

using ::gnr::farmer::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kLeaf = 64 * 1024;
const Bytes kBucket = {0xb0, 0xc4, 0xe7};

double Scale() {
  const char* s = std::getenv("GNR_INTEGRATION_SCALE");
  double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

// A shard the test can regenerate at will (so 100 shards of up to 16 MiB need not sit in
// memory): its bytes come from a seeded generator.
struct TestShard {
  uint64_t seed = 0;
  size_t size = 0;
  shard::ShardId id{};
  crypto::Hash256 root{};
  Bytes Data() const {
    // Not cryptographic: just fast and reproducible.
    std::mt19937_64 rng(seed);
    Bytes out((size + 7) / 8 * 8);
    for (size_t i = 0; i < out.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(out.data() + i, &v, 8);
    }
    out.resize(size);
    return out;
  }
};

TestShard MakeShard(uint64_t seed, size_t size) {
  TestShard s{.seed = seed, .size = size};
  Bytes data = s.Data();
  s.root = crypto::MerkleTree::Build(data, kLeaf)->root();
  crypto::DeterministicRandom id_rng(seed ^ 0x5eed);
  s.id = id_rng.Generate<32>();
  return s;
}

shard::PutShardArgs PutArgs(const TestShard& s) {
  shard::PutShardArgs a;
  a.bucket_id = kBucket;
  a.shard_id = s.id;
  a.merkle_root = s.root;
  a.leaf_size = kLeaf;
  a.data = net_zmq::SharedBytes(s.Data());
  return a;
}

uint64_t Leaves(const TestShard& s) { return crypto::MerkleLeafCount(s.size, kLeaf); }

// Reads leaves [first, first + count) and checks them against the data and the root.
absl::Status ReadAndCheck(shard::ShardClient& client, const shard::FarmerAddress& farmer,
                          const TestShard& s, const Bytes& data, uint64_t first, uint64_t count) {
  shard::GetRangeArgs args{
      .shard_id = s.id, .bucket_id = kBucket, .first_leaf = first, .leaf_count = count};
  absl::StatusOr<shard::GetRangeReply> reply = client.GetRangeSync(farmer, args);
  if (!reply.ok()) return reply.status();
  GNR_RETURN_IF_ERROR(shard::VerifyRangeReply(args, *reply, s.root, s.size, kLeaf));
  size_t begin = first * kLeaf;
  size_t end = std::min<size_t>(s.size, (first + count) * kLeaf);
  if (reply->leaves.size() != end - begin ||
      !std::equal(data.begin() + begin, data.begin() + end, reply->leaves.data())) {
    return absl::DataLossError("bytes differ");
  }
  return absl::OkStatus();
}

class FarmerNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kWarning); }

  // Starts `n` farmers; all but the first join through the first.
  void StartFarmers(int n, const std::string& capacity) {
    for (int i = 0; i < n; ++i) {
      FarmerProcessOptions o;
      o.data_dir = dir_.Sub(absl::StrCat("farmer", i));
      o.capacity = capacity;
      if (i > 0) o.bootstrap.push_back(farmers_[0]->data_dir());
      farmers_.push_back(std::make_unique<FarmerProcess>(std::move(o)));
      ASSERT_OK(farmers_.back()->Start());
    }
  }

  // A client-only DHT node joined through farmer 0, and a shard client over its transport.
  void StartClient(absl::Duration request_timeout = absl::Seconds(3),
                   absl::Duration transfer_timeout = absl::Seconds(20)) {
    node::HostOptions h;
    h.advertise = false;
    ASSERT_OK_AND_ASSIGN(host_, node::Host::Start(std::move(h)));
    const shard::FarmerAddress& seed = farmers_[0]->address();
    ASSERT_OK(host_->BootstrapSync({node::BootstrapPeer{seed.endpoint, seed.curve_key}}));
    signer_ = std::make_unique<shard::PrivateKeySigner>(crypto::PrivateKey::Generate(rng_));
    shard::ShardClientOptions o;
    o.transport = &host_->transport();
    o.signer = signer_.get();
    o.request_timeout = request_timeout;
    o.transfer_timeout = transfer_timeout;
    client_ = std::make_unique<shard::ShardClient>(std::move(o));
    selector_ = std::make_unique<shard::FarmerSelector>(*host_, *client_);
  }

  FarmerProcess* FarmerById(const kademlia::NodeId& id) {
    for (auto& f : farmers_) {
      if (f->address().id == id) return f.get();
    }
    return nullptr;
  }

  TempDir dir_{"integration"};
  crypto::DeterministicRandom rng_{2026};
  std::vector<std::unique_ptr<FarmerProcess>> farmers_;
  std::unique_ptr<node::Host> host_;
  std::unique_ptr<shard::PrivateKeySigner> signer_;
  std::unique_ptr<shard::ShardClient> client_;
  std::unique_ptr<shard::FarmerSelector> selector_;
};

TEST_F(FarmerNetworkTest, PutGetKillRestart) {
  constexpr int kFarmers = 10;
  constexpr int kShards = 100;
  const absl::Time t0 = absl::Now();
  StartFarmers(kFarmers, "2G");
  StartClient();
  std::printf("started %d farmer daemons and joined the DHT in %.1f s\n", kFarmers,
              absl::ToDoubleSeconds(absl::Now() - t0));

  // The client finds every farmer through the DHT.
  ASSERT_OK_AND_ASSIGN(std::vector<kademlia::Contact> found,
                       host_->FindNodeSync(kademlia::NodeId::Random(rng_)));
  EXPECT_EQ(found.size(), static_cast<size_t>(kFarmers));

  // 100 shards of 1-16 MiB, each on the farmer the DHT picks for it, 4 puts at a time.
  std::vector<TestShard> shards;
  uint64_t total = 0;
  for (int i = 0; i < kShards; ++i) {
    size_t size =
        static_cast<size_t>((1 + rng_.NextU64() % 16) * kMiB * Scale()) + rng_.NextU64() % kLeaf;
    shards.push_back(MakeShard(1000 + i, size));
    total += size;
  }
  std::vector<shard::FarmerAddress> placed(kShards);
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  absl::Time put_start = absl::Now();
  {
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([&] {
        for (int i = next++; i < kShards; i = next++) {
          const TestShard& s = shards[i];
          absl::StatusOr<std::vector<shard::FarmerAddress>> chosen =
              selector_->ChooseSync(s.id, 1, s.size, {});
          if (!chosen.ok() || chosen->empty()) {
            ADD_FAILURE() << "no farmer for shard " << i << ": " << chosen.status();
            ++failures;
            continue;
          }
          absl::StatusOr<shard::PutShardAck> ack = client_->PutSync((*chosen)[0], PutArgs(s));
          if (!ack.ok()) {
            ADD_FAILURE() << "put of shard " << i << " failed: " << ack.status();
            ++failures;
            continue;
          }
          placed[i] = (*chosen)[0];
        }
      });
    }
    for (auto& t : workers) t.join();
  }
  ASSERT_EQ(failures.load(), 0);
  double put_seconds = absl::ToDoubleSeconds(absl::Now() - put_start);
  std::printf("put %d shards, %.0f MiB, in %.1f s (%.0f MiB/s)\n", kShards,
              static_cast<double>(total) / kMiB, put_seconds, total / kMiB / put_seconds);
  std::map<kademlia::NodeId, int> per_farmer;
  for (const auto& p : placed) ++per_farmer[p.id];
  for (const auto& [id, n] : per_farmer) {
    std::printf("  farmer %s holds %d shards\n", id.ShortHex().c_str(), n);
  }

  // Read everything back byte-exact, plus three random ranges per shard (4 readers).
  absl::Time get_start = absl::Now();
  std::vector<std::array<uint64_t, 6>> ranges(kShards);
  for (int i = 0; i < kShards; ++i) {
    for (int r = 0; r < 3; ++r) {
      uint64_t first = rng_.NextU64() % Leaves(shards[i]);
      ranges[i][2 * r] = first;
      ranges[i][2 * r + 1] = 1 + rng_.NextU64() % (Leaves(shards[i]) - first);
    }
  }
  next = 0;
  {
    std::vector<std::thread> readers;
    for (int w = 0; w < 4; ++w) {
      readers.emplace_back([&] {
        for (int i = next++; i < kShards; i = next++) {
          const TestShard& s = shards[i];
          Bytes data = s.Data();
          absl::Status st = ReadAndCheck(*client_, placed[i], s, data, 0, Leaves(s));
          EXPECT_TRUE(st.ok()) << "shard " << i << ": " << st;
          for (int r = 0; r < 3; ++r) {
            st = ReadAndCheck(*client_, placed[i], s, data, ranges[i][2 * r], ranges[i][2 * r + 1]);
            EXPECT_TRUE(st.ok()) << "shard " << i << " leaves " << ranges[i][2 * r] << "+"
                                 << ranges[i][2 * r + 1] << ": " << st;
          }
        }
      });
    }
    for (auto& t : readers) t.join();
  }
  ASSERT_FALSE(HasFailure());
  std::printf("read back %d shards and %d random ranges byte-exact in %.1f s\n", kShards,
              3 * kShards, absl::ToDoubleSeconds(absl::Now() - get_start));

  // kill -9 two farmers that hold shards.
  std::vector<FarmerProcess*> victims;
  for (const auto& [id, n] : per_farmer) {
    if (victims.size() < 2) victims.push_back(FarmerById(id));
  }
  ASSERT_EQ(victims.size(), 2u);
  for (FarmerProcess* v : victims) v->Kill();

  // Ask every shard's farmer at once: the dead ones time out (no hang), the rest answer.
  absl::Time stat_start = absl::Now();
  std::vector<absl::Status> results(kShards);
  absl::BlockingCounter pending(kShards);
  absl::Mutex mu;
  for (int i = 0; i < kShards; ++i) {
    client_->StatShard(placed[i], shards[i].id, [&, i](absl::StatusOr<shard::ShardInfo> info) {
      absl::MutexLock lock(&mu);
      results[i] = info.status();
      if (info.ok() && info->size != shards[i].size) results[i] = absl::DataLossError("size");
      pending.DecrementCount();
    });
  }
  pending.Wait();
  absl::Duration stat_time = absl::Now() - stat_start;
  std::map<kademlia::NodeId, std::vector<int>> gone;
  for (int i = 0; i < kShards; ++i) {
    bool on_victim =
        placed[i].id == victims[0]->address().id || placed[i].id == victims[1]->address().id;
    if (on_victim) {
      EXPECT_EQ(results[i].code(), absl::StatusCode::kDeadlineExceeded)
          << "shard " << i << ": " << results[i];
      gone[placed[i].id].push_back(i);
    } else {
      EXPECT_OK(results[i]);
    }
  }
  std::printf("after kill -9 of 2 farmers (STAT of all shards took %.1f s, timeout 3 s):\n",
              absl::ToDoubleSeconds(stat_time));
  for (const auto& [id, list] : gone) {
    std::string ids;
    for (int i : list) absl::StrAppend(&ids, " ", i);
    std::printf("  farmer %s down: %zu shards unreachable:%s\n", id.ShortHex().c_str(), list.size(),
                ids.c_str());
  }
  EXPECT_LT(stat_time, absl::Seconds(10));

  // Restart them: every acknowledged shard is still there, byte-exact.
  for (FarmerProcess* v : victims) ASSERT_OK(v->Start());
  int checked = 0;
  for (int i = 0; i < kShards; ++i) {
    FarmerProcess* f = FarmerById(placed[i].id);
    ASSERT_NE(f, nullptr);
    if (f != victims[0] && f != victims[1]) continue;
    SCOPED_TRACE(absl::StrCat("shard ", i, " after restart"));
    ASSERT_OK(
        ReadAndCheck(*client_, f->address(), shards[i], shards[i].Data(), 0, Leaves(shards[i])));
    ++checked;
  }
  std::printf("restarted both: all %d of their acknowledged shards are back, byte-exact\n",
              checked);

  // The status command sees them too.
  ASSERT_OK_AND_ASSIGN(std::string status, victims[0]->StatusJson());
  nlohmann::json j = nlohmann::json::parse(status);
  EXPECT_TRUE(j["running"].get<bool>());
  EXPECT_EQ(j["shards"].get<uint64_t>(), gone[victims[0]->address().id].size());

  for (auto& f : farmers_) EXPECT_OK(f->Terminate());
  std::printf("whole test: %.1f s\n", absl::ToDoubleSeconds(absl::Now() - t0));
}

// kill -9 while PUTs are in flight, several times: after a restart every acknowledged shard is
// intact, every other one is either absent or intact (never partial), no temp file is left.
TEST_F(FarmerNetworkTest, KillDuringPut) {
  StartFarmers(1, "4G");
  // Puts to a killed farmer fail after transfer_timeout + size / 4 MiB/s.
  StartClient(/*request_timeout=*/absl::Seconds(2), /*transfer_timeout=*/absl::Seconds(2));
  FarmerProcess& farmer = *farmers_[0];
  const size_t kSize = static_cast<size_t>(8 * kMiB * Scale());
  uint64_t seed = 5000;
  std::vector<TestShard> acked_all;
  int unacked_present = 0, unacked_absent = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<TestShard> attempt;
    for (int i = 0; i < 12; ++i) attempt.push_back(MakeShard(seed++, kSize + i * 4096));
    std::vector<std::atomic<int>> outcome(attempt.size());  // 0 pending, 1 acked, 2 failed
    std::atomic<int> acks{0};
    absl::BlockingCounter done(static_cast<int>(attempt.size()));
    const shard::FarmerAddress address = farmer.address();
    for (size_t i = 0; i < attempt.size(); ++i) {
      client_->Put(address, PutArgs(attempt[i]), [&, i](absl::StatusOr<shard::PutShardAck> ack) {
        outcome[i] = ack.ok() ? 1 : 2;
        if (ack.ok()) ++acks;
        done.DecrementCount();
      });
    }
    // Let some puts finish, then kill while the next one is being written (a temp file
    // exists).
    const size_t kill_after = 1 + 3 * round;
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    bool mid_write = false;
    while (!mid_write && absl::Now() < deadline) {
      size_t temp = farmer.CountFiles(/*temp_only=*/true);
      mid_write = temp > 0 && farmer.CountFiles(false) - temp >= kill_after;
      if (!mid_write) absl::SleepFor(absl::Microseconds(200));
    }
    farmer.Kill();
    EXPECT_TRUE(mid_write) << "no write in progress to kill in round " << round;
    done.Wait();  // the rest fail by timeout or cancellation: no hang
    ASSERT_OK(farmer.Start());
    EXPECT_EQ(farmer.CountFiles(/*temp_only=*/true), 0u) << "temp files left after recovery";
    uint64_t stored_bytes = 0;
    for (size_t i = 0; i < attempt.size(); ++i) {
      const TestShard& s = attempt[i];
      absl::StatusOr<shard::ShardInfo> info = client_->StatShardSync(farmer.address(), s.id);
      if (outcome[i] == 1) {
        ASSERT_TRUE(info.ok()) << "acknowledged shard lost (round " << round << ", shard " << i
                               << "): " << info.status();
        acked_all.push_back(s);
      }
      if (info.ok()) {
        // Present: it must be whole.
        ASSERT_OK(ReadAndCheck(*client_, farmer.address(), s, s.Data(), 0, Leaves(s)));
        stored_bytes += s.size;
        if (outcome[i] != 1) ++unacked_present;
      } else {
        EXPECT_STATUS(info, absl::StatusCode::kNotFound);
        ++unacked_absent;
      }
    }
    int acked = 0;
    for (auto& o : outcome) acked += o == 1;
    std::printf("round %d: killed with %d of %zu puts acknowledged\n", round, acked,
                attempt.size());
  }
  // Every shard acknowledged in any round survived every later kill.
  for (const TestShard& s : acked_all) {
    ASSERT_OK(client_->StatShardSync(farmer.address(), s.id));
  }
  std::printf(
      "%zu acknowledged shards intact; of the unacknowledged ones %d were stored whole, "
      "%d absent, none partial\n",
      acked_all.size(), unacked_present, unacked_absent);
  EXPECT_GT(acked_all.size(), 0u);
  EXPECT_GT(unacked_absent, 0);
  EXPECT_OK(farmer.Terminate());
}

// A farmer at capacity refuses with a clear error; its disk usage never exceeds the capacity
// plus one shard, even with concurrent puts.
TEST_F(FarmerNetworkTest, FullFarmerRefusesAndStaysWithinCapacity) {
  const uint64_t kShard = static_cast<uint64_t>(4 * kMiB * Scale());
  const uint64_t kCapacity = 10 * kShard + kShard / 2;
  StartFarmers(1, absl::StrCat(kCapacity));
  StartClient();
  FarmerProcess& farmer = *farmers_[0];

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> max_usage{0};
  std::thread sampler([&] {
    while (!stop) {
      uint64_t u = farmer.ShardDiskUsage();
      uint64_t prev = max_usage.load();
      while (u > prev && !max_usage.compare_exchange_weak(prev, u)) {
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  std::atomic<int> ok{0}, full{0}, other{0};
  std::string full_message;
  absl::Mutex mu;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 5; ++i) {
        TestShard s = MakeShard(9000 + w * 100 + i, kShard);
        absl::StatusOr<shard::PutShardAck> ack = client_->PutSync(farmer.address(), PutArgs(s));
        if (ack.ok()) {
          ++ok;
        } else if (absl::IsResourceExhausted(ack.status())) {
          ++full;
          absl::MutexLock lock(&mu);
          full_message = std::string(ack.status().message());
        } else {
          ++other;
          ADD_FAILURE() << ack.status();
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  sampler.join();

  std::printf(
      "capacity %llu bytes: %d shards stored, %d refused (\"%s\"); max shard disk usage "
      "%llu bytes\n",
      static_cast<unsigned long long>(kCapacity), ok.load(), full.load(), full_message.c_str(),
      static_cast<unsigned long long>(max_usage.load()));
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(full.load(), 10);
  EXPECT_NE(full_message.find("farmer full: capacity"), std::string::npos) << full_message;
  EXPECT_LE(max_usage.load(), kCapacity + kShard);
  ASSERT_OK_AND_ASSIGN(std::string status, farmer.StatusJson());
  nlohmann::json j = nlohmann::json::parse(status);
  EXPECT_EQ(j["used_bytes"].get<uint64_t>(), 10 * kShard);
  EXPECT_LE(j["used_bytes"].get<uint64_t>(), j["capacity_bytes"].get<uint64_t>());
  EXPECT_OK(farmer.Terminate());
}

}  // namespace
}  // namespace gnr::integration
