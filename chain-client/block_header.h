#pragma once
// Block headers and their light verification: the block hash is keccak256(RLP(header)),
// recomputed locally from the fields an RPC returns, so an RPC cannot hand us a made-up
// hash (the auditor seeds SPoR challenges with block hashes).
//
// Field order (yellow paper section 4.3, then the fork EIPs that append fields):
//   parentHash, ommersHash, beneficiary, stateRoot, transactionsRoot, receiptsRoot,
//   logsBloom, difficulty, number, gasLimit, gasUsed, timestamp, extraData, mixHash, nonce
//   (the 15 fields of a berlin / GenaroCore header), then
//   baseFeePerGas (EIP-1559, london), withdrawalsRoot (EIP-4895, shanghai),
//   blobGasUsed, excessBlobGas (EIP-4844, cancun), parentBeaconBlockRoot (EIP-4788, cancun),
//   requestsHash (EIP-7685, prague).
// Optional fields are encoded when present, in that order. Per the EIPs each requires all
// earlier ones (Validate() checks this), but some nodes serve headers with gaps and hash
// exactly the fields present (anvil --hardfork berlin reports and hashes blobGasUsed and
// excessBlobGas after the 15 berlin fields), so encoding follows presence, and the hash
// check decides. Scalars are RLP integers; hashes, the bloom, the beneficiary and the 8-byte
// nonce are fixed-length strings and keep their zero bytes.
//
// Value types; functions are pure and thread-safe. Parsing (RLP or RPC JSON) is for
// untrusted input.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "chain-client/u256.h"
#include "common/bytes.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {

using crypto::EthAddress;
using crypto::Hash256;
using Bloom = FixedBytes<256>;

struct BlockHeader {
  Hash256 parent_hash{};
  Hash256 ommers_hash{};
  EthAddress beneficiary{};
  Hash256 state_root{};
  Hash256 transactions_root{};
  Hash256 receipts_root{};
  Bloom logs_bloom{};
  U256 difficulty;
  uint64_t number = 0;
  uint64_t gas_limit = 0;
  uint64_t gas_used = 0;
  uint64_t timestamp = 0;
  Bytes extra_data;
  Hash256 mix_hash{};  // "prevRandao" after the merge
  FixedBytes<8> nonce{};
  std::optional<U256> base_fee_per_gas;
  std::optional<Hash256> withdrawals_root;
  std::optional<uint64_t> blob_gas_used;
  std::optional<uint64_t> excess_blob_gas;
  std::optional<Hash256> parent_beacon_block_root;
  std::optional<Hash256> requests_hash;

  // RLP(header): the 15 base fields, then each optional field that is present, in order.
  Bytes Encode() const;
  // keccak256(Encode()).
  Hash256 Hash() const;
  // OK iff the optional fields form a prefix of the fork order (as the EIPs define headers;
  // see the header comment for nodes that deviate).
  absl::Status Validate() const;
  // Number of RLP fields: 15 + the optional fields present (15 berlin, 16 london,
  // 17 shanghai, 20 cancun, 21 prague).
  size_t FieldCount() const;

  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

// Decodes RLP(header) with 15 to 21 fields, assigning the optional ones in fork order.
// InvalidArgument on malformed input.
absl::StatusOr<BlockHeader> DecodeBlockHeader(ByteView rlp);

// A header as an RPC described it, with the hash the RPC claimed for it.
struct RpcBlockHeader {
  BlockHeader header;
  Hash256 claimed_hash{};
};

// Reads the header fields of an eth_getBlockByNumber / eth_getBlockByHash result (names as in
// the Ethereum JSON-RPC spec: parentHash, sha3Uncles, miner, stateRoot, transactionsRoot,
// receiptsRoot, logsBloom, difficulty, number, gasLimit, gasUsed, timestamp, extraData,
// mixHash, nonce, baseFeePerGas, withdrawalsRoot, blobGasUsed, excessBlobGas,
// parentBeaconBlockRoot, requestsHash) and its "hash". InvalidArgument naming the field on
// anything missing or malformed. Does not verify the hash (see VerifyHeaderHash).
absl::StatusOr<RpcBlockHeader> ParseRpcBlockHeader(const nlohmann::json& block);

// DataLoss unless keccak256(RLP(header)) == claimed. The message names the block number and
// both hashes ("the RPC is lying, or the header has fields this client does not know").
absl::Status VerifyHeaderHash(const BlockHeader& header, const Hash256& claimed);
// ParseRpcBlockHeader + VerifyHeaderHash: the verified header of an RPC block object.
absl::StatusOr<BlockHeader> VerifiedHeaderFromRpc(const nlohmann::json& block);

// DataLoss unless child.number == parent.number + 1 and child.parent_hash == parent.Hash().
absl::Status VerifyParentLink(const BlockHeader& parent, const BlockHeader& child);
// Checks VerifyParentLink for each consecutive pair of `headers` (ascending numbers).
absl::Status VerifyChainLinks(std::span<const BlockHeader> headers);

}  // namespace gnr::chain
