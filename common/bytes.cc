#include "common/bytes.h"

namespace gnr {

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

void PutBigEndian64(uint64_t v, MutableByteView out8) {
  for (int i = 7; i >= 0; --i) {
    out8[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(ByteView in8) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in8[i];
  return v;
}

void PutBigEndian32(uint32_t v, MutableByteView out4) {
  for (int i = 3; i >= 0; --i) {
    out4[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint32_t GetBigEndian32(ByteView in4) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | in4[i];
  return v;
}

}  // namespace gnr
