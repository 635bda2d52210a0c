#include "chain-client/json_rpc.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

// A scripted transport: each Send pops the next reply (a body, or an error status). The
// placeholder "$ID" in a body is replaced by the request's id.
class ScriptedTransport : public RpcTransport {
 public:
  void Reply(std::string body) { replies_.push_back(std::move(body)); }
  void Fail(absl::Status status) { replies_.push_back(std::move(status)); }

  absl::StatusOr<std::string> Send(std::string_view request_body) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(Json::parse(request_body));
    if (replies_.empty()) return absl::UnavailableError("no scripted reply");
    auto reply = std::move(replies_.front());
    replies_.pop_front();
    if (!reply.ok()) return reply.status();
    std::string body = *reply;
    size_t pos = body.find("$ID");
    if (pos != std::string::npos) body.replace(pos, 3, requests_.back()["id"].dump());
    return body;
  }
  std::string endpoint() const override { return "http://fake:8545"; }

  std::vector<Json> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::StatusOr<std::string>> replies_;
  std::vector<Json> requests_;
};

struct Fixture {
  Fixture() {
    auto t = std::make_unique<ScriptedTransport>();
    transport = t.get();
    client = std::make_unique<JsonRpcClient>(std::move(t), RetryPolicy{},
                                             [this](absl::Duration d) { sleeps.push_back(d); });
  }
  ScriptedTransport* transport;
  std::vector<absl::Duration> sleeps;
  std::unique_ptr<JsonRpcClient> client;
};

TEST(JsonRpcClient, SendsWellFormedRequestAndReturnsResult) {
  Fixture f;
  f.transport->Reply(R"({"jsonrpc":"2.0","id":$ID,"result":"0x7a69"})");
  ASSERT_OK_AND_ASSIGN(Json result, f.client->Call("eth_chainId"));
  EXPECT_EQ(result, "0x7a69");
  Json req = f.transport->requests().at(0);
  EXPECT_EQ(req["jsonrpc"], "2.0");
  EXPECT_EQ(req["method"], "eth_chainId");
  EXPECT_TRUE(req["params"].is_array());
  EXPECT_TRUE(req["id"].is_number_unsigned());
}

TEST(JsonRpcClient, NullResultIsAValue) {
  Fixture f;
  f.transport->Reply(R"({"jsonrpc":"2.0","id":$ID,"result":null})");
  ASSERT_OK_AND_ASSIGN(Json result, f.client->Call("eth_getTransactionReceipt", {"0x00"}));
  EXPECT_TRUE(result.is_null());
}

TEST(JsonRpcClient, RetriesTransportFailuresWithBackoff) {
  Fixture f;
  f.transport->Fail(absl::UnavailableError("connection refused — is the chain running?"));
  f.transport->Fail(absl::DeadlineExceededError("timed out"));
  f.transport->Reply(R"({"jsonrpc":"2.0","id":$ID,"result":"0x1"})");
  ASSERT_OK_AND_ASSIGN(Json result, f.client->Call("eth_blockNumber"));
  EXPECT_EQ(result, "0x1");
  ASSERT_EQ(f.sleeps.size(), 2u);
  EXPECT_EQ(f.sleeps[0], absl::Milliseconds(100));
  EXPECT_EQ(f.sleeps[1], absl::Milliseconds(200));
  // The same request id is reused across retries.
  auto reqs = f.transport->requests();
  EXPECT_EQ(reqs[0]["id"], reqs[2]["id"]);
}

TEST(JsonRpcClient, GivesUpWithAClearMessage) {
  Fixture f;
  for (int i = 0; i < 4; ++i) {
    f.transport->Fail(absl::UnavailableError("connection refused — is the chain running?"));
  }
  absl::StatusOr<Json> r = f.client->Call("eth_getBlockByNumber", {"latest", false});
  EXPECT_STATUS(r, absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "eth_getBlockByNumber on http://fake:8545: connection refused — is the chain running?");
  EXPECT_EQ(f.sleeps.size(), 3u);
}

TEST(JsonRpcClient, DoesNotRetryJsonRpcErrors) {
  Fixture f;
  f.transport->Reply(
      R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"nonce too low"}})");
  absl::StatusOr<Json> r = f.client->Call("eth_sendRawTransaction", {"0x00"});
  EXPECT_STATUS(r, absl::StatusCode::kUnknown);
  EXPECT_EQ(r.status().message(),
            "eth_sendRawTransaction on http://fake:8545: JSON-RPC error -32000: nonce too low");
  EXPECT_EQ(RpcErrorCodeOf(r.status()), -32000);
  EXPECT_TRUE(f.sleeps.empty());
  f.transport->Reply(
      R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32601,"message":"Method not found"}})");
  EXPECT_STATUS(f.client->Call("eth_foo"), absl::StatusCode::kUnimplemented);
}

TEST(JsonRpcClient, DecodesRevertReasons) {
  Fixture f;
  // "execution reverted: StorageMarket: bucket expired" as geth/anvil send it: code 3 and the
  // ABI-encoded Error(string) in data.
  std::string data =
      "0x08c379a0"
      "0000000000000000000000000000000000000000000000000000000000000020"
      "000000000000000000000000000000000000000000000000000000000000001d"
      "53746f726167654d61726b65743a206275636b65742065787069726564000000";
  f.transport->Reply(
      R"({"jsonrpc":"2.0","id":$ID,"error":{"code":3,"message":"execution reverted","data":")" +
      data + R"("}})");
  absl::StatusOr<Json> r = f.client->Call("eth_call", Json::array());
  EXPECT_STATUS(r, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "eth_call on http://fake:8545: execution reverted: StorageMarket: bucket expired");
  ASSERT_TRUE(RevertDataOf(r.status()).has_value());
  EXPECT_EQ(HexEncode0x(*RevertDataOf(r.status())), data);
  // Without data the node's message is kept.
  f.transport->Reply(
      R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"execution reverted"}})");
  absl::StatusOr<Json> r2 = f.client->Call("eth_estimateGas", Json::array());
  EXPECT_STATUS(r2, absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(RevertDataOf(r2.status()).has_value());
}

TEST(JsonRpcClient, RejectsMalformedResponses) {
  for (std::string bad : {
           std::string("not json"), std::string("[1,2]"),
           std::string(R"({"id":$ID,"result":"0x1"})"),                     // no jsonrpc
           std::string(R"({"jsonrpc":"1.0","id":$ID,"result":"0x1"})"),     // wrong version
           std::string(R"({"jsonrpc":"2.0","id":999999,"result":"0x1"})"),  // wrong id
           std::string(R"({"jsonrpc":"2.0","id":"$ID","result":"0x1"})"),   // id as string
           std::string(R"({"jsonrpc":"2.0","id":$ID})"),                    // no result
           std::string(R"({"jsonrpc":"2.0","id":$ID,"error":"boom"})"),     // error not object
       }) {
    Fixture f;
    f.transport->Reply(bad);
    absl::StatusOr<Json> r = f.client->Call("eth_chainId");
    EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
    EXPECT_TRUE(f.sleeps.empty()) << bad;
  }
}

TEST(HttpTransport, RejectsNonHttpUrls) {
  EXPECT_STATUS(HttpTransport::Create("ftp://x"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(HttpTransport::Create("127.0.0.1:8545"), absl::StatusCode::kInvalidArgument);
  EXPECT_OK(HttpTransport::Create("HTTP://127.0.0.1:8545"));
}

TEST(HttpTransport, ConnectionRefusedIsUnavailableAndNamed) {
  // Find a loopback port nobody listens on: bind, read the port, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  ASSERT_OK_AND_ASSIGN(auto transport, HttpTransport::Create(url));
  int sleeps = 0;
  JsonRpcClient client(std::move(transport), RetryPolicy{.max_attempts = 2},
                       [&](absl::Duration) { ++sleeps; });
  absl::StatusOr<Json> r = client.Call("eth_getBlockByNumber", {"latest", false});
  EXPECT_STATUS(r, absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      std::string(r.status().message())
          .rfind("eth_getBlockByNumber on " + url + ": connection refused — is the chain running?",
                 0),
      0u)
      << r.status();
  EXPECT_EQ(sleeps, 1);
}

}  // namespace
}  // namespace gnr::chain
