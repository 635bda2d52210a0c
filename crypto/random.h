#pragma once
// Randomness as an injected dependency. Key generation, nonces and sentinel keys take a
// `Random&`; production passes OsRandom(), tests pass a seeded DeterministicRandom so runs
// are reproducible.

#include <cstdint>

#include "common/bytes.h"

namespace gnr::crypto {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. Must be thread-safe in implementations shared across
  // threads (OsRandom is).
  virtual void Fill(MutableByteView out) = 0;

  Bytes Generate(size_t n) {
    Bytes out(n);
    Fill(out);
    return out;
  }
  template <size_t N>
  FixedBytes<N> Generate() {
    FixedBytes<N> out;
    Fill(out);
    return out;
  }
  uint64_t NextU64() {
    FixedBytes<8> b;
    Fill(b);
    return GetBigEndian64(b);
  }
};

// The operating system's CSPRNG (getrandom(2)). Thread-safe. Process-wide instance.
Random& OsRandom();

// A reproducible stream: SHA-256 in counter mode over a seed. NOT for secrets in production;
// for tests, simulations and fuzzing. Not thread-safe.
class DeterministicRandom final : public Random {
 public:
  explicit DeterministicRandom(uint64_t seed);
  void Fill(MutableByteView out) override;

 private:
  FixedBytes<32> seed_;
  uint64_t counter_ = 0;
  FixedBytes<32> block_{};
  size_t used_ = 32;
};

}  // namespace gnr::crypto
