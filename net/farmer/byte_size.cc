#include "net/farmer/byte_size.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace gnr::farmer {

absl::StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  std::string s = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(AbslView(text)));
  size_t digits = 0;
  while (digits < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.')) {
    ++digits;
  }
  std::string number = s.substr(0, digits);
  std::string unit = s.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad size '", AbslView(text), "': ", AbslView(why),
                     " (examples: 500G, 1.5T, 750GB, 64MiB, 1048576)"));
  };
  if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
    return bad("expected a number");
  }
  double base = 1;
  static constexpr const char* kBinary[] = {"K", "M", "G", "T", "P"};
  bool known = unit.empty() || unit == "B";
  for (int i = 0; i < 5 && !known; ++i) {
    double binary = std::pow(1024.0, i + 1);
    if (unit == kBinary[i] || unit == absl::StrCat(kBinary[i], "IB")) {
      base = binary;
      known = true;
    } else if (unit == absl::StrCat(kBinary[i], "B")) {
      base = std::pow(1000.0, i + 1);
      known = true;
    }
  }
  if (!known) return bad(absl::StrCat("unknown unit '", unit, "'"));
  double value = std::strtod(number.c_str(), nullptr) * base;
  if (!(value >= 1)) return bad("must be at least 1 byte");
  if (value >= 18446744073709551615.0) return bad("too large");
  return static_cast<uint64_t>(std::llround(value));
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 6) {
    v /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

}  // namespace gnr::farmer
