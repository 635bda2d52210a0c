#pragma once
// Test helpers for absl::Status / absl::StatusOr.
//   EXPECT_OK(DoThing());
//   ASSERT_OK_AND_ASSIGN(Bytes out, Decode(in));
//   EXPECT_STATUS(Decode(bad), absl::StatusCode::kInvalidArgument);

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace gnr::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace gnr::testing

// Each macro evaluates its argument exactly once.
#define EXPECT_OK(expr)                                                          \
  do {                                                                           \
    const auto& gnr_status_or_ = (expr);                                         \
    const absl::Status& gnr_status_ = ::gnr::testing::GetStatus(gnr_status_or_); \
    EXPECT_TRUE(gnr_status_.ok()) << gnr_status_;                                \
  } while (0)
#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    const auto& gnr_status_or_ = (expr);                                         \
    const absl::Status& gnr_status_ = ::gnr::testing::GetStatus(gnr_status_or_); \
    ASSERT_TRUE(gnr_status_.ok()) << gnr_status_;                                \
  } while (0)
#define EXPECT_STATUS(expr, expected_code)                                       \
  do {                                                                           \
    const auto& gnr_status_or_ = (expr);                                         \
    const absl::Status& gnr_status_ = ::gnr::testing::GetStatus(gnr_status_or_); \
    EXPECT_EQ(gnr_status_.code(), (expected_code)) << gnr_status_;               \
  } while (0)

#define GNR_TESTING_CONCAT_INNER_(a, b) a##b
#define GNR_TESTING_CONCAT_(a, b) GNR_TESTING_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(GNR_TESTING_CONCAT_(gnr_statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(var, lhs, expr)          \
  auto var = (expr);                                        \
  ASSERT_TRUE(var.ok()) << var.status();                    \
  lhs = std::move(var).value()
