#include "chain-client/storage_market.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chain-client/generated/storage_market_artifact.h"
#include "chain-client/json_rpc.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/hash.h"

namespace gnr::chain {
namespace {

// The generated ABI, parsed once.
absl::StatusOr<AbiContract> MarketAbi() {
  static const absl::StatusOr<AbiContract>* abi =
      new absl::StatusOr<AbiContract>(AbiContract::FromJson(kStorageMarketAbiJson));
  if (!abi->ok()) return Annotate(abi->status(), "the generated StorageMarket ABI");
  return **abi;
}

// Reads typed fields out of decoded values (a view's outputs by position, or an event's
// params by name), keeping the first error so that callers check once.
class Fields {
 public:
  Fields(std::string what, std::span<const AbiValue> values, const AbiEvent* event = nullptr)
      : what_(std::move(what)), values_(values), event_(event) {}

  U256 Uint(size_t i) {
    return Get<U256>(i, [](const AbiValue& v) { return v.AsUint(); });
  }
  U256 Uint(std::string_view name) { return Uint(Index(name)); }
  uint64_t U64(size_t i) {
    return Get<uint64_t>(i, [](const AbiValue& v) { return v.AsUint64(); });
  }
  uint64_t U64(std::string_view name) { return U64(Index(name)); }
  EthAddress Address(size_t i) {
    return Get<EthAddress>(i, [](const AbiValue& v) { return v.AsAddress(); });
  }
  EthAddress Address(std::string_view name) { return Address(Index(name)); }
  template <size_t N>
  FixedBytes<N> Fixed(size_t i) {
    return Get<FixedBytes<N>>(i, [](const AbiValue& v) { return v.AsFixedBytes<N>(); });
  }
  template <size_t N>
  FixedBytes<N> Fixed(std::string_view name) {
    return Fixed<N>(Index(name));
  }
  template <size_t N>
  std::vector<FixedBytes<N>> FixedArray(size_t i) {
    std::vector<FixedBytes<N>> out;
    if (!Check(i)) return out;
    absl::StatusOr<std::span<const AbiValue>> items = values_[i].AsArray();
    if (!items.ok()) {
      Fail(i, items.status());
      return out;
    }
    for (const AbiValue& item : *items) {
      absl::StatusOr<FixedBytes<N>> b = item.AsFixedBytes<N>();
      if (!b.ok()) {
        Fail(i, b.status());
        return {};
      }
      out.push_back(*b);
    }
    return out;
  }

  const absl::Status& status() const { return status_; }

 private:
  size_t Index(std::string_view name) {
    std::optional<size_t> i = event_ != nullptr ? event_->ParamIndex(name) : std::nullopt;
    if (!i) {
      if (status_.ok()) {
        status_ = absl::DataLossError(
            absl::StrCat(what_, " has no field \"", AbslView(name), "\": the ABI changed?"));
      }
      return values_.size();
    }
    return *i;
  }
  bool Check(size_t i) {
    if (i < values_.size()) return true;
    if (status_.ok()) {
      status_ = absl::DataLossError(
          absl::StrCat(what_, ": expected at least ", i + 1, " values, got ", values_.size()));
    }
    return false;
  }
  void Fail(size_t i, const absl::Status& s) {
    if (status_.ok()) {
      status_ = absl::DataLossError(absl::StrCat(what_, " value ", i, ": ", s.message()));
    }
  }
  template <typename T, typename F>
  T Get(size_t i, F read) {
    if (!Check(i)) return T{};
    auto v = read(values_[i]);
    if (!v.ok()) {
      Fail(i, v.status());
      return T{};
    }
    return *v;
  }

  std::string what_;
  std::span<const AbiValue> values_;
  const AbiEvent* event_;
  absl::Status status_;
};

// The first event called `name` among `events`, converted by `convert(Fields&)`.
template <typename Event, typename Convert>
absl::StatusOr<MarketTx<Event>> Expect(std::pair<RpcReceipt, std::vector<DecodedEvent>> sent,
                                       std::string_view name, Convert convert) {
  for (const DecodedEvent& e : sent.second) {
    if (e.name() != name) continue;
    Fields f(absl::StrCat("event ", e.name()), e.values, e.event);
    Event event = convert(f);
    GNR_RETURN_IF_ERROR(f.status());
    return MarketTx<Event>{std::move(sent.first), std::move(event)};
  }
  return absl::DataLossError(absl::StrCat("transaction ", HexEncode0x(sent.first.transaction_hash),
                                          " landed in block ", sent.first.block_number,
                                          " without its ", AbslView(name), " event"));
}

StakedEvent ToStaked(Fields& f) {
  return {f.Address("staker"), f.Uint("amount"), f.Uint("newStake")};
}
HeftSyncedEvent ToHeftSynced(Fields& f) {
  return {f.Address("node"), f.Uint("heft"), f.Uint("previousHeft")};
}
BucketBoughtEvent ToBucketBought(Fields& f) {
  return {f.Fixed<32>("bucketId"), f.Address("owner"), f.U64("sizeGB"),
          f.U64("start"),          f.U64("end"),       static_cast<uint8_t>(f.U64("backup")),
          f.Uint("cost")};
}
TrafficBoughtEvent ToTrafficBought(Fields& f) {
  return {f.Address("buyer"), f.U64("gb"), f.U64("newTrafficGB"), f.Uint("cost")};
}
NodeBoundEvent ToNodeBound(Fields& f) { return {f.Address("staker"), f.Fixed<20>("nodeId")}; }
NodeUnboundEvent ToNodeUnbound(Fields& f) { return {f.Address("staker"), f.Fixed<20>("nodeId")}; }
UnstakeRequestedEvent ToUnstakeRequested(Fields& f) {
  return {f.Address("staker"), f.Uint("amount"), f.Uint("pendingAmount"), f.U64("releaseAt")};
}
UnstakeWithdrawnEvent ToUnstakeWithdrawn(Fields& f) {
  return {f.Address("staker"), f.Uint("amount")};
}
BucketSupplementedEvent ToBucketSupplemented(Fields& f) {
  return {f.Fixed<32>("bucketId"), f.Address("owner"), f.U64("addSizeGB"), f.U64("addDays"),
          f.U64("newSizeGB"),      f.U64("newEnd"),    f.Uint("cost")};
}
MarketPrices ToPricesSet(Fields& f) {
  return {f.Uint("pricePerGBDay"), f.Uint("pricePerGBTraffic"), f.Uint("minStake"),
          f.Uint("stakePerNode"), f.U64("unstakeDelay")};
}
FileRegisteredEvent ToFileRegistered(Fields& f) {
  return {f.Fixed<32>("bucketId"), f.Fixed<32>("fileId"), f.Fixed<32>("commitmentRoot"),
          static_cast<uint32_t>(f.U64("shardCount")), f.U64("sizeBytes")};
}
FileRemovedEvent ToFileRemoved(Fields& f) {
  return {f.Fixed<32>("bucketId"), f.Fixed<32>("fileId"), f.U64("sizeBytes")};
}
AuditRecordedEvent ToAuditRecorded(Fields& f) {
  return {f.Address("reporter"), f.Fixed<20>("nodeId"), static_cast<uint32_t>(f.U64("passed")),
          static_cast<uint32_t>(f.U64("failed"))};
}

bool Contains(const absl::Status& s, std::string_view text) {
  return StdView(s.message()).find(text) != std::string_view::npos;
}

AbiValue B32(const FixedBytes<32>& b) { return AbiValue::FixedBytes(b); }
AbiValue B20(const FixedBytes<20>& b) { return AbiValue::FixedBytes(b); }

}  // namespace

NodeBindingProof MakeNodeBindingProof(const crypto::PrivateKey& node_key,
                                      const EthAddress& staker) {
  NodeBindingProof proof;
  crypto::PublicKey pub = node_key.GetPublicKey();
  proof.node_id = crypto::NodeIdOf(pub);
  FixedBytes<65> uncompressed = pub.Uncompressed();
  std::copy(uncompressed.begin() + 1, uncompressed.end(), proof.public_key.begin());
  proof.signature = node_key.Sign(crypto::Keccak256({proof.node_id, staker})).ToBytes();
  return proof;
}

absl::StatusOr<StorageMarket> StorageMarket::Deploy(TxSender& sender, EthRpc& rpc) {
  GNR_ASSIGN_OR_RETURN(AbiContract abi, MarketAbi());
  GNR_ASSIGN_OR_RETURN(Bytes bytecode, HexDecode(kStorageMarketBytecodeHex));
  absl::StatusOr<Contract> contract = Contract::Deploy(sender, rpc, std::move(abi), bytecode);
  if (!contract.ok()) return Annotate(contract.status(), "deploying StorageMarket");
  return StorageMarket(rpc, *std::move(contract));
}

absl::StatusOr<StorageMarket> StorageMarket::At(EthRpc& rpc, const EthAddress& address) {
  GNR_ASSIGN_OR_RETURN(AbiContract abi, MarketAbi());
  GNR_ASSIGN_OR_RETURN(Bytes code, rpc.GetCode(address));
  if (code.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no contract at ", crypto::EthAddressToChecksumHex(address), " on ",
                     rpc.client().endpoint(), ": check the contract address and the chain"));
  }
  return StorageMarket(rpc, Contract(std::move(abi), address));
}

absl::Status StorageMarket::InsufficientFundsError(const absl::Status& status,
                                                   const EthAddress& from,
                                                   const U256& value) const {
  // Nodes refuse to estimate gas for a sender that cannot pay (anvil: JSON-RPC error -32003
  // "Insufficient funds for gas * price + value"; geth: "insufficient funds"), before
  // TxSender's own balance check: say it in the same words.
  if (RpcErrorCodeOf(status) != -32003 && !Contains(status, "nsufficient funds")) return status;
  absl::StatusOr<U256> balance = rpc_->GetBalance(from);
  return absl::FailedPreconditionError(absl::StrCat(
      "insufficient balance: ", crypto::EthAddressToChecksumHex(from), " has ",
      balance.ok() ? FormatUnits(*balance) : "an unknown amount of", " ETH, the transaction sends ",
      FormatUnits(value), " ETH plus gas (", status.message(), ")"));
}

absl::StatusOr<std::vector<AbiValue>> StorageMarket::View(std::string_view function,
                                                          std::vector<AbiValue> args) const {
  absl::StatusOr<std::vector<AbiValue>> out = contract_.Call(*rpc_, function, args);
  if (!out.ok()) return Annotate(out.status(), function);
  return out;
}

absl::StatusOr<std::pair<RpcReceipt, std::vector<DecodedEvent>>> StorageMarket::Send(
    TxSender& sender, std::string_view function, std::vector<AbiValue> args,
    const U256& value) const {
  absl::StatusOr<RpcReceipt> sent = contract_.Transact(sender, function, args, value);
  if (!sent.ok()) return InsufficientFundsError(sent.status(), sender.address(), value);
  RpcReceipt receipt = *std::move(sent);
  GNR_ASSIGN_OR_RETURN(std::vector<DecodedEvent> events, contract_.DecodeEvents(receipt.logs));
  return std::make_pair(std::move(receipt), std::move(events));
}

// ---- Transactions ---------------------------------------------------------------------------

absl::StatusOr<MarketTx<StakedEvent>> StorageMarket::Stake(TxSender& sender,
                                                           const U256& amount) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "stake", {}, amount));
  return Expect<StakedEvent>(std::move(sent), "Staked", ToStaked);
}

absl::StatusOr<MarketTx<HeftSyncedEvent>> StorageMarket::SyncHeft(TxSender& sender,
                                                                  const EthAddress& node,
                                                                  const U256& heft) const {
  GNR_ASSIGN_OR_RETURN(
      auto sent, Send(sender, "syncHeft", {AbiValue::Address(node), AbiValue::Uint(heft)}, {}));
  return Expect<HeftSyncedEvent>(std::move(sent), "HeftSynced", ToHeftSynced);
}

absl::StatusOr<MarketTx<BucketBoughtEvent>> StorageMarket::BuyBucketSpace(
    TxSender& sender, const BucketSpec& bucket, std::optional<U256> payment) const {
  if (!payment) {
    GNR_ASSIGN_OR_RETURN(payment, QuoteSpace(bucket.size_gb, bucket.start, bucket.end));
  }
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "buyBucketSpace",
                                       {B32(bucket.bucket_id), AbiValue::Uint(bucket.size_gb),
                                        AbiValue::Uint(bucket.start), AbiValue::Uint(bucket.end),
                                        AbiValue::Uint(bucket.backup)},
                                       *payment));
  return Expect<BucketBoughtEvent>(std::move(sent), "BucketBought", ToBucketBought);
}

absl::StatusOr<MarketTx<TrafficBoughtEvent>> StorageMarket::BuyTraffic(
    TxSender& sender, uint64_t gb, std::optional<U256> payment) const {
  if (!payment) {
    GNR_ASSIGN_OR_RETURN(payment, QuoteTraffic(gb));
  }
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "buyTraffic", {AbiValue::Uint(gb)}, *payment));
  return Expect<TrafficBoughtEvent>(std::move(sent), "TrafficBought", ToTrafficBought);
}

absl::StatusOr<MarketTx<NodeBoundEvent>> StorageMarket::BindNode(
    TxSender& sender, const crypto::PrivateKey& node_key) const {
  return BindNode(sender, MakeNodeBindingProof(node_key, sender.address()));
}

absl::StatusOr<MarketTx<NodeBoundEvent>> StorageMarket::BindNode(
    TxSender& sender, const NodeBindingProof& proof) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "bindNode",
                                       {B20(proof.node_id), AbiValue::Bytes(proof.public_key),
                                        AbiValue::Bytes(proof.signature)},
                                       {}));
  return Expect<NodeBoundEvent>(std::move(sent), "NodeBound", ToNodeBound);
}

absl::StatusOr<MarketTx<UnstakeRequestedEvent>> StorageMarket::Unstake(TxSender& sender,
                                                                       const U256& amount) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "unstake", {AbiValue::Uint(amount)}, {}));
  return Expect<UnstakeRequestedEvent>(std::move(sent), "UnstakeRequested", ToUnstakeRequested);
}

absl::StatusOr<MarketTx<UnstakeWithdrawnEvent>> StorageMarket::WithdrawUnstaked(
    TxSender& sender) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "withdrawUnstaked", {}, {}));
  return Expect<UnstakeWithdrawnEvent>(std::move(sent), "UnstakeWithdrawn", ToUnstakeWithdrawn);
}

absl::StatusOr<MarketTx<NodeUnboundEvent>> StorageMarket::UnbindNode(TxSender& sender,
                                                                     const NodeId& node_id) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "unbindNode", {B20(node_id)}, {}));
  return Expect<NodeUnboundEvent>(std::move(sent), "NodeUnbound", ToNodeUnbound);
}

absl::StatusOr<MarketTx<BucketSupplementedEvent>> StorageMarket::BucketSupplement(
    TxSender& sender, const BucketId& bucket_id, uint64_t add_size_gb, uint64_t add_days,
    std::optional<U256> payment) const {
  if (!payment) {
    GNR_ASSIGN_OR_RETURN(payment, QuoteSupplement(bucket_id, add_size_gb, add_days));
  }
  GNR_ASSIGN_OR_RETURN(
      auto sent,
      Send(sender, "bucketSupplement",
           {B32(bucket_id), AbiValue::Uint(add_size_gb), AbiValue::Uint(add_days)}, *payment));
  return Expect<BucketSupplementedEvent>(std::move(sent), "BucketSupplemented",
                                         ToBucketSupplemented);
}

absl::StatusOr<MarketTx<MarketPrices>> StorageMarket::SetPrices(TxSender& sender,
                                                                const MarketPrices& prices) const {
  GNR_ASSIGN_OR_RETURN(
      auto sent,
      Send(sender, "setPrices",
           {AbiValue::Uint(prices.price_per_gb_day), AbiValue::Uint(prices.price_per_gb_traffic),
            AbiValue::Uint(prices.min_stake), AbiValue::Uint(prices.stake_per_node),
            AbiValue::Uint(prices.unstake_delay)},
           {}));
  return Expect<MarketPrices>(std::move(sent), "PricesSet", ToPricesSet);
}

absl::StatusOr<MarketTx<FileRegisteredEvent>> StorageMarket::RegisterFile(
    TxSender& sender, const BucketId& bucket_id, const FixedBytes<32>& file_id,
    const FixedBytes<32>& commitment_root, uint32_t shard_count, uint64_t size_bytes) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "registerFile",
                                       {B32(bucket_id), B32(file_id), B32(commitment_root),
                                        AbiValue::Uint(shard_count), AbiValue::Uint(size_bytes)},
                                       {}));
  return Expect<FileRegisteredEvent>(std::move(sent), "FileRegistered", ToFileRegistered);
}

absl::StatusOr<MarketTx<FileRemovedEvent>> StorageMarket::RemoveFile(
    TxSender& sender, const BucketId& bucket_id, const FixedBytes<32>& file_id) const {
  GNR_ASSIGN_OR_RETURN(auto sent, Send(sender, "removeFile", {B32(bucket_id), B32(file_id)}, {}));
  return Expect<FileRemovedEvent>(std::move(sent), "FileRemoved", ToFileRemoved);
}

absl::StatusOr<std::vector<AuditRecordedEvent>> StorageMarket::RecordAudits(
    TxSender& sender, std::span<const AuditEntry> entries) const {
  if (entries.empty()) return absl::InvalidArgumentError("recordAudits: no audit entries");
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].passed == 0 && entries[i].failed == 0) {
      return absl::InvalidArgumentError(absl::StrCat("recordAudits: entry ", i, " (node ",
                                                     HexEncode(entries[i].node_id),
                                                     ") counts no passed or failed challenge"));
    }
  }
  std::vector<AuditRecordedEvent> out;
  for (size_t first = 0; first < entries.size(); first += kMaxAuditBatch) {
    std::span<const AuditEntry> batch =
        entries.subspan(first, std::min(kMaxAuditBatch, entries.size() - first));
    std::vector<AbiValue> ids, passed, failed;
    for (const AuditEntry& e : batch) {
      ids.push_back(B20(e.node_id));
      passed.push_back(AbiValue::Uint(e.passed));
      failed.push_back(AbiValue::Uint(e.failed));
    }
    absl::StatusOr<std::pair<RpcReceipt, std::vector<DecodedEvent>>> sent =
        Send(sender, "recordAudits",
             {AbiValue::Array(std::move(ids)), AbiValue::Array(std::move(passed)),
              AbiValue::Array(std::move(failed))},
             {});
    if (!sent.ok()) {
      if (first == 0) return sent.status();
      return Annotate(sent.status(), absl::StrCat("after ", first, " of ", entries.size(),
                                                  " audit entries were recorded"));
    }
    size_t found = 0;
    for (const DecodedEvent& e : sent->second) {
      if (e.name() != "AuditRecorded") continue;
      Fields f("event AuditRecorded", e.values, e.event);
      AuditRecordedEvent event = ToAuditRecorded(f);
      GNR_RETURN_IF_ERROR(f.status());
      out.push_back(event);
      ++found;
    }
    if (found != batch.size()) {
      return absl::DataLossError(
          absl::StrCat("recordAudits transaction ", HexEncode0x(sent->first.transaction_hash),
                       " emitted ", found, " AuditRecorded events for ", batch.size(), " entries"));
    }
  }
  return out;
}

// ---- Views ----------------------------------------------------------------------------------

absl::StatusOr<BucketInfo> StorageMarket::Bucket(const BucketId& bucket_id) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v, View("bucket", {B32(bucket_id)}));
  Fields f("bucket", v);
  BucketInfo b{f.Address(0), f.U64(1), f.U64(2),
               f.U64(3),     f.U64(4), static_cast<uint8_t>(f.U64(5))};
  GNR_RETURN_IF_ERROR(f.status());
  return b;
}

absl::StatusOr<std::vector<BucketId>> StorageMarket::BucketsOf(const EthAddress& account) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v, View("bucketsOf", {AbiValue::Address(account)}));
  Fields f("bucketsOf", v);
  std::vector<BucketId> out = f.FixedArray<32>(0);
  GNR_RETURN_IF_ERROR(f.status());
  return out;
}

absl::StatusOr<FileRecord> StorageMarket::FileOf(const BucketId& bucket_id,
                                                 const FixedBytes<32>& file_id) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v, View("fileOf", {B32(bucket_id), B32(file_id)}));
  Fields f("fileOf", v);
  FileRecord r{f.Fixed<32>(0), static_cast<uint32_t>(f.U64(1)), f.U64(2), f.U64(3)};
  GNR_RETURN_IF_ERROR(f.status());
  return r;
}

absl::StatusOr<uint64_t> StorageMarket::TrafficOf(const EthAddress& account) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v, View("trafficOf", {AbiValue::Address(account)}));
  Fields f("trafficOf", v);
  uint64_t gb = f.U64(0);
  GNR_RETURN_IF_ERROR(f.status());
  return gb;
}

namespace {
absl::StatusOr<U256> FirstUint(std::string_view what, absl::StatusOr<std::vector<AbiValue>> v) {
  if (!v.ok()) return v.status();
  Fields f(std::string(what), *v);
  U256 out = f.Uint(0);
  GNR_RETURN_IF_ERROR(f.status());
  return out;
}
absl::StatusOr<EthAddress> FirstAddress(std::string_view what,
                                        absl::StatusOr<std::vector<AbiValue>> v) {
  if (!v.ok()) return v.status();
  Fields f(std::string(what), *v);
  EthAddress out = f.Address(0);
  GNR_RETURN_IF_ERROR(f.status());
  return out;
}
}  // namespace

absl::StatusOr<U256> StorageMarket::StakeOf(const EthAddress& account) const {
  return FirstUint("stakeOf", View("stakeOf", {AbiValue::Address(account)}));
}

absl::StatusOr<PendingUnstake> StorageMarket::PendingUnstakeOf(const EthAddress& account) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v,
                       View("pendingUnstakeOf", {AbiValue::Address(account)}));
  Fields f("pendingUnstakeOf", v);
  PendingUnstake p{f.Uint(0), f.U64(1)};
  GNR_RETURN_IF_ERROR(f.status());
  return p;
}

absl::StatusOr<U256> StorageMarket::HeftOf(const EthAddress& account) const {
  return FirstUint("heftOf", View("heftOf", {AbiValue::Address(account)}));
}

absl::StatusOr<std::vector<NodeId>> StorageMarket::NodesOf(const EthAddress& account) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v, View("nodesOf", {AbiValue::Address(account)}));
  Fields f("nodesOf", v);
  std::vector<NodeId> out = f.FixedArray<20>(0);
  GNR_RETURN_IF_ERROR(f.status());
  return out;
}

absl::StatusOr<std::optional<EthAddress>> StorageMarket::NodeOwner(const NodeId& node_id) const {
  GNR_ASSIGN_OR_RETURN(EthAddress owner,
                       FirstAddress("nodeOwner", View("nodeOwner", {B20(node_id)})));
  if (owner == EthAddress{}) return std::nullopt;
  return owner;
}

absl::StatusOr<uint64_t> StorageMarket::MaxNodesOf(const EthAddress& account) const {
  GNR_ASSIGN_OR_RETURN(U256 n,
                       FirstUint("maxNodesOf", View("maxNodesOf", {AbiValue::Address(account)})));
  return n.ToUint64().value_or(UINT64_MAX);
}

absl::StatusOr<U256> StorageMarket::CommitteePoints(const EthAddress& account) const {
  return FirstUint("committeePoints", View("committeePoints", {AbiValue::Address(account)}));
}

absl::StatusOr<AuditStats> StorageMarket::AuditStatsOf(const NodeId& node_id) const {
  GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> v, View("auditStats", {B20(node_id)}));
  Fields f("auditStats", v);
  AuditStats s{f.U64(0), f.U64(1), f.U64(2)};
  GNR_RETURN_IF_ERROR(f.status());
  return s;
}

absl::StatusOr<U256> StorageMarket::TotalStake() const {
  return FirstUint("totalStake", View("totalStake"));
}

absl::StatusOr<U256> StorageMarket::TotalHeft() const {
  return FirstUint("totalHeft", View("totalHeft"));
}

absl::StatusOr<MarketPrices> StorageMarket::Prices() const {
  MarketPrices p;
  GNR_ASSIGN_OR_RETURN(p.price_per_gb_day, FirstUint("pricePerGBDay", View("pricePerGBDay")));
  GNR_ASSIGN_OR_RETURN(p.price_per_gb_traffic,
                       FirstUint("pricePerGBTraffic", View("pricePerGBTraffic")));
  GNR_ASSIGN_OR_RETURN(p.min_stake, FirstUint("minStake", View("minStake")));
  GNR_ASSIGN_OR_RETURN(p.stake_per_node, FirstUint("stakePerNode", View("stakePerNode")));
  GNR_ASSIGN_OR_RETURN(U256 delay, FirstUint("unstakeDelay", View("unstakeDelay")));
  p.unstake_delay = delay.ToUint64().value_or(UINT64_MAX);
  return p;
}

absl::StatusOr<EthAddress> StorageMarket::Owner() const {
  return FirstAddress("owner", View("owner"));
}

absl::StatusOr<EthAddress> StorageMarket::HeftOracle() const {
  return FirstAddress("heftOracle", View("heftOracle"));
}

absl::StatusOr<U256> StorageMarket::QuoteSpace(uint64_t size_gb, uint64_t start,
                                               uint64_t end) const {
  return FirstUint("quoteSpace", View("quoteSpace", {AbiValue::Uint(size_gb), AbiValue::Uint(start),
                                                     AbiValue::Uint(end)}));
}

absl::StatusOr<U256> StorageMarket::QuoteTraffic(uint64_t gb) const {
  return FirstUint("quoteTraffic", View("quoteTraffic", {AbiValue::Uint(gb)}));
}

absl::StatusOr<U256> StorageMarket::QuoteSupplement(const BucketId& bucket_id, uint64_t add_size_gb,
                                                    uint64_t add_days) const {
  return FirstUint("quoteSupplement",
                   View("quoteSupplement",
                        {B32(bucket_id), AbiValue::Uint(add_size_gb), AbiValue::Uint(add_days)}));
}

}  // namespace gnr::chain
