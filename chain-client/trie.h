#pragma once
// Ethereum's Merkle-Patricia trie (yellow paper, appendix D): computing the root of a set of
// key/value pairs (receipts and transactions tries) and verifying inclusion/exclusion proofs
// (eth_getProof account and storage proofs) against a root taken from a verified header.
//
// Nodes are RLP: a leaf or extension is [hexPrefix(path), value-or-child], a branch is
// [child0..child15, value]. A child is referenced by keccak256(node) when its encoding is
// 32 bytes or longer, and embedded otherwise; the root is always hashed.
//
// Proof nodes come from an RPC and are untrusted: VerifyTrieProof never asserts, checks every
// hash link, and reports a proof that does not lead to a definite answer as DataLoss.
// All functions are pure and thread-safe.

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/u256.h"
#include "common/bytes.h"
#include "crypto/hash.h"

namespace gnr::chain {

using crypto::Hash256;

// keccak256(RLP("")) = 0x56e81f17...b421: the root of an empty trie.
const Hash256& EmptyTrieRoot();
// keccak256("") = 0xc5d24601...a470: the code hash of an account without code.
const Hash256& EmptyCodeHash();

// The root of the trie holding `entries` (keys need not be sorted; duplicate keys: the last
// one wins). Empty values are treated as absent, as in Ethereum.
Hash256 ComputeTrieRoot(std::vector<std::pair<Bytes, Bytes>> entries);

// The root of an index-keyed trie (transactions, receipts, withdrawals): key = RLP(i) for
// the i-th of `values`.
Hash256 ComputeOrderedTrieRoot(std::span<const Bytes> values);

// The proof eth_getProof would return for `key` in the trie holding `entries`: the nodes on
// the path to the key, root first (embedded nodes are inside their parents). For tests and
// for serving proofs; works for absent keys too.
std::vector<Bytes> ComputeTrieProof(std::vector<std::pair<Bytes, Bytes>> entries, ByteView key);

// Verifies that `proof` (RLP nodes, root first, as eth_getProof returns them) proves the
// value stored under `key` in the trie with root `root`. Returns the value, or nullopt if the
// proof shows the key is absent. DataLoss if a node does not hash to the reference its parent
// holds, a node is malformed, the proof ends before an answer, or unused nodes remain.
absl::StatusOr<std::optional<Bytes>> VerifyTrieProof(const Hash256& root, ByteView key,
                                                     std::span<const Bytes> proof);

// An Ethereum account as stored in the state trie: RLP([nonce, balance, storageRoot,
// codeHash]) under keccak256(address).
struct AccountState {
  uint64_t nonce = 0;
  U256 balance;
  Hash256 storage_root = EmptyTrieRoot();
  Hash256 code_hash = EmptyCodeHash();
  bool exists = false;  // false: the proof shows no account at this address
  friend bool operator==(const AccountState&, const AccountState&) = default;
};

// Verifies an account proof against a state root. DataLoss on a bad proof.
absl::StatusOr<AccountState> VerifyAccountProof(const Hash256& state_root,
                                                const FixedBytes<20>& address,
                                                std::span<const Bytes> proof);

// Verifies a storage proof against an account's storage root: the value of `slot` (0 when
// absent). DataLoss on a bad proof.
absl::StatusOr<U256> VerifyStorageProof(const Hash256& storage_root, const Hash256& slot,
                                        std::span<const Bytes> proof);

}  // namespace gnr::chain
