#include "crypto/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto/hash.h"

namespace gnr::crypto {
namespace {

class OsRandomImpl final : public Random {
 public:
  void Fill(MutableByteView out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // Without an OS RNG no key can be made safely; this is not recoverable.
        std::fprintf(stderr, "getrandom failed: %s\n", std::strerror(errno));
        std::abort();
      }
      done += static_cast<size_t>(n);
    }
  }
};

}  // namespace

Random& OsRandom() {
  static OsRandomImpl* r = new OsRandomImpl();
  return *r;
}

DeterministicRandom::DeterministicRandom(uint64_t seed) {
  FixedBytes<8> s;
  PutBigEndian64(seed, s);
  seed_ = Sha256({AsBytes("gnr deterministic random"), s});
}

void DeterministicRandom::Fill(MutableByteView out) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (used_ == block_.size()) {
      FixedBytes<8> c;
      PutBigEndian64(counter_++, c);
      block_ = Sha256({seed_, c});
      used_ = 0;
    }
    out[i] = block_[used_++];
  }
}

}  // namespace gnr::crypto
