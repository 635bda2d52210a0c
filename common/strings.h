#pragma once
// Debian's Abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: absl::string_view
// is its own type, not std::string_view, and neither converts to the other implicitly.
// gnrfs APIs take std::string_view; use these at the seams with Abseil (StrCat, Status
// messages, StrSplit, ...). The same holds for absl::optional/variant: use std:: types.

#include <string_view>

#include "absl/strings/string_view.h"

namespace gnr {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view StdView(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace gnr
