#pragma once
// The byte vocabulary of gnrfs: owned buffers (Bytes), borrowed read-only views (ByteView),
// borrowed mutable views (MutableByteView) and fixed-size arrays (FixedBytes<N>).
//
// A ByteView never owns its memory: the caller keeps the underlying buffer alive for as long
// as the view is used.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gnr {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

template <size_t N>
using FixedBytes = std::array<uint8_t, N>;

// Views the characters of `s` as bytes (no copy).
inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Copies the characters of `s` into a new buffer.
inline Bytes ToBytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// Copies a view into a new buffer.
inline Bytes ToBytes(ByteView v) { return Bytes(v.begin(), v.end()); }

// Views bytes as characters (no copy); useful for printing and for APIs that take strings.
inline std::string_view AsStringView(ByteView v) {
  return std::string_view(reinterpret_cast<const char*>(v.data()), v.size());
}

// Appends `tail` to `out`.
inline void Append(Bytes& out, ByteView tail) { out.insert(out.end(), tail.begin(), tail.end()); }

// Returns the concatenation of the given views.
inline Bytes Concat(std::initializer_list<ByteView> parts) {
  size_t n = 0;
  for (ByteView p : parts) n += p.size();
  Bytes out;
  out.reserve(n);
  for (ByteView p : parts) Append(out, p);
  return out;
}

// Constant-time comparison for secrets (MACs, tags). Different sizes compare unequal.
bool ConstantTimeEqual(ByteView a, ByteView b);

// Big-endian fixed-width integer encodings (wire and on-disk formats are big-endian).
void PutBigEndian64(uint64_t v, MutableByteView out8);
uint64_t GetBigEndian64(ByteView in8);
void PutBigEndian32(uint32_t v, MutableByteView out4);
uint32_t GetBigEndian32(ByteView in4);

}  // namespace gnr
