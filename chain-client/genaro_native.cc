#include "chain-client/genaro_native.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/hash.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {
namespace {

using OrderedJson = nlohmann::ordered_json;
constexpr uint64_t kSecondsPerDay = 86400;

std::string TypeHex(GenaroTxType type) { return U256(static_cast<uint64_t>(type)).ToQuantity(); }

std::string AddressText(const EthAddress& a) { return HexEncode0x(a); }

absl::Status Invalid(GenaroTxType type, std::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("Genaro special transaction type ", TypeHex(type), ": ", AbslView(message)));
}

Hash256 DigestOfText(std::string_view node_id_text, std::string_view address_text) {
  return crypto::Keccak256({AsBytes(node_id_text), AsBytes(address_text)});
}

// GenaroCore's checks, shared by encoding and decoding.
absl::Status Validate(const GenaroSpecialTxInput& in) {
  auto need = [&](bool present, std::string_view field) -> absl::Status {
    if (present) return absl::OkStatus();
    return Invalid(in.type, absl::StrCat("param [", AbslView(field), "] missing"));
  };
  switch (in.type) {
    case GenaroTxType::kStake:
      GNR_RETURN_IF_ERROR(need(in.address.has_value(), "address"));
      GNR_RETURN_IF_ERROR(need(in.stake.has_value(), "stake"));
      if (*in.stake == 0) return Invalid(in.type, "stake must be at least 1 GNX");
      return absl::OkStatus();
    case GenaroTxType::kHeftSync:
      GNR_RETURN_IF_ERROR(need(in.address.has_value(), "address"));
      GNR_RETURN_IF_ERROR(need(in.heft.has_value(), "heft"));
      if (*in.heft == 0) return Invalid(in.type, "heft must be larger than zero");
      return absl::OkStatus();
    case GenaroTxType::kBuyBucket:
      GNR_RETURN_IF_ERROR(need(in.address.has_value(), "address"));
      if (in.buckets.empty()) return Invalid(in.type, "param [buckets] missing or empty");
      for (size_t i = 0; i < in.buckets.size(); ++i) {
        const GenaroBucket& b = in.buckets[i];
        std::string where = absl::StrCat("bucket ", i, ": ");
        if (b.time_start == 0 || b.time_end == 0) {
          return Invalid(in.type, where + "timeStart and timeEnd must not be zero");
        }
        if (b.time_end <= b.time_start) {
          return Invalid(in.type, where + "timeEnd must be larger than timeStart");
        }
        if (b.backup == 0) return Invalid(in.type, where + "backup must not be zero");
        if (b.size_gb == 0) return Invalid(in.type, where + "size must not be zero");
      }
      return absl::OkStatus();
    case GenaroTxType::kBuyTraffic:
      GNR_RETURN_IF_ERROR(need(in.address.has_value(), "address"));
      GNR_RETURN_IF_ERROR(need(in.traffic.has_value(), "traffic"));
      if (*in.traffic == 0) return Invalid(in.type, "traffic must be larger than zero");
      return absl::OkStatus();
    case GenaroTxType::kBindNode:
      GNR_RETURN_IF_ERROR(need(in.address.has_value(), "address"));
      GNR_RETURN_IF_ERROR(need(in.node_id.has_value(), "nodeId"));
      return need(in.sign.has_value(), "sign");
    case GenaroTxType::kUnstake:
      return need(in.address.has_value(), "address");
    case GenaroTxType::kPriceRegulation:
      if (!in.bucket_price_per_gb_day && !in.traffic_price_per_gb && !in.stake_value_per_node) {
        return Invalid(in.type, "none price to update");
      }
      return absl::OkStatus();
    case GenaroTxType::kUnbindNode:
      return need(in.node_id.has_value(), "nodeId");
    case GenaroTxType::kBucketSupplement: {
      GNR_RETURN_IF_ERROR(need(in.address.has_value(), "address"));
      GNR_RETURN_IF_ERROR(need(in.bucket_id.has_value(), "bucketId"));
      GNR_RETURN_IF_ERROR(need(in.msg_time.has_value(), "msg"));
      if (in.size.value_or(0) == 0 && in.duration.value_or(0) < kSecondsPerDay) {
        return Invalid(in.type, "add size > 0 GB or duration >= 86400 seconds");
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported Genaro special transaction type ", static_cast<uint64_t>(in.type)));
}

// ---- Decoding helpers -------------------------------------------------------------------

class Reader {
 public:
  Reader(const nlohmann::json& j, GenaroTxType type) : j_(j), type_(type) {}

  const nlohmann::json* Find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  absl::Status Error(const char* key, std::string_view what) const {
    return Invalid(type_, absl::StrCat("param [", key, "] ", AbslView(what)));
  }

  absl::StatusOr<std::optional<uint64_t>> U64(const nlohmann::json& obj, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_unsigned()) {
      if (it->is_number_integer() && it->get<int64_t>() >= 0) return it->get<uint64_t>();
      return Error(key, "must be a non-negative integer");
    }
    return it->get<uint64_t>();
  }
  absl::StatusOr<std::optional<uint64_t>> U64(const char* key) const { return U64(j_, key); }

  absl::StatusOr<std::optional<std::string>> String(const char* key) const {
    const nlohmann::json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) return Error(key, "must be a string");
    return v->get<std::string>();
  }

  absl::StatusOr<std::optional<EthAddress>> Address() const {
    GNR_ASSIGN_OR_RETURN(std::optional<std::string> s, String("address"));
    if (!s) return std::nullopt;
    absl::StatusOr<EthAddress> a = crypto::ParseEthAddress(*s);
    if (!a.ok()) return Error("address", StdView(a.status().message()));
    return *a;
  }

  absl::StatusOr<std::optional<U256>> Quantity(const char* key) const {
    GNR_ASSIGN_OR_RETURN(std::optional<std::string> s, String(key));
    if (!s) return std::nullopt;
    absl::StatusOr<U256> q = U256::FromQuantity(*s, /*strict=*/true);
    if (!q.ok()) return Error(key, StdView(q.status().message()));
    return *q;
  }

  // 64 hex digits without 0x (GenaroCore checks the length of the text).
  absl::StatusOr<BucketId> BucketIdText(const std::string& text, const char* key) const {
    if (text.size() != 64 || text.starts_with("0x")) {
      return Error(key, absl::StrCat("must be 64 hex digits without 0x, got \"",
                                     AbslView(text.substr(0, 80)), "\""));
    }
    absl::StatusOr<BucketId> id = HexDecodeFixed<32>(text);
    if (!id.ok()) return Error(key, StdView(id.status().message()));
    return *id;
  }

 private:
  const nlohmann::json& j_;
  GenaroTxType type_;
};

absl::StatusOr<GenaroTxType> ParseType(const nlohmann::json& j) {
  auto it = j.find("type");
  if (it == j.end() || it->is_null()) {
    return absl::InvalidArgumentError("Genaro special transaction: param [type] missing");
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        "Genaro special transaction: param [type] must be a hex string such as \"0x1\"");
  }
  absl::StatusOr<U256> t = U256::FromQuantity(it->get<std::string>(), /*strict=*/true);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Genaro special transaction: param [type]: ", t.status().message()));
  }
  switch (t->ToUint64().value_or(0)) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 8:
    case 11:
    case 12:
    case 14:
    case 41:
      return static_cast<GenaroTxType>(*t->ToUint64());
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "Genaro special transaction type ", t->ToQuantity(), " is not supported by gnrfs"));
  }
}

}  // namespace

EthAddress GenaroSpecialAddress() {
  EthAddress a{};
  a[0] = 0x60;
  return a;
}

EthAddress GenaroLegacySpecialAddress() {
  return *HexDecodeFixed<20>("c1b2e1fc9d2099f5930a669c9ad65509433550d6");
}

GenaroSpecialTxInput GenaroStake(const EthAddress& staker, uint64_t stake_gnx) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kStake;
  in.address = staker;
  in.stake = stake_gnx;
  return in;
}

GenaroSpecialTxInput GenaroHeftSync(const EthAddress& node, uint64_t heft) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kHeftSync;
  in.address = node;
  in.heft = heft;
  return in;
}

GenaroSpecialTxInput GenaroBuyBucket(const EthAddress& owner, std::vector<GenaroBucket> buckets) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kBuyBucket;
  in.address = owner;
  in.buckets = std::move(buckets);
  return in;
}

GenaroSpecialTxInput GenaroBuyTraffic(const EthAddress& buyer, uint64_t gb) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kBuyTraffic;
  in.address = buyer;
  in.traffic = gb;
  return in;
}

GenaroSpecialTxInput GenaroBindNode(const EthAddress& staker, const crypto::PrivateKey& node_key) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kBindNode;
  in.address = staker;
  in.node_id = crypto::NodeIdOf(node_key.GetPublicKey());
  in.sign = GenaroNodeBindingSignature(node_key, staker);
  return in;
}

GenaroSpecialTxInput GenaroUnstake(const EthAddress& staker) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kUnstake;
  in.address = staker;
  return in;
}

GenaroSpecialTxInput GenaroUnbindNode(const NodeId& node_id) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kUnbindNode;
  in.node_id = node_id;
  return in;
}

GenaroSpecialTxInput GenaroBucketSupplement(const EthAddress& owner, const BucketId& bucket_id,
                                            uint64_t add_size_gb, uint64_t add_seconds,
                                            uint64_t now) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kBucketSupplement;
  in.address = owner;
  in.bucket_id = bucket_id;
  in.size = add_size_gb;
  in.duration = add_seconds;
  in.msg_time = now;
  return in;
}

GenaroSpecialTxInput GenaroSetPrices(std::optional<U256> bucket_price_per_gb_day,
                                     std::optional<U256> traffic_price_per_gb,
                                     std::optional<U256> stake_value_per_node) {
  GenaroSpecialTxInput in;
  in.type = GenaroTxType::kPriceRegulation;
  in.bucket_price_per_gb_day = bucket_price_per_gb_day;
  in.traffic_price_per_gb = traffic_price_per_gb;
  in.stake_value_per_node = stake_value_per_node;
  return in;
}

absl::StatusOr<uint64_t> WeiToWholeGnx(const U256& wei) {
  U256 gnx = wei / U256(kWeiPerGnx);
  if (!(wei % U256(kWeiPerGnx)).IsZero() || !gnx.ToUint64()) {
    return absl::InvalidArgumentError(
        absl::StrCat("GenaroCore stakes whole GNX: ", FormatUnits(wei), " is not a whole number"));
  }
  return *gnx.ToUint64();
}

Hash256 GenaroNodeBindingDigest(const NodeId& node_id, const EthAddress& staker) {
  return DigestOfText(HexEncode(node_id), AddressText(staker));
}

FixedBytes<65> GenaroNodeBindingSignature(const crypto::PrivateKey& node_key,
                                          const EthAddress& staker) {
  NodeId id = crypto::NodeIdOf(node_key.GetPublicKey());
  return node_key.Sign(GenaroNodeBindingDigest(id, staker)).ToBytes();
}

absl::StatusOr<std::string> EncodeGenaroPayload(const GenaroSpecialTxInput& in) {
  GNR_RETURN_IF_ERROR(Validate(in));
  OrderedJson j;
  j["type"] = TypeHex(in.type);
  switch (in.type) {
    case GenaroTxType::kStake:
      j["address"] = AddressText(*in.address);
      j["stake"] = *in.stake;
      break;
    case GenaroTxType::kHeftSync:
      j["address"] = AddressText(*in.address);
      j["heft"] = *in.heft;
      break;
    case GenaroTxType::kBuyBucket: {
      j["address"] = AddressText(*in.address);
      OrderedJson buckets = OrderedJson::array();
      for (const GenaroBucket& b : in.buckets) {
        OrderedJson o;
        o["bucketId"] = HexEncode(b.bucket_id);
        o["timeStart"] = b.time_start;
        o["timeEnd"] = b.time_end;
        o["backup"] = b.backup;
        o["size"] = b.size_gb;
        buckets.push_back(std::move(o));
      }
      j["buckets"] = std::move(buckets);
      break;
    }
    case GenaroTxType::kBuyTraffic:
      j["address"] = AddressText(*in.address);
      j["traffic"] = *in.traffic;
      break;
    case GenaroTxType::kBindNode:
      j["address"] = AddressText(*in.address);
      j["nodeId"] = HexEncode(*in.node_id);
      j["sign"] = HexEncode0x(*in.sign);
      break;
    case GenaroTxType::kUnstake:
      j["address"] = AddressText(*in.address);
      break;
    case GenaroTxType::kPriceRegulation:
      if (in.bucket_price_per_gb_day) {
        j["bucketPricePerGperDay"] = in.bucket_price_per_gb_day->ToQuantity();
      }
      if (in.traffic_price_per_gb) j["trafficPricePerG"] = in.traffic_price_per_gb->ToQuantity();
      if (in.stake_value_per_node) j["stakeValuePerNode"] = in.stake_value_per_node->ToQuantity();
      break;
    case GenaroTxType::kUnbindNode:
      j["nodeId"] = HexEncode(*in.node_id);
      break;
    case GenaroTxType::kBucketSupplement:
      j["address"] = AddressText(*in.address);
      j["bucketId"] = HexEncode(*in.bucket_id);
      j["size"] = in.size.value_or(0);
      j["duration"] = in.duration.value_or(0);
      j["msg"] = std::to_string(*in.msg_time);
      break;
  }
  return j.dump();
}

absl::StatusOr<GenaroSpecialTxInput> DecodeGenaroPayload(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        "Genaro special transaction: the payload is not a JSON object");
  }
  GenaroSpecialTxInput in;
  GNR_ASSIGN_OR_RETURN(in.type, ParseType(j));
  Reader r(j, in.type);
  bool uses_address =
      in.type != GenaroTxType::kPriceRegulation && in.type != GenaroTxType::kUnbindNode;
  if (uses_address) {
    GNR_ASSIGN_OR_RETURN(in.address, r.Address());
  }
  switch (in.type) {
    case GenaroTxType::kStake: {
      GNR_ASSIGN_OR_RETURN(in.stake, r.U64("stake"));
      break;
    }
    case GenaroTxType::kHeftSync: {
      GNR_ASSIGN_OR_RETURN(in.heft, r.U64("heft"));
      break;
    }
    case GenaroTxType::kBuyBucket: {
      const nlohmann::json* buckets = r.Find("buckets");
      if (buckets == nullptr) break;
      if (!buckets->is_array()) return r.Error("buckets", "must be an array");
      for (const nlohmann::json& b : *buckets) {
        if (!b.is_object()) return r.Error("buckets", "entries must be objects");
        GenaroBucket out;
        auto id = b.find("bucketId");
        if (id == b.end() || !id->is_string()) return r.Error("bucketId", "missing");
        GNR_ASSIGN_OR_RETURN(out.bucket_id, r.BucketIdText(id->get<std::string>(), "bucketId"));
        GNR_ASSIGN_OR_RETURN(std::optional<uint64_t> v, r.U64(b, "timeStart"));
        out.time_start = v.value_or(0);
        GNR_ASSIGN_OR_RETURN(v, r.U64(b, "timeEnd"));
        out.time_end = v.value_or(0);
        GNR_ASSIGN_OR_RETURN(v, r.U64(b, "backup"));
        out.backup = v.value_or(0);
        GNR_ASSIGN_OR_RETURN(v, r.U64(b, "size"));
        out.size_gb = v.value_or(0);
        in.buckets.push_back(out);
      }
      break;
    }
    case GenaroTxType::kBuyTraffic: {
      GNR_ASSIGN_OR_RETURN(in.traffic, r.U64("traffic"));
      break;
    }
    case GenaroTxType::kBindNode:
    case GenaroTxType::kUnbindNode: {
      GNR_ASSIGN_OR_RETURN(std::optional<std::string> id, r.String("nodeId"));
      if (id) {
        // GenaroCore compares the text with the lower-case hex of the derived node id.
        if (id->size() != 40 || absl::AsciiStrToLower(*id) != *id) {
          return r.Error("nodeId", "must be 40 lower-case hex digits without 0x");
        }
        absl::StatusOr<NodeId> parsed = HexDecodeFixed<20>(*id);
        if (!parsed.ok()) return r.Error("nodeId", StdView(parsed.status().message()));
        in.node_id = *parsed;
      }
      if (in.type == GenaroTxType::kUnbindNode) break;
      GNR_ASSIGN_OR_RETURN(std::optional<std::string> sign, r.String("sign"));
      if (sign) {
        if (!sign->starts_with("0x")) return r.Error("sign", "must start with 0x");
        absl::StatusOr<FixedBytes<65>> s = HexDecodeFixed<65>(*sign);
        if (!s.ok()) return r.Error("sign", StdView(s.status().message()));
        in.sign = *s;
      }
      GNR_RETURN_IF_ERROR(Validate(in));
      // GenaroCore's rule: the key recovered from the signature over the text
      // nodeId + address must have that node id.
      GNR_ASSIGN_OR_RETURN(std::optional<std::string> address_text, r.String("address"));
      absl::StatusOr<crypto::RecoverableSignature> sig =
          crypto::RecoverableSignature::FromBytes(*in.sign);
      absl::StatusOr<crypto::PublicKey> key =
          sig.ok() ? crypto::RecoverPublicKey(DigestOfText(*id, *address_text), *sig)
                   : absl::StatusOr<crypto::PublicKey>(sig.status());
      if (!key.ok() || crypto::NodeIdOf(*key) != *in.node_id) {
        return r.Error("sign", "is not the node key's signature of nodeId + address");
      }
      break;
    }
    case GenaroTxType::kUnstake:
      break;
    case GenaroTxType::kPriceRegulation: {
      GNR_ASSIGN_OR_RETURN(in.bucket_price_per_gb_day, r.Quantity("bucketPricePerGperDay"));
      GNR_ASSIGN_OR_RETURN(in.traffic_price_per_gb, r.Quantity("trafficPricePerG"));
      GNR_ASSIGN_OR_RETURN(in.stake_value_per_node, r.Quantity("stakeValuePerNode"));
      break;
    }
    case GenaroTxType::kBucketSupplement: {
      GNR_ASSIGN_OR_RETURN(std::optional<std::string> id, r.String("bucketId"));
      if (id) {
        GNR_ASSIGN_OR_RETURN(in.bucket_id, r.BucketIdText(*id, "bucketId"));
      }
      GNR_ASSIGN_OR_RETURN(in.size, r.U64("size"));
      GNR_ASSIGN_OR_RETURN(in.duration, r.U64("duration"));
      GNR_ASSIGN_OR_RETURN(std::optional<std::string> msg, r.String("msg"));
      if (msg) {
        absl::StatusOr<U256> t = U256::FromDecimal(*msg);
        if (!t.ok() || !t->ToUint64()) return r.Error("msg", "is not a unix timestamp");
        in.msg_time = *t->ToUint64();
      }
      // Absent numbers read as zero in GenaroCore.
      if (!in.size) in.size = 0;
      if (!in.duration) in.duration = 0;
      break;
    }
  }
  GNR_RETURN_IF_ERROR(Validate(in));
  return in;
}

TxRequest GenaroSpecialTx(std::string_view payload, const EthAddress& special_address) {
  TxRequest request;
  request.to = special_address;
  request.data = ToBytes(payload);
  return request;
}

}  // namespace gnr::chain
