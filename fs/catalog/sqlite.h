#pragma once
// Internal to fs/catalog: a thin RAII layer over one SQLite connection with a prepared
// statement cache. Not thread-safe: the Catalog's mutex serialises all use.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bytes.h"

namespace gnr::catalog::internal {

// Maps a SQLite result code to a Status: BUSY/LOCKED -> kUnavailable, CORRUPT/NOTADB ->
// kDataLoss, FULL -> kResourceExhausted (ENOSPC), IOERR -> kInternal (EIO), CANTOPEN ->
// kNotFound / kPermissionDenied, READONLY -> kPermissionDenied (EROFS), others kInternal.
absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

// A prepared statement in use. Resets (and clears bindings) on destruction so that a cached
// statement can be reused. Move-only.
class Stmt {
 public:
  // `in_use` is the cache's flag for a cached statement (cleared on destruction), or null
  // for a one-off statement (finalized on destruction).
  Stmt(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  // Binding (1-based parameter index). Errors are reported by the next Step().
  void Bind(int i, int64_t v);
  void Bind(int i, uint64_t v) { Bind(i, static_cast<int64_t>(v)); }  // bit pattern kept
  void Bind(int i, int32_t v) { Bind(i, static_cast<int64_t>(v)); }
  void Bind(int i, uint32_t v) { Bind(i, static_cast<int64_t>(v)); }
  void Bind(int i, absl::Time t) { Bind(i, absl::ToUnixNanos(t)); }
  void Bind(int i, std::string_view text);
  void Bind(int i, const std::string& text) { Bind(i, std::string_view(text)); }
  void Bind(int i, const char* text) { Bind(i, std::string_view(text)); }
  void Bind(int i, ByteView blob);  // an empty view binds an empty blob, not NULL
  void Bind(int i, const Bytes& blob) { Bind(i, ByteView(blob)); }
  template <size_t N>
  void Bind(int i, const FixedBytes<N>& blob) {
    Bind(i, ByteView(blob));
  }
  void Bind(int i, std::nullopt_t);
  template <typename T>
  void Bind(int i, const std::optional<T>& v) {
    if (v.has_value()) {
      Bind(i, *v);
    } else {
      Bind(i, std::nullopt);
    }
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

  // Column accessors (0-based) for the current row.
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  uint64_t UInt(int col) const { return static_cast<uint64_t>(Int(col)); }
  std::optional<int64_t> OptInt(int col) const;
  absl::Time Time(int col) const { return absl::FromUnixNanos(Int(col)); }
  std::optional<absl::Time> OptTime(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  Bytes Blob(int col) const;
  // A blob of exactly N bytes; zero-filled if the stored blob has another size (the schema's
  // CHECK constraints make that impossible for our own files).
  template <size_t N>
  FixedBytes<N> Fixed(int col) const {
    FixedBytes<N> out{};
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    if (p != nullptr && n == static_cast<int>(N)) {
      std::memcpy(out.data(), p, N);
    }
    return out;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  int bind_rc_ = SQLITE_OK;
};

class Db {
 public:
  // sqlite3_open_v2 with `flags`.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, int flags);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* raw() const { return db_; }

  // Runs one or more statements without results (sqlite3_exec).
  absl::Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (a fresh one if the cached one is in use).
  absl::StatusOr<Stmt> Prepare(std::string_view sql);
  // Prepare + BindAll.
  template <typename... Args>
  absl::StatusOr<Stmt> Query(std::string_view sql, const Args&... args) {
    absl::StatusOr<Stmt> st = Prepare(sql);
    if (st.ok()) st->BindAll(args...);
    return st;
  }
  // Query + Run.
  template <typename... Args>
  absl::Status Run(std::string_view sql, const Args&... args) {
    absl::StatusOr<Stmt> st = Query(sql, args...);
    if (!st.ok()) return st.status();
    return st->Run();
  }
  // Rows changed by the last INSERT/UPDATE/DELETE, and the last inserted rowid.
  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  std::unordered_map<std::string, Cached> cache_;  // element addresses are stable
};

}  // namespace gnr::catalog::internal
