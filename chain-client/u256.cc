#include "chain-client/u256.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr::chain {
namespace {

using u128 = unsigned __int128;

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Divides `v` in place by a small divisor; returns the remainder.
uint64_t DivSmall(std::array<uint64_t, 4>& v, uint64_t divisor) {
  u128 rem = 0;
  for (int i = 3; i >= 0; --i) {
    u128 cur = (rem << 64) | v[i];
    v[i] = static_cast<uint64_t>(cur / divisor);
    rem = cur % divisor;
  }
  return static_cast<uint64_t>(rem);
}

}  // namespace

absl::StatusOr<U256> U256::FromBigEndian(ByteView bytes) {
  if (bytes.size() > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("256-bit integer must be at most 32 bytes, got ", bytes.size()));
  }
  FixedBytes<32> padded{};
  std::copy(bytes.begin(), bytes.end(), padded.begin() + (32 - bytes.size()));
  return FromBigEndian32(padded);
}

U256 U256::FromBigEndian32(const FixedBytes<32>& bytes) {
  U256 out;
  for (int limb = 0; limb < 4; ++limb) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[(3 - limb) * 8 + i];
    out.limbs_[limb] = v;
  }
  return out;
}

absl::StatusOr<U256> U256::FromDecimal(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty decimal integer");
  U256 out;
  const U256 ten(10);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid decimal digit '", std::string(1, c), "' at position ", i));
    }
    std::optional<U256> times = CheckedMul(out, ten);
    std::optional<U256> next =
        times ? CheckedAdd(*times, U256(static_cast<uint64_t>(c - '0'))) : std::nullopt;
    if (!next) {
      return absl::InvalidArgumentError(
          absl::StrCat("decimal integer does not fit in 256 bits: ", AbslView(text)));
    }
    out = *next;
  }
  return out;
}

absl::StatusOr<U256> U256::FromHex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.empty()) return absl::InvalidArgumentError("hex integer has no digits");
  size_t first = text.find_first_not_of('0');
  std::string_view digits = first == std::string_view::npos ? "" : text.substr(first);
  if (digits.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex integer does not fit in 256 bits (", digits.size(), " digits)"));
  }
  U256 out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (HexDigitValue(text[i]) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid hex digit '", std::string(1, text[i]), "' at position ", i));
    }
  }
  for (char c : digits) {
    out = (out << 4) | U256(static_cast<uint64_t>(HexDigitValue(c)));
  }
  return out;
}

absl::StatusOr<U256> U256::FromQuantity(std::string_view text, bool strict) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return absl::InvalidArgumentError(absl::StrCat("quantity must be 0x-prefixed hex, got \"",
                                                   AbslView(text.substr(0, 80)), "\""));
  }
  if (strict && text.size() > 3 && text[2] == '0') {
    return absl::InvalidArgumentError(
        absl::StrCat("quantity has leading zeros: ", AbslView(text.substr(0, 80))));
  }
  return FromHex(text);
}

FixedBytes<32> U256::ToBigEndian32() const {
  FixedBytes<32> out{};
  for (int limb = 0; limb < 4; ++limb) {
    uint64_t v = limbs_[limb];
    for (int i = 7; i >= 0; --i) {
      out[(3 - limb) * 8 + i] = static_cast<uint8_t>(v);
      v >>= 8;
    }
  }
  return out;
}

Bytes U256::ToMinimalBigEndian() const {
  FixedBytes<32> full = ToBigEndian32();
  auto first = std::find_if(full.begin(), full.end(), [](uint8_t b) { return b != 0; });
  return Bytes(first, full.end());
}

std::string U256::ToDecimal() const {
  if (IsZero()) return "0";
  std::array<uint64_t, 4> v = limbs_;
  std::string out;
  auto nonzero = [&] { return (v[0] | v[1] | v[2] | v[3]) != 0; };
  while (nonzero()) {
    uint64_t chunk = DivSmall(v, 10000000000000000000ull);  // 10^19
    for (int i = 0; i < 19; ++i) {
      out.push_back(static_cast<char>('0' + chunk % 10));
      chunk /= 10;
      if (!nonzero() && chunk == 0) break;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string U256::ToQuantity() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (IsZero()) return "0x0";
  std::string out = "0x";
  bool started = false;
  for (int limb = 3; limb >= 0; --limb) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      int d = static_cast<int>((limbs_[limb] >> shift) & 0xf);
      if (d == 0 && !started) continue;
      started = true;
      out.push_back(kDigits[d]);
    }
  }
  return out;
}

int U256::BitLength() const {
  for (int limb = 3; limb >= 0; --limb) {
    if (limbs_[limb] != 0) return limb * 64 + (64 - __builtin_clzll(limbs_[limb]));
  }
  return 0;
}

std::optional<uint64_t> U256::ToUint64() const {
  if (limbs_[1] | limbs_[2] | limbs_[3]) return std::nullopt;
  return limbs_[0];
}

U256 operator+(const U256& a, const U256& b) {
  U256 out;
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    u128 sum = static_cast<u128>(a.limbs_[i]) + b.limbs_[i] + carry;
    out.limbs_[i] = static_cast<uint64_t>(sum);
    carry = static_cast<uint64_t>(sum >> 64);
  }
  return out;
}

U256 operator-(const U256& a, const U256& b) { return a + (~b + U256(1)); }

U256 operator*(const U256& a, const U256& b) {
  U256 out;
  for (int i = 0; i < 4; ++i) {
    uint64_t carry = 0;
    for (int j = 0; i + j < 4; ++j) {
      u128 cur = static_cast<u128>(a.limbs_[i]) * b.limbs_[j] + out.limbs_[i + j] + carry;
      out.limbs_[i + j] = static_cast<uint64_t>(cur);
      carry = static_cast<uint64_t>(cur >> 64);
    }
  }
  return out;
}

namespace {

// Schoolbook binary long division; 256 iterations at most. Fine for our non-hot uses
// (decimal formatting of amounts, fee arithmetic).
void DivMod(const U256& a, const U256& b, U256* quotient, U256* remainder) {
  U256 q, r;
  if (b.IsZero()) {
    *quotient = U256();
    *remainder = U256();
    return;
  }
  for (int bit = a.BitLength() - 1; bit >= 0; --bit) {
    r = r << 1;
    if ((a.limb(bit / 64) >> (bit % 64)) & 1) r = r | U256(1);
    if (r >= b) {
      r = r - b;
      q = q | (U256(1) << bit);
    }
  }
  *quotient = q;
  *remainder = r;
}

}  // namespace

U256 operator/(const U256& a, const U256& b) {
  U256 q, r;
  DivMod(a, b, &q, &r);
  return q;
}

U256 operator%(const U256& a, const U256& b) {
  U256 q, r;
  DivMod(a, b, &q, &r);
  return r;
}

U256 operator<<(const U256& a, int shift) {
  U256 out;
  if (shift < 0 || shift >= 256) return out;
  int limb_shift = shift / 64, bit_shift = shift % 64;
  for (int i = 3; i >= limb_shift; --i) {
    uint64_t v = a.limbs_[i - limb_shift] << bit_shift;
    if (bit_shift != 0 && i - limb_shift - 1 >= 0) {
      v |= a.limbs_[i - limb_shift - 1] >> (64 - bit_shift);
    }
    out.limbs_[i] = v;
  }
  return out;
}

U256 operator>>(const U256& a, int shift) {
  U256 out;
  if (shift < 0 || shift >= 256) return out;
  int limb_shift = shift / 64, bit_shift = shift % 64;
  for (int i = 0; i + limb_shift < 4; ++i) {
    uint64_t v = a.limbs_[i + limb_shift] >> bit_shift;
    if (bit_shift != 0 && i + limb_shift + 1 < 4) {
      v |= a.limbs_[i + limb_shift + 1] << (64 - bit_shift);
    }
    out.limbs_[i] = v;
  }
  return out;
}

U256 operator&(const U256& a, const U256& b) {
  U256 out;
  for (int i = 0; i < 4; ++i) out.limbs_[i] = a.limbs_[i] & b.limbs_[i];
  return out;
}

U256 operator|(const U256& a, const U256& b) {
  U256 out;
  for (int i = 0; i < 4; ++i) out.limbs_[i] = a.limbs_[i] | b.limbs_[i];
  return out;
}

U256 operator~(const U256& a) {
  U256 out;
  for (int i = 0; i < 4; ++i) out.limbs_[i] = ~a.limbs_[i];
  return out;
}

std::strong_ordering operator<=>(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] <=> b.limbs_[i];
  }
  return std::strong_ordering::equal;
}

std::optional<U256> CheckedAdd(const U256& a, const U256& b) {
  U256 sum = a + b;
  if (sum < a) return std::nullopt;
  return sum;
}

std::optional<U256> CheckedSub(const U256& a, const U256& b) {
  if (b > a) return std::nullopt;
  return a - b;
}

std::optional<U256> CheckedMul(const U256& a, const U256& b) {
  if (a.IsZero() || b.IsZero()) return U256();
  if (a.BitLength() + b.BitLength() > 257) return std::nullopt;
  U256 product = a * b;
  if (product / b != a) return std::nullopt;
  return product;
}

std::string FormatUnits(const U256& wei, int decimals) {
  if (decimals <= 0) return wei.ToDecimal();
  std::string digits = wei.ToDecimal();
  if (static_cast<int>(digits.size()) <= decimals) {
    digits.insert(0, decimals + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - decimals);
  std::string frac = digits.substr(digits.size() - decimals);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return frac.empty() ? whole : absl::StrCat(whole, ".", frac);
}

absl::StatusOr<U256> ParseUnits(std::string_view text, int decimals) {
  std::string_view whole = text, frac;
  if (size_t dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    frac = text.substr(dot + 1);
  }
  if (whole.empty() && frac.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid amount \"", AbslView(text), "\""));
  }
  if (static_cast<int>(frac.size()) > std::max(decimals, 0)) {
    return absl::InvalidArgumentError(absl::StrCat("amount \"", AbslView(text), "\" has more than ",
                                                   decimals, " decimal places"));
  }
  std::string digits = absl::StrCat(whole.empty() ? "0" : AbslView(whole), AbslView(frac));
  digits.append(static_cast<size_t>(std::max(decimals, 0)) - frac.size(), '0');
  absl::StatusOr<U256> v = U256::FromDecimal(digits);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid amount \"", AbslView(text), "\": ", v.status().message()));
  }
  return v;
}

}  // namespace gnr::chain
