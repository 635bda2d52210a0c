#include "chain-client/block_header.h"

#include "absl/strings/str_cat.h"
#include "chain-client/json_fields.h"
#include "chain-client/rlp.h"
#include "common/hex.h"
#include "common/status.h"

namespace gnr::chain {
namespace {

constexpr size_t kBaseFields = 15;
constexpr size_t kMaxFields = 21;

// Presence of the optional fields in fork order.
std::array<bool, 6> OptionalPresence(const BlockHeader& h) {
  return {h.base_fee_per_gas.has_value(),
          h.withdrawals_root.has_value(),
          h.blob_gas_used.has_value(),
          h.excess_blob_gas.has_value(),
          h.parent_beacon_block_root.has_value(),
          h.requests_hash.has_value()};
}

constexpr std::array<const char*, 6> kOptionalNames = {"baseFeePerGas",         "withdrawalsRoot",
                                                       "blobGasUsed",           "excessBlobGas",
                                                       "parentBeaconBlockRoot", "requestsHash"};

}  // namespace

size_t BlockHeader::FieldCount() const {
  size_t n = kBaseFields;
  for (bool present : OptionalPresence(*this)) n += present ? 1 : 0;
  return n;
}

absl::Status BlockHeader::Validate() const {
  std::array<bool, 6> present = OptionalPresence(*this);
  for (size_t i = 1; i < present.size(); ++i) {
    if (present[i] && !present[i - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("block header has ", kOptionalNames[i], " but not ", kOptionalNames[i - 1]));
    }
  }
  return absl::OkStatus();
}

Bytes BlockHeader::Encode() const {
  RlpListBuilder b;
  b.AddBytes(parent_hash)
      .AddBytes(ommers_hash)
      .AddBytes(beneficiary)
      .AddBytes(state_root)
      .AddBytes(transactions_root)
      .AddBytes(receipts_root)
      .AddBytes(logs_bloom)
      .AddU256(difficulty)
      .AddUint(number)
      .AddUint(gas_limit)
      .AddUint(gas_used)
      .AddUint(timestamp)
      .AddBytes(extra_data)
      .AddBytes(mix_hash)
      .AddBytes(nonce);  // 8 bytes, fixed: never stripped
  // Present optional fields, in fork order. A gap (a later field without an earlier one)
  // is not a valid header shape, but anvil produces such headers (berlin with blob fields)
  // and hashes exactly the present fields, so that is what we encode too.
  if (base_fee_per_gas) b.AddU256(*base_fee_per_gas);
  if (withdrawals_root) b.AddBytes(*withdrawals_root);
  if (blob_gas_used) b.AddUint(*blob_gas_used);
  if (excess_blob_gas) b.AddUint(*excess_blob_gas);
  if (parent_beacon_block_root) b.AddBytes(*parent_beacon_block_root);
  if (requests_hash) b.AddBytes(*requests_hash);
  return b.Build();
}

Hash256 BlockHeader::Hash() const { return crypto::Keccak256(Encode()); }

absl::StatusOr<BlockHeader> DecodeBlockHeader(ByteView rlp) {
  GNR_ASSIGN_OR_RETURN(RlpItem item, RlpDecode(rlp));
  GNR_ASSIGN_OR_RETURN(auto f, item.AsList());
  if (f.size() < kBaseFields || f.size() > kMaxFields) {
    return absl::InvalidArgumentError(
        absl::StrCat("block header must have 15 to 21 fields, got ", f.size()));
  }
  BlockHeader h;
  GNR_ASSIGN_OR_RETURN(h.parent_hash, f[0].AsFixed<32>());
  GNR_ASSIGN_OR_RETURN(h.ommers_hash, f[1].AsFixed<32>());
  GNR_ASSIGN_OR_RETURN(h.beneficiary, f[2].AsFixed<20>());
  GNR_ASSIGN_OR_RETURN(h.state_root, f[3].AsFixed<32>());
  GNR_ASSIGN_OR_RETURN(h.transactions_root, f[4].AsFixed<32>());
  GNR_ASSIGN_OR_RETURN(h.receipts_root, f[5].AsFixed<32>());
  GNR_ASSIGN_OR_RETURN(h.logs_bloom, f[6].AsFixed<256>());
  GNR_ASSIGN_OR_RETURN(h.difficulty, f[7].AsU256());
  GNR_ASSIGN_OR_RETURN(h.number, f[8].AsUint64());
  GNR_ASSIGN_OR_RETURN(h.gas_limit, f[9].AsUint64());
  GNR_ASSIGN_OR_RETURN(h.gas_used, f[10].AsUint64());
  GNR_ASSIGN_OR_RETURN(h.timestamp, f[11].AsUint64());
  GNR_ASSIGN_OR_RETURN(ByteView extra, f[12].AsBytes());
  h.extra_data.assign(extra.begin(), extra.end());
  GNR_ASSIGN_OR_RETURN(h.mix_hash, f[13].AsFixed<32>());
  GNR_ASSIGN_OR_RETURN(h.nonce, f[14].AsFixed<8>());
  if (f.size() > 15) {
    GNR_ASSIGN_OR_RETURN(h.base_fee_per_gas, f[15].AsU256());
  }
  if (f.size() > 16) {
    GNR_ASSIGN_OR_RETURN(h.withdrawals_root, f[16].AsFixed<32>());
  }
  if (f.size() > 17) {
    GNR_ASSIGN_OR_RETURN(h.blob_gas_used, f[17].AsUint64());
  }
  if (f.size() > 18) {
    GNR_ASSIGN_OR_RETURN(h.excess_blob_gas, f[18].AsUint64());
  }
  if (f.size() > 19) {
    GNR_ASSIGN_OR_RETURN(h.parent_beacon_block_root, f[19].AsFixed<32>());
  }
  if (f.size() > 20) {
    GNR_ASSIGN_OR_RETURN(h.requests_hash, f[20].AsFixed<32>());
  }
  return h;
}

absl::StatusOr<RpcBlockHeader> ParseRpcBlockHeader(const nlohmann::json& block) {
  if (!block.is_object()) {
    return absl::InvalidArgumentError(block.is_null() ? "block not found (null)"
                                                      : "block is not a JSON object");
  }
  RpcBlockHeader out;
  BlockHeader& h = out.header;
  auto parse = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(out.claimed_hash, JsonFixedData<32>(block, "hash"));
    GNR_ASSIGN_OR_RETURN(h.parent_hash, JsonFixedData<32>(block, "parentHash"));
    GNR_ASSIGN_OR_RETURN(h.ommers_hash, JsonFixedData<32>(block, "sha3Uncles"));
    GNR_ASSIGN_OR_RETURN(h.beneficiary, JsonFixedData<20>(block, "miner"));
    GNR_ASSIGN_OR_RETURN(h.state_root, JsonFixedData<32>(block, "stateRoot"));
    GNR_ASSIGN_OR_RETURN(h.transactions_root, JsonFixedData<32>(block, "transactionsRoot"));
    GNR_ASSIGN_OR_RETURN(h.receipts_root, JsonFixedData<32>(block, "receiptsRoot"));
    GNR_ASSIGN_OR_RETURN(h.logs_bloom, JsonFixedData<256>(block, "logsBloom"));
    GNR_ASSIGN_OR_RETURN(h.difficulty, JsonQuantity(block, "difficulty"));
    GNR_ASSIGN_OR_RETURN(h.number, JsonQuantityU64(block, "number"));
    GNR_ASSIGN_OR_RETURN(h.gas_limit, JsonQuantityU64(block, "gasLimit"));
    GNR_ASSIGN_OR_RETURN(h.gas_used, JsonQuantityU64(block, "gasUsed"));
    GNR_ASSIGN_OR_RETURN(h.timestamp, JsonQuantityU64(block, "timestamp"));
    GNR_ASSIGN_OR_RETURN(h.extra_data, JsonData(block, "extraData"));
    GNR_ASSIGN_OR_RETURN(h.mix_hash, JsonFixedData<32>(block, "mixHash"));
    GNR_ASSIGN_OR_RETURN(h.nonce, JsonFixedData<8>(block, "nonce"));
    GNR_ASSIGN_OR_RETURN(h.base_fee_per_gas, JsonOptionalQuantity(block, "baseFeePerGas"));
    GNR_ASSIGN_OR_RETURN(h.withdrawals_root, JsonOptionalFixedData<32>(block, "withdrawalsRoot"));
    GNR_ASSIGN_OR_RETURN(h.blob_gas_used, JsonOptionalQuantityU64(block, "blobGasUsed"));
    GNR_ASSIGN_OR_RETURN(h.excess_blob_gas, JsonOptionalQuantityU64(block, "excessBlobGas"));
    GNR_ASSIGN_OR_RETURN(h.parent_beacon_block_root,
                         JsonOptionalFixedData<32>(block, "parentBeaconBlockRoot"));
    GNR_ASSIGN_OR_RETURN(h.requests_hash, JsonOptionalFixedData<32>(block, "requestsHash"));
    return absl::OkStatus();
  };
  absl::Status s = parse();
  if (!s.ok()) return Annotate(s, "block header from RPC");
  return out;
}

absl::Status VerifyHeaderHash(const BlockHeader& header, const Hash256& claimed) {
  Hash256 actual = header.Hash();
  if (actual == claimed) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "block ", header.number, ": header hash mismatch: the RPC claims ", HexEncode0x(claimed),
      " but keccak256(RLP(header)) of the fields it returned is ", HexEncode0x(actual),
      " (the RPC is lying, or the header has fields this client does not know)"));
}

absl::StatusOr<BlockHeader> VerifiedHeaderFromRpc(const nlohmann::json& block) {
  GNR_ASSIGN_OR_RETURN(RpcBlockHeader parsed, ParseRpcBlockHeader(block));
  GNR_RETURN_IF_ERROR(VerifyHeaderHash(parsed.header, parsed.claimed_hash));
  return parsed.header;
}

absl::Status VerifyParentLink(const BlockHeader& parent, const BlockHeader& child) {
  if (child.number != parent.number + 1) {
    return absl::DataLossError(
        absl::StrCat("block ", child.number, " does not follow block ", parent.number));
  }
  Hash256 parent_hash = parent.Hash();
  if (child.parent_hash != parent_hash) {
    return absl::DataLossError(absl::StrCat(
        "block ", child.number, ": parentHash ", HexEncode0x(child.parent_hash),
        " is not the hash of block ", parent.number, " (", HexEncode0x(parent_hash), ")"));
  }
  return absl::OkStatus();
}

absl::Status VerifyChainLinks(std::span<const BlockHeader> headers) {
  for (size_t i = 1; i < headers.size(); ++i) {
    GNR_RETURN_IF_ERROR(VerifyParentLink(headers[i - 1], headers[i]));
  }
  return absl::OkStatus();
}

}  // namespace gnr::chain
