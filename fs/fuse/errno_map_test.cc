#include "fs/fuse/errno_map.h"

#include <cerrno>
#include <string>

#include "absl/strings/cord.h"
#include "fs/catalog/posix_error.h"
#include "gtest/gtest.h"

namespace gnr::fuse {
namespace {

TEST(ErrnoMap, OkIsZero) { EXPECT_EQ(ErrnoFromStatus(absl::OkStatus()), 0); }

TEST(ErrnoMap, PayloadWinsOverCode) {
  EXPECT_EQ(ErrnoFromStatus(catalog::PosixError(ENOTEMPTY, "d")), ENOTEMPTY);
  EXPECT_EQ(ErrnoFromStatus(catalog::PosixError(EISDIR, "d")), EISDIR);
  EXPECT_EQ(ErrnoFromStatus(catalog::PosixError(ENODATA, "x")), ENODATA);
  EXPECT_EQ(ErrnoFromStatus(catalog::PosixError(EXDEV, "x")), EXDEV);
  // A payload on a status whose code suggests something else still decides.
  absl::Status s = absl::NotFoundError("odd");
  s.SetPayload(std::string(catalog::kErrnoPayloadUrl), absl::Cord("22"));
  EXPECT_EQ(ErrnoFromStatus(s), EINVAL);
}

TEST(ErrnoMap, PayloadOutOfKernelRangeIsEio) {
  absl::Status s = absl::InternalError("bad");
  s.SetPayload(std::string(catalog::kErrnoPayloadUrl), absl::Cord("4000"));
  EXPECT_EQ(ErrnoFromStatus(s), EIO);
}

TEST(ErrnoMap, CodeFallbackTable) {
  EXPECT_EQ(ErrnoFromStatus(absl::NotFoundError("")), ENOENT);
  EXPECT_EQ(ErrnoFromStatus(absl::AlreadyExistsError("")), EEXIST);
  EXPECT_EQ(ErrnoFromStatus(absl::PermissionDeniedError("")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(absl::UnauthenticatedError("")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(absl::InvalidArgumentError("")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(absl::OutOfRangeError("")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(absl::ResourceExhaustedError("")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(absl::UnimplementedError("")), EOPNOTSUPP);
  EXPECT_EQ(ErrnoFromStatus(absl::DeadlineExceededError("")), ETIMEDOUT);
  EXPECT_EQ(ErrnoFromStatus(absl::CancelledError("")), EINTR);
  EXPECT_EQ(ErrnoFromStatus(absl::InternalError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(absl::DataLossError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(absl::UnavailableError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(absl::FailedPreconditionError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(absl::AbortedError("")), EIO);
  EXPECT_EQ(ErrnoFromStatus(absl::UnknownError("")), EIO);
}

TEST(ErrnoMap, RoutineErrnosAreNotFailures) {
  EXPECT_TRUE(IsRoutineErrno(ENOENT));
  EXPECT_TRUE(IsRoutineErrno(ENODATA));
  EXPECT_FALSE(IsRoutineErrno(EIO));
  EXPECT_FALSE(IsRoutineErrno(ENOSPC));
}

TEST(ErrnoMap, Names) {
  EXPECT_EQ(ErrnoName(ENOENT), "ENOENT");
  EXPECT_EQ(ErrnoName(9999), "errno 9999");
}

}  // namespace
}  // namespace gnr::fuse
