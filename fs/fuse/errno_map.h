#pragma once
// The one table that turns a Volume status into the errno a FUSE reply carries.
//
// A status with an errno payload (fs/catalog/posix_error.h) maps to exactly that errno; a
// status without one maps by its canonical code:
//
//   OK                 -> 0          kNotFound          -> ENOENT
//   kAlreadyExists     -> EEXIST     kPermissionDenied  -> EACCES
//   kUnauthenticated   -> EACCES     kInvalidArgument   -> EINVAL
//   kOutOfRange        -> EINVAL     kResourceExhausted -> ENOSPC
//   kUnimplemented     -> EOPNOTSUPP (not ENOSYS: the kernel would stop asking for good)
//   kDeadlineExceeded  -> ETIMEDOUT  kCancelled         -> EINTR
//   everything else (kInternal, kDataLoss, kUnavailable, kFailedPrecondition, kAborted,
//   kUnknown)          -> EIO
//
// A payload outside 1..511 (not an errno the kernel accepts in a reply) also gives EIO.
// Pure and thread-safe.

#include <string>

#include "absl/status/status.h"

namespace gnr::fuse {

int ErrnoFromStatus(const absl::Status& status);

// True for errnos that are ordinary answers rather than failures (ENOENT from a lookup,
// EEXIST from O_EXCL, ENODATA from getxattr ...): the adapter logs them at debug level and
// everything else as a warning.
bool IsRoutineErrno(int err);

// "ENOENT", "EIO", ... ("errno 1234" for unknown values), for logs.
std::string ErrnoName(int err);

}  // namespace gnr::fuse
