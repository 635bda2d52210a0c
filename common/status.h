#pragma once
// Status propagation macros. Our Abseil (20220623) has no status_macros, so we
// define them.
//
//   absl::Status Load() {
//     GNR_RETURN_IF_ERROR(Open());
//     GNR_ASSIGN_OR_RETURN(Bytes data, ReadAll());
//     GNR_ASSIGN_OR_RETURN(auto header, ParseHeader(data));
//     ...
//   }
//
// Both macros work in functions returning absl::Status or absl::StatusOr<T>.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GNR_STATUS_CONCAT_INNER_(a, b) a##b
#define GNR_STATUS_CONCAT_(a, b) GNR_STATUS_CONCAT_INNER_(a, b)

#define GNR_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status gnr_status_ = (expr);       \
    if (!gnr_status_.ok()) return gnr_status_; \
  } while (0)

#define GNR_ASSIGN_OR_RETURN(lhs, rexpr) \
  GNR_ASSIGN_OR_RETURN_IMPL_(GNR_STATUS_CONCAT_(gnr_statusor_, __LINE__), lhs, rexpr)

#define GNR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)   \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace gnr {

// Returns `status` with `context` prepended to its message ("context:
// message"), keeping the code and every payload. OK stays OK.
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace gnr
