#include "chain-client/transaction.h"

#include "absl/strings/str_cat.h"
#include "chain-client/rlp.h"
#include "common/hex.h"
#include "common/status.h"

namespace gnr::chain {
namespace {

// secp256k1n / 2 (EIP-2: signatures with s above it are invalid).
const U256& HalfCurveOrder() {
  static const U256 half =
      *U256::FromHex("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");
  return half;
}

void AddTo(RlpListBuilder& b, const std::optional<EthAddress>& to) {
  if (to) {
    b.AddBytes(*to);
  } else {
    b.AddBytes({});
  }
}

Bytes EncodeAccessList(const std::vector<AccessListEntry>& list) {
  RlpListBuilder outer;
  for (const AccessListEntry& e : list) {
    RlpListBuilder keys;
    for (const Hash256& k : e.storage_keys) keys.AddBytes(k);
    outer.AddRaw(RlpListBuilder().AddBytes(e.address).AddRaw(keys.Build()).Build());
  }
  return outer.Build();
}

// Fields shared by the signing payload and the signed encoding.
RlpListBuilder LegacyFields(const LegacyTransaction& tx) {
  RlpListBuilder b;
  b.AddUint(tx.nonce).AddU256(tx.gas_price).AddUint(tx.gas_limit);
  AddTo(b, tx.to);
  b.AddU256(tx.value).AddBytes(tx.data);
  return b;
}

RlpListBuilder Eip1559Fields(const Eip1559Transaction& tx) {
  RlpListBuilder b;
  b.AddUint(tx.chain_id)
      .AddUint(tx.nonce)
      .AddU256(tx.max_priority_fee_per_gas)
      .AddU256(tx.max_fee_per_gas)
      .AddUint(tx.gas_limit);
  AddTo(b, tx.to);
  b.AddU256(tx.value).AddBytes(tx.data).AddRaw(EncodeAccessList(tx.access_list));
  return b;
}

Bytes Typed(uint8_t type, const Bytes& rlp) {
  Bytes out;
  out.reserve(rlp.size() + 1);
  out.push_back(type);
  Append(out, rlp);
  return out;
}

absl::StatusOr<std::optional<EthAddress>> DecodeTo(const RlpItem& item) {
  GNR_ASSIGN_OR_RETURN(ByteView b, item.AsBytes());
  if (b.empty()) return std::optional<EthAddress>();
  if (b.size() != 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction `to` must be empty or 20 bytes, got ", b.size()));
  }
  EthAddress a;
  std::copy(b.begin(), b.end(), a.begin());
  return std::optional<EthAddress>(a);
}

absl::StatusOr<Bytes> DecodeData(const RlpItem& item) {
  GNR_ASSIGN_OR_RETURN(ByteView b, item.AsBytes());
  return Bytes(b.begin(), b.end());
}

absl::StatusOr<std::vector<AccessListEntry>> DecodeAccessList(const RlpItem& item) {
  std::vector<AccessListEntry> out;
  GNR_ASSIGN_OR_RETURN(auto entries, item.AsList());
  for (const RlpItem& e : entries) {
    GNR_ASSIGN_OR_RETURN(auto fields, e.AsList(2));
    AccessListEntry entry;
    GNR_ASSIGN_OR_RETURN(entry.address, fields[0].AsFixed<20>());
    GNR_ASSIGN_OR_RETURN(auto keys, fields[1].AsList());
    for (const RlpItem& k : keys) {
      GNR_ASSIGN_OR_RETURN(Hash256 key, k.AsFixed<32>());
      entry.storage_keys.push_back(key);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

absl::StatusOr<SignedTransaction> DecodeLegacy(ByteView raw) {
  GNR_ASSIGN_OR_RETURN(RlpItem item, RlpDecode(raw));
  GNR_ASSIGN_OR_RETURN(auto f, item.AsList(9));
  LegacyTransaction tx;
  GNR_ASSIGN_OR_RETURN(tx.nonce, f[0].AsUint64());
  GNR_ASSIGN_OR_RETURN(tx.gas_price, f[1].AsU256());
  GNR_ASSIGN_OR_RETURN(tx.gas_limit, f[2].AsUint64());
  GNR_ASSIGN_OR_RETURN(tx.to, DecodeTo(f[3]));
  GNR_ASSIGN_OR_RETURN(tx.value, f[4].AsU256());
  GNR_ASSIGN_OR_RETURN(tx.data, DecodeData(f[5]));
  GNR_ASSIGN_OR_RETURN(U256 v, f[6].AsU256());
  SignedTransaction out;
  GNR_ASSIGN_OR_RETURN(out.r, f[7].AsU256());
  GNR_ASSIGN_OR_RETURN(out.s, f[8].AsU256());
  if (v == U256(27) || v == U256(28)) {
    out.y_parity = v == U256(28) ? 1 : 0;
  } else if (v >= U256(35)) {
    U256 id = (v - U256(35)) >> 1;
    std::optional<uint64_t> chain_id = id.ToUint64();
    if (!chain_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("legacy transaction v ", v.ToDecimal(), " implies a chain id over 64 bits"));
    }
    tx.chain_id = *chain_id;
    out.y_parity = static_cast<uint8_t>((v - U256(35)).limb(0) & 1);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "legacy transaction v must be 27, 28 or chainId*2+35/36, got ", v.ToDecimal()));
  }
  out.tx = std::move(tx);
  return out;
}

absl::StatusOr<SignedTransaction> DecodeEip1559(ByteView payload) {
  GNR_ASSIGN_OR_RETURN(RlpItem item, RlpDecode(payload));
  GNR_ASSIGN_OR_RETURN(auto f, item.AsList(12));
  Eip1559Transaction tx;
  GNR_ASSIGN_OR_RETURN(tx.chain_id, f[0].AsUint64());
  GNR_ASSIGN_OR_RETURN(tx.nonce, f[1].AsUint64());
  GNR_ASSIGN_OR_RETURN(tx.max_priority_fee_per_gas, f[2].AsU256());
  GNR_ASSIGN_OR_RETURN(tx.max_fee_per_gas, f[3].AsU256());
  GNR_ASSIGN_OR_RETURN(tx.gas_limit, f[4].AsUint64());
  GNR_ASSIGN_OR_RETURN(tx.to, DecodeTo(f[5]));
  GNR_ASSIGN_OR_RETURN(tx.value, f[6].AsU256());
  GNR_ASSIGN_OR_RETURN(tx.data, DecodeData(f[7]));
  GNR_ASSIGN_OR_RETURN(tx.access_list, DecodeAccessList(f[8]));
  SignedTransaction out;
  GNR_ASSIGN_OR_RETURN(uint64_t y, f[9].AsUint64());
  if (y > 1) {
    return absl::InvalidArgumentError(absl::StrCat("signature y parity must be 0 or 1, got ", y));
  }
  out.y_parity = static_cast<uint8_t>(y);
  GNR_ASSIGN_OR_RETURN(out.r, f[10].AsU256());
  GNR_ASSIGN_OR_RETURN(out.s, f[11].AsU256());
  out.tx = std::move(tx);
  return out;
}

}  // namespace

uint64_t TxNonce(const UnsignedTransaction& tx) {
  return std::visit([](const auto& t) { return t.nonce; }, tx);
}

uint64_t TxGasLimit(const UnsignedTransaction& tx) {
  return std::visit([](const auto& t) { return t.gas_limit; }, tx);
}

std::optional<uint64_t> TxChainId(const UnsignedTransaction& tx) {
  if (const auto* legacy = std::get_if<LegacyTransaction>(&tx)) return legacy->chain_id;
  return std::get<Eip1559Transaction>(tx).chain_id;
}

std::optional<U256> TxMaxCost(const UnsignedTransaction& tx) {
  U256 price, value;
  if (const auto* legacy = std::get_if<LegacyTransaction>(&tx)) {
    price = legacy->gas_price;
    value = legacy->value;
  } else {
    const auto& t = std::get<Eip1559Transaction>(tx);
    price = t.max_fee_per_gas;
    value = t.value;
  }
  std::optional<U256> gas = CheckedMul(U256(TxGasLimit(tx)), price);
  if (!gas) return std::nullopt;
  return CheckedAdd(*gas, value);
}

Hash256 SigningHash(const UnsignedTransaction& tx) {
  if (const auto* legacy = std::get_if<LegacyTransaction>(&tx)) {
    RlpListBuilder b = LegacyFields(*legacy);
    if (legacy->chain_id) b.AddUint(*legacy->chain_id).AddUint(0).AddUint(0);
    return crypto::Keccak256(b.Build());
  }
  const auto& t = std::get<Eip1559Transaction>(tx);
  return crypto::Keccak256(Typed(kEip1559TxType, Eip1559Fields(t).Build()));
}

U256 SignedTransaction::V() const {
  if (const auto* legacy = std::get_if<LegacyTransaction>(&tx)) {
    if (!legacy->chain_id) return U256(27 + y_parity);
    return U256(*legacy->chain_id) * U256(2) + U256(35 + y_parity);
  }
  return U256(y_parity);
}

Bytes SignedTransaction::Encode() const {
  if (const auto* legacy = std::get_if<LegacyTransaction>(&tx)) {
    return LegacyFields(*legacy).AddU256(V()).AddU256(r).AddU256(s).Build();
  }
  const auto& t = std::get<Eip1559Transaction>(tx);
  return Typed(kEip1559TxType, Eip1559Fields(t).AddUint(y_parity).AddU256(r).AddU256(s).Build());
}

Hash256 SignedTransaction::Hash() const { return crypto::Keccak256(Encode()); }

SignedTransaction SignTransaction(const UnsignedTransaction& tx, const crypto::PrivateKey& key) {
  crypto::RecoverableSignature sig = key.Sign(SigningHash(tx));
  SignedTransaction out;
  out.tx = tx;
  out.y_parity = sig.recovery_id;
  out.r = U256::FromBigEndian32(sig.r);
  out.s = U256::FromBigEndian32(sig.s);
  return out;
}

absl::StatusOr<SignedTransaction> DecodeSignedTransaction(ByteView raw) {
  if (raw.empty()) return absl::InvalidArgumentError("empty raw transaction");
  absl::StatusOr<SignedTransaction> out;
  if (raw[0] >= 0xc0) {
    out = DecodeLegacy(raw);
  } else if (raw[0] == kEip1559TxType) {
    out = DecodeEip1559(raw.subspan(1));
  } else if (raw[0] <= 0x7f) {
    return absl::UnimplementedError(absl::StrCat("transaction type 0x", HexEncode(raw.first(1)),
                                                 " is not supported (only legacy and 0x02)"));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("raw transaction starts with 0x", HexEncode(raw.first(1)),
                     ": neither an RLP list (legacy) nor a transaction type byte"));
  }
  if (!out.ok()) return Annotate(out.status(), "decoding raw transaction");
  return out;
}

absl::StatusOr<EthAddress> RecoverSender(const SignedTransaction& signed_tx) {
  if (signed_tx.s > HalfCurveOrder()) {
    return absl::InvalidArgumentError(
        "transaction signature has s > secp256k1n/2 (forbidden by EIP-2)");
  }
  if (signed_tx.y_parity > 1) {
    return absl::InvalidArgumentError("transaction signature y parity must be 0 or 1");
  }
  crypto::RecoverableSignature sig;
  sig.r = signed_tx.r.ToBigEndian32();
  sig.s = signed_tx.s.ToBigEndian32();
  sig.recovery_id = signed_tx.y_parity;
  absl::StatusOr<crypto::PublicKey> key = crypto::RecoverPublicKey(SigningHash(signed_tx.tx), sig);
  if (!key.ok()) return Annotate(key.status(), "recovering transaction sender");
  return crypto::EthereumAddress(*key);
}

}  // namespace gnr::chain
