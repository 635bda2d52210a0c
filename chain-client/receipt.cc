#include "chain-client/receipt.h"

#include "absl/strings/str_cat.h"
#include "chain-client/json_fields.h"
#include "chain-client/rlp.h"
#include "chain-client/trie.h"
#include "common/hex.h"
#include "common/status.h"

namespace gnr::chain {
namespace {

void AddToBloom(Bloom& bloom, ByteView item) {
  Hash256 h = crypto::Keccak256(item);
  for (int i = 0; i < 6; i += 2) {
    const unsigned bit = ((unsigned{h[i]} << 8) | h[i + 1]) & 2047u;
    bloom[255 - bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  }
}

absl::StatusOr<LogEntry> DecodeLog(const RlpItem& item) {
  GNR_ASSIGN_OR_RETURN(auto f, item.AsList(3));
  LogEntry log;
  GNR_ASSIGN_OR_RETURN(log.address, f[0].AsFixed<20>());
  GNR_ASSIGN_OR_RETURN(auto topics, f[1].AsList());
  for (const RlpItem& t : topics) {
    GNR_ASSIGN_OR_RETURN(Hash256 topic, t.AsFixed<32>());
    log.topics.push_back(topic);
  }
  GNR_ASSIGN_OR_RETURN(ByteView data, f[2].AsBytes());
  log.data.assign(data.begin(), data.end());
  return log;
}

}  // namespace

Bytes Receipt::Encode() const {
  RlpListBuilder b;
  if (status.has_value()) {
    b.AddUint(*status ? 1 : 0);
  } else if (post_state.has_value()) {
    b.AddBytes(*post_state);
  } else {
    b.AddUint(0);
  }
  b.AddUint(cumulative_gas_used).AddBytes(logs_bloom);
  RlpListBuilder logs_list;
  for (const LogEntry& log : logs) {
    RlpListBuilder topics;
    for (const Hash256& t : log.topics) topics.AddBytes(t);
    logs_list.AddRaw(
        RlpListBuilder().AddBytes(log.address).AddRaw(topics.Build()).AddBytes(log.data).Build());
  }
  b.AddRaw(logs_list.Build());
  Bytes rlp = b.Build();
  if (type == 0) return rlp;
  Bytes out;
  out.reserve(rlp.size() + 1);
  out.push_back(type);
  Append(out, rlp);
  return out;
}

absl::StatusOr<Receipt> DecodeReceipt(ByteView encoded) {
  if (encoded.empty()) return absl::InvalidArgumentError("empty receipt");
  Receipt r;
  if (encoded[0] < 0x80) {
    if (encoded[0] == 0) {
      return absl::InvalidArgumentError("receipt type byte 0x00: legacy receipts have none");
    }
    r.type = encoded[0];
    encoded = encoded.subspan(1);
  }
  GNR_ASSIGN_OR_RETURN(RlpItem item, RlpDecode(encoded));
  GNR_ASSIGN_OR_RETURN(auto f, item.AsList(4));
  GNR_ASSIGN_OR_RETURN(ByteView first, f[0].AsBytes());
  if (first.size() == 32) {
    Hash256 root;
    std::copy(first.begin(), first.end(), root.begin());
    r.post_state = root;
  } else {
    GNR_ASSIGN_OR_RETURN(uint64_t status, f[0].AsUint64());
    if (status > 1) return absl::InvalidArgumentError("receipt status must be 0 or 1");
    r.status = status == 1;
  }
  GNR_ASSIGN_OR_RETURN(r.cumulative_gas_used, f[1].AsUint64());
  GNR_ASSIGN_OR_RETURN(r.logs_bloom, f[2].AsFixed<256>());
  GNR_ASSIGN_OR_RETURN(auto logs, f[3].AsList());
  for (const RlpItem& l : logs) {
    GNR_ASSIGN_OR_RETURN(LogEntry log, DecodeLog(l));
    r.logs.push_back(std::move(log));
  }
  return r;
}

Bloom ComputeLogsBloom(std::span<const LogEntry> logs) {
  Bloom bloom{};
  for (const LogEntry& log : logs) {
    AddToBloom(bloom, log.address);
    for (const Hash256& t : log.topics) AddToBloom(bloom, t);
  }
  return bloom;
}

bool BloomMayContain(const Bloom& bloom, ByteView item) {
  Bloom single{};
  AddToBloom(single, item);
  for (size_t i = 0; i < single.size(); ++i) {
    if ((bloom[i] & single[i]) != single[i]) return false;
  }
  return true;
}

Hash256 ComputeReceiptsRoot(std::span<const Receipt> receipts) {
  std::vector<Bytes> encoded;
  encoded.reserve(receipts.size());
  for (const Receipt& r : receipts) encoded.push_back(r.Encode());
  return ComputeOrderedTrieRoot(encoded);
}

absl::StatusOr<RpcLog> ParseRpcLog(const nlohmann::json& log) {
  RpcLog out;
  GNR_ASSIGN_OR_RETURN(out.entry.address, JsonFixedData<20>(log, "address"));
  GNR_ASSIGN_OR_RETURN(const Json* topics, JsonArray(log, "topics"));
  if (topics->size() > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"topics\": a log has at most 4 topics, got ", topics->size()));
  }
  for (const Json& t : *topics) {
    GNR_ASSIGN_OR_RETURN(Hash256 topic, ParseFixedData<32>(t, "topics[]"));
    out.entry.topics.push_back(topic);
  }
  GNR_ASSIGN_OR_RETURN(out.entry.data, JsonData(log, "data"));
  GNR_ASSIGN_OR_RETURN(out.block_number, JsonOptionalQuantityU64(log, "blockNumber"));
  GNR_ASSIGN_OR_RETURN(out.block_hash, JsonOptionalFixedData<32>(log, "blockHash"));
  GNR_ASSIGN_OR_RETURN(out.transaction_hash, JsonOptionalFixedData<32>(log, "transactionHash"));
  GNR_ASSIGN_OR_RETURN(out.transaction_index, JsonOptionalQuantityU64(log, "transactionIndex"));
  GNR_ASSIGN_OR_RETURN(out.log_index, JsonOptionalQuantityU64(log, "logIndex"));
  auto removed = log.find("removed");
  if (removed != log.end() && !removed->is_null()) {
    if (!removed->is_boolean()) {
      return absl::InvalidArgumentError("field \"removed\": expected a boolean");
    }
    out.removed = removed->get<bool>();
  }
  return out;
}

absl::StatusOr<RpcReceipt> ParseRpcReceipt(const nlohmann::json& json) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(json.is_null() ? "receipt not found (null)"
                                                     : "receipt is not a JSON object");
  }
  RpcReceipt out;
  Receipt& r = out.receipt;
  auto parse = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(std::optional<uint64_t> type, JsonOptionalQuantityU64(json, "type"));
    if (type.value_or(0) > 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("field \"type\": ", *type, " is not a tx type"));
    }
    r.type = static_cast<uint8_t>(type.value_or(0));
    GNR_ASSIGN_OR_RETURN(std::optional<uint64_t> status, JsonOptionalQuantityU64(json, "status"));
    if (status) {
      if (*status > 1) return absl::InvalidArgumentError("field \"status\": must be 0x0 or 0x1");
      r.status = *status == 1;
    } else {
      GNR_ASSIGN_OR_RETURN(r.post_state, JsonOptionalFixedData<32>(json, "root"));
      if (!r.post_state) {
        return absl::InvalidArgumentError("receipt has neither \"status\" nor \"root\"");
      }
    }
    GNR_ASSIGN_OR_RETURN(r.cumulative_gas_used, JsonQuantityU64(json, "cumulativeGasUsed"));
    GNR_ASSIGN_OR_RETURN(r.logs_bloom, JsonFixedData<256>(json, "logsBloom"));
    GNR_ASSIGN_OR_RETURN(const Json* logs, JsonArray(json, "logs"));
    for (size_t i = 0; i < logs->size(); ++i) {
      absl::StatusOr<RpcLog> log = ParseRpcLog((*logs)[i]);
      if (!log.ok()) return Annotate(log.status(), absl::StrCat("logs[", i, "]"));
      r.logs.push_back(log->entry);
      out.logs.push_back(*std::move(log));
    }
    GNR_ASSIGN_OR_RETURN(out.transaction_hash, JsonFixedData<32>(json, "transactionHash"));
    GNR_ASSIGN_OR_RETURN(out.transaction_index, JsonQuantityU64(json, "transactionIndex"));
    GNR_ASSIGN_OR_RETURN(out.block_hash, JsonFixedData<32>(json, "blockHash"));
    GNR_ASSIGN_OR_RETURN(out.block_number, JsonQuantityU64(json, "blockNumber"));
    GNR_ASSIGN_OR_RETURN(out.from, JsonFixedData<20>(json, "from"));
    GNR_ASSIGN_OR_RETURN(out.to, JsonOptionalFixedData<20>(json, "to"));
    GNR_ASSIGN_OR_RETURN(out.contract_address, JsonOptionalFixedData<20>(json, "contractAddress"));
    GNR_ASSIGN_OR_RETURN(out.gas_used, JsonQuantityU64(json, "gasUsed"));
    GNR_ASSIGN_OR_RETURN(out.effective_gas_price, JsonOptionalQuantity(json, "effectiveGasPrice"));
    return absl::OkStatus();
  };
  absl::Status s = parse();
  if (!s.ok()) return Annotate(s, "transaction receipt from RPC");
  return out;
}

absl::Status VerifyReceiptsRoot(const BlockHeader& header, const Hash256& block_hash,
                                std::span<const RpcReceipt> receipts) {
  std::vector<Receipt> consensus;
  consensus.reserve(receipts.size());
  for (size_t i = 0; i < receipts.size(); ++i) {
    const RpcReceipt& r = receipts[i];
    if (r.block_hash != block_hash || r.block_number != header.number || r.transaction_index != i) {
      return absl::DataLossError(
          absl::StrCat("block ", header.number, ": receipt ", i, " claims block ", r.block_number,
                       " (", HexEncode0x(r.block_hash), ") index ", r.transaction_index));
    }
    consensus.push_back(r.receipt);
  }
  Hash256 root = ComputeReceiptsRoot(consensus);
  if (root != header.receipts_root) {
    return absl::DataLossError(absl::StrCat(
        "block ", header.number, ": receipts root mismatch: the header commits to ",
        HexEncode0x(header.receipts_root), " but the ", receipts.size(),
        " receipts the RPC returned give ", HexEncode0x(root), " (the RPC altered a receipt)"));
  }
  return absl::OkStatus();
}

}  // namespace gnr::chain
