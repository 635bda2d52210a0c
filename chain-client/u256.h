#pragma once
// A 256-bit unsigned integer: the EVM word. Amounts of wei, gas prices, balances, ABI
// uint<N> values and storage slots are all U256.
//
// Plain value type (cheap to copy, thread-compatible). Arithmetic operators wrap modulo
// 2^256 like the EVM; the Checked* functions report overflow instead. Parsing is for
// untrusted text and returns a Status.
//
//   GNR_ASSIGN_OR_RETURN(U256 wei, U256::FromDecimal("1000000000000000000"));
//   U256 total = wei * U256(3);
//   std::string q = total.ToQuantity();  // "0x29a2241af62c0000"

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::chain {

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(uint64_t v) : limbs_{v, 0, 0, 0} {}  // NOLINT: implicit on purpose

  static constexpr U256 Max() {
    U256 m;
    m.limbs_ = {~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
    return m;
  }

  // Big-endian bytes, at most 32 (shorter inputs are left-padded with zeros; leading zero
  // bytes are allowed). InvalidArgument if longer than 32 bytes.
  static absl::StatusOr<U256> FromBigEndian(ByteView bytes);
  static U256 FromBigEndian32(const FixedBytes<32>& bytes);
  // Decimal digits only ("0", "1000"); no sign, no separators. InvalidArgument on an empty
  // string, a non-digit or a value >= 2^256.
  static absl::StatusOr<U256> FromDecimal(std::string_view text);
  // Hex digits with an optional 0x prefix, any number of leading zeros ("0x0", "0x00ff",
  // "ff"). InvalidArgument on no digits, a non-hex digit or more than 256 bits.
  static absl::StatusOr<U256> FromHex(std::string_view text);
  // An Ethereum JSON-RPC QUANTITY: "0x" followed by hex digits without leading zeros
  // ("0x0", "0x1a"). Strict form as specified; InvalidArgument otherwise. Leading zeros are
  // tolerated when `strict` is false (some nodes emit them).
  static absl::StatusOr<U256> FromQuantity(std::string_view text, bool strict = false);

  FixedBytes<32> ToBigEndian32() const;
  // Big-endian with leading zero bytes stripped: 0 -> empty (the RLP integer form).
  Bytes ToMinimalBigEndian() const;
  std::string ToDecimal() const;
  // "0x" + lower-case hex without leading zeros; 0 -> "0x0" (JSON-RPC QUANTITY).
  std::string ToQuantity() const;

  bool IsZero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  // Number of significant bits (0 for zero).
  int BitLength() const;
  // The value if it fits in 64 bits.
  std::optional<uint64_t> ToUint64() const;
  // Limb i (0 = least significant 64 bits).
  uint64_t limb(int i) const { return limbs_[i]; }

  friend U256 operator+(const U256& a, const U256& b);
  friend U256 operator-(const U256& a, const U256& b);
  friend U256 operator*(const U256& a, const U256& b);
  // Division by zero yields zero (as the EVM's DIV does).
  friend U256 operator/(const U256& a, const U256& b);
  friend U256 operator%(const U256& a, const U256& b);
  friend U256 operator<<(const U256& a, int shift);
  friend U256 operator>>(const U256& a, int shift);
  friend U256 operator&(const U256& a, const U256& b);
  friend U256 operator|(const U256& a, const U256& b);
  friend U256 operator~(const U256& a);
  U256& operator+=(const U256& b) { return *this = *this + b; }
  U256& operator-=(const U256& b) { return *this = *this - b; }
  U256& operator*=(const U256& b) { return *this = *this * b; }

  friend bool operator==(const U256& a, const U256& b) = default;
  friend std::strong_ordering operator<=>(const U256& a, const U256& b);

 private:
  std::array<uint64_t, 4> limbs_{};  // little-endian limbs
};

// Overflow-checked arithmetic: std::nullopt when the exact result is not in [0, 2^256).
std::optional<U256> CheckedAdd(const U256& a, const U256& b);
std::optional<U256> CheckedSub(const U256& a, const U256& b);
std::optional<U256> CheckedMul(const U256& a, const U256& b);

// Formats `wei` as a decimal amount with `decimals` fractional digits, trailing zeros
// trimmed: FormatUnits(1500000000000000000, 18) == "1.5"; FormatUnits(0, 18) == "0".
std::string FormatUnits(const U256& wei, int decimals = 18);
// Parses "1.5" with `decimals` fractional digits into base units (wei). InvalidArgument on
// malformed text, more fractional digits than `decimals`, or overflow.
absl::StatusOr<U256> ParseUnits(std::string_view text, int decimals = 18);

}  // namespace gnr::chain
