#pragma once
// Time as an injected dependency. Logic takes a `Clock&` and never calls absl::Now() itself,
// so tests and the DHT simulation run on virtual time.

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace gnr {

// Thread-safe source of the current time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time. Use Clock::System() rather than constructing one.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override;
};

// Returns the process-wide system clock (never destroyed).
Clock& SystemClockInstance();

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  // Starts at `start` (by default 2026-01-01T00:00:00Z, a fixed instant so that tests are
  // reproducible).
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600));

  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gnr
