// The auditor end to end on loopback (issue #7): anvil mining a block every second (block
// hashes seed the challenges through the beacon), ten real `gnr farmer run` daemons, and a
// client in this process that stored one file (codec + ShardClient) on six of them and keeps
// its catalog in a state dir. Four misbehaviours are done, one after the other, on the
// farmers' disks and processes: a deleted shard file, 1% of a shard zeroed, bits flipped,
// and a SIGSTOPped farmer. Each must be detected by the Auditor, repaired by the Repairer
// onto a farmer holding nothing of the segment, the file must read back identically, and
// the verdicts must be in `gnr audit --json`.

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

class AuditIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kWarning);
    // The chain: a block a second.
    testing::AnvilOptions ao;
    ao.block_time_seconds = 1;
    ASSERT_OK_AND_ASSIGN(anvil_, testing::AnvilProcess::Start(ao));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<chain::HttpTransport> http,
                         chain::HttpTransport::Create(anvil_->rpc_url()));
    rpc_ = std::make_unique<chain::JsonRpcClient>(std::move(http));
    eth_ = std::make_unique<chain::EthRpc>(*rpc_);
    light_ = std::make_unique<chain::LightClient>(*eth_);
    beacon_ = std::make_unique<chain::Beacon>(*light_, chain::BeaconOptions{.confirmations = 1});

    // Ten farmers; the file goes on the first six.
    for (int i = 0; i < 10; ++i) {
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
    co.request_timeout = absl::Seconds(2);
    co.transfer_timeout = absl::Seconds(20);
    client_ = std::make_unique<shard::ShardClient>(std::move(co));
    selector_ = std::make_unique<shard::FarmerSelector>(*host_, *client_);
    remote::NetShardNetworkOptions no;
    no.dead_farmer_backoff = absl::ZeroDuration();
    network_ = std::make_unique<remote::NetShardNetwork>(*host_, *client_, *selector_, no);

    // The file: one segment of RS(4, 2) shards of ~256 KiB (scaled), on farmers 0..5.
    codec::CodecParams p = audit::testing::SmallParams();
    p.segment_size = static_cast<uint32_t>(std::max(64.0, 1024 * Scale())) * 1024;
    p.leaf_size = 16 * 1024;
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
    ASSERT_OK_AND_ASSIGN(codec::BucketKey bucket_key, codec::DeriveBucketKey(root, kBucket));
    file_ = audit::testing::EncodeFile(p.segment_size - 1000, 42, p, bucket_key);
    std::vector<FarmerId> ids;
    std::vector<std::string> hints;
    for (int i = 0; i < 6; ++i) {
      ids.push_back(farmers_[i]->address().id.bytes());
      hints.push_back(farmers_[i]->address().endpoint);
      const codec::ShardManifest& sm = file_.manifest.segments[0].shards[i];
      shard::PutShardArgs a;
      a.bucket_id = kBucket;
      a.shard_id = sm.id;
      a.merkle_root = sm.merkle_root;
      a.leaf_size = p.leaf_size;
      a.data = net_zmq::SharedBytes(Bytes(file_.shards[0][i]));
      ASSERT_OK(client_->PutSync(farmers_[i]->address(), std::move(a)).status());
    }
    ASSERT_OK_AND_ASSIGN(catalog_,
                         catalog::Catalog::Open(state_ + "/catalog.db", SystemClockInstance()));
    version_ = audit::testing::AddCommittedFile(*catalog_, SystemClockInstance(), file_, ids,
                                                "file", hints);

    keys_ = [this](const catalog::Version&) -> absl::StatusOr<codec::FileKey> { return file_.key; };
    audit_net_ =
        std::make_unique<audit::ShardAuditNetwork>(*client_, *host_, SystemClockInstance());
    audit::AuditorOptions opts;
    opts.plan.period_blocks = 1;  // every shard in every block: a short test
    opts.plan.max_per_farmer = 4;
    opts.deadline = absl::Seconds(2);
    opts.policy.suspicion_threshold = 3;
    auditor_ = std::make_unique<audit::Auditor>(*catalog_, *audit_net_, keys_,
                                                SystemClockInstance(), opts);
    audit::RepairOptions ro;
    ro.timeout = absl::Seconds(20);
    repairer_ =
        std::make_unique<audit::Repairer>(*catalog_, *network_, keys_, SystemClockInstance(), ro);
  }

  void TearDown() override {
    for (auto& f : farmers_) {
      if (f->running()) ::kill(f->pid(), SIGCONT);
    }
  }

  catalog::Placement Current(uint32_t index) {
    absl::StatusOr<std::vector<catalog::Placement>> all =
        catalog_->ListPlacementsByVersion(version_);
    EXPECT_TRUE(all.ok());
    if (all.ok()) {
      for (const catalog::Placement& p : *all) {
        if (p.shard_index == index && p.state != catalog::PlacementState::kRepaired) return p;
      }
    }
    return {};
  }

  FarmerProcess* FarmerOf(const FarmerId& id) {
    for (auto& f : farmers_) {
      if (f->address().id.bytes() == id) return f.get();
    }
    return nullptr;
  }

  // Audits each new confirmed block and repairs what went bad, until shard `index` has
  // been repaired (or `timeout`). Returns what the repair did.
  absl::StatusOr<audit::RepairResult> AuditUntilRepaired(uint32_t index, absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    const catalog::PlacementId watched = Current(index).id;
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
        if (r->old_placement == watched) return *r;
      }
    }
    return absl::DeadlineExceededError(absl::StrCat("shard ", index, " not repaired in time"));
  }

  void ExpectReadsBack() {
    ASSERT_OK_AND_ASSIGN(catalog::Version v, catalog_->GetVersion(version_));
    ASSERT_OK_AND_ASSIGN(codec::FileManifest m, codec::DecodeFileManifest(v.manifest));
    ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> placements,
                         catalog_->ListPlacementsByVersion(version_));
    audit::PlacementShardSource source(*network_, v.bucket_id, placements, absl::Seconds(20));
    ASSERT_OK_AND_ASSIGN(Bytes back, codec::ReadRange(m, file_.key, 0, m.file_size, source));
    EXPECT_TRUE(back == file_.plaintext) << "file differs after repair";
  }

  void CheckRepair(const audit::RepairResult& r, const catalog::Placement& before) {
    EXPECT_EQ(r.old_farmer, before.farmer);
    std::set<FarmerId> segment;
    ASSERT_OK_AND_ASSIGN(std::vector<catalog::Placement> all,
                         catalog_->ListPlacementsByVersion(version_));
    int holders = 0;
    for (const catalog::Placement& p : all) {
      if (p.state == catalog::PlacementState::kAcked) {
        ++holders;
        EXPECT_TRUE(segment.insert(p.farmer).second) << "two shards on one farmer";
      }
    }
    EXPECT_EQ(holders, 6);
    ExpectReadsBack();
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
  audit::testing::EncodedFile file_;
  std::string state_;
  std::unique_ptr<catalog::Catalog> catalog_;
  catalog::VersionId version_ = 0;
  audit::FileKeyProvider keys_;
  std::unique_ptr<audit::ShardAuditNetwork> audit_net_;
  std::unique_ptr<audit::Auditor> auditor_;
  std::unique_ptr<audit::Repairer> repairer_;
  int rounds_ = 0;
};

TEST_F(AuditIntegrationTest, MisbehavingFarmersAreDetectedAndRepaired) {
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
    for (const audit::Verdict& v : r.verdicts) {
      EXPECT_EQ(v.result, audit::VerdictResult::kPass) << audit::DescribeVerdict(v);
    }
    ++n;
  }

  // 1. A farmer silently deletes the shard file.
  {
    catalog::Placement p = Current(0);
    FarmerProcess* f = FarmerOf(p.farmer);
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::remove(ShardPath(f->data_dir(), p.shard_id).c_str()), 0);
    std::printf("deleted shard 0 on farmer %s\n", f->ShortName().c_str());
    ASSERT_OK_AND_ASSIGN(audit::RepairResult r, AuditUntilRepaired(0, absl::Seconds(40)));
    CheckRepair(r, p);
  }
  // 2. A farmer loses 1% of a shard (zeroed at random offsets).
  {
    catalog::Placement p = Current(1);
    FarmerProcess* f = FarmerOf(p.farmer);
    ASSERT_NE(f, nullptr);
    std::fstream file(ShardPath(f->data_dir(), p.shard_id),
                      std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.good());
    std::mt19937_64 rng(5);
    const uint64_t n = p.stored_length / 100;
    for (uint64_t i = 0; i < n; ++i) {
      file.seekp(static_cast<std::streamoff>(rng() % p.stored_length));
      file.put(0);
    }
    file.close();
    std::printf("zeroed 1%% of shard 1 on farmer %s\n", f->ShortName().c_str());
    ASSERT_OK_AND_ASSIGN(audit::RepairResult r, AuditUntilRepaired(1, absl::Seconds(60)));
    CheckRepair(r, p);
  }
  // 3. Bit rot: one bit flipped in every 4 KiB of a shard.
  {
    catalog::Placement p = Current(2);
    FarmerProcess* f = FarmerOf(p.farmer);
    ASSERT_NE(f, nullptr);
    std::fstream file(ShardPath(f->data_dir(), p.shard_id),
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
    std::printf("flipped bits in shard 2 on farmer %s\n", f->ShortName().c_str());
    ASSERT_OK_AND_ASSIGN(audit::RepairResult r, AuditUntilRepaired(2, absl::Seconds(60)));
    CheckRepair(r, p);
  }
  // 4. A farmer stops answering (SIGSTOP): three missed deadlines make the shard bad.
  {
    catalog::Placement p = Current(3);
    FarmerProcess* f = FarmerOf(p.farmer);
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(::kill(f->pid(), SIGSTOP), 0);
    std::printf("stopped farmer %s (shard 3)\n", f->ShortName().c_str());
    ASSERT_OK_AND_ASSIGN(audit::RepairResult r, AuditUntilRepaired(3, absl::Seconds(60)));
    ::kill(f->pid(), SIGCONT);
    CheckRepair(r, p);
  }
  std::printf("4 misbehaviours detected and repaired in %d audited blocks, %.1f s\n", rounds_,
              absl::ToDoubleSeconds(absl::Now() - t0));

  // The verdicts, as a script sees them.
  catalog_.reset();
  ASSERT_OK_AND_ASSIGN(std::string out,
                       RunGnr(absl::StrCat("audit --state ", state_, " --json --limit 10000")));
  nlohmann::json j = nlohmann::json::parse(out);
  std::map<std::string, int> results;
  for (const nlohmann::json& v : j["verdicts"]) ++results[v["result"].get<std::string>()];
  EXPECT_GE(results["fail"], 3);     // deleted, zeroed, flipped
  EXPECT_GE(results["timeout"], 3);  // the stopped farmer, threshold 3
  EXPECT_GT(results["pass"], 0);
  std::printf("gnr audit --json: %d pass, %d fail, %d timeout, %d error\n", results["pass"],
              results["fail"], results["timeout"], results["error"]);

  // Sentinel verdicts (newest first, up to 40, passes and failures) are reproducible from its block
  // hash and the keys.
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
  EXPECT_EQ(nlohmann::json::parse(stats)["files"].size(), 1u) << stats;

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

}  // namespace
}  // namespace gnr::integration
