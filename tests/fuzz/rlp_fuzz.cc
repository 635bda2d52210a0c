// Fuzzes the RLP decoder and the decoders built on it (raw signed transactions, receipts,
// Merkle-Patricia proofs): untrusted bytes from any RPC. They must never crash; anything
// RlpDecode accepts is canonical, so re-encoding it gives back the same bytes; a decoded
// transaction or receipt re-encodes to its input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "chain-client/receipt.h"
#include "chain-client/rlp.h"
#include "chain-client/transaction.h"
#include "chain-client/trie.h"

namespace {

using namespace gnr;
using namespace gnr::chain;

Bytes Reencode(const RlpItem& item) {
  if (item.is_string()) return RlpEncodeBytes(item.payload());
  std::vector<Bytes> children;
  for (const RlpItem& c : item.items()) children.push_back(Reencode(c));
  return RlpEncodeList(children);
}

void Touch(const RlpItem& item) {
  (void)item.AsUint64();
  (void)item.AsU256();
  (void)item.AsFixed<32>();
  for (const RlpItem& c : item.items()) Touch(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView in(data, size);
  if (absl::StatusOr<RlpItem> item = RlpDecode(in); item.ok()) {
    if (Reencode(*item) != Bytes(in.begin(), in.end())) __builtin_trap();
    Touch(*item);
  }
  (void)RlpDecodeHeader(in);
  if (absl::StatusOr<SignedTransaction> tx = DecodeSignedTransaction(in); tx.ok()) {
    if (tx->Encode() != Bytes(in.begin(), in.end())) __builtin_trap();
    (void)RecoverSender(*tx);
  }
  if (absl::StatusOr<Receipt> r = DecodeReceipt(in); r.ok()) {
    if (r->Encode() != Bytes(in.begin(), in.end())) __builtin_trap();
  }
  // The input as a proof: nodes separated at every 0xff byte, the key is the first 8 bytes.
  std::vector<Bytes> proof(1);
  for (uint8_t b : in) {
    if (b == 0xff && proof.size() < 16) {
      proof.emplace_back();
    } else {
      proof.back().push_back(b);
    }
  }
  const Hash256 root = proof.empty() ? Hash256{} : crypto::Keccak256(proof[0]);
  (void)VerifyTrieProof(root, in.first(std::min<size_t>(in.size(), 8)), proof);
  return 0;
}
