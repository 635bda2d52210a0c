// Live tests against a real anvil started by the test (tests/testing/anvil.h): transactions
// that anvil accepts, block hashes recomputed from the headers it serves (berlin 15-field
// headers and the default hardfork's longer ones), receipts roots, state proofs, and a
// tampering transport that alters one field of an answer.

#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/json_rpc.h"
#include "chain-client/light_client.h"
#include "chain-client/transaction.h"
#include "chain-client/tx_sender.h"
#include "common/clock.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/anvil.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using gnr::testing::AnvilOptions;
using gnr::testing::AnvilProcess;

// Forwards to a real transport and lets the test rewrite answers of one method.
class TamperingTransport : public RpcTransport {
 public:
  using Tamper = std::function<void(Json& response)>;
  explicit TamperingTransport(std::unique_ptr<RpcTransport> inner) : inner_(std::move(inner)) {}

  void TamperWith(std::string method, Tamper tamper) {
    absl::MutexLock lock(&mu_);
    method_ = std::move(method);
    tamper_ = std::move(tamper);
  }

  absl::StatusOr<std::string> Send(std::string_view request_body) override {
    absl::StatusOr<std::string> body = inner_->Send(request_body);
    if (!body.ok()) return body;
    Json request = Json::parse(request_body);
    absl::MutexLock lock(&mu_);
    if (!tamper_ || request["method"] != method_) return body;
    Json response = Json::parse(*body);
    tamper_(response);
    return response.dump();
  }
  std::string endpoint() const override { return inner_->endpoint(); }

 private:
  std::unique_ptr<RpcTransport> inner_;
  absl::Mutex mu_;
  std::string method_ ABSL_GUARDED_BY(mu_);
  Tamper tamper_ ABSL_GUARDED_BY(mu_);
};

// Flips the last hex digit of a "0x..." string.
void FlipLastDigit(Json& value) {
  std::string s = value.get<std::string>();
  s.back() = s.back() == '1' ? '2' : '1';
  value = s;
}

class Chain {
 public:
  static absl::StatusOr<std::unique_ptr<Chain>> Start(AnvilOptions options) {
    auto chain = std::unique_ptr<Chain>(new Chain);
    absl::StatusOr<std::unique_ptr<AnvilProcess>> anvil = AnvilProcess::Start(options);
    if (!anvil.ok()) return anvil.status();
    chain->anvil = *std::move(anvil);
    absl::StatusOr<std::unique_ptr<HttpTransport>> http =
        HttpTransport::Create(chain->anvil->rpc_url());
    if (!http.ok()) return http.status();
    auto tampering = std::make_unique<TamperingTransport>(*std::move(http));
    chain->tamper = tampering.get();
    chain->client = std::make_unique<JsonRpcClient>(std::move(tampering));
    chain->eth = std::make_unique<EthRpc>(*chain->client);
    chain->light = std::make_unique<LightClient>(*chain->eth);
    return chain;
  }

  crypto::PrivateKey Key(int i) const {
    return *crypto::PrivateKey::FromBytes(anvil->accounts()[i].private_key);
  }
  EthAddress Address(int i) const { return anvil->accounts()[i].address; }

  // Sends and waits (anvil automines) for the receipt.
  absl::StatusOr<RpcReceipt> SendAndWait(const SignedTransaction& tx) {
    absl::StatusOr<Hash256> hash = eth->SendRawTransaction(tx.Encode());
    if (!hash.ok()) return hash.status();
    if (*hash != tx.Hash()) return absl::InternalError("node reports another tx hash");
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::optional<RpcReceipt>> r = eth->GetTransactionReceipt(*hash);
      if (!r.ok()) return r.status();
      if (r->has_value()) return **r;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError("no receipt");
  }

  std::unique_ptr<AnvilProcess> anvil;
  TamperingTransport* tamper = nullptr;
  std::unique_ptr<JsonRpcClient> client;
  std::unique_ptr<EthRpc> eth;
  std::unique_ptr<LightClient> light;

 private:
  Chain() = default;
};

Eip1559Transaction Transfer1559(Chain& c, uint64_t nonce, uint64_t wei) {
  Eip1559Transaction tx;
  tx.chain_id = c.anvil->chain_id();
  tx.nonce = nonce;
  tx.max_priority_fee_per_gas = U256(1000000000);
  tx.max_fee_per_gas = U256(100000000000ull);
  tx.gas_limit = 21000;
  tx.to = c.Address(1);
  tx.value = U256(wei);
  return tx;
}

LegacyTransaction TransferLegacy(Chain& c, uint64_t nonce, uint64_t wei) {
  LegacyTransaction tx;
  tx.chain_id = c.anvil->chain_id();
  tx.nonce = nonce;
  tx.gas_price = U256(100000000000ull);
  tx.gas_limit = 21000;
  tx.to = c.Address(1);
  tx.value = U256(wei);
  return tx;
}

TEST(AnvilLive, Eip1559AndLegacyTransactionsAreAcceptedAndVerified) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  ASSERT_OK_AND_ASSIGN(uint64_t chain_id, c->eth->ChainId());
  EXPECT_EQ(chain_id, c->anvil->chain_id());
  ASSERT_OK_AND_ASSIGN(uint64_t nonce, c->eth->GetTransactionCount(c->Address(0)));
  EXPECT_EQ(nonce, 0u);

  SignedTransaction t1 = SignTransaction(Transfer1559(*c, 0, 12345), c->Key(0));
  ASSERT_OK_AND_ASSIGN(RpcReceipt r1, c->SendAndWait(t1));
  EXPECT_TRUE(r1.succeeded());
  EXPECT_EQ(r1.receipt.type, 2);
  EXPECT_EQ(r1.from, c->Address(0));

  SignedTransaction t2 = SignTransaction(TransferLegacy(*c, 1, 1000), c->Key(0));
  ASSERT_OK_AND_ASSIGN(RpcReceipt r2, c->SendAndWait(t2));
  EXPECT_TRUE(r2.succeeded());
  EXPECT_EQ(r2.receipt.type, 0);

  // The node's view of our transactions matches what we signed.
  ASSERT_OK_AND_ASSIGN(std::optional<RpcTransaction> got, c->eth->GetTransactionByHash(t1.Hash()));
  ASSERT_TRUE(got.has_value());
  ASSERT_OK_AND_ASSIGN(SignedTransaction rebuilt, got->ToSignedTransaction());
  EXPECT_EQ(rebuilt, t1);
  EXPECT_EQ(*RecoverSender(rebuilt), c->Address(0));

  for (const SignedTransaction* t : {&t1, &t2}) {
    ASSERT_OK_AND_ASSIGN(VerifiedReceipt v, c->light->VerifiedTransactionReceipt(t->Hash()));
    EXPECT_EQ(v.receipt.transaction_hash, t->Hash());
    EXPECT_EQ(v.header.Hash(), v.receipt.block_hash);
  }

  // Recipient balance through a verified state proof.
  ASSERT_OK_AND_ASSIGN(BlockHeader head, c->light->VerifiedHeader(BlockRef::Latest()));
  ASSERT_OK_AND_ASSIGN(AccountState sender, c->light->VerifiedAccount(head, c->Address(0)));
  EXPECT_EQ(sender.nonce, 2u);
  ASSERT_OK_AND_ASSIGN(U256 balance, c->eth->GetBalance(c->Address(1)));
  ASSERT_OK_AND_ASSIGN(AccountState recipient, c->light->VerifiedAccount(head, c->Address(1)));
  EXPECT_EQ(recipient.balance, balance);
  EthAddress nobody{};
  nobody[0] = 0x77;
  ASSERT_OK_AND_ASSIGN(AccountState absent, c->light->VerifiedAccount(head, nobody));
  EXPECT_FALSE(absent.exists);
}

// Mines a few blocks with transactions, then verifies every header from genesis (hashes and
// parent links). Returns them.
std::vector<BlockHeader> MineAndVerifyHeaders(Chain& c) {
  for (uint64_t i = 0; i < 3; ++i) {
    LegacyTransaction tx = TransferLegacy(c, i, 1);
    EXPECT_OK(c.SendAndWait(SignTransaction(tx, c.Key(0))));
  }
  absl::StatusOr<uint64_t> head = c.eth->BlockNumber();
  EXPECT_OK(head);
  if (!head.ok()) return {};
  EXPECT_GE(*head, 3u);
  absl::StatusOr<std::vector<BlockHeader>> headers = c.light->VerifiedHeaderRange(0, *head);
  EXPECT_OK(headers);
  if (!headers.ok()) return {};
  absl::StatusOr<BlockHeader> by_hash = c.light->VerifiedHeaderByHash((*headers)[2].Hash());
  EXPECT_OK(by_hash);
  if (by_hash.ok()) {
    EXPECT_EQ(*by_hash, (*headers)[2]);
  }
  return *headers;
}

TEST(AnvilLive, BerlinHeadersHave15FieldsAndVerify) {
  AnvilOptions options;
  options.hardfork = "berlin";
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(options));
  std::vector<BlockHeader> headers = MineAndVerifyHeaders(*c);
  ASSERT_GE(headers.size(), 4u);
  // Mined berlin blocks have GenaroCore's 15-field header. (anvil's berlin genesis also
  // reports and hashes the two blob gas fields: 17 fields, verified all the same.)
  EXPECT_EQ(headers.back().FieldCount(), 15u);
  EXPECT_FALSE(headers.back().base_fee_per_gas.has_value());
}

TEST(AnvilLive, DefaultHardforkHeadersVerify) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  std::vector<BlockHeader> headers = MineAndVerifyHeaders(*c);
  ASSERT_GE(headers.size(), 4u);
  // Whatever anvil's default fork is (london or later), its extra fields are hashed.
  EXPECT_GE(headers.back().FieldCount(), 16u);
  EXPECT_TRUE(headers.back().base_fee_per_gas.has_value());
}

TEST(AnvilLive, StorageProofOfADeployedContract) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  // Init code: SSTORE(0, 0x42); SSTORE(7, 0x0100); STOP — a contract with two slots and no
  // runtime code.
  Eip1559Transaction create = Transfer1559(*c, 0, 0);
  create.to.reset();
  create.gas_limit = 200000;
  create.data = HexLiteral(
      "6042600055610100600755"
      "00");
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, c->SendAndWait(SignTransaction(create, c->Key(0))));
  ASSERT_TRUE(r.succeeded());
  ASSERT_TRUE(r.contract_address.has_value());
  ASSERT_OK_AND_ASSIGN(BlockHeader head, c->light->VerifiedHeader(BlockRef::Latest()));
  Hash256 slot0{}, slot7{}, slot9{};
  slot7[31] = 7;
  slot9[31] = 9;
  std::vector<Hash256> slots = {slot0, slot7, slot9};
  ASSERT_OK_AND_ASSIGN(std::vector<U256> values,
                       c->light->VerifiedStorage(head, *r.contract_address, slots));
  EXPECT_EQ(values[0], U256(0x42));
  EXPECT_EQ(values[1], U256(0x100));
  EXPECT_EQ(values[2], U256());

  // A lying proof answer: the claimed value differs from the proven one.
  c->tamper->TamperWith("eth_getProof",
                        [](Json& resp) { resp["result"]["storageProof"][0]["value"] = "0x43"; });
  absl::StatusOr<std::vector<U256>> lie =
      c->light->VerifiedStorage(head, *r.contract_address, slots);
  EXPECT_STATUS(lie, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(lie.status().message()).find("claims 0x43"), std::string::npos)
      << lie.status();
  // A tampered proof node.
  c->tamper->TamperWith("eth_getProof", [](Json& resp) {
    FlipLastDigit(resp["result"]["storageProof"][1]["proof"][0]);
  });
  EXPECT_STATUS(c->light->VerifiedStorage(head, *r.contract_address, slots),
                absl::StatusCode::kDataLoss);
  // A lying balance.
  c->tamper->TamperWith("eth_getProof",
                        [](Json& resp) { FlipLastDigit(resp["result"]["balance"]); });
  absl::StatusOr<AccountState> acct = c->light->VerifiedAccount(head, c->Address(0));
  EXPECT_STATUS(acct, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(acct.status().message()).find("balance"), std::string::npos);
}

TEST(AnvilLive, TamperedHeadersAndReceiptsAreDetected) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  SignedTransaction t = SignTransaction(Transfer1559(*c, 0, 5), c->Key(0));
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, c->SendAndWait(t));
  ASSERT_OK(c->light->VerifiedTransactionReceipt(t.Hash()));

  // One header field altered.
  for (const char* field : {"stateRoot", "timestamp", "gasUsed", "miner"}) {
    c->tamper->TamperWith("eth_getBlockByNumber",
                          [field](Json& resp) { FlipLastDigit(resp["result"][field]); });
    absl::StatusOr<BlockHeader> h = c->light->VerifiedHeader(BlockRef::Number(r.block_number));
    EXPECT_STATUS(h, absl::StatusCode::kDataLoss);
    EXPECT_NE(std::string(h.status().message()).find("header hash mismatch"), std::string::npos)
        << field << ": " << h.status();
  }
  // The claimed hash altered.
  c->tamper->TamperWith("eth_getBlockByNumber",
                        [](Json& resp) { FlipLastDigit(resp["result"]["hash"]); });
  EXPECT_STATUS(c->light->VerifiedHeader(BlockRef::Number(r.block_number)),
                absl::StatusCode::kDataLoss);

  // A receipt altered consistently in both places the client reads it.
  auto alter_receipt = [](Json& receipt) { receipt["cumulativeGasUsed"] = "0x5209"; };
  c->tamper->TamperWith("eth_getTransactionReceipt",
                        [&](Json& resp) { alter_receipt(resp["result"]); });
  absl::StatusOr<VerifiedReceipt> v = c->light->VerifiedTransactionReceipt(t.Hash());
  EXPECT_STATUS(v, absl::StatusCode::kDataLoss);
  c->tamper->TamperWith("eth_getBlockReceipts",
                        [&](Json& resp) { alter_receipt(resp["result"][0]); });
  v = c->light->VerifiedTransactionReceipt(t.Hash());
  EXPECT_STATUS(v, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(v.status().message()).find("receipts root mismatch"), std::string::npos)
      << v.status();
  // A transaction field altered in the full block.
  c->tamper->TamperWith("eth_getBlockByHash",
                        [](Json& resp) { resp["result"]["transactions"][0]["value"] = "0x6"; });
  v = c->light->VerifiedTransactionReceipt(t.Hash());
  EXPECT_STATUS(v, absl::StatusCode::kDataLoss);
  c->tamper->TamperWith("", nullptr);
  EXPECT_OK(c->light->VerifiedTransactionReceipt(t.Hash()));
}

// Deploys a contract whose every call reverts with Error("nope"); returns its address.
absl::StatusOr<EthAddress> DeployRevertingContract(Chain& c, uint64_t nonce) {
  // runtime: CODECOPY(0, 0x0c, 0x64) REVERT(0, 0x64) || ABI-encoded Error("nope")
  Bytes runtime = HexLiteral("6064600c60003960646000fd");
  Append(runtime, HexLiteral("08c379a0"
                             "0000000000000000000000000000000000000000000000000000000000000020"
                             "0000000000000000000000000000000000000000000000000000000000000004"
                             "6e6f706500000000000000000000000000000000000000000000000000000000"));
  // init code: CODECOPY(0, 0x0c, 0x70) RETURN(0, 0x70) || runtime (0x70 bytes)
  Bytes init = HexLiteral("6070600c60003960706000f3");
  Append(init, runtime);
  Eip1559Transaction create = Transfer1559(c, nonce, 0);
  create.to.reset();
  create.gas_limit = 300000;
  create.data = init;
  absl::StatusOr<RpcReceipt> r = c.SendAndWait(SignTransaction(create, c.Key(0)));
  if (!r.ok()) return r.status();
  if (!r->contract_address) return absl::InternalError("no contract address");
  absl::StatusOr<Bytes> code = c.eth->GetCode(*r->contract_address);
  if (!code.ok()) return code.status();
  if (*code != runtime) return absl::InternalError("unexpected runtime code");
  return *r->contract_address;
}

TEST(AnvilLive, RevertReasonsAndErrorsAreClear) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  ASSERT_OK_AND_ASSIGN(EthAddress reverter, DeployRevertingContract(*c, 0));
  CallRequest call;
  call.from = c->Address(0);
  call.to = reverter;
  absl::StatusOr<Bytes> out = c->eth->Call(call);
  EXPECT_STATUS(out, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(out.status().message()).find("execution reverted: nope"), std::string::npos)
      << out.status();
  absl::StatusOr<uint64_t> gas = c->eth->EstimateGas(call);
  EXPECT_STATUS(gas, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(gas.status().message()).find("nope"), std::string::npos) << gas.status();

  // A nonce that was already used.
  SignedTransaction stale = SignTransaction(Transfer1559(*c, 0, 1), c->Key(0));
  absl::StatusOr<Hash256> sent = c->eth->SendRawTransaction(stale.Encode());
  EXPECT_FALSE(sent.ok());
  EXPECT_NE(std::string(sent.status().message()).find("eth_sendRawTransaction on http://127.0.0.1"),
            std::string::npos)
      << sent.status();
}

// ---- TxSender -------------------------------------------------------------------------------

std::unique_ptr<TxSender> MakeSender(Chain& c, NonceManager& nonces, int account,
                                     TxSenderOptions options = {}) {
  options.poll_interval = absl::Milliseconds(20);
  options.receipt_timeout = absl::Seconds(30);
  absl::StatusOr<std::unique_ptr<TxSender>> sender =
      TxSender::Create(*c.eth, nonces, c.Key(account), SystemClockInstance(), options);
  EXPECT_OK(sender);
  return sender.ok() ? *std::move(sender) : nullptr;
}

TEST(AnvilTxSender, SendsEip1559OnLondonAndLaterAndLegacyOnBerlin) {
  for (const char* fork : {"", "berlin"}) {
    AnvilOptions options;
    options.hardfork = fork;
    ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(options));
    NonceManager nonces(*c->eth);
    std::unique_ptr<TxSender> sender = MakeSender(*c, nonces, 0);
    ASSERT_NE(sender, nullptr);
    EXPECT_EQ(sender->address(), c->Address(0));
    TxRequest req;
    req.to = c->Address(2);
    req.value = U256(777);
    ASSERT_OK_AND_ASSIGN(RpcReceipt r, sender->SendAndWait(req));
    EXPECT_TRUE(r.succeeded());
    EXPECT_EQ(r.receipt.type, std::string_view(fork) == "berlin" ? 0 : 2) << fork;
    EXPECT_OK(c->light->VerifiedTransactionReceipt(r.transaction_hash));
  }
}

TEST(AnvilTxSender, ConcurrentSendersGetDistinctNonces) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  NonceManager nonces(*c->eth);
  std::unique_ptr<TxSender> sender = MakeSender(*c, nonces, 0);
  ASSERT_NE(sender, nullptr);
  constexpr int kThreads = 4, kPerThread = 5;
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::vector<absl::Status> errors;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        TxRequest req;
        req.to = c->Address(3);
        req.value = U256(1);
        absl::StatusOr<RpcReceipt> r = sender->SendAndWait(req);
        if (!r.ok()) {
          absl::MutexLock lock(&mu);
          errors.push_back(r.status());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& e : errors) ADD_FAILURE() << e;
  ASSERT_OK_AND_ASSIGN(uint64_t count,
                       c->eth->GetTransactionCount(c->Address(0), BlockRef::Latest()));
  EXPECT_EQ(count, static_cast<uint64_t>(kThreads * kPerThread));
}

TEST(AnvilTxSender, RevertsAndInsufficientBalanceAreClearErrors) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  ASSERT_OK_AND_ASSIGN(EthAddress reverter, DeployRevertingContract(*c, 0));
  NonceManager nonces(*c->eth);
  std::unique_ptr<TxSender> sender = MakeSender(*c, nonces, 0);
  ASSERT_NE(sender, nullptr);

  // Refused before sending: the estimate reverts.
  TxRequest call;
  call.to = reverter;
  absl::StatusOr<RpcReceipt> r = sender->SendAndWait(call);
  EXPECT_STATUS(r, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "estimating gas: execution reverted: nope");
  ASSERT_OK_AND_ASSIGN(uint64_t count,
                       c->eth->GetTransactionCount(c->Address(0), BlockRef::Latest()));
  EXPECT_EQ(count, 1u);  // only the deployment; the nonce was given back

  // Mined but reverted (gas limit given, so no estimate): the reason is recovered.
  call.gas_limit = 100000;
  r = sender->SendAndWait(call);
  EXPECT_STATUS(r, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("reverted in block"), std::string::npos);
  EXPECT_NE(std::string(r.status().message()).find("execution reverted: nope"), std::string::npos)
      << r.status();

  // More value than the wallet holds.
  ASSERT_OK_AND_ASSIGN(U256 balance, c->eth->GetBalance(c->Address(0)));
  TxRequest rich;
  rich.to = c->Address(1);
  rich.value = balance;
  r = sender->SendAndWait(rich);
  EXPECT_STATUS(r, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("insufficient balance"), std::string::npos)
      << r.status();

  // Fee cap.
  TxSenderOptions capped;
  capped.max_fee_per_gas_cap = U256(1);
  std::unique_ptr<TxSender> cheap = MakeSender(*c, nonces, 0, capped);
  ASSERT_NE(cheap, nullptr);
  EXPECT_STATUS(cheap->SendAndWait(rich), absl::StatusCode::kFailedPrecondition);

  // And the wallet still works afterwards (no nonce gap).
  TxRequest ok;
  ok.to = c->Address(1);
  ok.value = U256(1);
  EXPECT_OK(sender->SendAndWait(ok));
}

TEST(AnvilTxSender, RecoversFromAnotherProcessUsingTheWallet) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  NonceManager nonces(*c->eth);
  std::unique_ptr<TxSender> sender = MakeSender(*c, nonces, 0);
  ASSERT_NE(sender, nullptr);
  TxRequest req;
  req.to = c->Address(1);
  req.value = U256(1);
  ASSERT_OK(sender->SendAndWait(req));  // our manager now expects nonce 1
  // "Another process" sends nonce 1 behind our back.
  ASSERT_OK(c->SendAndWait(SignTransaction(Transfer1559(*c, 1, 1), c->Key(0))));
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, sender->SendAndWait(req));  // nonce too low -> resync
  EXPECT_TRUE(r.succeeded());
  ASSERT_OK_AND_ASSIGN(uint64_t count,
                       c->eth->GetTransactionCount(c->Address(0), BlockRef::Latest()));
  EXPECT_EQ(count, 3u);
}

TEST(AnvilTxSender, AnErrorAnswerForAnAcceptedTransactionIsNotAFailure) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  NonceManager nonces(*c->eth);
  std::unique_ptr<TxSender> sender = MakeSender(*c, nonces, 0);
  ASSERT_NE(sender, nullptr);
  // The node accepts (and mines) the transaction but answers with an error, as some chains
  // do for transactions that revert.
  c->tamper->TamperWith("eth_sendRawTransaction", [](Json& resp) {
    resp.erase("result");
    resp["error"] = {{"code", -32000}, {"message", "execution reverted"}};
  });
  TxRequest req;
  req.to = c->Address(1);
  req.value = U256(5);
  ASSERT_OK_AND_ASSIGN(RpcReceipt r, sender->SendAndWait(req));
  EXPECT_TRUE(r.succeeded());
}

TEST(AnvilTxSender, WaitingGivesUpAtTheDeadline) {
  ASSERT_OK_AND_ASSIGN(auto c, Chain::Start(AnvilOptions{}));
  NonceManager nonces(*c->eth);
  FakeClock clock;
  TxSenderOptions options;
  options.poll_interval = absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TxSender> sender,
                       TxSender::Create(*c->eth, nonces, c->Key(0), clock, options,
                                        [&](absl::Duration d) { clock.Advance(d); }));
  Hash256 unknown{};
  unknown[0] = 1;
  absl::StatusOr<RpcReceipt> r = sender->WaitForReceipt(unknown, absl::Seconds(5));
  EXPECT_STATUS(r, absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(std::string(r.status().message()).find("not mined after 5s"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace gnr::chain
