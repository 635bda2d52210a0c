#include "common/clock.h"

namespace gnr {

absl::Time SystemClock::Now() const { return absl::Now(); }

Clock& SystemClockInstance() {
  static SystemClock* clock = new SystemClock();
  return *clock;
}

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

void FakeClock::Set(absl::Time t) {
  absl::MutexLock lock(&mu_);
  now_ = t;
}

}  // namespace gnr
