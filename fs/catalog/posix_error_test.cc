#include "fs/catalog/posix_error.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace gnr::catalog {
namespace {

TEST(PosixError, CarriesErrnoAndCode) {
  absl::Status s = PosixError(ENOTEMPTY, "rmdir: not empty");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "rmdir: not empty");
  EXPECT_EQ(PosixErrno(s), ENOTEMPTY);
  EXPECT_TRUE(IsPosixError(s, ENOTEMPTY));
  EXPECT_FALSE(IsPosixError(s, ENOTDIR));
}

TEST(PosixError, CodeTable) {
  EXPECT_EQ(PosixErrorCode(ENOENT), absl::StatusCode::kNotFound);
  EXPECT_EQ(PosixErrorCode(ENODATA), absl::StatusCode::kNotFound);
  EXPECT_EQ(PosixErrorCode(EEXIST), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(PosixErrorCode(ENOTDIR), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PosixErrorCode(EISDIR), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PosixErrorCode(EINVAL), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PosixErrorCode(ENOSPC), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixErrorCode(EPERM), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PosixErrorCode(ENOTSUP), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(PosixErrorCode(EIO), absl::StatusCode::kInternal);
  EXPECT_EQ(PosixErrorCode(12345), absl::StatusCode::kUnknown);
}

TEST(PosixError, AbsentOrMalformedPayload) {
  EXPECT_EQ(PosixErrno(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(PosixErrno(absl::NotFoundError("x")), std::nullopt);
  absl::Status s = absl::InternalError("x");
  s.SetPayload("gnr/errno", absl::Cord("nope"));
  EXPECT_EQ(PosixErrno(s), std::nullopt);
  s.SetPayload("gnr/errno", absl::Cord("-3"));
  EXPECT_EQ(PosixErrno(s), std::nullopt);
  EXPECT_EQ(PosixErrno(PosixError(0, "zero")), std::nullopt);
}

TEST(PosixError, PayloadSurvivesCopyAndAnnotationByCopy) {
  absl::Status s = PosixError(EEXIST, "exists");
  absl::Status copy = s;
  EXPECT_EQ(PosixErrno(copy), EEXIST);
}

}  // namespace
}  // namespace gnr::catalog
