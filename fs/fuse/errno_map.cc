#include "fs/fuse/errno_map.h"

#include <string.h>

#include <cerrno>
#include <optional>

#include "absl/strings/str_cat.h"
#include "fs/catalog/posix_error.h"

namespace gnr::fuse {
namespace {

// The largest errno the kernel accepts in a FUSE reply (fuse_dev_do_write rejects
// error <= -512, where the kernel-internal restart codes begin).
constexpr int kMaxErrno = 511;

int ErrnoFromCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kNotFound:
      return ENOENT;
    case absl::StatusCode::kAlreadyExists:
      return EEXIST;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return EACCES;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return EINVAL;
    case absl::StatusCode::kResourceExhausted:
      return ENOSPC;
    case absl::StatusCode::kUnimplemented:
      return EOPNOTSUPP;
    case absl::StatusCode::kDeadlineExceeded:
      return ETIMEDOUT;
    case absl::StatusCode::kCancelled:
      return EINTR;
    default:
      return EIO;
  }
}

}  // namespace

int ErrnoFromStatus(const absl::Status& status) {
  if (status.ok()) return 0;
  if (std::optional<int> err = catalog::PosixErrno(status)) {
    return (*err > 0 && *err <= kMaxErrno) ? *err : EIO;
  }
  return ErrnoFromCode(status.code());
}

bool IsRoutineErrno(int err) {
  switch (err) {
    case ENOENT:
    case EEXIST:
    case ENOTEMPTY:
    case ENOTDIR:
    case EISDIR:
    case ENODATA:
    case ERANGE:
    case EACCES:
    case EPERM:
    case EINVAL:
    case ENAMETOOLONG:
    case EXDEV:
    case EOPNOTSUPP:
      return true;
    default:
      return false;
  }
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : absl::StrCat("errno ", err);
}

}  // namespace gnr::fuse
