// The loopback network test library itself (loopback_network.h): what it starts, what its
// accessors give, and that nothing it started outlives it.

#include "tests/integration/loopback_network.h"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "chain-client/keystore.h"
#include "common/hex.h"
#include "crypto/secp256k1.h"
#include "gtest/gtest.h"
#include "net/farmer/farmer.h"
#include "tests/testing/status_matchers.h"

extern char** environ;

namespace gnr::integration {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0; }

TEST(LoopbackNetwork, StartsChainBucketWalletAndFarmersAndStopsThem) {
  LoopbackNetworkOptions options;
  options.farmers = 3;
  options.tag = "loopback_test";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LoopbackNetwork> net, LoopbackNetwork::Start(options));
  const std::string dir = net->dir();
  EXPECT_NE(dir.find("gnr_loopback_test_"), std::string::npos) << dir;

  EXPECT_EQ(net->rpc_url().rfind("http://127.0.0.1:", 0), 0u) << net->rpc_url();
  EXPECT_EQ(net->contract().size(), 42u) << net->contract();

  // The bucket exists on chain and belongs to the wallet; another one can be bought.
  ASSERT_OK_AND_ASSIGN(Bytes id, HexDecode(net->bucket_hex()));
  ASSERT_EQ(id.size(), 32u);
  chain::BucketId bucket{};
  std::copy(id.begin(), id.end(), bucket.begin());
  ASSERT_OK_AND_ASSIGN(chain::BucketInfo info, net->market().Bucket(bucket));
  EXPECT_TRUE(info.exists());
  EXPECT_EQ(info.owner, crypto::EthereumAddress(net->wallet_key().GetPublicKey()));
  EXPECT_EQ(info.size_gb, options.bucket_gb);
  ASSERT_OK_AND_ASSIGN(std::string second, net->BuyBucket(1));
  EXPECT_NE(second, net->bucket_hex());

  // The wallet files open with the password in the password file.
  std::string password = ReadAll(net->password_file());
  ASSERT_FALSE(password.empty());
  password.pop_back();  // the newline
  ASSERT_OK_AND_ASSIGN(crypto::PrivateKey key,
                       chain::DecryptKeystore(ReadAll(net->keystore()), password));
  EXPECT_EQ(key.bytes(), net->wallet_key().bytes());

  // Farmers serve, and the seed is farmer0's contact file.
  ASSERT_EQ(net->farmer_count(), 3);
  std::vector<pid_t> pids;
  for (int i = 0; i < net->farmer_count(); ++i) {
    EXPECT_TRUE(net->farmer(i).running());
    pids.push_back(net->farmer(i).pid());
  }
  ASSERT_OK_AND_ASSIGN(farmer::FarmerContactFile seed,
                       farmer::ReadFarmerContactFile(net->bootstrap_seed()));
  EXPECT_EQ(seed.pid, net->farmer(0).pid());
  const pid_t anvil = net->anvil().pid();

  net->farmer(2).Kill();
  EXPECT_FALSE(net->farmer(2).running());

  net.reset();
  for (pid_t pid : pids) EXPECT_FALSE(Alive(pid)) << "farmer " << pid << " outlived the network";
  EXPECT_FALSE(Alive(anvil)) << "anvil outlived the network";
  struct stat st;
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " was not removed";
}

// A process whose command line names the tag dies when the reaper goes (as when the test
// process dies), and the tagged directory is removed.
TEST(ProcessReaper, KillsTaggedProcessesAndRemovesTheDirectory) {
  std::string dir = ::testing::TempDir() + "/gnr_reaper_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::ofstream(dir + "/file") << "x";
  auto reaper = std::make_unique<ProcessReaper>(dir, "", /*remove_tag_dir=*/true);

  // `sleep 600` run with argv[0] = a name: the tag makes it the reaper's.
  auto spawn_sleep = [](std::string name) {
    std::string seconds = "600";
    char* argv[] = {name.data(), seconds.data(), nullptr};
    pid_t pid = -1;
    return posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, environ) == 0 ? pid : -1;
  };
  const pid_t tagged = spawn_sleep(dir + "/tagged");
  const pid_t untagged = spawn_sleep("untagged");
  ASSERT_GT(tagged, 0);
  ASSERT_GT(untagged, 0);

  reaper.reset();  // waits for the reaper's three rounds
  int status = 0;
  ASSERT_EQ(waitpid(tagged, &status, 0), tagged);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(waitpid(untagged, &status, WNOHANG), 0) << "the untagged process was killed";
  kill(untagged, SIGKILL);
  waitpid(untagged, &status, 0);
  struct stat st;
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " was not removed";
}

}  // namespace
}  // namespace gnr::integration
