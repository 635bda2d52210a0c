#pragma once
// Internal to net/farmer: a thin RAII layer over one SQLite connection (the shard index).
// Not thread-safe: ShardIndex serialises all use with its mutex.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace gnr::farmer::internal {

// Maps a SQLite result code to a Status (BUSY/LOCKED -> Unavailable, CORRUPT/NOTADB ->
// DataLoss, FULL -> ResourceExhausted, CANTOPEN -> NotFound, READONLY -> PermissionDenied,
// others Internal) with SQLite's message.
absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

// One prepared statement; finalized on destruction. Move-only.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  // 1-based parameter index. Errors surface at the next Step().
  void Bind(int i, int64_t v);
  void Bind(int i, uint64_t v) { Bind(i, static_cast<int64_t>(v)); }
  void Bind(int i, ByteView blob);  // empty binds an empty blob, not NULL
  void Bind(int i, const Bytes& blob) { Bind(i, ByteView(blob)); }
  template <size_t N>
  void Bind(int i, const FixedBytes<N>& blob) {
    Bind(i, ByteView(blob));
  }
  template <typename... Args>
  void BindAll(const Args&... args) {
    int i = 0;
    (Bind(++i, args), ...);
  }

  // true: a row is available; false: done.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  absl::Status Run();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  uint64_t UInt(int col) const { return static_cast<uint64_t>(Int(col)); }
  Bytes Blob(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

class Db {
 public:
  // Opens `path`: read-write (created if missing) or read-only (NotFound if missing).
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, bool read_only = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  absl::Status Exec(std::string_view sql);
  absl::StatusOr<Stmt> Prepare(std::string_view sql);
  template <typename... Args>
  absl::StatusOr<Stmt> Query(std::string_view sql, const Args&... args) {
    absl::StatusOr<Stmt> st = Prepare(sql);
    if (st.ok()) st->BindAll(args...);
    return st;
  }
  template <typename... Args>
  absl::Status Run(std::string_view sql, const Args&... args) {
    absl::StatusOr<Stmt> st = Query(sql, args...);
    if (!st.ok()) return st.status();
    return st->Run();
  }
  int64_t Changes() const { return sqlite3_changes64(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace gnr::farmer::internal
