#pragma once
// The pure parts of the shell tools (gnr put / get, tools/shell_command.cc): the progress
// bar shown on a terminal during long transfers, and the byte counts and ranges they take.
//
// FormatProgressLine and the parsers are pure and thread-safe. A ProgressBar is used by one
// thread at a time (the transfer loop); it writes to the FILE* it was given, which it does
// not own.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace gnr::tools {

// "0 B/s", "512 B/s", "12.3 MiB/s" (powers of 1024, one decimal).
std::string FormatRate(double bytes_per_second);

// "0:09", "12:34", "1:02:03"; "--:--" when unknown (nullopt) or beyond 99 hours.
std::string FormatEta(std::optional<absl::Duration> eta);

// Time left at the average rate so far: (total - done) * elapsed / (done - start_done).
// nullopt when the total is unknown or nothing has been transferred yet; zero when done.
std::optional<absl::Duration> EstimateEta(uint64_t start_done, uint64_t done,
                                          std::optional<uint64_t> total, absl::Duration elapsed);

// One line of progress, without "\r" or newline, at most `width` columns (clipped on very
// narrow terminals), e.g. with a known total:
//   "upload  42% [==========>             ] 84.0 MiB / 200.0 MiB  12.3 MiB/s  ETA 0:09"
// and without one (streams): "upload 84.0 MiB  12.3 MiB/s". The rate is the average since
// the start: (done - start_done) / elapsed, so a resumed transfer shows its own speed.
std::string FormatProgressLine(std::string_view label, uint64_t start_done, uint64_t done,
                               std::optional<uint64_t> total, absl::Duration elapsed, size_t width);

// Draws FormatProgressLine on one terminal line, redrawn in place with "\r" at most 10
// times a second (an Update within 100 ms of the last drawing is skipped, unless the label
// changed or the transfer completed). A bar constructed with out == nullptr does nothing:
// callers pass nullptr when stdout is not a TTY or with --quiet.
class ProgressBar {
 public:
  // `clock` must outlive the bar. `width` 0 means: the terminal's width ($COLUMNS or the
  // TIOCGWINSZ of `out`), else 80.
  ProgressBar(std::FILE* out, Clock& clock, std::string label, std::optional<uint64_t> total,
              uint64_t start_done = 0, size_t width = 0);
  ~ProgressBar();  // Finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Starts a new phase (e.g. "copy" -> "upload"): a new label, total and start; the clock
  // restarts, so the rate and ETA are the phase's own.
  void StartPhase(std::string label, std::optional<uint64_t> total, uint64_t start_done = 0);
  void Update(uint64_t done);
  // Draws the last state and ends the line. Idempotent; nothing when nothing was drawn.
  void Finish();

  // How many times the line was drawn (tests).
  int draws() const { return draws_; }

 private:
  void Draw(uint64_t done);

  std::FILE* out_;
  Clock& clock_;
  std::string label_;
  std::optional<uint64_t> total_;
  uint64_t start_done_ = 0;
  uint64_t done_ = 0;
  size_t width_;
  absl::Time start_;
  std::optional<absl::Time> last_draw_;
  bool finished_ = false;
  size_t last_len_ = 0;
  int draws_ = 0;
};

// A byte count for --offset / --length: decimal digits with an optional binary suffix
// K, M, G, T (also KiB, MiB, GiB, TiB, and k/m/g/t): "4096", "64K", "1M". InvalidArgument
// naming `flag` otherwise ("--offset must be a byte count like 4096 or 64K, got \"x\"").
absl::StatusOr<uint64_t> ParseByteCount(std::string_view flag, std::string_view text);

// The bytes [begin, end) of a file of `file_size` bytes that `gnr get --offset --length`
// reads. The range is clipped at the end of the file (like dd); an offset past the end is
// OutOfRange ("--offset 500 is past the end of /a (100 bytes)", naming `path`).
struct ByteRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - begin; }
};
absl::StatusOr<ByteRange> ResolveRange(uint64_t file_size, uint64_t offset,
                                       std::optional<uint64_t> length, std::string_view path);

}  // namespace gnr::tools
