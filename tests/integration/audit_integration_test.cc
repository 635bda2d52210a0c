// The auditor end to end on loopback (issue #7): anvil (its block hashes seed the challenges
// through the beacon), exactly six real `gnr farmer run` daemons, and a client in this process
// that stores files (codec + ShardClient) on them and keeps its catalog in a state dir.
//
// MisbehavingFarmersAreDetectedAndRepaired: anvil mines a block a second. Four files, each
// one segment of RS(2, 2), all on farmers F0..F3 (shard i on Fi); F4 and F5 hold nothing.
// Why RS(2, 2): a repair must go to a farmer holding nothing of the segment, and with six
// farmers only k + m <= 4 leaves two free ones; and since the stopped farmer loses a shard of
// every file, a file may need two repairs (its own misbehaviour, then F3's), so two free
// farmers are needed, and they must be honest ones. With every file on F0..F3 the only
// farmers ever free for a segment are F4 and F5, so a misbehaving farmer never receives a
// repaired shard. The misbehaviours, one after the other:
//   F0 deletes file A's shard file, F1 zeroes 1% of file B's shard, F2 flips one bit in every
//   4 KiB of file C's shard, F3 is SIGSTOPped (it stops answering: all four files lose a
//   shard; three missed deadlines make each bad).
// Each must be detected, repaired onto F4 or F5, every file must read back identically, and
// the verdicts must be in `gnr audit --json`.
//
// HonestFarmersPassThousandsOfChallenges: six honest farmers, four files of RS(4, 2) (six
// segments, 36 shards), thousands of challenges seeded by real anvil block hashes (anvil_mine
// makes the blocks at once; the beacon verifies every header): no bad verdict, no repair,
// every shard audited with both sentinel and Merkle challenges. Prints the challenge rate.
//
// ReplayingFarmerIsCaught: a farmer that answers the first challenge of a shard honestly,
// keeps the answer and resends it to every later challenge (a man in the middle in this
// process: the farmer daemon has no hook for it) fails at once and is repaired.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "chain-client/beacon.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/json_rpc.h"
#include "chain-client/light_client.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "fs/audit/audit_test_util.h"
#include "fs/audit/auditor.h"
#include "fs/audit/chain_reporter.h"
#include "fs/audit/repairer.h"
#include "fs/audit/shard_audit_network.h"
#include "fs/remote/net_shard_network.h"
#include "gtest/gtest.h"
#include "net/farmer/testing/temp_dir.h"
#include "net/node/host.h"
#include "net/shard/placement.h"
#include "net/shard/shard_client.h"
#include "net/shard/signing.h"
#include "nlohmann/json.hpp"
#include "tests/integration/farmer_process.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::integration {
namespace {

const Bytes kBucket = {'b', 'k'};  // what audit_test_util's AddCommittedFile uses
constexpr int kFarmers = 6;
using audit::FarmerId;
using audit::ShardId;

double Scale() {
  const char* s = std::getenv("GNR_INTEGRATION_SCALE");
  double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

std::string ShardPath(const std::string& data_dir, const ShardId& id) {
  std::string hex = HexEncode(ByteView(id));
  return absl::StrCat(data_dir, "/shards/", hex.substr(0, 2), "/", hex.substr(2, 2), "/", hex);
}

// Runs `gnr ARGS` and returns its stdout; Internal with the output on a nonzero exit.
absl::StatusOr<std::string> RunGnr(const std::string& args) {
  std::string cmd = absl::StrCat(GnrBinary(), " ", args);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int rc = pclose(pipe);
  if (rc != 0) return absl::InternalError(absl::StrCat("`", cmd, "` exited ", rc, ": ", out));
  return out;
}

// An AuditNetwork in front of the real one that makes one farmer a replayer: the first answer
// it gives for a shard (per challenge kind) comes from the real daemon and is kept; every later
// challenge of that shard and kind gets the kept answer back, whatever it asks.
class ReplayingAuditNetwork final : public audit::AuditNetwork {
 public:
  ReplayingAuditNetwork(audit::AuditNetwork& real, const FarmerId& replayer)
      : real_(real), replayer_(replayer) {}

  void ChallengeSentinels(const audit::FarmerRef& farmer, const ShardId& shard_id,
                          std::vector<uint64_t> offsets, absl::Duration timeout,
                          audit::SentinelAnswerCallback done) override {
    if (farmer.id != replayer_) {
      real_.ChallengeSentinels(farmer, shard_id, std::move(offsets), timeout, std::move(done));
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      auto it = sentinel_answers_.find(shard_id);
      if (it != sentinel_answers_.end()) {
        ++replayed_;
        std::vector<crypto::Hash256> old = it->second;
        done(std::move(old));
        return;
      }
    }
    real_.ChallengeSentinels(farmer, shard_id, std::move(offsets), timeout,
                             [this, shard_id, done = std::move(done)](
                                 absl::StatusOr<std::vector<crypto::Hash256>> answer) mutable {
                               if (answer.ok()) {
                                 absl::MutexLock lock(&mu_);
                                 sentinel_answers_.emplace(shard_id, *answer);
                               }
                               done(std::move(answer));
                             });
  }

  void ChallengeMerkle(const audit::FarmerRef& farmer, const ShardId& shard_id, uint64_t leaf_index,
                       absl::Duration timeout, audit::MerkleAnswerCallback done) override {
    if (farmer.id != replayer_) {
      real_.ChallengeMerkle(farmer, shard_id, leaf_index, timeout, std::move(done));
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      auto it = merkle_answers_.find(shard_id);
      if (it != merkle_answers_.end()) {
        ++replayed_;
        audit::MerkleAnswer old = it->second;
        done(std::move(old));
        return;
      }
    }
    real_.ChallengeMerkle(farmer, shard_id, leaf_index, timeout,
                          [this, shard_id, done = std::move(done)](
                              absl::StatusOr<audit::MerkleAnswer> answer) mutable {
                            if (answer.ok()) {
                              absl::MutexLock lock(&mu_);
                              merkle_answers_.emplace(shard_id, *answer);
                            }
                            done(std::move(answer));
                          });
  }

  int replayed() const {
    absl::MutexLock lock(&mu_);
    return replayed_;
  }

 private:
  audit::AuditNetwork& real_;
  const FarmerId replayer_;
  mutable absl::Mutex mu_;
  std::map<ShardId, std::vector<crypto::Hash256>> sentinel_answers_ ABSL_GUARDED_BY(mu_);
  std::map<ShardId, audit::MerkleAnswer> merkle_answers_ ABSL_GUARDED_BY(mu_);
  int replayed_ ABSL_GUARDED_BY(mu_) = 0;
};

struct StoredFile {
  std::string name;
  audit::testing::EncodedFile file;
  catalog::VersionId version = 0;
};

class AuditIntegrationTest : public ::testing::Test {
 protected:
  // anvil; `block_time_seconds` 0 mines only on demand (Mine()).
  void StartChain(int block_time_seconds) {
    testing::AnvilOptions ao;
    ao.block_time_seconds = block_time_seconds;
    ASSERT_OK_AND_ASSIGN(anvil_, testing::AnvilProcess::Start(ao));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<chain::HttpTransport> http,
                         chain::HttpTransport::Create(anvil_->rpc_url()));
    rpc_ = std::make_unique<chain::JsonRpcClient>(std::move(http));
    eth_ = std::make_unique<chain::EthRpc>(*rpc_);
    light_ = std::make_unique<chain::LightClient>(*eth_);
    chain::BeaconOptions bo;
    bo.confirmations = 1;
    if (block_time_seconds == 0) bo.start_block = 1;  // every block mined from now on
    beacon_ = std::make_unique<chain::Beacon>(*light_, bo);
  }

  // Six farmer daemons, the client (host, shard client, selector, network) and the catalog.
  void StartNetwork(absl::Duration request_timeout) {
    for (int i = 0; i < kFarmers; ++i) {
      FarmerProcessOptions o;
      o.data_dir = dir_.Sub(absl::StrCat("farmer", i));
      o.capacity = "1G";
      if (i > 0) o.bootstrap.push_back(farmers_[0]->data_dir());
      farmers_.push_back(std::make_unique<FarmerProcess>(std::move(o)));
      ASSERT_OK(farmers_.back()->Start());
    }
    node::HostOptions h;
    h.advertise = false;
    ASSERT_OK_AND_ASSIGN(host_, node::Host::Start(std::move(h)));
    const shard::FarmerAddress& seed = farmers_[0]->address();
    ASSERT_OK(host_->BootstrapSync({node::BootstrapPeer{seed.endpoint, seed.curve_key}}));
    crypto::DeterministicRandom rng(7);
    signer_ = std::make_unique<shard::PrivateKeySigner>(crypto::PrivateKey::Generate(rng));
    shard::ShardClientOptions co;
    co.transport = &host_->transport();
    co.signer = signer_.get();
    co.request_timeout = request_timeout;
    co.transfer_timeout = absl::Seconds(20);
    client_ = std::make_unique<shard::ShardClient>(std::move(co));
    selector_ = std::make_unique<shard::FarmerSelector>(*host_, *client_);
    remote::NetShardNetworkOptions no;
    no.dead_farmer_backoff = absl::ZeroDuration();
    network_ = std::make_unique<remote::NetShardNetwork>(*host_, *client_, *selector_, no);

    // Keys as a test-mode drive derives them, so `gnr audit --explain` can recompute them
    // from the root key file in the state dir.
    state_ = dir_.Sub("state");
    std::filesystem::create_directories(state_);
    codec::RootKey root{};
    root.fill(0x42);
    {
      std::ofstream key_file(state_ + "/test-mode-root.key", std::ios::binary);
      key_file.write(reinterpret_cast<const char*>(root.data()), root.size());
    }
    ASSERT_OK_AND_ASSIGN(bucket_key_, codec::DeriveBucketKey(root, kBucket));
    ASSERT_OK_AND_ASSIGN(catalog_,
                         catalog::Catalog::Open(state_ + "/catalog.db", SystemClockInstance()));
    keys_ = [this](const catalog::Version& v) -> absl::StatusOr<codec::FileKey> {
      return codec::DeriveFileKey(bucket_key_, v.nonce);
    };
    audit_net_ =
        std::make_unique<audit::ShardAuditNetwork>(*client_, *host_, SystemClockInstance());
  }

  // Encodes a file of `size` bytes and stores it: shard i of segment s on
  // farmers_[on[(s + i) % on.size()]] (AddCommittedFile's rule), then commits it.
  void StoreFile(const std::string& name, size_t size, uint64_t seed, const codec::CodecParams& p,
                 const std::vector<int>& on) {
    StoredFile f;
    f.name = name;
    f.file = audit::testing::EncodeFile(size, seed, p, bucket_key_);
    std::vector<FarmerId> ids;
    std::vector<std::string> hints;
    for (int i : on) {
      ids.push_back(farmers_[i]->address().id.bytes());
      hints.push_back(farmers_[i]->address().endpoint);
    }
    for (size_t s = 0; s < f.file.manifest.segments.size(); ++s) {
      for (int i = 0; i < p.total_shards(); ++i) {
        const FarmerProcess& farmer = *farmers_[on[(s + i) % on.size()]];
        const codec::ShardManifest& sm = f.file.manifest.segments[s].shards[i];
        shard::PutShardArgs a;
        a.bucket_id = kBucket;
        a.shard_id = sm.id;
        a.merkle_root = sm.merkle_root;
        a.leaf_size = p.leaf_size;
        a.data = net_zmq::SharedBytes(Bytes(f.file.shards[s][i]));
        ASSERT_OK(client_->PutSync(farmer.address(), std::move(a)).status());
      }
    }
    f.version = audit::testing::AddCommittedFile(*catalog_, SystemClockInstance(), f.file, ids,
                                                 name, hints);
    files_.push_back(std::move(f));
  }

  void MakeAuditor(const audit::AuditorOptions& opts, audit::AuditNetwork* net = nullptr) {
    auditor_ = std::make_unique<audit::Auditor>(*catalog_, net != nullptr ? *net : *audit_net_,
                                                keys_, SystemClockInstance(), opts);
    audit::RepairOptions ro;
    ro.timeout = absl::Seconds(20);
    repairer_ =
        std::make_unique<audit::Repairer>(*catalog_, *network_, keys_, SystemClockInstance(), ro);
  }

  // Mines `n` blocks at once (anvil_mine).
  absl::Status Mine(uint64_t n) {
    return rpc_->Call("anvil_mine", chain::Json::array({absl::StrCat("0x", absl::Hex(n))}))
        .status();
  }

  void TearDown() override {
    for (auto& f : farmers_) {
      if (f->running()) ::kill(f->pid(), SIGCONT);
    }
  }

  // The live (not yet replaced) placement of shard `index` of segment 0 of file `file`.
  catalog::Placement Current(size_t file, uint32_t index) {
    absl::StatusOr<std::vector<catalog::Placement>> all =
        catalog_->ListPlacementsByVersion(files_[file].version);
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (const catalog::Placement& p : *all) {
        if (p.segment == 0 && p.shard_index == index &&
            p.state != catalog::PlacementState::kRepaired) {
          return p;
        }
      }
    }
    return {};
  }

  int FarmerIndex(const FarmerId& id) {
    for (int i = 0; i < static_cast<int>(farmers_.size()); ++i) {
      if (farmers_[i]->address().id.bytes() == id) return i;
    }
    return -1;
  }

  // Audits each new confirmed block and repairs what went bad, until every placement in
  // `watched` has been repaired (or `timeout`). Returns those repairs.
  absl::StatusOr<std::vector<audit::RepairResult>> AuditUntilRepaired(
      std::set<catalog::PlacementId> watched, absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    std::vector<audit::RepairResult> done;
    while (absl::Now() < end) {
      GNR_ASSIGN_OR_RETURN(std::vector<chain::ConfirmedBlock> blocks, beacon_->Tick());
      if (blocks.empty()) {
        absl::SleepFor(absl::Milliseconds(200));
        continue;
      }
      const chain::ConfirmedBlock& b = blocks.back();
      GNR_ASSIGN_OR_RETURN(audit::AuditRound round, auditor_->RunOnce({b.number, b.hash}));
      ++rounds_;
      for (const audit::Verdict& v : round.verdicts) {
        if (v.result != audit::VerdictResult::kPass) {
          std::printf("  block %llu: %s\n", (unsigned long long)b.number,
                      audit::DescribeVerdict(v).c_str());
        }
      }
      for (absl::StatusOr<audit::RepairResult>& r : repairer_->RepairAll()) {
        if (!r.ok()) return r.status();
        ++repairs_;
        std::printf("  repaired placement %lld: farmer F%d -> F%d\n", (long long)r->old_placement,
                    FarmerIndex(r->old_farmer), FarmerIndex(r->new_farmer));
        if (watched.erase(r->old_placement) > 0) done.push_back(*r);
      }
      if (watched.empty()) return done;
    }
    return absl::DeadlineExceededError(
        absl::StrCat(watched.size(), " placement(s) not repaired in time"));
  }

  void ExpectReadsBack(const StoredFile& f) {
    ASSERT_OK_AND_ASSIGN(catalog::Version v, catalog_->GetVersion(f.version));
    ASSERT_OK_AND_ASSIGN(codec::FileManifest m, codec::DecodeFileManifest(v.manifest));
    ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> placements,
                         catalog_->ListPlacementsByVersion(f.version));
    audit::PlacementShardSource source(*network_, v.bucket_id, placements, absl::Seconds(20));
    ASSERT_OK_AND_ASSIGN(Bytes back, codec::ReadRange(m, f.file.key, 0, m.file_size, source));
    EXPECT_TRUE(back == f.file.plaintext) << f.name << " differs after repair";
  }

  // A repair of `before` went to an honest farmer (F4 or F5, never `before`'s farmer nor one
  // the catalog marks bad or suspect); every file still has one acked shard per farmer on
  // four distinct farmers, and reads back identically.
  void CheckRepair(const audit::RepairResult& r, const catalog::Placement& before) {
    EXPECT_EQ(r.old_farmer, before.farmer);
    EXPECT_NE(r.new_farmer, before.farmer);
    const int to = FarmerIndex(r.new_farmer);
    EXPECT_TRUE(to == 4 || to == 5) << "repaired onto F" << to << ", not an honest farmer";
    ASSERT_OK_AND_ASSIGN(std::vector<catalog::Farmer> farmers, catalog_->ListFarmers());
    for (const catalog::Farmer& f : farmers) {
      if (f.id == r.new_farmer) {
        EXPECT_EQ(f.status, catalog::FarmerStatus::kActive);
      }
    }
    for (const StoredFile& f : files_) {
      ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> all,
                           catalog_->ListPlacementsByVersion(f.version));
      std::set<FarmerId> holders;
      int acked = 0;
      for (const catalog::Placement& p : all) {
        if (p.state != catalog::PlacementState::kAcked) continue;
        ++acked;
        EXPECT_TRUE(holders.insert(p.farmer).second) << f.name << ": two shards on one farmer";
      }
      EXPECT_EQ(acked, 4) << f.name;
      ExpectReadsBack(f);
    }
  }

  farmer::testing::TempDir dir_{"audit_it"};
  std::unique_ptr<testing::AnvilProcess> anvil_;
  std::unique_ptr<chain::JsonRpcClient> rpc_;
  std::unique_ptr<chain::EthRpc> eth_;
  std::unique_ptr<chain::LightClient> light_;
  std::unique_ptr<chain::Beacon> beacon_;
  std::vector<std::unique_ptr<FarmerProcess>> farmers_;
  std::unique_ptr<node::Host> host_;
  std::unique_ptr<shard::PrivateKeySigner> signer_;
  std::unique_ptr<shard::ShardClient> client_;
  std::unique_ptr<shard::FarmerSelector> selector_;
  std::unique_ptr<remote::NetShardNetwork> network_;
  codec::BucketKey bucket_key_{};
  std::vector<StoredFile> files_;
  std::string state_;
  std::unique_ptr<catalog::Catalog> catalog_;
  audit::FileKeyProvider keys_;
  std::unique_ptr<audit::ShardAuditNetwork> audit_net_;
  std::unique_ptr<audit::Auditor> auditor_;
  std::unique_ptr<audit::Repairer> repairer_;
  int rounds_ = 0;
  int repairs_ = 0;
};

TEST_F(AuditIntegrationTest, MisbehavingFarmersAreDetectedAndRepaired) {
  SetLogLevel(LogLevel::kWarning);
  StartChain(/*block_time_seconds=*/1);
  StartNetwork(/*request_timeout=*/absl::Seconds(2));
  ASSERT_FALSE(HasFatalFailure());
  // Four files A..D, one segment each of RS(2, 2) shards of ~128 KiB (scaled), on F0..F3.
  codec::CodecParams p = audit::testing::SmallParams();
  p.data_shards = 2;
  p.parity_shards = 2;
  p.segment_size = static_cast<uint32_t>(std::max(64.0, 256 * Scale())) * 1024;
  p.leaf_size = 16 * 1024;
  const char* names[] = {"A", "B", "C", "D"};
  for (int i = 0; i < 4; ++i) {
    StoreFile(names[i], p.segment_size - 1000 * (i + 1), 42 + i, p, {0, 1, 2, 3});
    ASSERT_FALSE(HasFatalFailure());
  }
  audit::AuditorOptions opts;
  opts.plan.period_blocks = 1;  // every shard in every block: a short test
  opts.plan.max_per_farmer = 4;
  opts.deadline = absl::Seconds(2);
  opts.policy.suspicion_threshold = 3;
  MakeAuditor(opts);

  const absl::Time t0 = absl::Now();
  // Honest first: a few blocks, every verdict a pass.
  for (int n = 0; n < 3;) {
    ASSERT_OK_AND_ASSIGN(std::vector<chain::ConfirmedBlock> blocks, beacon_->Tick());
    if (blocks.empty()) {
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    ASSERT_OK_AND_ASSIGN(audit::AuditRound r,
                         auditor_->RunOnce({blocks.back().number, blocks.back().hash}));
    EXPECT_EQ(r.verdicts.size(), 16u);
    for (const audit::Verdict& v : r.verdicts) {
      EXPECT_EQ(v.result, audit::VerdictResult::kPass) << audit::DescribeVerdict(v);
    }
    ++n;
  }

  // 1. F0 silently deletes file A's shard file.
  {
    catalog::Placement p = Current(0, 0);
    ASSERT_EQ(FarmerIndex(p.farmer), 0);
    ASSERT_EQ(std::remove(ShardPath(farmers_[0]->data_dir(), p.shard_id).c_str()), 0);
    std::printf("F0 deleted its shard of file A\n");
    ASSERT_OK_AND_ASSIGN(std::vector<audit::RepairResult> r,
                         AuditUntilRepaired({p.id}, absl::Seconds(40)));
    CheckRepair(r[0], p);
  }
  // 2. F1 loses 1% of file B's shard (zeroed at random offsets).
  {
    catalog::Placement p = Current(1, 1);
    ASSERT_EQ(FarmerIndex(p.farmer), 1);
    std::fstream file(ShardPath(farmers_[1]->data_dir(), p.shard_id),
                      std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.good());
    std::mt19937_64 rng(5);
    const uint64_t n = p.stored_length / 100;
    for (uint64_t i = 0; i < n; ++i) {
      file.seekp(static_cast<std::streamoff>(rng() % p.stored_length));
      file.put(0);
    }
    file.close();
    std::printf("F1 zeroed 1%% of its shard of file B\n");
    ASSERT_OK_AND_ASSIGN(std::vector<audit::RepairResult> r,
                         AuditUntilRepaired({p.id}, absl::Seconds(60)));
    CheckRepair(r[0], p);
  }
  // 3. Bit rot on F2: one bit flipped in every 4 KiB of file C's shard.
  {
    catalog::Placement p = Current(2, 2);
    ASSERT_EQ(FarmerIndex(p.farmer), 2);
    std::fstream file(ShardPath(farmers_[2]->data_dir(), p.shard_id),
                      std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.good());
    for (uint64_t off = 123; off < p.stored_length; off += 4096) {
      file.seekg(static_cast<std::streamoff>(off));
      char c = 0;
      file.get(c);
      file.seekp(static_cast<std::streamoff>(off));
      file.put(static_cast<char>(c ^ 0x04));
    }
    file.close();
    std::printf("F2 flipped bits in its shard of file C\n");
    ASSERT_OK_AND_ASSIGN(std::vector<audit::RepairResult> r,
                         AuditUntilRepaired({p.id}, absl::Seconds(60)));
    CheckRepair(r[0], p);
  }
  // 4. F3 stops answering (SIGSTOP): it holds a shard of every file; three missed deadlines
  //    make each bad, and each goes to whichever of F4, F5 the file does not use yet.
  {
    std::set<catalog::PlacementId> watched;
    std::map<catalog::PlacementId, catalog::Placement> before;
    for (size_t f = 0; f < files_.size(); ++f) {
      catalog::Placement p = Current(f, 3);
      ASSERT_EQ(FarmerIndex(p.farmer), 3);
      watched.insert(p.id);
      before[p.id] = p;
    }
    ASSERT_EQ(::kill(farmers_[3]->pid(), SIGSTOP), 0);
    std::printf("F3 stopped (a shard of each of the 4 files)\n");
    ASSERT_OK_AND_ASSIGN(std::vector<audit::RepairResult> r,
                         AuditUntilRepaired(watched, absl::Seconds(90)));
    ::kill(farmers_[3]->pid(), SIGCONT);
    ASSERT_EQ(r.size(), 4u);
    for (const audit::RepairResult& x : r) CheckRepair(x, before[x.old_placement]);
  }
  EXPECT_EQ(repairs_, 7);  // A, B, C and the four shards of F3
  std::printf("4 misbehaviours detected and 7 shards repaired in %d audited blocks, %.1f s\n",
              rounds_, absl::ToDoubleSeconds(absl::Now() - t0));

  // The verdicts, as a script sees them.
  catalog_.reset();
  ASSERT_OK_AND_ASSIGN(std::string out,
                       RunGnr(absl::StrCat("audit --state ", state_, " --json --limit 10000")));
  nlohmann::json j = nlohmann::json::parse(out);
  std::map<std::string, int> results;
  std::map<std::string, std::set<std::string>> bad_farmers;  // result -> farmers
  for (const nlohmann::json& v : j["verdicts"]) {
    const std::string result = v["result"].get<std::string>();
    ++results[result];
    if (result != "pass") bad_farmers[result].insert(v["farmer"].get<std::string>());
  }
  auto hex_of = [&](int i) { return HexEncode(ByteView(farmers_[i]->address().id.bytes())); };
  EXPECT_GE(results["fail"], 3);      // deleted, zeroed, flipped
  EXPECT_GE(results["timeout"], 12);  // the stopped farmer: 4 shards, threshold 3
  EXPECT_EQ(results["error"], 0);
  EXPECT_GT(results["pass"], 0);
  EXPECT_EQ(bad_farmers["fail"], (std::set<std::string>{hex_of(0), hex_of(1), hex_of(2)}));
  EXPECT_EQ(bad_farmers["timeout"], (std::set<std::string>{hex_of(3)}));
  std::printf("gnr audit --json: %d pass, %d fail, %d timeout, %d error\n", results["pass"],
              results["fail"], results["timeout"], results["error"]);

  // Sentinel verdicts (newest first, up to 40, passes and failures) are reproducible from
  // their block hash and the keys.
  int explained = 0;
  for (const nlohmann::json& v : j["verdicts"]) {
    if (v["kind"] != "sentinel") continue;
    if (explained >= 40) break;
    ASSERT_OK_AND_ASSIGN(std::string e,
                         RunGnr(absl::StrCat("audit --state ", state_, " --json --explain ",
                                             v["id"].get<int64_t>())));
    nlohmann::json x = nlohmann::json::parse(e);
    EXPECT_TRUE(x["explained"].get<bool>()) << e;
    EXPECT_TRUE(x["consistent"].get<bool>()) << e;
    EXPECT_EQ(x["recomputed_positions"], x["detail"]["positions"]) << e;
    ++explained;
  }
  EXPECT_GE(explained, 2);
  // The human forms work too (printed for the log).
  for (const std::string& args : {absl::StrCat("audit --state ", state_, " --limit 8"),
                                  absl::StrCat("audit --state ", state_, " --explain ",
                                               j["verdicts"][0]["id"].get<int64_t>()),
                                  absl::StrCat("audit stats --state ", state_)}) {
    ASSERT_OK_AND_ASSIGN(std::string text, RunGnr(args));
    std::printf("$ gnr %s\n%s", args.c_str(), text.c_str());
  }
  ASSERT_OK_AND_ASSIGN(std::string stats,
                       RunGnr(absl::StrCat("audit stats --state ", state_, " --json")));
  EXPECT_EQ(nlohmann::json::parse(stats)["files"].size(), 4u) << stats;

  // Chain side: the verdicts go to StorageMarket.recordAudits in one batch, from a bucket
  // owner, and the contract's per-farmer counters match the catalog's.
  chain::NonceManager nonces(*eth_);
  chain::TxSenderOptions so;
  so.poll_interval = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<chain::TxSender> sender,
      chain::TxSender::Create(*eth_, nonces,
                              *crypto::PrivateKey::FromBytes(anvil_->accounts()[0].private_key),
                              SystemClockInstance(), so));
  ASSERT_OK_AND_ASSIGN(chain::StorageMarket market, chain::StorageMarket::Deploy(*sender, *eth_));
  ASSERT_OK_AND_ASSIGN(chain::RpcBlock head, eth_->GetBlockByNumber(chain::BlockRef::Latest()));
  const uint64_t now = head.header.header.timestamp;
  chain::BucketId bucket{};
  bucket[0] = 0x42;
  ASSERT_OK(
      market
          .BuyBucketSpace(
              *sender,
              {.bucket_id = bucket, .size_gb = 1, .start = now, .end = now + 86400, .backup = 2})
          .status());
  ASSERT_OK_AND_ASSIGN(catalog_,
                       catalog::Catalog::Open(state_ + "/catalog.db", SystemClockInstance()));
  audit::MarketReportSink sink(market, *sender);
  audit::ChainReporter reporter(*catalog_, sink);
  ASSERT_OK_AND_ASSIGN(size_t reported, reporter.ReportNow());
  EXPECT_EQ(reported, j["verdicts"].size());
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::FarmerAuditStats> farmer_stats,
                       catalog_->FarmerStats());
  for (const catalog::FarmerAuditStats& fs : farmer_stats) {
    ASSERT_OK_AND_ASSIGN(chain::AuditStats on_chain, market.AuditStatsOf(fs.farmer));
    EXPECT_EQ(on_chain.passed, fs.pass);
    EXPECT_EQ(on_chain.failed, fs.fail + fs.timeout);
  }
  std::printf("reported %zu verdicts of %zu farmers on chain in one transaction\n", reported,
              farmer_stats.size());
}

TEST_F(AuditIntegrationTest, HonestFarmersPassThousandsOfChallenges) {
  SetLogLevel(LogLevel::kWarning);
  StartChain(/*block_time_seconds=*/0);
  StartNetwork(/*request_timeout=*/absl::Seconds(10));
  ASSERT_FALSE(HasFatalFailure());
  // Four files of RS(4, 2), six segments of 512 KiB in all: 36 shards, six on each farmer.
  codec::CodecParams p = audit::testing::SmallParams();
  p.segment_size = 512 * 1024;
  p.leaf_size = 16 * 1024;
  p.min_groups = 200;  // sentinel groups for both phases without running out
  const std::vector<int> all = {0, 1, 2, 3, 4, 5};
  StoreFile("two-segments", 2 * p.segment_size - 100, 1, p, all);
  StoreFile("segment-and-a-bit", p.segment_size + 5000, 2, p, all);
  StoreFile("half", p.segment_size / 2, 3, p, all);
  StoreFile("almost-one", p.segment_size - 1, 4, p, all);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> placements,
                       catalog_->ListPlacementsByState(catalog::PlacementState::kAcked, 1000));
  const size_t shards = placements.size();
  ASSERT_EQ(shards, 36u);

  uint64_t verdicts = 0, not_pass = 0;
  std::map<ShardId, uint64_t> last_audit;  // block
  uint64_t max_gap = 0;
  // Mines and audits `blocks` blocks (each hash checked by the beacon) with the current
  // auditor; every verdict must be a pass, nothing becomes bad, nothing is repaired.
  // Returns the time spent in audit rounds.
  auto run = [&](uint64_t blocks, uint32_t max_per_farmer) -> absl::Duration {
    absl::Duration auditing = absl::ZeroDuration();
    uint64_t audited = 0;
    while (audited < blocks) {
      EXPECT_OK(Mine(std::min<uint64_t>(blocks - audited, 200) + 1));
      absl::StatusOr<std::vector<chain::ConfirmedBlock>> confirmed = beacon_->Tick();
      EXPECT_OK(confirmed.status());
      if (!confirmed.ok()) return auditing;
      for (const chain::ConfirmedBlock& b : *confirmed) {
        if (audited >= blocks) break;
        const absl::Time r0 = absl::Now();
        absl::StatusOr<audit::AuditRound> round = auditor_->RunOnce({b.number, b.hash});
        auditing += absl::Now() - r0;
        EXPECT_OK(round.status());
        if (!round.ok()) return auditing;
        ++audited;
        verdicts += round->verdicts.size();
        EXPECT_TRUE(round->became_bad.empty()) << "block " << b.number;
        EXPECT_TRUE(round->skipped.empty()) << "block " << b.number;
        std::map<FarmerId, uint32_t> per_farmer;
        for (const audit::Verdict& v : round->verdicts) {
          if (v.result != audit::VerdictResult::kPass) {
            ++not_pass;
            ADD_FAILURE() << audit::DescribeVerdict(v);
          }
          EXPECT_LE(++per_farmer[v.farmer], max_per_farmer) << "block " << b.number;
          auto it = last_audit.find(v.shard_id);
          if (it != last_audit.end()) max_gap = std::max(max_gap, b.number - it->second);
          last_audit[v.shard_id] = b.number;
        }
        EXPECT_TRUE(repairer_->RepairAll().empty()) << "block " << b.number;
      }
    }
    return auditing;
  };

  // Phase 1, the most challenges per block: every shard in every block (period 1, all six
  // shards of a farmer at once), >= 3,000 challenges at scale 1 (never fewer than 50 blocks,
  // so that every shard also meets Merkle challenges, one in four).
  audit::AuditorOptions opts;
  opts.plan.period_blocks = 1;
  opts.plan.max_per_farmer = 6;
  opts.deadline = absl::Seconds(10);  // the production default
  MakeAuditor(opts);
  const uint64_t blocks1 =
      std::max<uint64_t>(50, static_cast<uint64_t>(3000 * Scale() + shards - 1) / shards);
  const absl::Time t0 = absl::Now();
  const absl::Duration busy1 = run(blocks1, opts.plan.max_per_farmer);
  const absl::Duration wall1 = absl::Now() - t0;
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(verdicts, blocks1 * shards);
  EXPECT_GE(verdicts, static_cast<uint64_t>(2000 * std::min(1.0, Scale())));
  EXPECT_EQ(max_gap, 1u);
  const uint64_t verdicts1 = verdicts;

  // Phase 2, the real schedule: period 16 blocks plus the block-hash lottery, at most two
  // challenges per farmer per block, over 60 periods (scaled, at least 25). Every shard is
  // challenged at least once per period (give or take the per-farmer cap).
  opts.plan.period_blocks = 16;
  opts.plan.max_per_farmer = 2;
  MakeAuditor(opts);
  max_gap = 0;
  const uint64_t blocks2 = 16 * std::max<uint64_t>(25, static_cast<uint64_t>(60 * Scale()));
  const absl::Time t1 = absl::Now();
  const absl::Duration busy2 = run(blocks2, opts.plan.max_per_farmer);
  const absl::Duration wall2 = absl::Now() - t1;
  const uint64_t verdicts2 = verdicts - verdicts1;
  // On average one scheduled and one lottery challenge per shard and period.
  EXPECT_GE(verdicts2, blocks2 / 16 * shards);
  EXPECT_LE(max_gap, 16u + 4u);

  // The catalog agrees: every verdict recorded, every shard audited with both kinds, nothing
  // bad, every farmer still active, every file still reads back.
  EXPECT_EQ(not_pass, 0u);
  catalog::VerdictQuery q;
  q.limit = 1'000'000;
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Verdict> recorded, catalog_->ListVerdicts(q));
  EXPECT_EQ(recorded.size(), verdicts);
  std::map<ShardId, std::pair<int, int>> kinds;  // sentinel, merkle
  for (const catalog::Verdict& v : recorded) {
    EXPECT_EQ(v.result, catalog::AuditResult::kPass);
    auto& k = kinds[v.shard_id];
    (v.kind == catalog::AuditKind::kSentinel ? k.first : k.second)++;
  }
  EXPECT_EQ(kinds.size(), shards);
  uint64_t sentinel = 0, merkle = 0;
  for (const auto& [id, k] : kinds) {
    EXPECT_GT(k.first, 0) << HexEncode(ByteView(id));
    EXPECT_GT(k.second, 0) << HexEncode(ByteView(id));
    sentinel += k.first;
    merkle += k.second;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> after,
                       catalog_->ListPlacementsByState(catalog::PlacementState::kAcked, 1000));
  EXPECT_EQ(after.size(), shards);
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Farmer> farmers, catalog_->ListFarmers());
  for (const catalog::Farmer& f : farmers) {
    EXPECT_EQ(f.status, catalog::FarmerStatus::kActive) << HexEncode(ByteView(f.id));
  }
  for (const StoredFile& f : files_) ExpectReadsBack(f);
  std::printf(
      "honest run: %llu challenges (%llu sentinel, %llu Merkle) over %zu shards on %d farmers, "
      "0 bad, 0 repairs\n"
      "  every shard every block: %llu blocks, %llu challenges, %.2f s in audit rounds = %.0f "
      "challenges/s (%.2f s wall with mining and header checks = %.0f challenges/s)\n"
      "  period 16 + lottery, <= 2 per farmer: %llu blocks, %llu challenges (%.2f per block), "
      "longest gap %llu blocks, %.2f s in audit rounds = %.0f challenges/s, %.0f blocks/s "
      "(%.2f s wall)\n",
      (unsigned long long)verdicts, (unsigned long long)sentinel, (unsigned long long)merkle,
      shards, kFarmers, (unsigned long long)blocks1, (unsigned long long)verdicts1,
      absl::ToDoubleSeconds(busy1), verdicts1 / absl::ToDoubleSeconds(busy1),
      absl::ToDoubleSeconds(wall1), verdicts1 / absl::ToDoubleSeconds(wall1),
      (unsigned long long)blocks2, (unsigned long long)verdicts2,
      static_cast<double>(verdicts2) / blocks2, (unsigned long long)max_gap,
      absl::ToDoubleSeconds(busy2), verdicts2 / absl::ToDoubleSeconds(busy2),
      blocks2 / absl::ToDoubleSeconds(busy2), absl::ToDoubleSeconds(wall2));
}

TEST_F(AuditIntegrationTest, ReplayingFarmerIsCaught) {
  SetLogLevel(LogLevel::kWarning);
  StartChain(/*block_time_seconds=*/0);
  StartNetwork(/*request_timeout=*/absl::Seconds(10));
  ASSERT_FALSE(HasFatalFailure());
  // One file of RS(2, 2) on F0..F3; F1 replays. F4 and F5 are free for the repair.
  codec::CodecParams p = audit::testing::SmallParams();
  p.data_shards = 2;
  p.parity_shards = 2;
  p.segment_size = 512 * 1024;
  p.leaf_size = 16 * 1024;
  StoreFile("replayed", p.segment_size - 10, 9, p, {0, 1, 2, 3});
  ASSERT_FALSE(HasFatalFailure());
  const FarmerId replayer = farmers_[1]->address().id.bytes();
  ReplayingAuditNetwork replaying(*audit_net_, replayer);
  audit::AuditorOptions opts;
  opts.plan.period_blocks = 1;
  opts.deadline = absl::Seconds(10);
  MakeAuditor(opts, &replaying);
  const catalog::Placement before = Current(0, 1);

  // The first challenges are answered by the real daemon (and recorded); the first replay
  // must fail, and the shard is repaired onto F4 or F5.
  int blocks = 0;
  std::optional<audit::Verdict> caught;
  while (!caught && blocks < 30) {
    ASSERT_OK(Mine(2));
    ASSERT_OK_AND_ASSIGN(std::vector<chain::ConfirmedBlock> confirmed, beacon_->Tick());
    for (const chain::ConfirmedBlock& b : confirmed) {
      ASSERT_OK_AND_ASSIGN(audit::AuditRound round, auditor_->RunOnce({b.number, b.hash}));
      ++blocks;
      for (const audit::Verdict& v : round.verdicts) {
        if (v.farmer != replayer) {
          EXPECT_EQ(v.result, audit::VerdictResult::kPass) << audit::DescribeVerdict(v);
        } else if (v.result != audit::VerdictResult::kPass) {
          std::printf("block %llu: %s\n", (unsigned long long)b.number,
                      audit::DescribeVerdict(v).c_str());
          caught = v;
        }
      }
      if (caught) break;
    }
  }
  ASSERT_TRUE(caught.has_value()) << "a replaying farmer passed " << blocks << " blocks";
  EXPECT_EQ(caught->result, audit::VerdictResult::kWrong);
  // Caught on the first sentinel replay (a replayed Merkle answer passes only if the block
  // picks the same leaf again, which it then answers correctly).
  EXPECT_GE(replaying.replayed(), 1);
  std::vector<absl::StatusOr<audit::RepairResult>> repairs = repairer_->RepairAll();
  ASSERT_EQ(repairs.size(), 1u);
  ASSERT_OK(repairs[0].status());
  EXPECT_EQ(repairs[0]->old_placement, before.id);
  const int to = FarmerIndex(repairs[0]->new_farmer);
  EXPECT_TRUE(to == 4 || to == 5) << "repaired onto F" << to;
  ExpectReadsBack(files_[0]);
  std::printf("replaying farmer caught after %d blocks (%s challenge), repaired onto F%d\n", blocks,
              std::string(audit::ChallengeKindName(caught->kind)).c_str(), to);
}

}  // namespace
}  // namespace gnr::integration
