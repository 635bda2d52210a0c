#include "tools/transfer_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace gnr::tools {
namespace {

constexpr absl::Duration kRedrawInterval = absl::Milliseconds(100);

std::string HumanSize(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return absl::StrCat(static_cast<uint64_t>(bytes), " B");
  int unit = 0;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", bytes, kUnits[unit]);
}

size_t TerminalWidth(std::FILE* out) {
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    int n = std::atoi(columns);
    if (n >= 20 && n <= 1000) return static_cast<size_t>(n);
  }
  struct winsize ws {};
  if (out != nullptr && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
    return ws.ws_col;
  }
  return 80;
}

}  // namespace

std::string FormatRate(double bytes_per_second) {
  if (!(bytes_per_second > 0) || !std::isfinite(bytes_per_second)) return "0 B/s";
  return absl::StrCat(HumanSize(bytes_per_second), "/s");
}

std::string FormatEta(std::optional<absl::Duration> eta) {
  if (!eta.has_value() || *eta < absl::ZeroDuration() || *eta >= absl::Hours(100)) return "--:--";
  int64_t s = absl::ToInt64Seconds(absl::Ceil(*eta, absl::Seconds(1)));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::optional<absl::Duration> EstimateEta(uint64_t start_done, uint64_t done,
                                          std::optional<uint64_t> total, absl::Duration elapsed) {
  if (!total.has_value()) return std::nullopt;
  if (done >= *total) return absl::ZeroDuration();
  if (done <= start_done || elapsed <= absl::ZeroDuration()) return std::nullopt;
  double rate = static_cast<double>(done - start_done) / absl::ToDoubleSeconds(elapsed);
  double left = static_cast<double>(*total - done) / rate;
  if (!std::isfinite(left) || left > 1e9) return std::nullopt;
  return absl::Seconds(left);
}

std::string FormatProgressLine(std::string_view label, uint64_t start_done, uint64_t done,
                               std::optional<uint64_t> total, absl::Duration elapsed,
                               size_t width) {
  double seconds = absl::ToDoubleSeconds(elapsed);
  double rate =
      seconds > 0 && done > start_done ? static_cast<double>(done - start_done) / seconds : 0;
  std::string rate_text = FormatRate(rate);
  if (!total.has_value()) {
    std::string line =
        absl::StrCat(AbslView(label), " ", HumanSize(static_cast<double>(done)), "  ", rate_text);
    if (line.size() > width) line.resize(width);
    return line;
  }
  uint64_t shown = std::min(done, *total);
  // In doubles: shown * 100 may overflow 64 bits.
  double fraction = *total == 0 ? 1.0 : static_cast<double>(shown) / static_cast<double>(*total);
  int percent = std::min(100, static_cast<int>(fraction * 100));
  std::string head = absl::StrFormat("%s %3d%% ", AbslView(label), percent);
  std::string tail = absl::StrCat(" ", HumanSize(static_cast<double>(shown)), " / ",
                                  HumanSize(static_cast<double>(*total)), "  ", rate_text, "  ETA ",
                                  FormatEta(EstimateEta(start_done, done, total, elapsed)));
  // The bar gets what is left of the line, between 10 and 40 columns (none if it doesn't fit).
  size_t fixed = head.size() + tail.size() + 2;
  std::string bar;
  if (width > fixed + 10) {
    size_t inner = std::min<size_t>(40, width - fixed);
    size_t filled = std::min(inner, static_cast<size_t>(fraction * static_cast<double>(inner)));
    bar.assign(inner + 2, ' ');
    bar.front() = '[';
    bar.back() = ']';
    for (size_t i = 1; i <= filled; ++i) bar[i] = '=';
    if (filled < inner) bar[filled + 1] = '>';
  }
  std::string line = absl::StrCat(head, bar, tail);
  if (line.size() > width) line.resize(width);
  return line;
}

ProgressBar::ProgressBar(std::FILE* out, Clock& clock, std::string label,
                         std::optional<uint64_t> total, uint64_t start_done, size_t width)
    : out_(out),
      clock_(clock),
      label_(std::move(label)),
      total_(total),
      start_done_(start_done),
      done_(start_done),
      width_(width == 0 ? TerminalWidth(out) : width),
      start_(clock.Now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::StartPhase(std::string label, std::optional<uint64_t> total,
                             uint64_t start_done) {
  label_ = std::move(label);
  total_ = total;
  start_done_ = start_done;
  done_ = start_done;
  start_ = clock_.Now();
  finished_ = false;
  last_draw_.reset();  // draw the new phase at once
  Update(start_done);
}

void ProgressBar::Update(uint64_t done) {
  done_ = done;
  if (out_ == nullptr || finished_) return;
  absl::Time now = clock_.Now();
  bool complete = total_.has_value() && done >= *total_;
  if (last_draw_.has_value() && now - *last_draw_ < kRedrawInterval && !complete) return;
  Draw(done);
  last_draw_ = now;
}

void ProgressBar::Draw(uint64_t done) {
  std::string line =
      FormatProgressLine(label_, start_done_, done, total_, clock_.Now() - start_, width_);
  size_t len = line.size();
  // Blank out what is left of a longer previous line.
  if (len < last_len_) line.append(last_len_ - len, ' ');
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
  last_len_ = len;
  ++draws_;
}

void ProgressBar::Finish() {
  if (out_ == nullptr || finished_) return;
  finished_ = true;
  if (draws_ == 0) return;
  Draw(done_);
  std::fprintf(out_, "\n");
  std::fflush(out_);
}

absl::StatusOr<uint64_t> ParseByteCount(std::string_view flag, std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        AbslView(flag), " must be a byte count like 4096 or 64K, got \"", AbslView(text), "\""));
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return bad();
  uint64_t value = 0;
  for (size_t i = 0; i < digits; ++i) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - d) / 10) return bad();
    value = value * 10 + d;
  }
  std::string_view suffix = text.substr(digits);
  int shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      case 't':
      case 'T':
        shift = 40;
        break;
      default:
        return bad();
    }
    std::string_view rest = suffix.substr(1);
    if (!rest.empty() && rest != "iB" && rest != "B") return bad();
  }
  if (shift > 0 && value > (UINT64_MAX >> shift)) return bad();
  return value << shift;
}

absl::StatusOr<ByteRange> ResolveRange(uint64_t file_size, uint64_t offset,
                                       std::optional<uint64_t> length, std::string_view path) {
  if (offset > file_size) {
    return absl::OutOfRangeError(absl::StrCat("--offset ", offset, " is past the end of ",
                                              AbslView(path), " (", file_size, " bytes)"));
  }
  ByteRange r{offset, file_size};
  if (length.has_value() && *length < file_size - offset) r.end = offset + *length;
  return r;
}

}  // namespace gnr::tools
