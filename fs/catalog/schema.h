#pragma once
// Internal to fs/catalog: the schema as an ordered list of migrations (docs/catalog.md).
// Migration N takes a database at schema version N-1 to version N; each one runs in one
// transaction together with `PRAGMA user_version = N`. Never edit a released migration:
// add a new one.

#include <cstdint>
#include <span>
#include <string_view>

namespace gnr::catalog::internal {

// PRAGMA application_id of a gnrfs catalog: "GNRC".
inline constexpr int32_t kApplicationId = 0x474E5243;

struct Migration {
  int version;
  std::string_view sql;
};

// Migrations 1..kLatestSchemaVersion, in order.
std::span<const Migration> Migrations();

}  // namespace gnr::catalog::internal
