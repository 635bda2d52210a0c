#include "net/farmer/sqlite.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr::farmer::internal {

absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  std::string message = absl::StrCat(AbslView(context), ": ", sqlite3_errstr(rc));
  if (db != nullptr && sqlite3_errcode(db) == rc) {
    absl::StrAppend(&message, " (", sqlite3_errmsg(db), ")");
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Stmt::~Stmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

void Stmt::Bind(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::Bind(int i, ByteView blob) {
  static const uint8_t kEmpty = 0;
  int rc = sqlite3_bind_blob64(stmt_, i, blob.empty() ? &kEmpty : blob.data(), blob.size(),
                               SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

absl::StatusOr<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteStatus(db_, bind_rc_, "bind");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, sqlite3_sql(stmt_));
}

absl::Status Stmt::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

Bytes Stmt::Blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return Bytes(p, p + n);
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, bool read_only) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteStatus(raw, rc, absl::StrCat("open ", path));
    sqlite3_close(raw);
    return s;
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return std::unique_ptr<Db>(new Db(raw));
}

Db::~Db() { sqlite3_close(db_); }

absl::Status Db::Exec(std::string_view sql) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteStatus(db_, rc, error != nullptr ? error : text.c_str());
    sqlite3_free(error);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, sql);
  return Stmt(db_, stmt);
}

}  // namespace gnr::farmer::internal
