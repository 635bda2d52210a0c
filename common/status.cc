#include "common/status.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr {

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(AbslView(context), ": ", status.message()));
}

}  // namespace gnr
