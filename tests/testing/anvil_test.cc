#include "tests/testing/anvil.h"

#include <signal.h>
#include <stdlib.h>

#include <cerrno>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::testing {
namespace {

using nlohmann::json;

uint64_t Quantity(const json& value) { return std::stoull(value.get<std::string>(), nullptr, 16); }

TEST(AnvilProcess, StartsAndAnswersChainId) {
  AnvilOptions options;
  options.chain_id = 4242;
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start(options));
  EXPECT_GT(anvil->port(), 0);
  EXPECT_EQ(anvil->rpc_url(), "http://127.0.0.1:" + std::to_string(anvil->port()));
  ASSERT_OK_AND_ASSIGN(json id, anvil->Rpc("eth_chainId"));
  EXPECT_EQ(Quantity(id), 4242u);
  EXPECT_EQ(anvil->chain_id(), 4242u);
}

TEST(AnvilProcess, ParsesTheFundedAccountsItPrints) {
  AnvilOptions options;
  options.accounts = 3;
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start(options));
  ASSERT_EQ(anvil->accounts().size(), 3u);
  // The node's own view of its unlocked accounts matches what we parsed from its banner.
  ASSERT_OK_AND_ASSIGN(json accounts, anvil->Rpc("eth_accounts"));
  ASSERT_EQ(accounts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const AnvilAccount& a = anvil->accounts()[i];
    EXPECT_EQ(absl::AsciiStrToLower(accounts[i].get<std::string>()),
              absl::AsciiStrToLower(a.address_hex));
    EXPECT_EQ(HexEncode0x(a.address), absl::AsciiStrToLower(a.address_hex));
    EXPECT_NE(a.private_key, FixedBytes<32>{});
    ASSERT_OK_AND_ASSIGN(json balance, anvil->Rpc("eth_getBalance", {a.address_hex, "latest"}));
    EXPECT_NE(balance.get<std::string>(), "0x0");
  }
}

TEST(AnvilProcess, BlockNumberAdvancesWithBlockTime) {
  AnvilOptions options;
  options.block_time_seconds = 1;
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start(options));
  ASSERT_OK_AND_ASSIGN(json first, anvil->Rpc("eth_blockNumber"));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  uint64_t now = Quantity(first);
  while (now <= Quantity(first) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    ASSERT_OK_AND_ASSIGN(json current, anvil->Rpc("eth_blockNumber"));
    now = Quantity(current);
  }
  EXPECT_GT(now, Quantity(first));
}

TEST(AnvilProcess, BerlinWithFixedGenesisTimestamp) {
  constexpr uint64_t kGenesis = 1700000000;
  AnvilOptions options;
  options.hardfork = "berlin";
  options.timestamp = kGenesis;
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start(options));
  ASSERT_OK_AND_ASSIGN(json block, anvil->Rpc("eth_getBlockByNumber", {"0x0", false}));
  EXPECT_EQ(Quantity(block["timestamp"]), kGenesis);
  // Berlin headers predate EIP-1559: no base fee field.
  EXPECT_FALSE(block.contains("baseFeePerGas")) << block.dump();
}

TEST(AnvilProcess, IncreaseTimeMovesTheChainClock) {
  constexpr uint64_t kGenesis = 1700000000;
  AnvilOptions options;
  options.timestamp = kGenesis;
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start(options));
  ASSERT_OK(anvil->IncreaseTime(86400));
  ASSERT_OK_AND_ASSIGN(json block, anvil->Rpc("eth_getBlockByNumber", {"latest", false}));
  EXPECT_GE(Quantity(block["timestamp"]), kGenesis + 86400);
}

TEST(AnvilProcess, RpcErrorsBecomeStatuses) {
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start());
  absl::StatusOr<json> bad = anvil->Rpc("no_such_method");
  EXPECT_STATUS(bad, absl::StatusCode::kUnknown);
  EXPECT_NE(bad.status().message().find("no_such_method"), absl::string_view::npos);
}

TEST(AnvilProcess, TwoInstancesGetDifferentPorts) {
  ASSERT_OK_AND_ASSIGN(auto a, AnvilProcess::Start());
  ASSERT_OK_AND_ASSIGN(auto b, AnvilProcess::Start());
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->pid(), b->pid());
}

TEST(AnvilProcess, DestructorKillsTheProcess) {
  ASSERT_OK_AND_ASSIGN(auto anvil, AnvilProcess::Start());
  const pid_t pid = anvil->pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, 0), 0);
  anvil.reset();
  // Stopped and reaped: the PID no longer exists (not even as a zombie).
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(AnvilProcess, MissingBinaryIsNotFound) {
  const char* old = getenv("GNR_ANVIL");
  const std::string saved = old != nullptr ? old : "";
  setenv("GNR_ANVIL", "/nonexistent/anvil", 1);
  absl::StatusOr<std::unique_ptr<AnvilProcess>> anvil = AnvilProcess::Start();
  if (old != nullptr) {
    setenv("GNR_ANVIL", saved.c_str(), 1);
  } else {
    unsetenv("GNR_ANVIL");
  }
  EXPECT_STATUS(anvil, absl::StatusCode::kNotFound);
  EXPECT_NE(anvil.status().message().find("scripts/setup"), absl::string_view::npos);
}

}  // namespace
}  // namespace gnr::testing
