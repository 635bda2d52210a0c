#include "tools/transfer_progress.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(FormatRate, UsesBinaryUnits) {
  EXPECT_EQ(FormatRate(0), "0 B/s");
  EXPECT_EQ(FormatRate(512), "512 B/s");
  EXPECT_EQ(FormatRate(1536), "1.5 KiB/s");
  EXPECT_EQ(FormatRate(12.3 * kMiB), "12.3 MiB/s");
  EXPECT_EQ(FormatRate(-1), "0 B/s");
}

TEST(FormatEta, MinutesSecondsAndHours) {
  EXPECT_EQ(FormatEta(std::nullopt), "--:--");
  EXPECT_EQ(FormatEta(absl::Seconds(9)), "0:09");
  EXPECT_EQ(FormatEta(absl::Milliseconds(8100)), "0:09");  // rounded up
  EXPECT_EQ(FormatEta(absl::Seconds(754)), "12:34");
  EXPECT_EQ(FormatEta(absl::Seconds(3723)), "1:02:03");
  EXPECT_EQ(FormatEta(absl::Hours(200)), "--:--");
}

TEST(EstimateEta, AverageRateSinceTheStart) {
  // 50 MiB of 200 in 5 s: 10 MiB/s, 150 MiB left -> 15 s.
  EXPECT_EQ(EstimateEta(0, 50 * kMiB, 200 * kMiB, absl::Seconds(5)), absl::Seconds(15));
  // A resumed transfer counts only what it moved itself: 100 -> 150 in 5 s, 50 left -> 5 s.
  EXPECT_EQ(EstimateEta(100 * kMiB, 150 * kMiB, 200 * kMiB, absl::Seconds(5)), absl::Seconds(5));
  EXPECT_EQ(EstimateEta(0, 0, 200 * kMiB, absl::Seconds(5)), std::nullopt);
  EXPECT_EQ(EstimateEta(0, 10, std::nullopt, absl::Seconds(5)), std::nullopt);
  EXPECT_EQ(EstimateEta(0, 200, 200, absl::Seconds(5)), absl::ZeroDuration());
}

TEST(FormatProgressLine, ShowsPercentBarBytesRateAndEta) {
  std::string line = FormatProgressLine("upload", 0, 84 * kMiB, 200 * kMiB, absl::Seconds(4), 100);
  EXPECT_THAT(line, StartsWith("upload  42% ["));
  EXPECT_THAT(line, HasSubstr("84.0 MiB / 200.0 MiB"));
  EXPECT_THAT(line, HasSubstr("21.0 MiB/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:06"));
  EXPECT_LE(line.size(), 100u);
  // 42% of a 40-column bar: 16 '=' then the arrow.
  EXPECT_THAT(line, HasSubstr("[================>"));
}

TEST(FormatProgressLine, CompleteAndEmptyFiles) {
  std::string done = FormatProgressLine("get", 0, 10, 10, absl::Seconds(1), 100);
  EXPECT_THAT(done, HasSubstr("100%"));
  EXPECT_THAT(done, HasSubstr("ETA 0:00"));
  EXPECT_THAT(done, HasSubstr("[========================================]"));
  EXPECT_THAT(FormatProgressLine("get", 0, 0, 0, absl::Seconds(1), 100), HasSubstr("100%"));
}

TEST(FormatProgressLine, NarrowTerminalDropsTheBarThenClips) {
  std::string line = FormatProgressLine("upload", 0, kMiB, 2 * kMiB, absl::Seconds(1), 60);
  EXPECT_EQ(line.find('['), std::string::npos);
  EXPECT_THAT(line, HasSubstr("50%"));
  EXPECT_LE(line.size(), 60u);
  EXPECT_EQ(FormatProgressLine("upload", 0, kMiB, 2 * kMiB, absl::Seconds(1), 20).size(), 20u);
}

TEST(FormatProgressLine, UnknownTotalShowsBytesAndRate) {
  EXPECT_EQ(FormatProgressLine("put", 0, 3 * kMiB, std::nullopt, absl::Seconds(2), 80),
            "put 3.0 MiB  1.5 MiB/s");
}

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressBar, RedrawsAtMostTenTimesASecond) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  FakeClock clock(absl::FromUnixSeconds(1000));
  {
    ProgressBar bar(f, clock, "put", 1000, 0, 80);
    for (int i = 0; i < 100; ++i) {  // 100 updates over one second
      bar.Update(static_cast<uint64_t>(i));
      clock.Advance(absl::Milliseconds(10));
    }
    EXPECT_EQ(bar.draws(), 10);
    bar.Update(1000);  // completion is always drawn
    EXPECT_EQ(bar.draws(), 11);
  }
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_THAT(out, StartsWith("\rput   0%"));
  EXPECT_THAT(out, HasSubstr("\rput 100%"));
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1);  // one line, redrawn in place
}

TEST(ProgressBar, NewPhaseDrawsAtOnceAndNullOutputDoesNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  FakeClock clock(absl::FromUnixSeconds(1000));
  ProgressBar bar(f, clock, "copy", 10, 0, 80);
  bar.Update(5);
  bar.StartPhase("upload", 10);
  EXPECT_EQ(bar.draws(), 2);
  bar.Finish();
  bar.Finish();
  EXPECT_THAT(ReadAll(f), HasSubstr("\rupload   0%"));
  std::fclose(f);

  ProgressBar quiet(nullptr, clock, "copy", 10);
  quiet.Update(10);
  quiet.Finish();
  EXPECT_EQ(quiet.draws(), 0);
}

std::optional<uint64_t> Count(const char* text) {
  absl::StatusOr<uint64_t> n = ParseByteCount("--offset", text);
  if (!n.ok()) return std::nullopt;
  return *n;
}

TEST(ParseByteCount, DigitsWithBinarySuffixes) {
  EXPECT_EQ(Count("4096"), 4096u);
  EXPECT_EQ(Count("0"), 0u);
  EXPECT_EQ(Count("64K"), 65536u);
  EXPECT_EQ(Count("1MiB"), kMiB);
  EXPECT_EQ(Count("2g"), 2048 * kMiB);
  EXPECT_EQ(Count("1TB"), kMiB * kMiB);
}

TEST(ParseByteCount, RejectsWhatIsNotACount) {
  for (const char* bad :
       {"", "x", "-1", "1.5M", "1X", "1Mx", "99999999999999999999", "17179869184T"}) {
    absl::StatusOr<uint64_t> n = ParseByteCount("--length", bad);
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(n.status().message()), HasSubstr("--length must be a byte count"));
  }
}

TEST(ResolveRange, ClipsAtTheEndLikeDd) {
  ASSERT_OK_AND_ASSIGN(ByteRange all, ResolveRange(100, 0, std::nullopt, "/a"));
  EXPECT_EQ(all.begin, 0u);
  EXPECT_EQ(all.end, 100u);
  ASSERT_OK_AND_ASSIGN(ByteRange mid, ResolveRange(100, 10, 20, "/a"));
  EXPECT_EQ(mid.begin, 10u);
  EXPECT_EQ(mid.size(), 20u);
  ASSERT_OK_AND_ASSIGN(ByteRange clipped, ResolveRange(100, 90, 50, "/a"));
  EXPECT_EQ(clipped.end, 100u);
  ASSERT_OK_AND_ASSIGN(ByteRange at_end, ResolveRange(100, 100, 5, "/a"));
  EXPECT_EQ(at_end.size(), 0u);
  ASSERT_OK_AND_ASSIGN(ByteRange huge, ResolveRange(100, 1, UINT64_MAX, "/a"));
  EXPECT_EQ(huge.end, 100u);
}

TEST(ResolveRange, OffsetPastTheEndNamesTheFile) {
  absl::StatusOr<ByteRange> r = ResolveRange(100, 500, std::nullopt, "/docs/a.txt");
  EXPECT_STATUS(r, absl::StatusCode::kOutOfRange);
  EXPECT_EQ(std::string(r.status().message()),
            "--offset 500 is past the end of /docs/a.txt (100 bytes)");
}

}  // namespace
}  // namespace gnr::tools
