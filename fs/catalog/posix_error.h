#pragma once
// The POSIX error vocabulary shared by fs/catalog, fs/volume and fs/fuse.
//
// An absl::Status that must reach a program as a specific errno carries that errno as a
// payload under the type URL kErrnoPayloadUrl ("gnr/errno"); the payload is the errno in
// decimal ASCII (e.g. "39" for ENOTEMPTY). The canonical code is chosen so that code-only
// consumers (logs, tools) still see something sensible:
//
//   ENOENT, ENODATA                          -> kNotFound
//   EEXIST                                   -> kAlreadyExists
//   ENOTEMPTY, ENOTDIR, EISDIR, EBUSY, EXDEV,
//   ELOOP, EMLINK                            -> kFailedPrecondition
//   EINVAL, ENAMETOOLONG, E2BIG, ERANGE      -> kInvalidArgument
//   EPERM, EACCES                            -> kPermissionDenied
//   ENOSPC, EDQUOT, EFBIG                    -> kResourceExhausted
//   ENOTSUP/EOPNOTSUPP, ENOSYS               -> kUnimplemented
//   EAGAIN, EINTR                            -> kUnavailable
//   EIO                                      -> kInternal
//   anything else                            -> kUnknown
//
// The FUSE layer owns the errno table for statuses *without* a payload; for statuses with one
// it must reply with exactly PosixErrno(status). Example:
//
//   if (!dir.is_directory) return PosixError(ENOTDIR, "rmdir: inode 7 is not a directory");
//   ...
//   if (std::optional<int> err = PosixErrno(status)) reply_err(req, *err);
//
// Thread-safe, pure.

#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace gnr::catalog {

inline constexpr std::string_view kErrnoPayloadUrl = "gnr/errno";

// The canonical code used for `err` (table above).
absl::StatusCode PosixErrorCode(int err);

// A status with PosixErrorCode(err), message `message` and the errno payload. `err` must be
// positive (a non-positive value gives kUnknown without payload).
absl::Status PosixError(int err, std::string_view message);

// The errno payload of `status`, if any (nullopt for OK and for statuses without a valid
// payload).
std::optional<int> PosixErrno(const absl::Status& status);

// True when `status` carries the errno payload `err`.
inline bool IsPosixError(const absl::Status& status, int err) {
  std::optional<int> e = PosixErrno(status);
  return e.has_value() && *e == err;
}

}  // namespace gnr::catalog
