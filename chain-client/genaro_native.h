#pragma once
// Genaro's native special transactions: the same operations as the StorageMarket contract,
// encoded as GenaroCore (github.com/GenaroNetwork/GenaroCore) expects them on its own chain —
// a transaction to the special address, value 0, whose data is a JSON object with a hex
// "type" and the fields of GenaroCore's SpecialTxInput. GenaroCore charges stakes and fees
// from the sender's balance itself.
//
// Field names, units and rules as GenaroCore reads and checks them (core/types/
// special_transaction_param.go, core/vm/checkParameter.go, learned there, not copied):
//
//   type  0x1  stake            address, stake (whole GNX: 1 GNX = 1e18 wei)
//   type  0x2  heft sync        address, heft (> 0); heft account only
//   type  0x3  buy bucket       address, buckets [{bucketId (64 hex digits, no 0x),
//                               timeStart, timeEnd (unix s, end > start > 0), backup (> 0),
//                               size (GB, > 0)}]
//   type  0x4  buy traffic      address, traffic (GB, > 0)
//   type  0x8  bind node        address (must be the sender), nodeId (40 lower-case hex
//                               digits, no 0x), sign ("0x" + r || s || v, v in {0, 1})
//   type  0xb  unstake          address (GenaroCore unstakes the sender's whole stake)
//   type  0xc  price regulation bucketPricePerGperDay, trafficPricePerG, stakeValuePerNode
//                               (hex quantities in wei, each optional, at least one)
//   type  0xe  unbind node      nodeId
//   type  0x29 bucket supplement address, bucketId, size (GB to add), duration (seconds to
//                               add), msg (the current unix time as a decimal string;
//                               size > 0 or duration >= 1 day)
//
// The bind-node signature differs from the contract's: GenaroCore hashes the TEXT
// nodeId + address (keccak256 of the 40 hex digits followed by the address string as it
// appears in the payload), where StorageMarket.bindNode hashes the 40 bytes
// nodeId || address. Here the address is always written "0x" + 40 lower-case hex digits.
//
// Encoding is deterministic (fixed key order, compact JSON) so golden tests pin it; decoding
// is for untrusted input and checks the same rules. Pure functions; thread-safe.
//
//   GNR_ASSIGN_OR_RETURN(std::string data, EncodeGenaroPayload(GenaroStake(me, 5000)));
//   TxRequest tx = GenaroSpecialTx(data);  // to 0x6000…0000
//   GNR_ASSIGN_OR_RETURN(Hash256 h, sender.Send(tx));

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/storage_market.h"
#include "chain-client/tx_sender.h"
#include "chain-client/u256.h"
#include "crypto/secp256k1.h"

namespace gnr::chain {

enum class GenaroTxType : uint64_t {
  kStake = 1,
  kHeftSync = 2,
  kBuyBucket = 3,
  kBuyTraffic = 4,
  kBindNode = 8,
  kUnstake = 11,
  kPriceRegulation = 12,
  kUnbindNode = 14,
  kBucketSupplement = 41,
};

// The special address of GenaroCore's last release, and the one before it. Which one a
// chain uses is a setting (GenaroSpecialTx's `special_address`).
EthAddress GenaroSpecialAddress();        // 0x6000000000000000000000000000000000000000
EthAddress GenaroLegacySpecialAddress();  // 0xc1b2e1fc9d2099f5930a669c9ad65509433550d6

// One GNX in wei: GenaroCore's stake unit.
inline constexpr uint64_t kWeiPerGnx = 1000000000000000000ull;

struct GenaroBucket {
  BucketId bucket_id{};
  uint64_t time_start = 0;  // unix seconds
  uint64_t time_end = 0;
  uint64_t backup = 0;
  uint64_t size_gb = 0;
  friend bool operator==(const GenaroBucket&, const GenaroBucket&) = default;
};

// The fields of one special transaction; which are used depends on `type` (table above).
struct GenaroSpecialTxInput {
  GenaroTxType type = GenaroTxType::kStake;
  std::optional<EthAddress> address;
  std::optional<uint64_t> stake;  // GNX
  std::optional<uint64_t> heft;
  std::vector<GenaroBucket> buckets;
  std::optional<uint64_t> traffic;  // GB
  std::optional<NodeId> node_id;
  std::optional<FixedBytes<65>> sign;
  std::optional<BucketId> bucket_id;  // supplement
  std::optional<uint64_t> size;       // supplement, GB
  std::optional<uint64_t> duration;   // supplement, seconds
  std::optional<uint64_t> msg_time;   // supplement: unix seconds, sent as a decimal string
  std::optional<U256> bucket_price_per_gb_day;
  std::optional<U256> traffic_price_per_gb;
  std::optional<U256> stake_value_per_node;
  friend bool operator==(const GenaroSpecialTxInput&, const GenaroSpecialTxInput&) = default;
};

// ---- Builders -------------------------------------------------------------------------------

GenaroSpecialTxInput GenaroStake(const EthAddress& staker, uint64_t stake_gnx);
GenaroSpecialTxInput GenaroHeftSync(const EthAddress& node, uint64_t heft);
GenaroSpecialTxInput GenaroBuyBucket(const EthAddress& owner, std::vector<GenaroBucket> buckets);
GenaroSpecialTxInput GenaroBuyTraffic(const EthAddress& buyer, uint64_t gb);
// Signs with the node key (GenaroNodeBindingSignature).
GenaroSpecialTxInput GenaroBindNode(const EthAddress& staker, const crypto::PrivateKey& node_key);
GenaroSpecialTxInput GenaroUnstake(const EthAddress& staker);
GenaroSpecialTxInput GenaroUnbindNode(const NodeId& node_id);
// `now` is the sender's current unix time (GenaroCore prices the added size from it).
GenaroSpecialTxInput GenaroBucketSupplement(const EthAddress& owner, const BucketId& bucket_id,
                                            uint64_t add_size_gb, uint64_t add_seconds,
                                            uint64_t now);
GenaroSpecialTxInput GenaroSetPrices(std::optional<U256> bucket_price_per_gb_day,
                                     std::optional<U256> traffic_price_per_gb,
                                     std::optional<U256> stake_value_per_node);

// Whole GNX in `wei`; InvalidArgument unless it is a whole number of GNX that fits uint64.
absl::StatusOr<uint64_t> WeiToWholeGnx(const U256& wei);

// keccak256 of the text nodeIdHex + "0x" + lower-case address hex, and the node key's
// signature of it (r || s || v, v in {0, 1}).
Hash256 GenaroNodeBindingDigest(const NodeId& node_id, const EthAddress& staker);
FixedBytes<65> GenaroNodeBindingSignature(const crypto::PrivateKey& node_key,
                                          const EthAddress& staker);

// ---- Encoding -------------------------------------------------------------------------------

// The JSON payload. InvalidArgument (naming the field) when a field the type needs is
// missing or breaks one of GenaroCore's checks (see the table); fields the type does not use
// are not written.
absl::StatusOr<std::string> EncodeGenaroPayload(const GenaroSpecialTxInput& input);

// Parses a payload (untrusted): the type must be a hex quantity ("0x29"), known fields must
// be well-formed, and the same rules as EncodeGenaroPayload hold. Unknown fields are
// ignored, as GenaroCore does. For type 0x8 the signature is checked to recover a key whose
// node id is `nodeId` (GenaroCore's rule), else InvalidArgument.
absl::StatusOr<GenaroSpecialTxInput> DecodeGenaroPayload(std::string_view json);

// The transaction carrying `payload`: to `special_address`, value 0, data = payload bytes.
TxRequest GenaroSpecialTx(std::string_view payload,
                          const EthAddress& special_address = GenaroSpecialAddress());

}  // namespace gnr::chain
