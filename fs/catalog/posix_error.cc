#include "fs/catalog/posix_error.h"

#include <cerrno>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr::catalog {

absl::StatusCode PosixErrorCode(int err) {
  switch (err) {
    case ENOENT:
    case ENODATA:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case ENOTEMPTY:
    case ENOTDIR:
    case EISDIR:
    case EBUSY:
    case EXDEV:
    case ELOOP:
    case EMLINK:
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
    case ENAMETOOLONG:
    case E2BIG:
    case ERANGE:
      return absl::StatusCode::kInvalidArgument;
    case EPERM:
    case EACCES:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::StatusCode::kResourceExhausted;
    case ENOTSUP:
    case ENOSYS:
      return absl::StatusCode::kUnimplemented;
    case EAGAIN:
    case EINTR:
      return absl::StatusCode::kUnavailable;
    case EIO:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::Status PosixError(int err, std::string_view message) {
  if (err <= 0) return absl::UnknownError(AbslView(message));
  absl::Status status(PosixErrorCode(err), AbslView(message));
  status.SetPayload(AbslView(kErrnoPayloadUrl), absl::Cord(absl::StrCat(err)));
  return status;
}

std::optional<int> PosixErrno(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  auto payload = status.GetPayload(AbslView(kErrnoPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  int err = 0;
  if (!absl::SimpleAtoi(text, &err) || err <= 0) return std::nullopt;
  return err;
}

}  // namespace gnr::catalog
