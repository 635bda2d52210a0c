#pragma once
// Recursive Length Prefix (RLP), Ethereum's serialization of byte strings and nested lists
// (Ethereum yellow paper, appendix B; ethereum.org "Recursive-length prefix (RLP)
// serialization").
//
// Encoding: byte strings, lists (built with RlpListBuilder) and integers. Integers are
// big-endian with leading zero bytes stripped (0 is the empty string) — this applies to every
// scalar, including the r and s values of signatures. Fixed-length fields (hashes, addresses,
// bloom filters, the header nonce) are byte strings and are never stripped: encode them with
// RlpEncodeBytes / AddBytes.
//
// Decoding is for untrusted bytes: RlpDecode never asserts or throws, and rejects every
// non-canonical form (a single byte < 0x80 wrapped as a string, long-form lengths for payloads
// under 56 bytes, lengths with leading zero bytes, lengths past the end of the input, trailing
// bytes) and inputs nested deeper or with more items than RlpLimits allows. Integer accessors
// reject leading zero bytes and values that do not fit.
//
//   Bytes tx = RlpListBuilder().AddUint(nonce).AddBytes(to).AddU256(value).Build();
//   GNR_ASSIGN_OR_RETURN(RlpItem item, RlpDecode(tx));
//   GNR_ASSIGN_OR_RETURN(auto fields, item.AsList(3));
//   GNR_ASSIGN_OR_RETURN(uint64_t n, fields[0].AsUint64());

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain-client/u256.h"
#include "common/bytes.h"

namespace gnr::chain {

// ---- Encoding -------------------------------------------------------------------------------

// Appends RLP(bytes) to `out`.
void RlpAppendBytes(Bytes& out, ByteView bytes);
// Appends the header of a list whose payload (the concatenated encodings of its items) is
// `payload_size` bytes long.
void RlpAppendListHeader(Bytes& out, size_t payload_size);

Bytes RlpEncodeBytes(ByteView bytes);
inline Bytes RlpEncodeString(std::string_view s) { return RlpEncodeBytes(AsBytes(s)); }
// Integers: minimal big-endian, 0 -> 0x80.
Bytes RlpEncodeUint(uint64_t v);
Bytes RlpEncodeU256(const U256& v);
// Wraps an already-concatenated list payload in a list header.
Bytes RlpEncodeListPayload(ByteView payload);
// The list of the given already-encoded items.
Bytes RlpEncodeList(std::span<const Bytes> encoded_items);

// Builds one RLP list item by item. Not thread-safe; cheap to create.
class RlpListBuilder {
 public:
  RlpListBuilder& AddBytes(ByteView bytes);
  RlpListBuilder& AddString(std::string_view s) { return AddBytes(AsBytes(s)); }
  RlpListBuilder& AddUint(uint64_t v);
  RlpListBuilder& AddU256(const U256& v);
  // Appends an item that is already RLP-encoded (a nested list, a precomputed field).
  // The caller guarantees `encoded` is exactly one valid RLP item.
  RlpListBuilder& AddRaw(ByteView encoded);
  // Appends an empty list (0xc0).
  RlpListBuilder& AddEmptyList();

  // The encoded list (header + payload). May be called more than once.
  Bytes Build() const { return RlpEncodeListPayload(payload_); }
  const Bytes& payload() const { return payload_; }

 private:
  Bytes payload_;
};

// ---- Decoding -------------------------------------------------------------------------------

struct RlpLimits {
  // Maximum nesting: a top-level string has depth 0, the items of a top-level list depth 1.
  size_t max_depth = 64;
  // Maximum number of items (strings and lists, at every level) in one decoded value.
  size_t max_items = 1 << 20;
};

// A decoded RLP item: either a byte string or a list of items. It holds views into the
// decoded input: the input buffer must outlive the item. Copyable; thread-compatible.
class RlpItem {
 public:
  bool is_list() const { return is_list_; }
  bool is_string() const { return !is_list_; }

  // The whole encoding of this item (header + payload), e.g. to hash a trie node or re-embed
  // it unchanged.
  ByteView encoded() const { return encoded_; }
  // The payload: the string's bytes, or the concatenated encodings of a list's items.
  ByteView payload() const { return payload_; }
  // Children of a list (empty for a string).
  const std::vector<RlpItem>& items() const { return items_; }
  // Offset of this item in the decoded input (for error messages).
  size_t offset() const { return offset_; }

  // The byte string. InvalidArgument if this is a list.
  absl::StatusOr<ByteView> AsBytes() const;
  // A byte string of exactly N bytes (hashes, addresses, bloom). InvalidArgument otherwise.
  template <size_t N>
  absl::StatusOr<FixedBytes<N>> AsFixed() const;
  // Canonical integers: no leading zero byte (0 is the empty string).
  absl::StatusOr<uint64_t> AsUint64() const;
  absl::StatusOr<U256> AsU256() const;
  // The list's items; InvalidArgument if this is a string, or if `expected_size` is given
  // and the list has another length.
  absl::StatusOr<std::span<const RlpItem>> AsList() const;
  absl::StatusOr<std::span<const RlpItem>> AsList(size_t expected_size) const;

 private:
  friend class RlpDecoder;
  absl::Status NotAStringError() const;

  bool is_list_ = false;
  ByteView encoded_;
  ByteView payload_;
  std::vector<RlpItem> items_;
  size_t offset_ = 0;
};

// Decodes `input`, which must be exactly one RLP item (trailing bytes are an error).
// InvalidArgument (message starting "RLP: " and naming the offset) on malformed or
// non-canonical input or when `limits` are exceeded.
absl::StatusOr<RlpItem> RlpDecode(ByteView input, const RlpLimits& limits = {});
// The result would point into a destroyed temporary: keep the buffer in a variable.
absl::StatusOr<RlpItem> RlpDecode(Bytes&& input, const RlpLimits& limits = {}) = delete;

// The header of the first item in `input`: whether it is a list, and where its payload is.
struct RlpHeader {
  bool is_list = false;
  size_t header_size = 0;
  size_t payload_size = 0;
};
// Parses and checks only the header of the first item of `input` (canonical length form,
// payload within `input`). For single bytes < 0x80, header_size is 0 and payload_size 1.
absl::StatusOr<RlpHeader> RlpDecodeHeader(ByteView input);

// ---- Template definitions -------------------------------------------------------------------

absl::Status RlpFixedSizeError(size_t expected, size_t got, size_t offset);

template <size_t N>
absl::StatusOr<FixedBytes<N>> RlpItem::AsFixed() const {
  if (is_list_) return NotAStringError();
  if (payload_.size() != N) return RlpFixedSizeError(N, payload_.size(), offset_);
  FixedBytes<N> out;
  std::copy(payload_.begin(), payload_.end(), out.begin());
  return out;
}

}  // namespace gnr::chain
