#include "chain-client/abi.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace gnr::chain {
namespace {

constexpr size_t kMaxTypeDepth = 32;
constexpr size_t kMaxFixedArrayLength = 1 << 16;
constexpr size_t kWord = 32;

absl::Status AbiErr(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ABI: ", AbslView(what)));
}

// ---- Type parsing ---------------------------------------------------------------------------

class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  absl::StatusOr<AbiType> ParseAll() {
    GNR_ASSIGN_OR_RETURN(AbiType t, ParseType(0));
    if (pos_ != text_.size()) return Error("unexpected character");
    return t;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return AbiErr(absl::StrCat(AbslView(what), " at position ", pos_, " of type \"",
                               AbslView(text_.substr(0, 200)), "\""));
  }

  absl::StatusOr<AbiType> ParseType(size_t depth) {
    if (depth > kMaxTypeDepth) return Error("type nested too deeply");
    AbiType base = AbiType::Bool();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      std::vector<AbiType> components;
      if (pos_ < text_.size() && text_[pos_] == ')') {
        ++pos_;
      } else {
        while (true) {
          GNR_ASSIGN_OR_RETURN(AbiType c, ParseType(depth + 1));
          components.push_back(std::move(c));
          if (pos_ < text_.size() && text_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < text_.size() && text_[pos_] == ')') {
            ++pos_;
            break;
          }
          return Error("expected ',' or ')' in tuple");
        }
      }
      base = AbiType::Tuple(std::move(components));
    } else {
      GNR_ASSIGN_OR_RETURN(base, ParseElementary());
    }
    // Array suffixes, applied left to right: "uint8[2][]" is a dynamic array of uint8[2].
    size_t suffixes = 0;
    while (pos_ < text_.size() && text_[pos_] == '[') {
      if (++suffixes + depth > kMaxTypeDepth) return Error("type nested too deeply");
      ++pos_;
      size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      if (pos_ >= text_.size() || text_[pos_] != ']') return Error("expected ']'");
      std::string_view digits = text_.substr(start, pos_ - start);
      ++pos_;
      if (digits.empty()) {
        base = AbiType::Array(std::move(base));
        continue;
      }
      if (digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) {
        return Error("bad fixed array length");
      }
      size_t n = 0;
      for (char c : digits) n = n * 10 + static_cast<size_t>(c - '0');
      if (n == 0 || n > kMaxFixedArrayLength) return Error("fixed array length out of range");
      base = AbiType::FixedArray(std::move(base), n);
    }
    return base;
  }

  absl::StatusOr<AbiType> ParseElementary() {
    size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') ||
                                   (text_[pos_] >= '0' && text_[pos_] <= '9'))) {
      ++pos_;
    }
    std::string_view word = text_.substr(start, pos_ - start);
    if (word.empty()) return Error("expected a type name");
    auto number_after = [&](std::string_view prefix) -> std::optional<int> {
      std::string_view digits = word.substr(prefix.size());
      if (digits.empty() || digits.size() > 3 || digits[0] == '0') return std::nullopt;
      int n = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
      }
      return n;
    };
    if (word == "address") return AbiType::Address();
    if (word == "bool") return AbiType::Bool();
    if (word == "string") return AbiType::String();
    if (word == "bytes") return AbiType::Bytes();
    if (word == "byte") return AbiType::FixedBytes(1);
    if (word == "uint") return AbiType::Uint(256);
    if (word == "int") return AbiType::Int(256);
    if (word.starts_with("uint") || word.starts_with("int")) {
      bool is_uint = word.starts_with("uint");
      std::optional<int> bits = number_after(is_uint ? "uint" : "int");
      if (!bits || *bits % 8 != 0 || *bits < 8 || *bits > 256) {
        pos_ = start;
        return Error("integer width must be 8..256 in steps of 8");
      }
      return is_uint ? AbiType::Uint(*bits) : AbiType::Int(*bits);
    }
    if (word.starts_with("bytes")) {
      std::optional<int> n = number_after("bytes");
      if (!n || *n < 1 || *n > 32) {
        pos_ = start;
        return Error("bytes<M> needs 1 <= M <= 32");
      }
      return AbiType::FixedBytes(static_cast<size_t>(*n));
    }
    pos_ = start;
    return Error(absl::StrCat("unsupported type \"", AbslView(word), "\""));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---- Encoding -------------------------------------------------------------------------------

void AppendWord(Bytes& out, const U256& v) {
  FixedBytes<32> w = v.ToBigEndian32();
  out.insert(out.end(), w.begin(), w.end());
}

void AppendPadded(Bytes& out, ByteView data) {
  Append(out, data);
  out.resize(out.size() + (kWord - data.size() % kWord) % kWord, 0);
}

// True iff `w` is a valid int<bits> in two's complement (sign-extended to 256 bits).
bool FitsSigned(const U256& w, int bits) {
  if (bits == 256) return true;
  U256 top = w >> (bits - 1);  // the sign bit and everything above it
  return top.IsZero() || top == (U256::Max() >> (bits - 1));
}

bool FitsUnsigned(const U256& w, int bits) { return bits == 256 || (w >> bits).IsZero(); }

absl::Status EncodeValue(const AbiType& type, const AbiValue& value, Bytes& out,
                         const std::string& where);

absl::Status EncodeSequence(std::span<const AbiType* const> types, std::span<const AbiValue> values,
                            Bytes& out, const std::string& where) {
  if (types.size() != values.size()) {
    return AbiErr(absl::StrCat(where, ": expected ", types.size(), " values, got ", values.size()));
  }
  size_t head_size = 0;
  for (const AbiType* t : types) head_size += t->HeadSize();
  Bytes head, tail;
  head.reserve(head_size);
  for (size_t i = 0; i < types.size(); ++i) {
    std::string here = absl::StrCat(where, "[", i, "]");
    if (types[i]->IsDynamic()) {
      AppendWord(head, U256(head_size + tail.size()));
      GNR_RETURN_IF_ERROR(EncodeValue(*types[i], values[i], tail, here));
    } else {
      GNR_RETURN_IF_ERROR(EncodeValue(*types[i], values[i], head, here));
    }
  }
  Append(out, head);
  Append(out, tail);
  return absl::OkStatus();
}

absl::Status Mismatch(const AbiType& type, const AbiValue& value, const std::string& where,
                      std::string_view detail = "") {
  return AbiErr(absl::StrCat(where, ": value ", value.DebugString().substr(0, 80),
                             " does not fit type ", type.CanonicalName(),
                             detail.empty() ? "" : " (", AbslView(detail),
                             detail.empty() ? "" : ")"));
}

absl::Status EncodeValue(const AbiType& type, const AbiValue& value, Bytes& out,
                         const std::string& where) {
  using K = AbiType::Kind;
  switch (type.kind()) {
    case K::kUint: {
      absl::StatusOr<U256> v = value.AsUint();
      if (!v.ok()) return Mismatch(type, value, where);
      if (!FitsUnsigned(*v, type.bits())) return Mismatch(type, value, where, "out of range");
      AppendWord(out, *v);
      return absl::OkStatus();
    }
    case K::kInt: {
      absl::StatusOr<U256> v = value.AsIntWord();
      if (!v.ok()) {
        // A non-negative unsigned value is accepted for a signed type if it fits.
        v = value.AsUint();
        if (!v.ok() || (*v >> 255) != U256()) return Mismatch(type, value, where);
      }
      if (!FitsSigned(*v, type.bits())) return Mismatch(type, value, where, "out of range");
      AppendWord(out, *v);
      return absl::OkStatus();
    }
    case K::kAddress: {
      absl::StatusOr<EthAddress> a = value.AsAddress();
      if (!a.ok()) return Mismatch(type, value, where);
      out.resize(out.size() + 12, 0);
      Append(out, *a);
      return absl::OkStatus();
    }
    case K::kBool: {
      absl::StatusOr<bool> b = value.AsBool();
      if (!b.ok()) return Mismatch(type, value, where);
      AppendWord(out, U256(*b ? 1 : 0));
      return absl::OkStatus();
    }
    case K::kFixedBytes: {
      if (value.kind() != AbiValue::Kind::kFixedBytes) return Mismatch(type, value, where);
      Bytes b = *value.AsBytes();
      if (b.size() != type.size()) {
        return Mismatch(type, value, where, absl::StrCat("has ", b.size(), " bytes"));
      }
      AppendPadded(out, b);
      return absl::OkStatus();
    }
    case K::kBytes:
    case K::kString: {
      if (value.kind() != AbiValue::Kind::kBytes && value.kind() != AbiValue::Kind::kString) {
        return Mismatch(type, value, where);
      }
      Bytes b = *value.AsBytes();
      AppendWord(out, U256(b.size()));
      AppendPadded(out, b);
      return absl::OkStatus();
    }
    case K::kArray:
    case K::kFixedArray: {
      absl::StatusOr<std::span<const AbiValue>> items = value.AsArray();
      if (!items.ok()) return Mismatch(type, value, where);
      if (type.kind() == K::kFixedArray && items->size() != type.size()) {
        return Mismatch(type, value, where, absl::StrCat("has ", items->size(), " elements"));
      }
      if (type.kind() == K::kArray) AppendWord(out, U256(items->size()));
      std::vector<const AbiType*> types(items->size(), &type.element());
      return EncodeSequence(types, *items, out, where);
    }
    case K::kTuple: {
      absl::StatusOr<std::span<const AbiValue>> items = value.AsTuple();
      if (!items.ok()) return Mismatch(type, value, where);
      std::vector<const AbiType*> types;
      for (const AbiType& c : type.components()) types.push_back(&c);
      return EncodeSequence(types, *items, out, where);
    }
  }
  return AbiErr("unknown type kind");
}

// ---- Decoding -------------------------------------------------------------------------------

class Decoder {
 public:
  explicit Decoder(size_t input_size) : budget_(2 * input_size + 1024) {}

  // Decodes a sequence of values laid out as a tuple at the start of `region`.
  absl::StatusOr<std::vector<AbiValue>> DecodeSequence(std::span<const AbiType* const> types,
                                                       ByteView region, size_t base, size_t depth) {
    if (depth > kMaxTypeDepth + 2) return Error(base, "nesting too deep");
    std::vector<AbiValue> values;
    values.reserve(types.size());
    size_t pos = 0;
    for (const AbiType* type : types) {
      if (type->IsDynamic()) {
        GNR_ASSIGN_OR_RETURN(uint64_t offset, ReadSize(region, pos, base, "offset"));
        if (offset > region.size()) {
          return Error(base + pos, absl::StrCat("offset ", offset, " points past the end (",
                                                region.size(), " bytes)"));
        }
        GNR_ASSIGN_OR_RETURN(AbiValue v,
                             DecodeValue(*type, region.subspan(offset), base + offset, depth));
        values.push_back(std::move(v));
        pos += kWord;
      } else {
        const size_t head = type->HeadSize();
        if (head > region.size() - std::min(pos, region.size())) {
          return Error(base + pos, absl::StrCat("data too short for ", type->CanonicalName()));
        }
        GNR_ASSIGN_OR_RETURN(AbiValue v,
                             DecodeValue(*type, region.subspan(pos), base + pos, depth));
        values.push_back(std::move(v));
        pos += head;
      }
    }
    return values;
  }

 private:
  absl::Status Error(size_t offset, std::string_view what) const {
    return AbiErr(absl::StrCat(AbslView(what), " at byte ", offset));
  }

  absl::Status Charge(size_t amount, size_t offset) {
    if (amount > budget_) {
      return Error(offset, "decoded data exceeds what the input can hold (aliased offsets?)");
    }
    budget_ -= amount;
    return absl::OkStatus();
  }

  absl::StatusOr<U256> ReadWord(ByteView region, size_t pos, size_t base) {
    if (pos > region.size() || region.size() - pos < kWord) {
      return Error(base + pos, "data too short for a 32-byte word");
    }
    FixedBytes<32> w;
    std::copy_n(region.begin() + pos, kWord, w.begin());
    return U256::FromBigEndian32(w);
  }

  // A word used as an offset or length: must fit comfortably in size_t.
  absl::StatusOr<uint64_t> ReadSize(ByteView region, size_t pos, size_t base,
                                    std::string_view what) {
    GNR_ASSIGN_OR_RETURN(U256 w, ReadWord(region, pos, base));
    std::optional<uint64_t> v = w.ToUint64();
    if (!v || *v > (uint64_t{1} << 40)) {
      return Error(base + pos, absl::StrCat(AbslView(what), " ", w.ToQuantity().substr(0, 20),
                                            " is out of range"));
    }
    return *v;
  }

  absl::StatusOr<AbiValue> DecodeValue(const AbiType& type, ByteView region, size_t base,
                                       size_t depth) {
    using K = AbiType::Kind;
    switch (type.kind()) {
      case K::kUint: {
        GNR_RETURN_IF_ERROR(Charge(kWord, base));
        GNR_ASSIGN_OR_RETURN(U256 w, ReadWord(region, 0, base));
        if (!FitsUnsigned(w, type.bits())) {
          return Error(base, absl::StrCat("value out of range for ", type.CanonicalName()));
        }
        return AbiValue::Uint(w);
      }
      case K::kInt: {
        GNR_RETURN_IF_ERROR(Charge(kWord, base));
        GNR_ASSIGN_OR_RETURN(U256 w, ReadWord(region, 0, base));
        if (!FitsSigned(w, type.bits())) {
          return Error(base, absl::StrCat("value not sign-extended for ", type.CanonicalName()));
        }
        return AbiValue::IntWord(w);
      }
      case K::kAddress: {
        GNR_RETURN_IF_ERROR(Charge(kWord, base));
        GNR_ASSIGN_OR_RETURN(U256 w, ReadWord(region, 0, base));
        if (!FitsUnsigned(w, 160)) return Error(base, "address with non-zero upper 12 bytes");
        FixedBytes<32> be = w.ToBigEndian32();
        EthAddress a;
        std::copy(be.begin() + 12, be.end(), a.begin());
        return AbiValue::Address(a);
      }
      case K::kBool: {
        GNR_RETURN_IF_ERROR(Charge(kWord, base));
        GNR_ASSIGN_OR_RETURN(U256 w, ReadWord(region, 0, base));
        if (w > U256(1)) return Error(base, "bool that is neither 0 nor 1");
        return AbiValue::Bool(w == U256(1));
      }
      case K::kFixedBytes: {
        GNR_RETURN_IF_ERROR(Charge(kWord, base));
        if (region.size() < kWord) return Error(base, "data too short for a 32-byte word");
        ByteView word = region.first(kWord);
        if (std::any_of(word.begin() + type.size(), word.end(), [](uint8_t b) { return b != 0; })) {
          return Error(base, absl::StrCat("non-zero padding in ", type.CanonicalName()));
        }
        return AbiValue::FixedBytes(word.first(type.size()));
      }
      case K::kBytes:
      case K::kString: {
        GNR_ASSIGN_OR_RETURN(uint64_t len, ReadSize(region, 0, base, "length"));
        if (len > region.size() - kWord) {
          return Error(base, absl::StrCat("length ", len, " runs past the end (",
                                          region.size() - kWord, " bytes left)"));
        }
        GNR_RETURN_IF_ERROR(Charge(kWord + len, base));
        ByteView data = region.subspan(kWord, len);
        return type.kind() == K::kBytes ? AbiValue::Bytes(data)
                                        : AbiValue::String(AsStringView(data));
      }
      case K::kArray:
      case K::kFixedArray: {
        size_t count = type.size();
        ByteView elements = region;
        size_t elements_base = base;
        if (type.kind() == K::kArray) {
          GNR_ASSIGN_OR_RETURN(uint64_t n, ReadSize(region, 0, base, "array length"));
          GNR_RETURN_IF_ERROR(Charge(kWord, base));
          elements = region.subspan(kWord);
          elements_base = base + kWord;
          // Every element needs at least its head in the input; this bounds allocation.
          const size_t head = std::max<size_t>(type.element().HeadSize(), 1);
          if (n > elements.size() / head) {
            return Error(base, absl::StrCat("array length ", n, " exceeds the data (",
                                            elements.size(), " bytes)"));
          }
          count = static_cast<size_t>(n);
          GNR_RETURN_IF_ERROR(Charge(count, base));
        }
        std::vector<const AbiType*> types(count, &type.element());
        GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> items,
                             DecodeSequence(types, elements, elements_base, depth + 1));
        return AbiValue::Array(std::move(items));
      }
      case K::kTuple: {
        std::vector<const AbiType*> types;
        for (const AbiType& c : type.components()) types.push_back(&c);
        GNR_ASSIGN_OR_RETURN(std::vector<AbiValue> items,
                             DecodeSequence(types, region, base, depth + 1));
        return AbiValue::Tuple(std::move(items));
      }
    }
    return Error(base, "unknown type kind");
  }

  size_t budget_;
};

std::string Sanitize(std::string_view s, size_t max_len = 512) {
  std::string out;
  for (char c : s.substr(0, max_len)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (s.size() > max_len) out += "...";
  return out;
}

std::string PanicDescription(const U256& code) {
  std::optional<uint64_t> c = code.ToUint64();
  if (!c) return "unknown panic code";
  switch (*c) {
    case 0x00:
      return "generic compiler panic";
    case 0x01:
      return "assertion failed";
    case 0x11:
      return "arithmetic overflow or underflow";
    case 0x12:
      return "division or modulo by zero";
    case 0x21:
      return "invalid enum value";
    case 0x22:
      return "corrupt storage byte array";
    case 0x31:
      return "pop() on an empty array";
    case 0x32:
      return "array index out of bounds";
    case 0x41:
      return "out of memory";
    case 0x51:
      return "call to an uninitialized function";
    default:
      return "unknown panic code";
  }
}

}  // namespace

// ---- AbiType --------------------------------------------------------------------------------

absl::StatusOr<AbiType> AbiType::Parse(std::string_view text) {
  if (text.size() > 4096) return AbiErr("type string too long");
  return TypeParser(text).ParseAll();
}

AbiType AbiType::Array(AbiType element) {
  AbiType t(Kind::kArray, 0, 0);
  t.components_.push_back(std::move(element));
  return t;
}

AbiType AbiType::FixedArray(AbiType element, size_t length) {
  AbiType t(Kind::kFixedArray, 0, length);
  t.components_.push_back(std::move(element));
  return t;
}

AbiType AbiType::Tuple(std::vector<AbiType> components) {
  AbiType t(Kind::kTuple, 0, 0);
  t.components_ = std::move(components);
  return t;
}

std::string AbiType::CanonicalName() const {
  switch (kind_) {
    case Kind::kUint:
      return absl::StrCat("uint", bits_);
    case Kind::kInt:
      return absl::StrCat("int", bits_);
    case Kind::kAddress:
      return "address";
    case Kind::kBool:
      return "bool";
    case Kind::kFixedBytes:
      return absl::StrCat("bytes", size_);
    case Kind::kBytes:
      return "bytes";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return absl::StrCat(element().CanonicalName(), "[]");
    case Kind::kFixedArray:
      return absl::StrCat(element().CanonicalName(), "[", size_, "]");
    case Kind::kTuple: {
      std::vector<std::string> names;
      for (const AbiType& c : components_) names.push_back(c.CanonicalName());
      return absl::StrCat("(", absl::StrJoin(names, ","), ")");
    }
  }
  return "?";
}

bool AbiType::IsDynamic() const {
  switch (kind_) {
    case Kind::kBytes:
    case Kind::kString:
    case Kind::kArray:
      return true;
    case Kind::kFixedArray:
      return element().IsDynamic();
    case Kind::kTuple:
      return std::any_of(components_.begin(), components_.end(),
                         [](const AbiType& c) { return c.IsDynamic(); });
    default:
      return false;
  }
}

size_t AbiType::HeadSize() const {
  if (IsDynamic()) return kWord;
  if (kind_ == Kind::kFixedArray) return size_ * element().HeadSize();
  if (kind_ == Kind::kTuple) {
    size_t n = 0;
    for (const AbiType& c : components_) n += c.HeadSize();
    return n;
  }
  return kWord;
}

// ---- AbiValue -------------------------------------------------------------------------------

AbiValue AbiValue::Uint(const U256& v) {
  AbiValue out;
  out.kind_ = Kind::kUint;
  out.word_ = v;
  return out;
}

AbiValue AbiValue::IntWord(const U256& twos_complement) {
  AbiValue out;
  out.kind_ = Kind::kInt;
  out.word_ = twos_complement;
  return out;
}

AbiValue AbiValue::Int(int64_t v) {
  U256 w(static_cast<uint64_t>(v));
  if (v < 0) w = w | (U256::Max() << 64);
  return IntWord(w);
}

AbiValue AbiValue::Address(const EthAddress& a) {
  AbiValue out;
  out.kind_ = Kind::kAddress;
  out.bytes_.assign(a.begin(), a.end());
  return out;
}

AbiValue AbiValue::Bool(bool b) {
  AbiValue out;
  out.kind_ = Kind::kBool;
  out.word_ = U256(b ? 1 : 0);
  return out;
}

AbiValue AbiValue::FixedBytes(ByteView b) {
  AbiValue out;
  out.kind_ = Kind::kFixedBytes;
  out.bytes_.assign(b.begin(), b.end());
  return out;
}

AbiValue AbiValue::Bytes(ByteView b) {
  AbiValue out;
  out.kind_ = Kind::kBytes;
  out.bytes_.assign(b.begin(), b.end());
  return out;
}

AbiValue AbiValue::String(std::string_view s) {
  AbiValue out;
  out.kind_ = Kind::kString;
  out.bytes_.assign(s.begin(), s.end());
  return out;
}

AbiValue AbiValue::Array(std::vector<AbiValue> elements) {
  AbiValue out;
  out.kind_ = Kind::kArray;
  out.items_ = std::move(elements);
  return out;
}

AbiValue AbiValue::Tuple(std::vector<AbiValue> components) {
  AbiValue out;
  out.kind_ = Kind::kTuple;
  out.items_ = std::move(components);
  return out;
}

absl::Status AbiValue::KindError(std::string_view wanted) const {
  return AbiErr(absl::StrCat("expected a value of kind ", AbslView(wanted), ", got ",
                             DebugString().substr(0, 80)));
}

absl::StatusOr<U256> AbiValue::AsUint() const {
  if (kind_ != Kind::kUint) return KindError("uint");
  return word_;
}

absl::StatusOr<uint64_t> AbiValue::AsUint64() const {
  if (kind_ != Kind::kUint) return KindError("uint");
  std::optional<uint64_t> v = word_.ToUint64();
  if (!v) return AbiErr(absl::StrCat("value ", word_.ToDecimal(), " does not fit in 64 bits"));
  return *v;
}

absl::StatusOr<U256> AbiValue::AsIntWord() const {
  if (kind_ != Kind::kInt) return KindError("int");
  return word_;
}

absl::StatusOr<int64_t> AbiValue::AsInt64() const {
  if (kind_ != Kind::kInt) return KindError("int");
  if (!FitsSigned(word_, 64)) return AbiErr("signed value does not fit in 64 bits");
  return static_cast<int64_t>(word_.limb(0));
}

absl::StatusOr<EthAddress> AbiValue::AsAddress() const {
  if (kind_ != Kind::kAddress || bytes_.size() != 20) return KindError("address");
  EthAddress a;
  std::copy(bytes_.begin(), bytes_.end(), a.begin());
  return a;
}

absl::StatusOr<bool> AbiValue::AsBool() const {
  if (kind_ != Kind::kBool) return KindError("bool");
  return word_ == U256(1);
}

absl::StatusOr<gnr::Bytes> AbiValue::AsBytes() const {
  if (kind_ != Kind::kFixedBytes && kind_ != Kind::kBytes && kind_ != Kind::kString) {
    return KindError("bytes");
  }
  return bytes_;
}

absl::StatusOr<std::string> AbiValue::AsString() const {
  if (kind_ != Kind::kString && kind_ != Kind::kBytes) return KindError("string");
  return std::string(bytes_.begin(), bytes_.end());
}

absl::StatusOr<std::span<const AbiValue>> AbiValue::AsArray() const {
  if (kind_ != Kind::kArray) return KindError("array");
  return std::span<const AbiValue>(items_);
}

absl::StatusOr<std::span<const AbiValue>> AbiValue::AsTuple() const {
  if (kind_ != Kind::kTuple) return KindError("tuple");
  return std::span<const AbiValue>(items_);
}

std::string AbiValue::DebugString() const {
  switch (kind_) {
    case Kind::kUint:
      return word_.ToDecimal();
    case Kind::kInt:
      if ((word_ >> 255) == U256(1)) return absl::StrCat("-", (~word_ + U256(1)).ToDecimal());
      return word_.ToDecimal();
    case Kind::kAddress: {
      if (bytes_.size() != 20) return HexEncode0x(bytes_);
      EthAddress a;
      std::copy(bytes_.begin(), bytes_.end(), a.begin());
      return crypto::EthAddressToChecksumHex(a);
    }
    case Kind::kBool:
      return word_.IsZero() ? "false" : "true";
    case Kind::kFixedBytes:
    case Kind::kBytes:
      return HexEncode0x(bytes_);
    case Kind::kString:
      return absl::StrCat("\"", Sanitize(AsStringView(bytes_)), "\"");
    case Kind::kArray:
    case Kind::kTuple: {
      std::vector<std::string> parts;
      for (const AbiValue& v : items_) parts.push_back(v.DebugString());
      return kind_ == Kind::kArray ? absl::StrCat("[", absl::StrJoin(parts, ","), "]")
                                   : absl::StrCat("(", absl::StrJoin(parts, ","), ")");
    }
  }
  return "?";
}

// ---- Encode / decode ------------------------------------------------------------------------

absl::StatusOr<Bytes> AbiEncode(std::span<const AbiType> types, std::span<const AbiValue> values) {
  std::vector<const AbiType*> ptrs;
  for (const AbiType& t : types) ptrs.push_back(&t);
  Bytes out;
  GNR_RETURN_IF_ERROR(EncodeSequence(ptrs, values, out, "argument"));
  return out;
}

absl::StatusOr<std::vector<AbiValue>> AbiDecode(std::span<const AbiType> types, ByteView data) {
  std::vector<const AbiType*> ptrs;
  for (const AbiType& t : types) ptrs.push_back(&t);
  Decoder decoder(data.size());
  return decoder.DecodeSequence(ptrs, data, 0, 0);
}

// ---- Functions, events, errors --------------------------------------------------------------

std::string AbiSignature(std::string_view name, std::span<const AbiParam> params) {
  std::vector<std::string> types;
  for (const AbiParam& p : params) types.push_back(p.type.CanonicalName());
  return absl::StrCat(AbslView(name), "(", absl::StrJoin(types, ","), ")");
}

namespace {

std::vector<AbiType> TypesOf(std::span<const AbiParam> params) {
  std::vector<AbiType> types;
  for (const AbiParam& p : params) types.push_back(p.type);
  return types;
}

FixedBytes<4> SelectorOf(const std::string& signature) {
  Hash256 h = crypto::Keccak256(AsBytes(signature));
  return {h[0], h[1], h[2], h[3]};
}

}  // namespace

absl::StatusOr<AbiFunction> AbiFunction::Parse(std::string_view signature) {
  size_t paren = signature.find('(');
  if (paren == 0 || paren == std::string_view::npos) {
    return AbiErr(absl::StrCat("bad function signature \"", AbslView(signature), "\""));
  }
  AbiFunction f;
  f.name = std::string(signature.substr(0, paren));
  GNR_ASSIGN_OR_RETURN(AbiType args, AbiType::Parse(signature.substr(paren)));
  if (args.kind() != AbiType::Kind::kTuple) {
    return AbiErr(absl::StrCat("bad function signature \"", AbslView(signature), "\""));
  }
  for (const AbiType& t : args.components()) f.inputs.push_back(AbiParam{"", t, false});
  return f;
}

FixedBytes<4> AbiFunction::Selector() const { return SelectorOf(Signature()); }

absl::StatusOr<Bytes> AbiFunction::EncodeCall(std::span<const AbiValue> args) const {
  absl::StatusOr<Bytes> encoded = AbiEncode(TypesOf(inputs), args);
  if (!encoded.ok()) return Annotate(encoded.status(), Signature());
  FixedBytes<4> sel = Selector();
  Bytes out(sel.begin(), sel.end());
  Append(out, *encoded);
  return out;
}

absl::StatusOr<std::vector<AbiValue>> AbiFunction::DecodeCall(ByteView call_data) const {
  FixedBytes<4> sel = Selector();
  if (call_data.size() < 4 || !std::equal(sel.begin(), sel.end(), call_data.begin())) {
    return AbiErr(absl::StrCat("call data does not start with the selector of ", Signature()));
  }
  return AbiDecode(TypesOf(inputs), call_data.subspan(4));
}

absl::StatusOr<std::vector<AbiValue>> AbiFunction::DecodeOutput(ByteView return_data) const {
  absl::StatusOr<std::vector<AbiValue>> out = AbiDecode(TypesOf(outputs), return_data);
  if (!out.ok()) return Annotate(out.status(), absl::StrCat("output of ", Signature()));
  return out;
}

Hash256 AbiEvent::Topic0() const { return crypto::Keccak256(AsBytes(Signature())); }

std::optional<size_t> AbiEvent::ParamIndex(std::string_view param_name) const {
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].name == param_name) return i;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<AbiValue>> AbiEvent::DecodeLog(std::span<const Hash256> topics,
                                                          ByteView data) const {
  size_t indexed = 0;
  for (const AbiParam& p : params) indexed += p.indexed ? 1 : 0;
  const size_t expected_topics = indexed + (anonymous ? 0 : 1);
  if (topics.size() != expected_topics) {
    return AbiErr(absl::StrCat("log of ", Signature(), " should have ", expected_topics,
                               " topics, has ", topics.size()));
  }
  size_t next_topic = 0;
  if (!anonymous) {
    if (topics[0] != Topic0()) {
      return AbiErr(absl::StrCat("log topic0 ", HexEncode0x(topics[0]), " is not ", Signature()));
    }
    next_topic = 1;
  }
  std::vector<AbiType> data_types;
  for (const AbiParam& p : params) {
    if (!p.indexed) data_types.push_back(p.type);
  }
  absl::StatusOr<std::vector<AbiValue>> data_values = AbiDecode(data_types, data);
  if (!data_values.ok()) {
    return Annotate(data_values.status(), absl::StrCat("data of event ", Signature()));
  }
  std::vector<AbiValue> out;
  size_t next_data = 0;
  for (const AbiParam& p : params) {
    if (!p.indexed) {
      out.push_back(std::move((*data_values)[next_data++]));
      continue;
    }
    const Hash256& topic = topics[next_topic++];
    if (p.type.IsDynamic() || p.type.kind() == AbiType::Kind::kTuple ||
        p.type.kind() == AbiType::Kind::kFixedArray) {
      out.push_back(AbiValue::FixedBytes(topic));
      continue;
    }
    std::array<AbiType, 1> one = {p.type};
    absl::StatusOr<std::vector<AbiValue>> v = AbiDecode(one, topic);
    if (!v.ok()) {
      return Annotate(v.status(), absl::StrCat("topic for ", p.name, " of ", Signature()));
    }
    out.push_back(std::move((*v)[0]));
  }
  return out;
}

FixedBytes<4> AbiError::Selector() const { return SelectorOf(Signature()); }

std::string DecodeRevertReason(ByteView data, std::span<const AbiError> errors) {
  if (data.empty()) return "execution reverted (no reason given)";
  static const FixedBytes<4> kErrorString = SelectorOf("Error(string)");  // 0x08c379a0
  static const FixedBytes<4> kPanic = SelectorOf("Panic(uint256)");       // 0x4e487b71
  if (data.size() >= 4) {
    ByteView sel = data.first(4);
    ByteView args = data.subspan(4);
    if (std::equal(sel.begin(), sel.end(), kErrorString.begin())) {
      std::array<AbiType, 1> t = {AbiType::String()};
      absl::StatusOr<std::vector<AbiValue>> v = AbiDecode(t, args);
      if (v.ok()) return absl::StrCat("execution reverted: ", Sanitize(*(*v)[0].AsString()));
    } else if (std::equal(sel.begin(), sel.end(), kPanic.begin())) {
      std::array<AbiType, 1> t = {AbiType::Uint()};
      absl::StatusOr<std::vector<AbiValue>> v = AbiDecode(t, args);
      if (v.ok()) {
        U256 code = *(*v)[0].AsUint();
        return absl::StrCat("execution reverted: panic ", code.ToQuantity(), " (",
                            PanicDescription(code), ")");
      }
    } else {
      for (const AbiError& e : errors) {
        FixedBytes<4> es = e.Selector();
        if (!std::equal(sel.begin(), sel.end(), es.begin())) continue;
        absl::StatusOr<std::vector<AbiValue>> v = AbiDecode(TypesOf(e.inputs), args);
        if (!v.ok()) break;
        std::vector<std::string> parts;
        for (const AbiValue& a : *v) parts.push_back(a.DebugString());
        return absl::StrCat("execution reverted: ", e.name, "(", absl::StrJoin(parts, ", "), ")");
      }
    }
  }
  return absl::StrCat("execution reverted with unrecognized data ",
                      HexEncode0x(data.first(std::min<size_t>(data.size(), 256))),
                      data.size() > 256 ? "..." : "");
}

// ---- AbiContract (JSON) ---------------------------------------------------------------------

namespace {

using Json = nlohmann::json;

absl::StatusOr<std::string> StringField(const Json& obj, const char* field, std::string_view where,
                                        bool required = true) {
  auto it = obj.find(field);
  if (it == obj.end()) {
    if (!required) return std::string();
    return AbiErr(absl::StrCat(AbslView(where), ": missing field \"", field, "\""));
  }
  if (!it->is_string()) {
    return AbiErr(absl::StrCat(AbslView(where), ": field \"", field, "\" is not a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<AbiType> ParamType(const Json& param, std::string_view where, size_t depth) {
  if (depth > kMaxTypeDepth) return AbiErr(absl::StrCat(AbslView(where), ": too deep"));
  GNR_ASSIGN_OR_RETURN(std::string type, StringField(param, "type", where));
  if (!type.starts_with("tuple")) return AbiType::Parse(type);
  auto comps = param.find("components");
  if (comps == param.end() || !comps->is_array()) {
    return AbiErr(absl::StrCat(AbslView(where), ": tuple without \"components\""));
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < comps->size(); ++i) {
    const Json& c = (*comps)[i];
    if (!c.is_object()) return AbiErr(absl::StrCat(AbslView(where), ": bad component"));
    GNR_ASSIGN_OR_RETURN(AbiType ct,
                         ParamType(c, absl::StrCat(AbslView(where), ".", i), depth + 1));
    names.push_back(ct.CanonicalName());
  }
  return AbiType::Parse(absl::StrCat("(", absl::StrJoin(names, ","), ")",
                                     AbslView(std::string_view(type).substr(5))));
}

absl::StatusOr<std::vector<AbiParam>> Params(const Json& entry, const char* field,
                                             std::string_view where) {
  std::vector<AbiParam> out;
  auto it = entry.find(field);
  if (it == entry.end()) return out;
  if (!it->is_array()) {
    return AbiErr(absl::StrCat(AbslView(where), ": \"", field, "\" is not an array"));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& p = (*it)[i];
    std::string here = absl::StrCat(AbslView(where), ".", field, "[", i, "]");
    if (!p.is_object()) return AbiErr(absl::StrCat(here, ": not an object"));
    AbiParam param;
    GNR_ASSIGN_OR_RETURN(param.name, StringField(p, "name", here, /*required=*/false));
    GNR_ASSIGN_OR_RETURN(param.type, ParamType(p, here, 0));
    auto indexed = p.find("indexed");
    if (indexed != p.end()) {
      if (!indexed->is_boolean()) return AbiErr(absl::StrCat(here, ": \"indexed\" not a bool"));
      param.indexed = indexed->get<bool>();
    }
    out.push_back(std::move(param));
  }
  return out;
}

}  // namespace

absl::StatusOr<AbiContract> AbiContract::FromJson(std::string_view json_text) {
  Json json = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return AbiErr("contract ABI is not valid JSON");
  if (!json.is_array()) return AbiErr("contract ABI must be a JSON array");
  AbiContract contract;
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& entry = json[i];
    std::string where = absl::StrCat("ABI entry ", i);
    if (!entry.is_object()) return AbiErr(absl::StrCat(where, ": not an object"));
    GNR_ASSIGN_OR_RETURN(std::string type, StringField(entry, "type", where, false));
    if (type.empty()) type = "function";  // solc's old default
    if (type == "function") {
      AbiFunction f;
      GNR_ASSIGN_OR_RETURN(f.name, StringField(entry, "name", where));
      where = absl::StrCat(where, " (", f.name, ")");
      GNR_ASSIGN_OR_RETURN(f.inputs, Params(entry, "inputs", where));
      GNR_ASSIGN_OR_RETURN(f.outputs, Params(entry, "outputs", where));
      GNR_ASSIGN_OR_RETURN(f.state_mutability, StringField(entry, "stateMutability", where, false));
      contract.functions_.push_back(std::move(f));
    } else if (type == "event") {
      AbiEvent e;
      GNR_ASSIGN_OR_RETURN(e.name, StringField(entry, "name", where));
      where = absl::StrCat(where, " (", e.name, ")");
      GNR_ASSIGN_OR_RETURN(e.params, Params(entry, "inputs", where));
      auto anon = entry.find("anonymous");
      if (anon != entry.end() && anon->is_boolean()) e.anonymous = anon->get<bool>();
      contract.events_.push_back(std::move(e));
    } else if (type == "error") {
      AbiError e;
      GNR_ASSIGN_OR_RETURN(e.name, StringField(entry, "name", where));
      GNR_ASSIGN_OR_RETURN(e.inputs, Params(entry, "inputs", where));
      contract.errors_.push_back(std::move(e));
    } else if (type == "constructor") {
      GNR_ASSIGN_OR_RETURN(contract.constructor_inputs_, Params(entry, "inputs", where));
    }
    // fallback / receive carry nothing we need.
  }
  return contract;
}

const AbiFunction* AbiContract::FindFunction(std::string_view name_or_signature) const {
  const bool by_signature = name_or_signature.find('(') != std::string_view::npos;
  for (const AbiFunction& f : functions_) {
    if (by_signature ? f.Signature() == name_or_signature : f.name == name_or_signature) return &f;
  }
  return nullptr;
}

const AbiEvent* AbiContract::FindEvent(std::string_view name) const {
  for (const AbiEvent& e : events_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const AbiEvent* AbiContract::FindEventByTopic(const Hash256& topic0) const {
  for (const AbiEvent& e : events_) {
    if (!e.anonymous && e.Topic0() == topic0) return &e;
  }
  return nullptr;
}

}  // namespace gnr::chain
