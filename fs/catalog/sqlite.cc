#include "fs/catalog/sqlite.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"

namespace gnr::catalog::internal {

absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  std::string message = absl::StrCat("catalog: ", AbslView(context), ": ",
                                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                                     " (sqlite code ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_FULL:
      return PosixError(ENOSPC, message);
    case SQLITE_IOERR:
      return PosixError(EIO, message);
    case SQLITE_READONLY:
      return PosixError(EROFS, message);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(message);
    default:
      return absl::InternalError(message);
  }
}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  if (in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  }
}

void Stmt::Bind(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::Bind(int i, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, i, text.data() != nullptr ? text.data() : "", text.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::Bind(int i, ByteView blob) {
  static const uint8_t kEmpty = 0;
  int rc = sqlite3_bind_blob64(stmt_, i, blob.empty() ? &kEmpty : blob.data(), blob.size(),
                               SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::Bind(int i, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, i);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

absl::StatusOr<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return SqliteStatus(db_, bind_rc_, absl::StrCat("binding ", sqlite3_sql(stmt_)));
  }
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

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<int64_t> Stmt::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<absl::Time> Stmt::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Time(col);
}

double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

Bytes Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return Bytes();
  const uint8_t* b = static_cast<const uint8_t*>(p);
  return Bytes(b, b + n);
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteStatus(raw, rc, absl::StrCat("opening ", path));
    sqlite3_close_v2(raw);
    return status;
  }
  sqlite3_extended_result_codes(raw, 1);
  return std::unique_ptr<Db>(new Db(raw));
}

Db::~Db() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  cache_.clear();
  sqlite3_close_v2(db_);
}

absl::Status Db::Exec(std::string_view sql) {
  std::string copy(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc == SQLITE_OK) return absl::OkStatus();
  return SqliteStatus(db_, rc, copy.size() > 80 ? copy.substr(0, 80) + "..." : copy);
}

absl::StatusOr<Stmt> Db::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(db_, it->second.stmt, &it->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db_, rc, absl::StrCat("preparing ", key));
  }
  if (it == cache_.end()) {
    Cached& cached = cache_[std::move(key)];
    cached.stmt = stmt;
    cached.in_use = true;
    return Stmt(db_, stmt, &cached.in_use);
  }
  // The cached statement is in use (a nested query): use a one-off statement.
  return Stmt(db_, stmt, nullptr);
}

}  // namespace gnr::catalog::internal
