#pragma once
// Typed bindings of the StorageMarket contract (chain-client/contracts/StorageMarket.sol):
// one method per special transaction and view, with Genaro's type numbers noted, and the
// transaction's event decoded into a struct. Built on Contract (contract.h) with the ABI
// generated from the contract at build time, so nothing here is hand-typed selector data.
//
//   GNR_ASSIGN_OR_RETURN(StorageMarket market, StorageMarket::Deploy(sender, eth));
//   GNR_ASSIGN_OR_RETURN(auto staked, market.Stake(sender, ParseUnits("1").value()));
//   // staked.event.new_stake, staked.receipt.block_number
//   GNR_ASSIGN_OR_RETURN(auto bought, market.BuyBucketSpace(sender, {.bucket_id = id,
//                        .size_gb = 10, .start = now, .end = now + 30 * 86400, .backup = 3}));
//   GNR_ASSIGN_OR_RETURN(BucketInfo b, market.Bucket(id));
//
// Payments: BuyBucketSpace, BuyTraffic and BucketSupplement pay the contract's own quote
// (read from the latest block just before sending) unless an explicit `payment` is given;
// the contract refunds any excess. Amounts are wei; times are unix seconds; "GB" is 2^30
// bytes.
//
// Errors: a refused transaction is FailedPrecondition whose message carries the contract's
// reason, prefixed with the function ("stake: execution reverted: StorageMarket: stake below
// minimum: have 5 wei, need 1000000000000000000"); an insufficient wallet balance is
// FailedPrecondition "insufficient balance ..." from TxSender; RPC failures keep the codes of
// json_rpc.h. A transaction that lands without the event it must emit is DataLoss.
//
// Thread-safety: immutable after construction; methods may be called from several threads
// (TxSender is thread-safe). The EthRpc given at construction must outlive the object.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/contract.h"
#include "chain-client/eth_rpc.h"
#include "chain-client/tx_sender.h"
#include "chain-client/u256.h"
#include "crypto/secp256k1.h"

namespace gnr::chain {

using crypto::NodeId;
using BucketId = FixedBytes<32>;

// ---- Events ---------------------------------------------------------------------------------

struct StakedEvent {  // type 1
  EthAddress staker{};
  U256 amount;
  U256 new_stake;
};
struct HeftSyncedEvent {  // type 2
  EthAddress node{};
  U256 heft;
  U256 previous_heft;
};
struct BucketBoughtEvent {  // type 3
  BucketId bucket_id{};
  EthAddress owner{};
  uint64_t size_gb = 0;
  uint64_t start = 0;
  uint64_t end = 0;
  uint8_t backup = 0;
  U256 cost;
};
struct TrafficBoughtEvent {  // type 4
  EthAddress buyer{};
  uint64_t gb = 0;
  uint64_t new_traffic_gb = 0;
  U256 cost;
};
struct NodeBoundEvent {  // type 8
  EthAddress staker{};
  NodeId node_id{};
};
struct UnstakeRequestedEvent {  // type 11
  EthAddress staker{};
  U256 amount;
  U256 pending_amount;
  uint64_t release_at = 0;
};
struct UnstakeWithdrawnEvent {
  EthAddress staker{};
  U256 amount;
};
struct NodeUnboundEvent {  // type 14
  EthAddress staker{};
  NodeId node_id{};
};
struct BucketSupplementedEvent {  // type 41
  BucketId bucket_id{};
  EthAddress owner{};
  uint64_t add_size_gb = 0;
  uint64_t add_days = 0;
  uint64_t new_size_gb = 0;
  uint64_t new_end = 0;
  U256 cost;
};
struct MarketPrices {          // type 12 (PricesSet event and the current settings)
  U256 price_per_gb_day;       // wei per GB per day of bucket space
  U256 price_per_gb_traffic;   // wei per GB of traffic
  U256 min_stake;              // wei
  U256 stake_per_node;         // wei of stake per bound node
  uint64_t unstake_delay = 0;  // seconds
};
struct FileRegisteredEvent {
  BucketId bucket_id{};
  FixedBytes<32> file_id{};
  FixedBytes<32> commitment_root{};
  uint32_t shard_count = 0;
  uint64_t size_bytes = 0;
};
struct FileRemovedEvent {
  BucketId bucket_id{};
  FixedBytes<32> file_id{};
  uint64_t size_bytes = 0;
};
struct AuditRecordedEvent {
  EthAddress reporter{};
  NodeId node_id{};
  uint32_t passed = 0;
  uint32_t failed = 0;
};

// A landed transaction and the event it emitted.
template <typename Event>
struct MarketTx {
  RpcReceipt receipt;
  Event event;
};

// ---- Arguments and views --------------------------------------------------------------------

struct BucketSpec {
  BucketId bucket_id{};  // must not be zero; unique on the contract
  uint64_t size_gb = 0;
  uint64_t start = 0;  // unix seconds
  uint64_t end = 0;    // unix seconds, after start and in the future
  uint8_t backup = 0;  // number of copies
};

struct BucketInfo {
  EthAddress owner{};  // zero when the bucket does not exist
  uint64_t size_gb = 0;
  uint64_t used_bytes = 0;
  uint64_t start = 0;
  uint64_t end = 0;
  uint8_t backup = 0;
  bool exists() const { return owner != EthAddress{}; }
};

struct PendingUnstake {
  U256 amount;              // wei waiting for release
  uint64_t release_at = 0;  // unix seconds
};

struct AuditStats {
  uint64_t passed = 0;
  uint64_t failed = 0;
  uint64_t last_report_at = 0;  // unix seconds; 0 = never
};

struct AuditEntry {
  NodeId node_id{};
  uint32_t passed = 0;
  uint32_t failed = 0;
};

struct FileRecord {
  FixedBytes<32> commitment_root{};
  uint32_t shard_count = 0;
  uint64_t size_bytes = 0;
  uint64_t registered_at = 0;  // 0 when the file is not registered
};

// What bindNode needs from the node key: the node id, the 64-byte public key x || y and the
// 65-byte signature r || s || v (v in {0, 1}) over keccak256(nodeId || staker address).
// A farmer can make it offline and hand it to the wallet that stakes.
struct NodeBindingProof {
  NodeId node_id{};
  FixedBytes<64> public_key{};
  FixedBytes<65> signature{};
};
NodeBindingProof MakeNodeBindingProof(const crypto::PrivateKey& node_key, const EthAddress& staker);

// The contract's scale for committeePoints: 1e18 = 1.0.
inline constexpr uint64_t kCommitteePointsScale = 1000000000000000000ull;
// The contract's maximum number of entries in one recordAudits call.
inline constexpr size_t kMaxAuditBatch = 256;

class StorageMarket {
 public:
  // Deploys a new StorageMarket from the generated bytecode; `sender` becomes its owner and
  // heft oracle.
  static absl::StatusOr<StorageMarket> Deploy(TxSender& sender, EthRpc& rpc);
  // Binds to a deployed contract. NotFound if there is no code at `address` (wrong address
  // or wrong chain). The ABI is the generated one.
  static absl::StatusOr<StorageMarket> At(EthRpc& rpc, const EthAddress& address);

  const EthAddress& address() const { return contract_.address(); }
  const Contract& contract() const { return contract_; }

  // ---- Special transactions (sent by `sender`, waited for) ----

  // Type 1: adds `amount` wei to the sender's stake (the result must reach minStake).
  absl::StatusOr<MarketTx<StakedEvent>> Stake(TxSender& sender, const U256& amount) const;
  // Type 2: sets `node`'s heft to `heft` (absolute). Heft oracle only.
  absl::StatusOr<MarketTx<HeftSyncedEvent>> SyncHeft(TxSender& sender, const EthAddress& node,
                                                     const U256& heft) const;
  // Type 3: buys a bucket. Pays the quote unless `payment` is given.
  absl::StatusOr<MarketTx<BucketBoughtEvent>> BuyBucketSpace(
      TxSender& sender, const BucketSpec& bucket, std::optional<U256> payment = std::nullopt) const;
  // Type 4: adds `gb` GB of traffic to the sender.
  absl::StatusOr<MarketTx<TrafficBoughtEvent>> BuyTraffic(
      TxSender& sender, uint64_t gb, std::optional<U256> payment = std::nullopt) const;
  // Type 8: binds the node of `node_key` to the sender's stake (signs the proof itself).
  absl::StatusOr<MarketTx<NodeBoundEvent>> BindNode(TxSender& sender,
                                                    const crypto::PrivateKey& node_key) const;
  // Type 8 with a proof made elsewhere (MakeNodeBindingProof for the sender's address).
  absl::StatusOr<MarketTx<NodeBoundEvent>> BindNode(TxSender& sender,
                                                    const NodeBindingProof& proof) const;
  // Type 11: moves `amount` wei of stake to a pending release (WithdrawUnstaked after the
  // delay pays it out).
  absl::StatusOr<MarketTx<UnstakeRequestedEvent>> Unstake(TxSender& sender,
                                                          const U256& amount) const;
  absl::StatusOr<MarketTx<UnstakeWithdrawnEvent>> WithdrawUnstaked(TxSender& sender) const;
  // Type 14: unbinds a node the sender bound.
  absl::StatusOr<MarketTx<NodeUnboundEvent>> UnbindNode(TxSender& sender,
                                                        const NodeId& node_id) const;
  // Type 41: grows an unexpired bucket by `add_size_gb` and/or extends it by `add_days`.
  // Bucket owner only.
  absl::StatusOr<MarketTx<BucketSupplementedEvent>> BucketSupplement(
      TxSender& sender, const BucketId& bucket_id, uint64_t add_size_gb, uint64_t add_days,
      std::optional<U256> payment = std::nullopt) const;
  // Type 12: sets prices and limits. Owner only.
  absl::StatusOr<MarketTx<MarketPrices>> SetPrices(TxSender& sender,
                                                   const MarketPrices& prices) const;

  // SPoR: a file's commitment charged against its bucket; bucket owner only.
  absl::StatusOr<MarketTx<FileRegisteredEvent>> RegisterFile(
      TxSender& sender, const BucketId& bucket_id, const FixedBytes<32>& file_id,
      const FixedBytes<32>& commitment_root, uint32_t shard_count, uint64_t size_bytes) const;
  absl::StatusOr<MarketTx<FileRemovedEvent>> RemoveFile(TxSender& sender, const BucketId& bucket_id,
                                                        const FixedBytes<32>& file_id) const;
  // Reports audit outcomes, in transactions of at most kMaxAuditBatch entries each, in
  // order; returns every AuditRecorded event. InvalidArgument (nothing sent) for an empty
  // list or an entry that counts nothing. If a later batch fails, the earlier ones have
  // landed: the error says how many entries were recorded.
  absl::StatusOr<std::vector<AuditRecordedEvent>> RecordAudits(
      TxSender& sender, std::span<const AuditEntry> entries) const;

  // ---- Views (eth_call on the latest block) ----

  absl::StatusOr<BucketInfo> Bucket(const BucketId& bucket_id) const;
  absl::StatusOr<std::vector<BucketId>> BucketsOf(const EthAddress& account) const;
  absl::StatusOr<FileRecord> FileOf(const BucketId& bucket_id, const FixedBytes<32>& file_id) const;
  absl::StatusOr<uint64_t> TrafficOf(const EthAddress& account) const;  // GB
  absl::StatusOr<U256> StakeOf(const EthAddress& account) const;        // wei
  absl::StatusOr<PendingUnstake> PendingUnstakeOf(const EthAddress& account) const;
  absl::StatusOr<U256> HeftOf(const EthAddress& account) const;
  absl::StatusOr<std::vector<NodeId>> NodesOf(const EthAddress& account) const;
  // nullopt when the node is not bound.
  absl::StatusOr<std::optional<EthAddress>> NodeOwner(const NodeId& node_id) const;
  absl::StatusOr<uint64_t> MaxNodesOf(const EthAddress& account) const;
  // stake/sum(stake) + heft/sum(heft), scaled by kCommitteePointsScale; 0 without heft.
  absl::StatusOr<U256> CommitteePoints(const EthAddress& account) const;
  absl::StatusOr<AuditStats> AuditStatsOf(const NodeId& node_id) const;
  absl::StatusOr<U256> TotalStake() const;
  absl::StatusOr<U256> TotalHeft() const;
  absl::StatusOr<MarketPrices> Prices() const;
  absl::StatusOr<EthAddress> Owner() const;
  absl::StatusOr<EthAddress> HeftOracle() const;
  // Wei the contract asks for now.
  absl::StatusOr<U256> QuoteSpace(uint64_t size_gb, uint64_t start, uint64_t end) const;
  absl::StatusOr<U256> QuoteTraffic(uint64_t gb) const;
  absl::StatusOr<U256> QuoteSupplement(const BucketId& bucket_id, uint64_t add_size_gb,
                                       uint64_t add_days) const;

 private:
  StorageMarket(EthRpc& rpc, Contract contract) : rpc_(&rpc), contract_(std::move(contract)) {}

  absl::StatusOr<std::vector<AbiValue>> View(std::string_view function,
                                             std::vector<AbiValue> args = {}) const;
  // Sends `function` and decodes the events it emitted.
  absl::StatusOr<std::pair<RpcReceipt, std::vector<DecodedEvent>>> Send(TxSender& sender,
                                                                        std::string_view function,
                                                                        std::vector<AbiValue> args,
                                                                        const U256& value) const;

  // A node's "insufficient funds" refusal rewritten as TxSender words its own check.
  absl::Status InsufficientFundsError(const absl::Status& status, const EthAddress& from,
                                      const U256& value) const;

  EthRpc* rpc_;
  Contract contract_;
};

}  // namespace gnr::chain
