#include "chain-client/eth_rpc.h"

#include "absl/strings/str_cat.h"
#include "chain-client/json_fields.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

std::string Hex(ByteView b) { return HexEncode0x(b); }

std::string Quantity(uint64_t v) { return U256(v).ToQuantity(); }

absl::StatusOr<std::vector<AccessListEntry>> ParseAccessList(const Json& tx) {
  std::vector<AccessListEntry> out;
  auto it = tx.find("accessList");
  if (it == tx.end() || it->is_null()) return out;
  if (!it->is_array()) return absl::InvalidArgumentError("field \"accessList\": expected an array");
  for (const Json& e : *it) {
    AccessListEntry entry;
    GNR_ASSIGN_OR_RETURN(entry.address, JsonFixedData<20>(e, "address"));
    GNR_ASSIGN_OR_RETURN(const Json* keys, JsonArray(e, "storageKeys"));
    for (const Json& k : *keys) {
      GNR_ASSIGN_OR_RETURN(Hash256 key, ParseFixedData<32>(k, "storageKeys[]"));
      entry.storage_keys.push_back(key);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

absl::StatusOr<std::vector<Bytes>> ParseBytesArray(const Json& obj, std::string_view field) {
  GNR_ASSIGN_OR_RETURN(const Json* arr, JsonArray(obj, field));
  std::vector<Bytes> out;
  out.reserve(arr->size());
  for (const Json& node : *arr) {
    GNR_ASSIGN_OR_RETURN(Bytes b, ParseData(node, field));
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

Json BlockRef::ToParam() const {
  if (!tag_.empty()) return tag_;
  return Quantity(number_);
}

Json CallRequest::ToJson() const {
  Json j = Json::object();
  if (from) j["from"] = Hex(*from);
  if (to) j["to"] = Hex(*to);
  if (gas) j["gas"] = Quantity(*gas);
  if (gas_price) j["gasPrice"] = gas_price->ToQuantity();
  if (max_fee_per_gas) j["maxFeePerGas"] = max_fee_per_gas->ToQuantity();
  if (max_priority_fee_per_gas) j["maxPriorityFeePerGas"] = max_priority_fee_per_gas->ToQuantity();
  if (!value.IsZero()) j["value"] = value.ToQuantity();
  // "data" rather than "input": older nodes (geth 1.8-era forks such as GenaroCore) only know
  // "data"; newer ones accept both.
  j["data"] = Hex(data);
  return j;
}

Json LogFilter::ToJson() const {
  Json j = Json::object();
  if (block_hash) {
    j["blockHash"] = Hex(*block_hash);
  } else {
    if (from_block) j["fromBlock"] = from_block->ToParam();
    if (to_block) j["toBlock"] = to_block->ToParam();
  }
  if (addresses.size() == 1) {
    j["address"] = Hex(addresses[0]);
  } else if (!addresses.empty()) {
    Json a = Json::array();
    for (const EthAddress& addr : addresses) a.push_back(Hex(addr));
    j["address"] = a;
  }
  if (!topics.empty()) {
    Json t = Json::array();
    for (const auto& position : topics) {
      if (!position) {
        t.push_back(nullptr);
        continue;
      }
      Json alternatives = Json::array();
      for (const Hash256& h : *position) alternatives.push_back(Hex(h));
      t.push_back(alternatives);
    }
    j["topics"] = t;
  }
  return j;
}

absl::StatusOr<RpcTransaction> ParseRpcTransaction(const Json& tx) {
  if (!tx.is_object()) return absl::InvalidArgumentError("transaction is not a JSON object");
  RpcTransaction out;
  auto parse = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(out.hash, JsonFixedData<32>(tx, "hash"));
    GNR_ASSIGN_OR_RETURN(std::optional<uint64_t> type, JsonOptionalQuantityU64(tx, "type"));
    if (type.value_or(0) > 0x7f) return absl::InvalidArgumentError("field \"type\": out of range");
    out.type = static_cast<uint8_t>(type.value_or(0));
    GNR_ASSIGN_OR_RETURN(out.nonce, JsonQuantityU64(tx, "nonce"));
    GNR_ASSIGN_OR_RETURN(out.from, JsonFixedData<20>(tx, "from"));
    GNR_ASSIGN_OR_RETURN(out.to, JsonOptionalFixedData<20>(tx, "to"));
    GNR_ASSIGN_OR_RETURN(out.value, JsonQuantity(tx, "value"));
    GNR_ASSIGN_OR_RETURN(out.input, JsonData(tx, "input"));
    GNR_ASSIGN_OR_RETURN(out.gas, JsonQuantityU64(tx, "gas"));
    GNR_ASSIGN_OR_RETURN(out.gas_price, JsonOptionalQuantity(tx, "gasPrice"));
    GNR_ASSIGN_OR_RETURN(out.max_fee_per_gas, JsonOptionalQuantity(tx, "maxFeePerGas"));
    GNR_ASSIGN_OR_RETURN(out.max_priority_fee_per_gas,
                         JsonOptionalQuantity(tx, "maxPriorityFeePerGas"));
    GNR_ASSIGN_OR_RETURN(out.chain_id, JsonOptionalQuantityU64(tx, "chainId"));
    GNR_ASSIGN_OR_RETURN(out.access_list, ParseAccessList(tx));
    GNR_ASSIGN_OR_RETURN(out.v, JsonQuantity(tx, "v"));
    GNR_ASSIGN_OR_RETURN(out.r, JsonQuantity(tx, "r"));
    GNR_ASSIGN_OR_RETURN(out.s, JsonQuantity(tx, "s"));
    GNR_ASSIGN_OR_RETURN(out.block_hash, JsonOptionalFixedData<32>(tx, "blockHash"));
    GNR_ASSIGN_OR_RETURN(out.block_number, JsonOptionalQuantityU64(tx, "blockNumber"));
    GNR_ASSIGN_OR_RETURN(out.transaction_index, JsonOptionalQuantityU64(tx, "transactionIndex"));
    return absl::OkStatus();
  };
  absl::Status s = parse();
  if (!s.ok()) return Annotate(s, "transaction from RPC");
  return out;
}

absl::StatusOr<SignedTransaction> RpcTransaction::ToSignedTransaction() const {
  SignedTransaction out;
  out.r = r;
  out.s = s;
  if (type == 0) {
    LegacyTransaction tx;
    tx.nonce = nonce;
    if (!gas_price) return absl::InvalidArgumentError("legacy transaction without gasPrice");
    tx.gas_price = *gas_price;
    tx.gas_limit = gas;
    tx.to = to;
    tx.value = value;
    tx.data = input;
    if (v == U256(27) || v == U256(28)) {
      out.y_parity = v == U256(28) ? 1 : 0;
    } else if (v >= U256(35)) {
      std::optional<uint64_t> id = ((v - U256(35)) >> 1).ToUint64();
      if (!id) return absl::InvalidArgumentError("legacy v implies a chain id over 64 bits");
      tx.chain_id = *id;
      out.y_parity = static_cast<uint8_t>((v - U256(35)).limb(0) & 1);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad legacy v ", v.ToDecimal()));
    }
    out.tx = std::move(tx);
    return out;
  }
  if (type == kEip1559TxType) {
    Eip1559Transaction tx;
    if (!chain_id || !max_fee_per_gas || !max_priority_fee_per_gas) {
      return absl::InvalidArgumentError(
          "type-2 transaction without chainId, maxFeePerGas or maxPriorityFeePerGas");
    }
    tx.chain_id = *chain_id;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = *max_priority_fee_per_gas;
    tx.max_fee_per_gas = *max_fee_per_gas;
    tx.gas_limit = gas;
    tx.to = to;
    tx.value = value;
    tx.data = input;
    tx.access_list = access_list;
    if (v > U256(1)) return absl::InvalidArgumentError("type-2 transaction with v > 1");
    out.y_parity = static_cast<uint8_t>(v.limb(0));
    out.tx = std::move(tx);
    return out;
  }
  return absl::UnimplementedError(
      absl::StrCat("transaction type ", static_cast<int>(type), " cannot be re-encoded"));
}

absl::StatusOr<RpcBlock> ParseRpcBlock(const Json& block, bool full_transactions) {
  RpcBlock out;
  GNR_ASSIGN_OR_RETURN(out.header, ParseRpcBlockHeader(block));
  absl::StatusOr<const Json*> txs = JsonArray(block, "transactions");
  if (!txs.ok()) return Annotate(txs.status(), "block from RPC");
  for (size_t i = 0; i < (*txs)->size(); ++i) {
    const Json& t = (**txs)[i];
    if (full_transactions) {
      absl::StatusOr<RpcTransaction> tx = ParseRpcTransaction(t);
      if (!tx.ok()) return Annotate(tx.status(), absl::StrCat("block transactions[", i, "]"));
      out.transaction_hashes.push_back(tx->hash);
      out.transactions.push_back(*std::move(tx));
    } else {
      absl::StatusOr<Hash256> h = ParseFixedData<32>(t, "transactions[]");
      if (!h.ok()) return Annotate(h.status(), "block from RPC");
      out.transaction_hashes.push_back(*h);
    }
  }
  return out;
}

absl::StatusOr<RpcAccountProof> ParseRpcAccountProof(const Json& proof) {
  RpcAccountProof out;
  auto parse = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(out.address, JsonFixedData<20>(proof, "address"));
    GNR_ASSIGN_OR_RETURN(out.balance, JsonQuantity(proof, "balance"));
    GNR_ASSIGN_OR_RETURN(out.code_hash, JsonFixedData<32>(proof, "codeHash"));
    GNR_ASSIGN_OR_RETURN(out.nonce, JsonQuantityU64(proof, "nonce"));
    GNR_ASSIGN_OR_RETURN(out.storage_hash, JsonFixedData<32>(proof, "storageHash"));
    GNR_ASSIGN_OR_RETURN(out.account_proof, ParseBytesArray(proof, "accountProof"));
    GNR_ASSIGN_OR_RETURN(const Json* storage, JsonArray(proof, "storageProof"));
    for (const Json& sp : *storage) {
      RpcStorageProof p;
      // Nodes differ in how they echo the key (32 bytes, or as a quantity): normalize.
      GNR_ASSIGN_OR_RETURN(U256 key, JsonQuantity(sp, "key"));
      p.key = key.ToBigEndian32();
      GNR_ASSIGN_OR_RETURN(p.value, JsonQuantity(sp, "value"));
      GNR_ASSIGN_OR_RETURN(p.proof, ParseBytesArray(sp, "proof"));
      out.storage_proofs.push_back(std::move(p));
    }
    return absl::OkStatus();
  };
  absl::Status s = parse();
  if (!s.ok()) return Annotate(s, "account proof from RPC");
  return out;
}

// ---- EthRpc ---------------------------------------------------------------------------------

absl::StatusOr<Json> EthRpc::Raw(std::string_view method, const Json& params) {
  return client_.Call(method, params);
}

absl::Status EthRpc::Malformed(std::string_view method, const absl::Status& status) const {
  return absl::Status(status.code(), absl::StrCat(AbslView(method), " on ", client_.endpoint(),
                                                  ": malformed answer: ", status.message()));
}

absl::StatusOr<uint64_t> EthRpc::ChainId() {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_chainId", Json::array()));
  absl::StatusOr<uint64_t> v = ParseQuantityU64(r, "result");
  if (!v.ok()) return Malformed("eth_chainId", v.status());
  return v;
}

absl::StatusOr<uint64_t> EthRpc::BlockNumber() {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_blockNumber", Json::array()));
  absl::StatusOr<uint64_t> v = ParseQuantityU64(r, "result");
  if (!v.ok()) return Malformed("eth_blockNumber", v.status());
  return v;
}

absl::StatusOr<RpcBlock> EthRpc::GetBlockByNumber(const BlockRef& block, bool full_transactions) {
  GNR_ASSIGN_OR_RETURN(
      Json r, Raw("eth_getBlockByNumber", Json::array({block.ToParam(), full_transactions})));
  if (r.is_null()) {
    return absl::NotFoundError(absl::StrCat("eth_getBlockByNumber on ", client_.endpoint(),
                                            ": block ", block.ToParam().dump(), " not found"));
  }
  absl::StatusOr<RpcBlock> b = ParseRpcBlock(r, full_transactions);
  if (!b.ok()) return Malformed("eth_getBlockByNumber", b.status());
  return b;
}

absl::StatusOr<RpcBlock> EthRpc::GetBlockByHash(const Hash256& hash, bool full_transactions) {
  GNR_ASSIGN_OR_RETURN(Json r,
                       Raw("eth_getBlockByHash", Json::array({Hex(hash), full_transactions})));
  if (r.is_null()) {
    return absl::NotFoundError(absl::StrCat("eth_getBlockByHash on ", client_.endpoint(),
                                            ": block ", Hex(hash), " not found"));
  }
  absl::StatusOr<RpcBlock> b = ParseRpcBlock(r, full_transactions);
  if (!b.ok()) return Malformed("eth_getBlockByHash", b.status());
  return b;
}

absl::StatusOr<uint64_t> EthRpc::GetTransactionCount(const EthAddress& address,
                                                     const BlockRef& block) {
  GNR_ASSIGN_OR_RETURN(
      Json r, Raw("eth_getTransactionCount", Json::array({Hex(address), block.ToParam()})));
  absl::StatusOr<uint64_t> v = ParseQuantityU64(r, "result");
  if (!v.ok()) return Malformed("eth_getTransactionCount", v.status());
  return v;
}

absl::StatusOr<U256> EthRpc::GetBalance(const EthAddress& address, const BlockRef& block) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getBalance", Json::array({Hex(address), block.ToParam()})));
  absl::StatusOr<U256> v = ParseQuantity(r, "result");
  if (!v.ok()) return Malformed("eth_getBalance", v.status());
  return v;
}

absl::StatusOr<Bytes> EthRpc::GetCode(const EthAddress& address, const BlockRef& block) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getCode", Json::array({Hex(address), block.ToParam()})));
  absl::StatusOr<Bytes> v = ParseData(r, "result");
  if (!v.ok()) return Malformed("eth_getCode", v.status());
  return v;
}

absl::StatusOr<U256> EthRpc::GasPrice() {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_gasPrice", Json::array()));
  absl::StatusOr<U256> v = ParseQuantity(r, "result");
  if (!v.ok()) return Malformed("eth_gasPrice", v.status());
  return v;
}

absl::StatusOr<U256> EthRpc::MaxPriorityFeePerGas() {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_maxPriorityFeePerGas", Json::array()));
  absl::StatusOr<U256> v = ParseQuantity(r, "result");
  if (!v.ok()) return Malformed("eth_maxPriorityFeePerGas", v.status());
  return v;
}

absl::StatusOr<FeeHistory> EthRpc::GetFeeHistory(uint64_t block_count, const BlockRef& newest,
                                                 std::span<const double> reward_percentiles) {
  Json percentiles = Json::array();
  for (double p : reward_percentiles) percentiles.push_back(p);
  GNR_ASSIGN_OR_RETURN(
      Json r,
      Raw("eth_feeHistory", Json::array({Quantity(block_count), newest.ToParam(), percentiles})));
  FeeHistory out;
  auto parse = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(out.oldest_block, JsonQuantityU64(r, "oldestBlock"));
    GNR_ASSIGN_OR_RETURN(const Json* base, JsonArray(r, "baseFeePerGas"));
    for (const Json& b : *base) {
      GNR_ASSIGN_OR_RETURN(U256 fee, ParseQuantity(b, "baseFeePerGas[]"));
      out.base_fee_per_gas.push_back(fee);
    }
    GNR_ASSIGN_OR_RETURN(const Json* ratios, JsonArray(r, "gasUsedRatio"));
    for (const Json& g : *ratios) {
      if (!g.is_number()) return absl::InvalidArgumentError("field \"gasUsedRatio\": not numbers");
      out.gas_used_ratio.push_back(g.get<double>());
    }
    auto reward = r.find("reward");
    if (reward != r.end() && reward->is_array()) {
      for (const Json& block_rewards : *reward) {
        if (!block_rewards.is_array()) return absl::InvalidArgumentError("field \"reward\": bad");
        std::vector<U256> row;
        for (const Json& v : block_rewards) {
          GNR_ASSIGN_OR_RETURN(U256 x, ParseQuantity(v, "reward[][]"));
          row.push_back(x);
        }
        out.reward.push_back(std::move(row));
      }
    }
    return absl::OkStatus();
  };
  absl::Status s = parse();
  if (!s.ok()) return Malformed("eth_feeHistory", s);
  return out;
}

absl::StatusOr<uint64_t> EthRpc::EstimateGas(const CallRequest& request) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_estimateGas", Json::array({request.ToJson()})));
  absl::StatusOr<uint64_t> v = ParseQuantityU64(r, "result");
  if (!v.ok()) return Malformed("eth_estimateGas", v.status());
  return v;
}

absl::StatusOr<Bytes> EthRpc::Call(const CallRequest& request, const BlockRef& block) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_call", Json::array({request.ToJson(), block.ToParam()})));
  absl::StatusOr<Bytes> v = ParseData(r, "result");
  if (!v.ok()) return Malformed("eth_call", v.status());
  return v;
}

absl::StatusOr<Hash256> EthRpc::SendRawTransaction(ByteView raw) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_sendRawTransaction", Json::array({Hex(raw)})));
  absl::StatusOr<Hash256> v = ParseFixedData<32>(r, "result");
  if (!v.ok()) return Malformed("eth_sendRawTransaction", v.status());
  return v;
}

absl::StatusOr<std::optional<RpcReceipt>> EthRpc::GetTransactionReceipt(const Hash256& tx_hash) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getTransactionReceipt", Json::array({Hex(tx_hash)})));
  if (r.is_null()) return std::optional<RpcReceipt>();
  absl::StatusOr<RpcReceipt> receipt = ParseRpcReceipt(r);
  if (!receipt.ok()) return Malformed("eth_getTransactionReceipt", receipt.status());
  if (receipt->transaction_hash != tx_hash) {
    return absl::DataLossError(absl::StrCat("eth_getTransactionReceipt on ", client_.endpoint(),
                                            ": asked for ", Hex(tx_hash), ", got the receipt of ",
                                            Hex(receipt->transaction_hash)));
  }
  return std::optional<RpcReceipt>(*std::move(receipt));
}

absl::StatusOr<std::optional<RpcTransaction>> EthRpc::GetTransactionByHash(const Hash256& tx_hash) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getTransactionByHash", Json::array({Hex(tx_hash)})));
  if (r.is_null()) return std::optional<RpcTransaction>();
  absl::StatusOr<RpcTransaction> tx = ParseRpcTransaction(r);
  if (!tx.ok()) return Malformed("eth_getTransactionByHash", tx.status());
  if (tx->hash != tx_hash) {
    return absl::DataLossError(absl::StrCat("eth_getTransactionByHash on ", client_.endpoint(),
                                            ": asked for ", Hex(tx_hash), ", got ", Hex(tx->hash)));
  }
  return std::optional<RpcTransaction>(*std::move(tx));
}

namespace {

absl::StatusOr<std::vector<RpcReceipt>> ParseReceiptList(const Json& r) {
  if (!r.is_array()) return absl::InvalidArgumentError("expected an array of receipts");
  std::vector<RpcReceipt> out;
  out.reserve(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    absl::StatusOr<RpcReceipt> receipt = ParseRpcReceipt(r[i]);
    if (!receipt.ok()) return Annotate(receipt.status(), absl::StrCat("receipts[", i, "]"));
    out.push_back(*std::move(receipt));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<RpcReceipt>> EthRpc::GetBlockReceipts(const BlockRef& block) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getBlockReceipts", Json::array({block.ToParam()})));
  if (r.is_null()) {
    return absl::NotFoundError(absl::StrCat("eth_getBlockReceipts on ", client_.endpoint(),
                                            ": block ", block.ToParam().dump(), " not found"));
  }
  absl::StatusOr<std::vector<RpcReceipt>> v = ParseReceiptList(r);
  if (!v.ok()) return Malformed("eth_getBlockReceipts", v.status());
  return v;
}

absl::StatusOr<std::vector<RpcReceipt>> EthRpc::GetBlockReceiptsByHash(const Hash256& block_hash) {
  // EIP-1898 style block identifier by hash.
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getBlockReceipts", Json::array({Hex(block_hash)})));
  if (r.is_null()) {
    return absl::NotFoundError(absl::StrCat("eth_getBlockReceipts on ", client_.endpoint(),
                                            ": block ", Hex(block_hash), " not found"));
  }
  absl::StatusOr<std::vector<RpcReceipt>> v = ParseReceiptList(r);
  if (!v.ok()) return Malformed("eth_getBlockReceipts", v.status());
  return v;
}

absl::StatusOr<std::vector<RpcLog>> EthRpc::GetLogs(const LogFilter& filter) {
  GNR_ASSIGN_OR_RETURN(Json r, Raw("eth_getLogs", Json::array({filter.ToJson()})));
  if (!r.is_array()) {
    return Malformed("eth_getLogs", absl::InvalidArgumentError("expected an array of logs"));
  }
  std::vector<RpcLog> out;
  for (size_t i = 0; i < r.size(); ++i) {
    absl::StatusOr<RpcLog> log = ParseRpcLog(r[i]);
    if (!log.ok()) {
      return Malformed("eth_getLogs", Annotate(log.status(), absl::StrCat("logs[", i, "]")));
    }
    out.push_back(*std::move(log));
  }
  return out;
}

absl::StatusOr<RpcAccountProof> EthRpc::GetProof(const EthAddress& address,
                                                 std::span<const Hash256> storage_keys,
                                                 const BlockRef& block) {
  Json keys = Json::array();
  for (const Hash256& k : storage_keys) keys.push_back(Hex(k));
  GNR_ASSIGN_OR_RETURN(Json r,
                       Raw("eth_getProof", Json::array({Hex(address), keys, block.ToParam()})));
  absl::StatusOr<RpcAccountProof> p = ParseRpcAccountProof(r);
  if (!p.ok()) return Malformed("eth_getProof", p.status());
  if (p->address != address) {
    return absl::DataLossError(absl::StrCat("eth_getProof on ", client_.endpoint(), ": asked for ",
                                            Hex(address), ", got ", Hex(p->address)));
  }
  return p;
}

}  // namespace gnr::chain
