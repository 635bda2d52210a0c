#include "chain-client/rlp.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

// Appends a string or list header with the given short-form base (0x80 or 0xc0).
void AppendHeader(Bytes& out, uint8_t base, size_t length) {
  if (length < 56) {
    out.push_back(static_cast<uint8_t>(base + length));
    return;
  }
  uint8_t len_bytes[8];
  int n = 0;
  for (uint64_t v = length; v != 0; v >>= 8) len_bytes[n++] = static_cast<uint8_t>(v);
  out.push_back(static_cast<uint8_t>(base + 55 + n));
  for (int i = n - 1; i >= 0; --i) out.push_back(len_bytes[i]);
}

absl::Status Malformed(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("RLP: ", AbslView(what), " at offset ", offset));
}

}  // namespace

void RlpAppendBytes(Bytes& out, ByteView bytes) {
  if (bytes.size() == 1 && bytes[0] < 0x80) {
    out.push_back(bytes[0]);
    return;
  }
  AppendHeader(out, 0x80, bytes.size());
  Append(out, bytes);
}

void RlpAppendListHeader(Bytes& out, size_t payload_size) { AppendHeader(out, 0xc0, payload_size); }

Bytes RlpEncodeBytes(ByteView bytes) {
  Bytes out;
  out.reserve(bytes.size() + 9);
  RlpAppendBytes(out, bytes);
  return out;
}

Bytes RlpEncodeUint(uint64_t v) { return RlpEncodeU256(U256(v)); }

Bytes RlpEncodeU256(const U256& v) { return RlpEncodeBytes(v.ToMinimalBigEndian()); }

Bytes RlpEncodeListPayload(ByteView payload) {
  Bytes out;
  out.reserve(payload.size() + 9);
  RlpAppendListHeader(out, payload.size());
  Append(out, payload);
  return out;
}

Bytes RlpEncodeList(std::span<const Bytes> encoded_items) {
  size_t n = 0;
  for (const Bytes& item : encoded_items) n += item.size();
  Bytes out;
  out.reserve(n + 9);
  RlpAppendListHeader(out, n);
  for (const Bytes& item : encoded_items) Append(out, item);
  return out;
}

RlpListBuilder& RlpListBuilder::AddBytes(ByteView bytes) {
  RlpAppendBytes(payload_, bytes);
  return *this;
}

RlpListBuilder& RlpListBuilder::AddUint(uint64_t v) { return AddU256(U256(v)); }

RlpListBuilder& RlpListBuilder::AddU256(const U256& v) {
  RlpAppendBytes(payload_, v.ToMinimalBigEndian());
  return *this;
}

RlpListBuilder& RlpListBuilder::AddRaw(ByteView encoded) {
  Append(payload_, encoded);
  return *this;
}

RlpListBuilder& RlpListBuilder::AddEmptyList() {
  payload_.push_back(0xc0);
  return *this;
}

// ---- Decoding -------------------------------------------------------------------------------

absl::StatusOr<RlpHeader> RlpDecodeHeader(ByteView input) {
  if (input.empty()) return Malformed(0, "unexpected end of input (empty item)");
  const uint8_t b = input[0];
  RlpHeader h;
  if (b < 0x80) {
    h.header_size = 0;
    h.payload_size = 1;
    return h;
  }
  h.is_list = b >= 0xc0;
  const uint8_t base = h.is_list ? 0xc0 : 0x80;
  const size_t short_len = b - base;
  if (short_len < 56) {
    h.header_size = 1;
    h.payload_size = short_len;
    if (!h.is_list && short_len == 1) {
      if (input.size() < 2) return Malformed(0, "string payload runs past the end of the input");
      if (input[1] < 0x80) {
        return Malformed(0, absl::StrFormat("non-canonical single byte 0x%02x encoded as a "
                                            "1-byte string",
                                            input[1]));
      }
    }
  } else {
    const size_t len_of_len = short_len - 55;  // 1..8
    if (input.size() < 1 + len_of_len) return Malformed(0, "length bytes run past the end");
    if (input[1] == 0) return Malformed(0, "non-canonical length with a leading zero byte");
    uint64_t len = 0;
    for (size_t i = 0; i < len_of_len; ++i) len = (len << 8) | input[1 + i];
    if (len < 56) {
      return Malformed(0, absl::StrCat("non-canonical long-form length ", len,
                                       " (lengths under 56 use the short form)"));
    }
    h.header_size = 1 + len_of_len;
    if (len > input.size() - h.header_size) {
      return Malformed(0, absl::StrCat(h.is_list ? "list" : "string", " length ", len,
                                       " runs past the end of the input (",
                                       input.size() - h.header_size, " bytes left)"));
    }
    h.payload_size = static_cast<size_t>(len);
    return h;
  }
  if (h.payload_size > input.size() - h.header_size) {
    return Malformed(0, absl::StrCat(h.is_list ? "list" : "string", " length ", h.payload_size,
                                     " runs past the end of the input (",
                                     input.size() - h.header_size, " bytes left)"));
  }
  return h;
}

class RlpDecoder {
 public:
  RlpDecoder(ByteView input, const RlpLimits& limits) : input_(input), limits_(limits) {}

  // Decodes the item starting at `offset`, which must end by `end`; sets *size to its
  // encoded size.
  absl::StatusOr<RlpItem> Decode(size_t offset, size_t end, size_t depth, size_t* size) {
    if (depth > limits_.max_depth) {
      return Malformed(offset, absl::StrCat("nesting deeper than ", limits_.max_depth));
    }
    if (++items_ > limits_.max_items) {
      return Malformed(offset, absl::StrCat("more than ", limits_.max_items, " items"));
    }
    ByteView rest = input_.subspan(offset, end - offset);
    absl::StatusOr<RlpHeader> header = RlpDecodeHeader(rest);
    if (!header.ok()) {
      // Re-anchor the header error's offset (relative to `rest`) to the whole input.
      return Malformed(offset, StripOffset(header.status().message()));
    }
    RlpItem item;
    item.is_list_ = header->is_list;
    item.offset_ = offset;
    *size = header->header_size + header->payload_size;
    item.encoded_ = rest.first(*size);
    item.payload_ = rest.subspan(header->header_size, header->payload_size);
    if (item.is_list_) {
      size_t pos = offset + header->header_size;
      const size_t list_end = pos + header->payload_size;
      while (pos < list_end) {
        size_t child_size = 0;
        absl::StatusOr<RlpItem> child = Decode(pos, list_end, depth + 1, &child_size);
        if (!child.ok()) return child.status();
        item.items_.push_back(*std::move(child));
        pos += child_size;
      }
    }
    return item;
  }

 private:
  // RlpDecodeHeader reports offset 0 relative to its input; strip that suffix.
  static std::string StripOffset(absl::string_view message) {
    std::string m(message);
    if (m.rfind("RLP: ", 0) == 0) m.erase(0, 5);
    const std::string suffix = " at offset 0";
    if (m.size() >= suffix.size() &&
        m.compare(m.size() - suffix.size(), suffix.size(), suffix) == 0) {
      m.resize(m.size() - suffix.size());
    }
    return m;
  }

  ByteView input_;
  const RlpLimits& limits_;
  size_t items_ = 0;
};

absl::StatusOr<RlpItem> RlpDecode(ByteView input, const RlpLimits& limits) {
  RlpDecoder decoder(input, limits);
  size_t size = 0;
  absl::StatusOr<RlpItem> item = decoder.Decode(0, input.size(), 0, &size);
  if (!item.ok()) return item.status();
  if (size != input.size()) {
    return Malformed(size, absl::StrCat(input.size() - size, " trailing bytes after the item"));
  }
  return item;
}

absl::Status RlpItem::NotAStringError() const {
  return Malformed(offset_, "expected a byte string, got a list");
}

absl::Status RlpFixedSizeError(size_t expected, size_t got, size_t offset) {
  return Malformed(offset,
                   absl::StrCat("expected a ", expected, "-byte string, got ", got, " bytes"));
}

absl::StatusOr<ByteView> RlpItem::AsBytes() const {
  if (is_list_) return NotAStringError();
  return payload_;
}

absl::StatusOr<uint64_t> RlpItem::AsUint64() const {
  if (is_list_) return NotAStringError();
  if (!payload_.empty() && payload_[0] == 0) {
    return Malformed(offset_, "non-canonical integer with a leading zero byte");
  }
  if (payload_.size() > 8) {
    return Malformed(offset_,
                     absl::StrCat("integer of ", payload_.size(), " bytes overflows 64 bits"));
  }
  uint64_t v = 0;
  for (uint8_t b : payload_) v = (v << 8) | b;
  return v;
}

absl::StatusOr<U256> RlpItem::AsU256() const {
  if (is_list_) return NotAStringError();
  if (!payload_.empty() && payload_[0] == 0) {
    return Malformed(offset_, "non-canonical integer with a leading zero byte");
  }
  if (payload_.size() > 32) {
    return Malformed(offset_,
                     absl::StrCat("integer of ", payload_.size(), " bytes overflows 256 bits"));
  }
  return U256::FromBigEndian(payload_);
}

absl::StatusOr<std::span<const RlpItem>> RlpItem::AsList() const {
  if (!is_list_) return Malformed(offset_, "expected a list, got a byte string");
  return std::span<const RlpItem>(items_);
}

absl::StatusOr<std::span<const RlpItem>> RlpItem::AsList(size_t expected_size) const {
  if (!is_list_) return Malformed(offset_, "expected a list, got a byte string");
  if (items_.size() != expected_size) {
    return Malformed(
        offset_, absl::StrCat("expected a list of ", expected_size, " items, got ", items_.size()));
  }
  return std::span<const RlpItem>(items_);
}

}  // namespace gnr::chain
