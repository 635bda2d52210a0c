#include "crypto/sentinel.h"

#include <cryptopp/aes.h>
#include <cryptopp/modes.h>
#include <cryptopp/secblock.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace gnr::crypto {
namespace {

constexpr std::string_view kStreamLabel = "gnr keyed stream";
constexpr std::string_view kPositionsDomain = "positions";
constexpr std::string_view kGroupsDomain = "fingerprint groups";
constexpr std::string_view kValuesDomain = "sentinel values";

// Keystream bytes generated per refill.
constexpr size_t kBufferSize = 1024;

using AesCtrMode = CryptoPP::CTR_Mode<CryptoPP::AES>::Encryption;

// Keys `ctr` with the stream key of (key, domain) = HMAC-SHA256(key, "gnr keyed stream" ||
// 0x00 || domain), counter block zero.
void SetStreamKey(AesCtrMode& ctr, const SentinelKey& key, std::string_view domain) {
  Bytes msg;
  msg.reserve(kStreamLabel.size() + 1 + domain.size());
  Append(msg, AsBytes(kStreamLabel));
  msg.push_back(0x00);
  Append(msg, AsBytes(domain));
  Hash256 aes_key = HmacSha256(key, msg);
  const uint8_t zero_iv[CryptoPP::AES::BLOCKSIZE] = {};
  // Key and IV sizes are fixed and valid, so Crypto++ cannot throw here.
  ctr.SetKeyWithIV(aes_key.data(), aes_key.size(), zero_iv, sizeof(zero_iv));
  CryptoPP::SecureWipeBuffer(aes_key.data(), aes_key.size());
}

absl::Status CheckGroupArgs(uint64_t sentinel_count, uint32_t group_size) {
  if (group_size == 0) {
    return absl::InvalidArgumentError("fingerprint group size must be at least 1");
  }
  if (sentinel_count > kMaxFingerprintSentinels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sentinel count ", sentinel_count, " exceeds the limit of ", kMaxFingerprintSentinels));
  }
  return absl::OkStatus();
}

// A set of distinct uint64 values below UINT64_MAX, sized for `count` insertions: open
// addressing with linear probing in a power-of-two table at most half full. Much faster
// than std::unordered_set (no node per value) for Floyd's sampling.
class FlatSet {
 public:
  explicit FlatSet(uint64_t count) {
    int bits = 4;
    while ((uint64_t{1} << bits) < 2 * count) ++bits;
    slots_.assign(size_t{1} << bits, kEmpty);
    mask_ = slots_.size() - 1;
    shift_ = 64 - bits;
  }
  // Inserts v; false if it was already there.
  bool Insert(uint64_t v) {
    // Fibonacci hashing: the top bits of v * 2^64/phi.
    for (size_t h = (v * 0x9E3779B97F4A7C15u) >> shift_;; h = (h + 1) & mask_) {
      if (slots_[h] == v) return false;
      if (slots_[h] == kEmpty) {
        slots_[h] = v;
        return true;
      }
    }
  }

 private:
  static constexpr uint64_t kEmpty = UINT64_MAX;  // never a value: values < domain_size
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  int shift_ = 0;
};

// The keyed permutation of [0, n) that defines the groups: Fisher–Yates from the top.
std::vector<uint64_t> GroupPermutation(const SentinelKey& key, uint64_t n) {
  std::vector<uint64_t> perm(n);
  std::iota(perm.begin(), perm.end(), uint64_t{0});
  KeyedStream stream(key, kGroupsDomain);
  for (uint64_t i = n; i > 1; --i) {
    uint64_t j = stream.Uniform(i);
    std::swap(perm[i - 1], perm[j]);
  }
  return perm;
}

std::vector<uint64_t> SortedGroup(const std::vector<uint64_t>& perm, uint32_t group_size,
                                  uint64_t group) {
  auto begin = perm.begin() + static_cast<ptrdiff_t>(group * group_size);
  std::vector<uint64_t> members(begin, begin + group_size);
  std::sort(members.begin(), members.end());
  return members;
}

}  // namespace

Hash256 SentinelValue(const SentinelKey& key, uint64_t index) {
  return SentinelValueGenerator(key).Value(index);
}

// ---------------------------------------------------------------------------------------
// SentinelValueGenerator

struct SentinelValueGenerator::Impl {
  AesCtrMode ctr;
};

SentinelValueGenerator::SentinelValueGenerator(const SentinelKey& key)
    : impl_(std::make_unique<Impl>()) {
  SetStreamKey(impl_->ctr, key, kValuesDomain);
}

SentinelValueGenerator::~SentinelValueGenerator() = default;
SentinelValueGenerator::SentinelValueGenerator(SentinelValueGenerator&&) noexcept = default;
SentinelValueGenerator& SentinelValueGenerator::operator=(SentinelValueGenerator&&) noexcept =
    default;

void SentinelValueGenerator::Fill(uint64_t first, MutableByteView out) {
  if (out.empty()) return;
  // Value j starts at counter block 2j, a 65-bit number: be128(2 * first).
  uint8_t counter[CryptoPP::AES::BLOCKSIZE] = {};
  counter[7] = static_cast<uint8_t>(first >> 63);
  PutBigEndian64(first << 1, MutableByteView(counter + 8, 8));
  impl_->ctr.Resynchronize(counter, sizeof(counter));
  std::memset(out.data(), 0, out.size());
  impl_->ctr.ProcessData(out.data(), out.data(), out.size());  // keystream XOR 0
}

Hash256 SentinelValueGenerator::Value(uint64_t index) {
  Hash256 value;
  Fill(index, value);
  return value;
}

// ---------------------------------------------------------------------------------------
// KeyedStream

struct KeyedStream::Impl {
  AesCtrMode ctr;
  uint8_t buffer[kBufferSize];
  size_t used = kBufferSize;

  void Refill() {
    std::memset(buffer, 0, sizeof(buffer));
    ctr.ProcessData(buffer, buffer, sizeof(buffer));  // keystream XOR 0
    used = 0;
  }
  ~Impl() { CryptoPP::SecureWipeBuffer(buffer, sizeof(buffer)); }
};

KeyedStream::KeyedStream(const SentinelKey& key, std::string_view domain)
    : impl_(std::make_unique<Impl>()) {
  SetStreamKey(impl_->ctr, key, domain);
}

KeyedStream::~KeyedStream() = default;
KeyedStream::KeyedStream(KeyedStream&&) noexcept = default;
KeyedStream& KeyedStream::operator=(KeyedStream&&) noexcept = default;

void KeyedStream::Fill(MutableByteView out) {
  Impl& s = *impl_;
  while (!out.empty()) {
    if (s.used == kBufferSize) s.Refill();
    const size_t take = std::min(out.size(), kBufferSize - s.used);
    std::memcpy(out.data(), s.buffer + s.used, take);
    s.used += take;
    out = out.subspan(take);
  }
}

uint64_t KeyedStream::Next64() {
  Impl& s = *impl_;
  if (kBufferSize - s.used >= 8) {  // fast path: the word is in the buffer
    uint64_t v;
    std::memcpy(&v, s.buffer + s.used, 8);
    s.used += 8;
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    return v;  // read big-endian
  }
  uint8_t b[8];
  Fill(b);
  return GetBigEndian64(b);
}

uint64_t KeyedStream::Uniform(uint64_t bound) {
  if (bound <= 1) return 0;
  // 2^64 mod bound: values below it would make the low residues more likely; redraw them.
  const uint64_t threshold = (uint64_t{0} - bound) % bound;
  for (;;) {
    const uint64_t r = Next64();
    if (r >= threshold) return r % bound;
  }
}

// ---------------------------------------------------------------------------------------
// Positions

absl::StatusOr<std::vector<uint64_t>> SelectDistinctPositions(const SentinelKey& key,
                                                              uint64_t domain_size,
                                                              uint64_t count) {
  if (count > domain_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot select ", count, " distinct positions from a domain of ", domain_size));
  }
  if (count > kMaxSentinelPositions) {
    return absl::InvalidArgumentError(
        absl::StrCat("position count ", count, " exceeds the limit of ", kMaxSentinelPositions));
  }
  std::vector<uint64_t> out;
  out.reserve(count);
  if (count == 0) return out;
  KeyedStream stream(key, kPositionsDomain);
  // Floyd's algorithm: for j = domain-count .. domain-1, t = Uniform(j+1); take t, or j if
  // t was already taken. Yields a uniform count-subset with exactly `count` draws (plus
  // rare rejections inside Uniform). The membership set is a bitmap when that is smaller
  // than a hash set (16-32 bytes per element); the result is the same either way.
  const uint64_t start = domain_size - count;
  if (domain_size / 8 <= count * 16) {
    std::vector<uint64_t> bits(domain_size / 64 + 1, 0);
    auto test_and_set = [&bits](uint64_t v) {
      uint64_t& word = bits[v / 64];
      const uint64_t mask = uint64_t{1} << (v % 64);
      const bool was = (word & mask) != 0;
      word |= mask;
      return was;
    };
    for (uint64_t j = start; j < domain_size; ++j) {
      const uint64_t t = stream.Uniform(j + 1);
      if (test_and_set(t)) test_and_set(j);
    }
    for (uint64_t w = 0; w < bits.size(); ++w) {
      for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
        out.push_back(w * 64 + static_cast<uint64_t>(__builtin_ctzll(word)));
      }
    }
  } else {
    FlatSet taken(count);
    for (uint64_t j = start; j < domain_size; ++j) {
      const uint64_t t = stream.Uniform(j + 1);
      const uint64_t pick = taken.Insert(t) ? t : j;
      if (pick != t) taken.Insert(j);  // j exceeds every earlier pick: always new
      out.push_back(pick);
    }
    std::sort(out.begin(), out.end());
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Fingerprint groups

uint64_t FingerprintGroupCount(uint64_t sentinel_count, uint32_t group_size) {
  if (group_size == 0) return 0;
  return sentinel_count / group_size;
}

absl::StatusOr<std::vector<uint64_t>> FingerprintGroupMembers(const SentinelKey& key,
                                                              uint64_t sentinel_count,
                                                              uint32_t group_size, uint64_t group) {
  GNR_RETURN_IF_ERROR(CheckGroupArgs(sentinel_count, group_size));
  const uint64_t groups = FingerprintGroupCount(sentinel_count, group_size);
  if (group >= groups) {
    return absl::InvalidArgumentError(
        absl::StrCat("fingerprint group ", group, " is out of range: ", sentinel_count,
                     " sentinels make ", groups, " groups of ", group_size));
  }
  return SortedGroup(GroupPermutation(key, sentinel_count), group_size, group);
}

absl::StatusOr<std::vector<std::vector<uint64_t>>> FingerprintGroups(const SentinelKey& key,
                                                                     uint64_t sentinel_count,
                                                                     uint32_t group_size) {
  GNR_RETURN_IF_ERROR(CheckGroupArgs(sentinel_count, group_size));
  const uint64_t groups = FingerprintGroupCount(sentinel_count, group_size);
  const std::vector<uint64_t> perm = GroupPermutation(key, sentinel_count);
  std::vector<std::vector<uint64_t>> out;
  out.reserve(groups);
  for (uint64_t g = 0; g < groups; ++g) out.push_back(SortedGroup(perm, group_size, g));
  return out;
}

}  // namespace gnr::crypto
