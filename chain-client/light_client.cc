#include "chain-client/light_client.h"

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

constexpr uint64_t kMaxHeaderRange = 1024;

}  // namespace

absl::Status LightClient::Lie(std::string_view what) const {
  return absl::DataLossError(absl::StrCat("RPC ", rpc_.client().endpoint(),
                                          " failed light verification: ", AbslView(what)));
}

absl::StatusOr<BlockHeader> LightClient::VerifiedHeader(const BlockRef& block) {
  GNR_ASSIGN_OR_RETURN(RpcBlock b, rpc_.GetBlockByNumber(block, false));
  absl::Status s = VerifyHeaderHash(b.header.header, b.header.claimed_hash);
  if (!s.ok()) return Lie(StdView(s.message()));
  if (block.number() && b.header.header.number != *block.number()) {
    return Lie(
        absl::StrCat("asked for block ", *block.number(), ", got block ", b.header.header.number));
  }
  return b.header.header;
}

absl::StatusOr<BlockHeader> LightClient::VerifiedHeaderByHash(const Hash256& hash) {
  GNR_ASSIGN_OR_RETURN(RpcBlock b, rpc_.GetBlockByHash(hash, false));
  Hash256 actual = b.header.header.Hash();
  if (actual != hash) {
    return Lie(absl::StrCat("asked for block ", HexEncode0x(hash), ", got block ",
                            b.header.header.number, " whose fields hash to ", HexEncode0x(actual),
                            " (claimed ", HexEncode0x(b.header.claimed_hash), ")"));
  }
  return b.header.header;
}

absl::StatusOr<std::vector<BlockHeader>> LightClient::VerifiedHeaderRange(uint64_t first,
                                                                          uint64_t last) {
  if (last < first || last - first >= kMaxHeaderRange) {
    return absl::InvalidArgumentError(absl::StrCat("header range [", first, ", ", last,
                                                   "] is empty or longer than ", kMaxHeaderRange,
                                                   " blocks"));
  }
  std::vector<BlockHeader> headers;
  headers.reserve(last - first + 1);
  for (uint64_t n = first; n <= last; ++n) {
    GNR_ASSIGN_OR_RETURN(BlockHeader h, VerifiedHeader(BlockRef::Number(n)));
    if (!headers.empty()) {
      absl::Status link = VerifyParentLink(headers.back(), h);
      if (!link.ok()) return Lie(StdView(link.message()));
    }
    headers.push_back(std::move(h));
  }
  return headers;
}

absl::StatusOr<std::vector<RpcReceipt>> LightClient::BlockReceipts(const Hash256& block_hash,
                                                                   const RpcBlock& block) {
  absl::StatusOr<std::vector<RpcReceipt>> all = rpc_.GetBlockReceiptsByHash(block_hash);
  if (all.ok() || !(absl::IsUnimplemented(all.status()) || absl::IsInvalidArgument(all.status()) ||
                    absl::IsUnknown(all.status()))) {
    return all;
  }
  // The node lacks eth_getBlockReceipts (or block-hash arguments): one receipt per tx.
  std::vector<RpcReceipt> out;
  out.reserve(block.transaction_hashes.size());
  for (const Hash256& h : block.transaction_hashes) {
    GNR_ASSIGN_OR_RETURN(std::optional<RpcReceipt> r, rpc_.GetTransactionReceipt(h));
    if (!r)
      return Lie(absl::StrCat("no receipt for transaction ", HexEncode0x(h), " of block ",
                              block.header.header.number));
    out.push_back(*std::move(r));
  }
  return out;
}

absl::StatusOr<VerifiedReceipt> LightClient::VerifiedTransactionReceipt(const Hash256& tx_hash) {
  GNR_ASSIGN_OR_RETURN(std::optional<RpcReceipt> claimed, rpc_.GetTransactionReceipt(tx_hash));
  if (!claimed) {
    return absl::NotFoundError(
        absl::StrCat("transaction ", HexEncode0x(tx_hash), " is not mined (no receipt yet)"));
  }
  GNR_ASSIGN_OR_RETURN(RpcBlock block, rpc_.GetBlockByHash(claimed->block_hash, true));
  const BlockHeader& header = block.header.header;
  if (header.Hash() != claimed->block_hash) {
    return Lie(absl::StrCat("the receipt's block ", HexEncode0x(claimed->block_hash),
                            " does not hash to itself: its fields hash to ",
                            HexEncode0x(header.Hash())));
  }
  if (header.number != claimed->block_number) {
    return Lie(absl::StrCat("the receipt says block ", claimed->block_number, " but block ",
                            HexEncode0x(claimed->block_hash), " is number ", header.number));
  }
  // The transaction is the one at the receipt's index, and the block commits to it.
  const uint64_t index = claimed->transaction_index;
  if (index >= block.transactions.size() || block.transactions[index].hash != tx_hash) {
    return Lie(absl::StrCat("transaction ", HexEncode0x(tx_hash), " is not at index ", index,
                            " of block ", header.number));
  }
  absl::StatusOr<Hash256> tx_root = ComputeTransactionsRoot(block.transactions);
  if (!tx_root.ok()) {
    if (absl::IsDataLoss(tx_root.status())) return Lie(StdView(tx_root.status().message()));
    return Annotate(tx_root.status(), absl::StrCat("verifying block ", header.number));
  }
  if (*tx_root != header.transactions_root) {
    return Lie(absl::StrCat("block ", header.number,
                            ": transactions root mismatch: the header "
                            "commits to ",
                            HexEncode0x(header.transactions_root), " but the ",
                            block.transactions.size(), " transactions give ",
                            HexEncode0x(*tx_root)));
  }
  GNR_ASSIGN_OR_RETURN(std::vector<RpcReceipt> receipts, BlockReceipts(claimed->block_hash, block));
  if (receipts.size() != block.transactions.size()) {
    return Lie(absl::StrCat("block ", header.number, " has ", block.transactions.size(),
                            " transactions but ", receipts.size(), " receipts"));
  }
  absl::Status root = VerifyReceiptsRoot(header, claimed->block_hash, receipts);
  if (!root.ok()) return Lie(StdView(root.message()));
  const RpcReceipt& proven = receipts[index];
  if (proven.transaction_hash != tx_hash || !(proven.receipt == claimed->receipt)) {
    return Lie(absl::StrCat("the receipt of ", HexEncode0x(tx_hash),
                            " differs from the one in its block's receipts"));
  }
  return VerifiedReceipt{header, proven};
}

absl::StatusOr<AccountState> LightClient::VerifiedAccount(const BlockHeader& header,
                                                          const EthAddress& address) {
  GNR_ASSIGN_OR_RETURN(RpcAccountProof p,
                       rpc_.GetProof(address, {}, BlockRef::Number(header.number)));
  absl::StatusOr<AccountState> account =
      VerifyAccountProof(header.state_root, address, p.account_proof);
  if (!account.ok()) {
    if (absl::IsDataLoss(account.status())) {
      return Lie(absl::StrCat("block ", header.number, ": ", account.status().message()));
    }
    return account.status();
  }
  auto mismatch = [&](std::string_view field, const std::string& claimed,
                      const std::string& proven) {
    return Lie(absl::StrCat("block ", header.number, ": account ",
                            crypto::EthAddressToChecksumHex(address), ": the RPC claims ",
                            AbslView(field), " ", claimed, " but the proof says ", proven));
  };
  if (p.balance != account->balance) {
    return mismatch("balance", p.balance.ToDecimal(), account->balance.ToDecimal());
  }
  if (p.nonce != account->nonce) {
    return mismatch("nonce", absl::StrCat(p.nonce), absl::StrCat(account->nonce));
  }
  // For absent accounts nodes report either the empty hashes or zero: accept both.
  const Hash256 zero{};
  if (p.code_hash != account->code_hash && !(!account->exists && p.code_hash == zero)) {
    return mismatch("codeHash", HexEncode0x(p.code_hash), HexEncode0x(account->code_hash));
  }
  if (p.storage_hash != account->storage_root && !(!account->exists && p.storage_hash == zero)) {
    return mismatch("storageHash", HexEncode0x(p.storage_hash), HexEncode0x(account->storage_root));
  }
  return account;
}

absl::StatusOr<std::vector<U256>> LightClient::VerifiedStorage(const BlockHeader& header,
                                                               const EthAddress& address,
                                                               std::span<const Hash256> slots) {
  GNR_ASSIGN_OR_RETURN(RpcAccountProof p,
                       rpc_.GetProof(address, slots, BlockRef::Number(header.number)));
  absl::StatusOr<AccountState> account =
      VerifyAccountProof(header.state_root, address, p.account_proof);
  if (!account.ok()) {
    if (absl::IsDataLoss(account.status())) {
      return Lie(absl::StrCat("block ", header.number, ": ", account.status().message()));
    }
    return account.status();
  }
  if (p.storage_proofs.size() != slots.size()) {
    return Lie(
        absl::StrCat("asked for ", slots.size(), " storage proofs, got ", p.storage_proofs.size()));
  }
  std::vector<U256> values;
  values.reserve(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const RpcStorageProof& sp = p.storage_proofs[i];
    if (sp.key != slots[i]) {
      return Lie(absl::StrCat("storage proof ", i, " is for slot ", HexEncode0x(sp.key), ", not ",
                              HexEncode0x(slots[i])));
    }
    absl::StatusOr<U256> v = VerifyStorageProof(account->storage_root, slots[i], sp.proof);
    if (!v.ok()) {
      if (absl::IsDataLoss(v.status())) {
        return Lie(absl::StrCat("block ", header.number, ": contract ",
                                crypto::EthAddressToChecksumHex(address), ": ",
                                v.status().message()));
      }
      return v.status();
    }
    if (*v != sp.value) {
      return Lie(absl::StrCat("block ", header.number, ": slot ", HexEncode0x(slots[i]), " of ",
                              crypto::EthAddressToChecksumHex(address), ": the RPC claims ",
                              sp.value.ToQuantity(), " but the proof says ", v->ToQuantity()));
    }
    values.push_back(*v);
  }
  return values;
}

absl::StatusOr<Hash256> ComputeTransactionsRoot(std::span<const RpcTransaction> transactions) {
  std::vector<Bytes> encoded;
  encoded.reserve(transactions.size());
  for (size_t i = 0; i < transactions.size(); ++i) {
    absl::StatusOr<SignedTransaction> signed_tx = transactions[i].ToSignedTransaction();
    if (!signed_tx.ok()) {
      if (absl::IsUnimplemented(signed_tx.status())) return signed_tx.status();
      return absl::DataLossError(absl::StrCat("transaction ", i, " (",
                                              HexEncode0x(transactions[i].hash),
                                              ") is malformed: ", signed_tx.status().message()));
    }
    Bytes raw = signed_tx->Encode();
    Hash256 h = crypto::Keccak256(raw);
    if (h != transactions[i].hash) {
      return absl::DataLossError(absl::StrCat("transaction ", i, ": the RPC reports hash ",
                                              HexEncode0x(transactions[i].hash),
                                              " but its fields encode to ", HexEncode0x(h)));
    }
    encoded.push_back(std::move(raw));
  }
  return ComputeOrderedTrieRoot(encoded);
}

}  // namespace gnr::chain
