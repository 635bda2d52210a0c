#include "fs/catalog/catalog.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/schema.h"
#include "fs/catalog/sqlite.h"
#include "fs/codec/manifest.h"

namespace gnr::catalog {

using internal::Db;
using internal::Stmt;

namespace {

// Most hard links one inode may have (EMLINK beyond), as ext4.
constexpr uint64_t kMaxLinks = 65000;
// Longest directory chain walked when checking rename loops.
constexpr int kMaxDepth = 1 << 16;

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// Printable form of an entry name (names are arbitrary bytes).
std::string Quote(std::string_view name) {
  return absl::StrCat("'", absl::CHexEscape(AbslView(name)), "'");
}

std::string Hex(ByteView bytes) { return absl::BytesToHexString(AbslView(AsStringView(bytes))); }

// ---- Inodes ------------------------------------------------------------------------------

constexpr std::string_view kAttrCols =
    "i.ino, i.type, i.perm, i.uid, i.gid, i.nlink, i.size, i.rdev, i.atime_ns, i.mtime_ns, "
    "i.ctime_ns, i.btime_ns, i.generation, i.current_version";

Attr ReadAttr(const Stmt& st, int c) {
  Attr a;
  a.ino = st.UInt(c + 0);
  a.type = static_cast<NodeType>(st.Int(c + 1));
  a.mode = ModeTypeBits(a.type) | static_cast<uint32_t>(st.Int(c + 2));
  a.uid = static_cast<uint32_t>(st.Int(c + 3));
  a.gid = static_cast<uint32_t>(st.Int(c + 4));
  a.nlink = st.UInt(c + 5);
  a.size = st.UInt(c + 6);
  a.rdev = st.UInt(c + 7);
  a.atime = st.Time(c + 8);
  a.mtime = st.Time(c + 9);
  a.ctime = st.Time(c + 10);
  a.btime = st.Time(c + 11);
  a.generation = st.UInt(c + 12);
  a.current_version = st.OptInt(c + 13);
  return a;
}

absl::StatusOr<std::optional<Attr>> FindAttr(Db& db, Ino ino) {
  GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kAttrCols),
                                                      " FROM inodes i WHERE i.ino = ?"),
                                         ino));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Attr>();
  return std::optional<Attr>(ReadAttr(st, 0));
}

absl::StatusOr<Attr> LoadAttr(Db& db, Ino ino, std::string_view op) {
  GNR_ASSIGN_OR_RETURN(std::optional<Attr> attr, FindAttr(db, ino));
  if (!attr.has_value()) {
    return PosixError(ENOENT, absl::StrCat(AbslView(op), ": no inode ", ino));
  }
  return *attr;
}

// A directory that still exists. With `live`, a removed (orphan) directory is ENOENT too.
absl::StatusOr<Attr> LoadDir(Db& db, Ino ino, std::string_view op, bool live) {
  GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, ino, op));
  if (!attr.is_directory()) {
    return PosixError(ENOTDIR,
                      absl::StrCat(AbslView(op), ": inode ", ino, " is a ",
                                   AbslView(NodeTypeName(attr.type)), ", not a directory"));
  }
  if (live && attr.nlink == 0) {
    return PosixError(ENOENT, absl::StrCat(AbslView(op), ": directory ", ino, " was removed"));
  }
  return attr;
}

struct Entry {
  uint64_t cookie = 0;
  Ino child = 0;
};

absl::StatusOr<std::optional<Entry>> FindEntry(Db& db, Ino parent, std::string_view name) {
  GNR_ASSIGN_OR_RETURN(
      Stmt st, db.Query("SELECT cookie, child FROM dirents WHERE parent = ? AND name = ?", parent,
                        AsBytes(name)));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Entry>();
  return std::optional<Entry>(Entry{st.UInt(0), st.UInt(1)});
}

absl::StatusOr<Entry> RequireEntry(Db& db, Ino parent, std::string_view name, std::string_view op) {
  GNR_ASSIGN_OR_RETURN(std::optional<Entry> e, FindEntry(db, parent, name));
  if (!e.has_value()) {
    return PosixError(
        ENOENT, absl::StrCat(AbslView(op), ": no entry ", Quote(name), " in directory ", parent));
  }
  return *e;
}

// Checks a name used to create or remove an entry. "." and ".." are `dot_errno`.
absl::Status CheckName(std::string_view name, std::string_view op, int dot_errno) {
  if (name.empty()) return PosixError(ENOENT, absl::StrCat(AbslView(op), ": empty name"));
  if (name.size() > kMaxNameLength) {
    return PosixError(ENAMETOOLONG, absl::StrCat(AbslView(op), ": name of ", name.size(),
                                                 " bytes exceeds ", kMaxNameLength));
  }
  if (name == "." || name == "..") {
    return PosixError(dot_errno, absl::StrCat(AbslView(op), ": cannot use ", Quote(name)));
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return PosixError(EINVAL,
                      absl::StrCat(AbslView(op), ": name ", Quote(name), " contains '/' or NUL"));
  }
  return absl::OkStatus();
}

absl::Status TouchDir(Db& db, Ino dir, absl::Time now) {
  return db.Run("UPDATE inodes SET mtime_ns = ?, ctime_ns = ? WHERE ino = ?", now, now, dir);
}

absl::Status AddLinks(Db& db, Ino ino, int64_t delta) {
  return db.Run("UPDATE inodes SET nlink = max(nlink + ?, 0) WHERE ino = ?", delta, ino);
}

absl::Status AddLinksAndTouch(Db& db, Ino ino, int64_t delta, absl::Time now) {
  return db.Run("UPDATE inodes SET nlink = max(nlink + ?, 0), ctime_ns = ? WHERE ino = ?", delta,
                now, ino);
}

absl::Status InsertEntry(Db& db, Ino parent, std::string_view name, Ino child) {
  return db.Run("INSERT INTO dirents (parent, name, child) VALUES (?, ?, ?)", parent, AsBytes(name),
                child);
}

absl::Status DeleteEntry(Db& db, uint64_t cookie) {
  return db.Run("DELETE FROM dirents WHERE cookie = ?", cookie);
}

absl::StatusOr<bool> DirHasEntries(Db& db, Ino dir) {
  GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("SELECT 1 FROM dirents WHERE parent = ? LIMIT 1", dir));
  return st.Step();
}

// The parent of directory `dir` (the root for the root); nullopt for a removed directory.
absl::StatusOr<std::optional<Ino>> ParentOf(Db& db, Ino dir) {
  if (dir == kRootIno) return std::optional<Ino>(kRootIno);
  GNR_ASSIGN_OR_RETURN(Stmt st,
                       db.Query("SELECT parent FROM dirents WHERE child = ? LIMIT 1", dir));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Ino>();
  return std::optional<Ino>(st.UInt(0));
}

// True when directory `ancestor` is `node` or one of its ancestors.
absl::StatusOr<bool> IsAncestorOrSelf(Db& db, Ino ancestor, Ino node) {
  Ino cur = node;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (cur == ancestor) return true;
    if (cur == kRootIno) return false;
    GNR_ASSIGN_OR_RETURN(std::optional<Ino> parent, ParentOf(db, cur));
    if (!parent.has_value()) return false;
    cur = *parent;
  }
  return absl::DataLossError(
      absl::StrCat("catalog: directory chain above inode ", node, " is too deep or cyclic"));
}

// ---- Versions ----------------------------------------------------------------------------

constexpr std::string_view kVersionCols =
    "v.version_id, v.ino, v.kind, v.state, v.size, v.nonce, v.bucket_id, v.manifest, "
    "v.inline_blob, v.data_shards, v.parity_shards, v.segment_count, v.created_ns, "
    "v.committed_ns, v.obsoleted_ns, "
    "coalesce((SELECT i.current_version = v.version_id FROM inodes i WHERE i.ino = v.ino), 0)";

Version ReadVersion(const Stmt& st) {
  Version v;
  v.id = st.Int(0);
  v.ino = st.UInt(1);
  v.kind = static_cast<VersionKind>(st.Int(2));
  v.state = static_cast<VersionState>(st.Int(3));
  v.size = st.UInt(4);
  v.nonce = st.Fixed<32>(5);
  v.bucket_id = st.Blob(6);
  v.manifest = st.Blob(7);
  v.inline_blob = st.Blob(8);
  v.data_shards = static_cast<uint32_t>(st.Int(9));
  v.parity_shards = static_cast<uint32_t>(st.Int(10));
  v.segment_count = st.UInt(11);
  v.created = st.Time(12);
  v.committed = st.OptTime(13);
  v.obsoleted = st.OptTime(14);
  v.is_current = st.Int(15) != 0;
  return v;
}

absl::StatusOr<std::vector<Version>> ReadVersions(Stmt& st) {
  std::vector<Version> out;
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadVersion(st));
  }
}

absl::StatusOr<Version> LoadVersion(Db& db, VersionId id) {
  GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kVersionCols),
                                                      " FROM versions v WHERE v.version_id = ?"),
                                         id));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("catalog: no version ", id));
  return ReadVersion(st);
}

absl::Status MarkObsolete(Db& db, VersionId id, absl::Time now) {
  return db.Run(
      "UPDATE versions SET state = 3, obsoleted_ns = ? WHERE version_id = ? AND state != 3", now,
      id);
}

absl::StatusOr<std::vector<uint32_t>> AckedPerSegment(Db& db, const Version& v) {
  std::vector<uint32_t> counts(v.segment_count, 0);
  GNR_ASSIGN_OR_RETURN(Stmt st,
                       db.Query("SELECT segment, count(DISTINCT shard_index) FROM placements "
                                "WHERE version_id = ? AND state = 2 GROUP BY segment",
                                v.id));
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    uint64_t segment = st.UInt(0);
    if (segment < counts.size()) counts[segment] = static_cast<uint32_t>(st.Int(1));
  }
  return counts;
}

// ---- Placements --------------------------------------------------------------------------

constexpr std::string_view kPlacementCols =
    "p.placement_id, p.version_id, p.segment, p.shard_index, p.generation, p.shard_id, "
    "p.farmer_id, p.farmer_hint, p.merkle_root, p.stored_length, p.state, p.groups_used, "
    "p.audits, p.last_audit_ns, p.created_ns, p.updated_ns";

// The placement columns ReadPlacement reads, for a catalog at `schema` (sentinel_generation
// exists from schema version 4; older catalogs read it as 0).
std::string PlacementCols(int schema) {
  return absl::StrCat(AbslView(kPlacementCols),
                      schema >= 4 ? ", p.sentinel_generation" : ", 0 AS sentinel_generation");
}

Placement ReadPlacement(const Stmt& st) {
  Placement p;
  p.id = st.Int(0);
  p.version = st.Int(1);
  p.segment = st.UInt(2);
  p.shard_index = static_cast<uint32_t>(st.Int(3));
  p.generation = static_cast<uint32_t>(st.Int(4));
  p.shard_id = st.Fixed<32>(5);
  p.farmer = st.Fixed<20>(6);
  p.farmer_hint = st.Text(7);
  p.merkle_root = st.Fixed<32>(8);
  p.stored_length = st.UInt(9);
  p.state = static_cast<PlacementState>(st.Int(10));
  p.groups_used = st.Blob(11);
  p.audits = st.UInt(12);
  p.last_audit = st.OptTime(13);
  p.created = st.Time(14);
  p.updated = st.Time(15);
  p.sentinel_generation = static_cast<uint32_t>(st.Int(16));
  return p;
}

absl::StatusOr<std::vector<Placement>> ReadPlacements(Stmt& st) {
  std::vector<Placement> out;
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadPlacement(st));
  }
}

absl::StatusOr<Placement> LoadPlacement(Db& db, PlacementId id, int schema) {
  GNR_ASSIGN_OR_RETURN(Stmt st,
                       db.Query(absl::StrCat("SELECT ", PlacementCols(schema),
                                             " FROM placements p WHERE p.placement_id = ?"),
                                id));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("catalog: no placement ", id));
  return ReadPlacement(st);
}

absl::Status RequireChanged(Db& db, std::string_view what, int64_t id) {
  if (db.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("catalog: no ", AbslView(what), " ", id));
  }
  return absl::OkStatus();
}

// ---- Uploads -----------------------------------------------------------------------------

constexpr std::string_view kUploadCols =
    "upload_id, ino, staging_path, state, bytes, bytes_done, attempts, last_error, version_id, "
    "created_ns, updated_ns";

Upload ReadUpload(const Stmt& st) {
  Upload u;
  u.id = st.Int(0);
  u.ino = st.UInt(1);
  u.staging_path = st.Text(2);
  u.state = static_cast<UploadState>(st.Int(3));
  u.bytes = st.UInt(4);
  u.bytes_done = st.UInt(5);
  u.attempts = static_cast<uint32_t>(st.Int(6));
  u.last_error = st.Text(7);
  u.version = st.OptInt(8);
  u.created = st.Time(9);
  u.updated = st.Time(10);
  return u;
}

absl::StatusOr<std::vector<Upload>> ReadUploads(Stmt& st) {
  std::vector<Upload> out;
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadUpload(st));
  }
}

// ---- Buckets -----------------------------------------------------------------------------

constexpr std::string_view kBucketCols =
    "bucket_id, size_bytes, used_bytes, traffic_bytes, start_ns, expiry_ns, data_shards, "
    "parity_shards, chain_id, contract, purchase_tx, purchase_block, owner, updated_ns";

Bucket ReadBucket(const Stmt& st) {
  Bucket b;
  b.id = st.Blob(0);
  b.size_bytes = st.UInt(1);
  b.used_bytes = st.UInt(2);
  b.traffic_bytes = st.UInt(3);
  b.start = st.Time(4);
  b.expiry = st.Time(5);
  b.data_shards = static_cast<uint32_t>(st.Int(6));
  b.parity_shards = static_cast<uint32_t>(st.Int(7));
  b.chain_id = st.UInt(8);
  b.contract = st.Text(9);
  b.purchase_tx = st.Blob(10);
  b.purchase_block = st.UInt(11);
  b.owner = st.Blob(12);
  b.updated = st.Time(13);
  return b;
}

absl::Status CheckBucketId(ByteView id) {
  if (id.empty() || id.size() > codec::kMaxBucketIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("catalog: bucket id must be 1..255 bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

// ---- Audits and farmers ------------------------------------------------------------------

constexpr std::string_view kVerdictCols =
    "verdict_id, time_ns, block_number, block_hash, shard_id, farmer_id, placement_id, "
    "version_id, ino, kind, challenge_index, result, latency_ms, detail, reported_ns";

Verdict ReadVerdict(const Stmt& st) {
  Verdict v;
  v.id = st.Int(0);
  v.time = st.Time(1);
  v.block_number = st.UInt(2);
  v.block_hash = st.Fixed<32>(3);
  v.shard_id = st.Fixed<32>(4);
  v.farmer = st.Fixed<20>(5);
  v.placement = st.OptInt(6);
  v.version = st.OptInt(7);
  if (std::optional<int64_t> ino = st.OptInt(8)) v.ino = static_cast<Ino>(*ino);
  v.kind = static_cast<AuditKind>(st.Int(9));
  v.challenge_index = st.UInt(10);
  v.result = static_cast<AuditResult>(st.Int(11));
  v.latency_ms = static_cast<uint32_t>(st.Int(12));
  v.detail = st.Text(13);
  v.reported = st.OptTime(14);
  return v;
}

absl::StatusOr<std::vector<Verdict>> ReadVerdicts(Stmt& st) {
  std::vector<Verdict> out;
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadVerdict(st));
  }
}

constexpr std::string_view kFarmerStatsSelect =
    "SELECT farmer_id, sum(result = 1), sum(result = 2), sum(result = 3), sum(result = 4), "
    "max(time_ns), avg(CASE WHEN result IN (1, 2) THEN latency_ms END) FROM audits";

FarmerAuditStats ReadFarmerStats(const Stmt& st) {
  FarmerAuditStats s;
  s.farmer = st.Fixed<20>(0);
  s.pass = st.UInt(1);
  s.fail = st.UInt(2);
  s.timeout = st.UInt(3);
  s.error = st.UInt(4);
  s.last_verdict = st.OptTime(5);
  s.mean_latency_ms = st.IsNull(6) ? 0.0 : st.Double(6);
  return s;
}

constexpr std::string_view kFarmerCols =
    "farmer_id, hint, status, suspicion, first_seen_ns, last_seen_ns, note";

Farmer ReadFarmer(const Stmt& st) {
  Farmer f;
  f.id = st.Fixed<20>(0);
  f.hint = st.Text(1);
  f.status = static_cast<FarmerStatus>(st.Int(2));
  f.suspicion = static_cast<uint32_t>(st.Int(3));
  f.first_seen = st.Time(4);
  f.last_seen = st.Time(5);
  f.note = st.Text(6);
  return f;
}

}  // namespace

// =========================================================================================
// Scopes and transactions

// One public call: joins the calling thread's open transaction under a SAVEPOINT, or locks
// the connection and runs its own transaction.
class Catalog::Scope {
 public:
  enum Kind { kRead, kWrite };

  Scope(Catalog* c, Kind kind) ABSL_NO_THREAD_SAFETY_ANALYSIS : c_(c) {
    if (c_->OwnedByThisThread()) {
      joined_ = true;
      db_ = c_->db_.get();
      status_ = db_->Run("SAVEPOINT gnr_call");
      ended_ = !status_.ok();
      return;
    }
    write_ = kind == kWrite;
    mu_ = write_ ? &c_->mu_ : &c_->read_mu_;
    db_ = write_ ? c_->db_.get() : c_->read_db_.get();
    mu_->Lock();
    status_ = db_->Run(write_ ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!status_.ok()) {
      mu_->Unlock();
      ended_ = true;
      return;
    }
    // Nested calls on this thread (none today) join instead of deadlocking.
    if (write_) c_->txn_owner_.store(std::this_thread::get_id());
  }

  ~Scope() {
    if (!ended_) End(false).IgnoreError();
  }

  const absl::Status& status() const { return status_; }
  Db& db() { return *db_; }

  // Commits / releases when `ok`, else rolls back. Returns a commit failure.
  absl::Status End(bool ok) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    ended_ = true;
    Db& db = *db_;
    if (joined_) {
      if (ok) {
        absl::Status s = db.Run("RELEASE gnr_call");
        if (s.ok()) return s;
        db.Run("ROLLBACK TO gnr_call").IgnoreError();
        db.Run("RELEASE gnr_call").IgnoreError();
        return s;
      }
      db.Run("ROLLBACK TO gnr_call").IgnoreError();
      db.Run("RELEASE gnr_call").IgnoreError();
      return absl::OkStatus();
    }
    absl::Status s;
    if (ok) {
      s = db.Run("COMMIT");
      if (!s.ok() && !sqlite3_get_autocommit(db.raw())) db.Run("ROLLBACK").IgnoreError();
    } else if (!sqlite3_get_autocommit(db.raw())) {
      db.Run("ROLLBACK").IgnoreError();
    }
    if (write_) c_->txn_owner_.store(std::thread::id());
    mu_->Unlock();
    return s;
  }

  // Runs fn(db) in a scope.
  template <typename Fn>
  static auto Run(Catalog* c, Kind kind, Fn&& fn) -> decltype(fn(std::declval<Db&>())) {
    Scope scope(c, kind);
    if (!scope.status().ok()) return scope.status();
    auto result = fn(scope.db());
    absl::Status end = scope.End(StatusOf(result).ok());
    if (!end.ok()) return end;
    return result;
  }

 private:
  Catalog* c_;
  Db* db_ = nullptr;
  absl::Mutex* mu_ = nullptr;
  bool joined_ = false;
  bool write_ = false;
  bool ended_ = false;
  absl::Status status_;
};

Transaction::Transaction(Transaction&& other) noexcept : catalog_(other.catalog_) {
  other.catalog_ = nullptr;
}

Transaction::~Transaction() { Rollback(); }

absl::Status Transaction::Commit() {
  if (catalog_ == nullptr) {
    return absl::FailedPreconditionError("catalog: transaction already finished");
  }
  Catalog* c = catalog_;
  catalog_ = nullptr;
  return c->EndTransaction(true);
}

void Transaction::Rollback() {
  if (catalog_ == nullptr) return;
  Catalog* c = catalog_;
  catalog_ = nullptr;
  c->EndTransaction(false).IgnoreError();
}

bool Catalog::OwnedByThisThread() const { return txn_owner_.load() == std::this_thread::get_id(); }

absl::StatusOr<Transaction> Catalog::Begin(Durability durability) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (OwnedByThisThread()) {
    return absl::FailedPreconditionError("catalog: a transaction is already open on this thread");
  }
  mu_.Lock();
  absl::Status s;
  if (durability == Durability::kDurable) s = db_->Run("PRAGMA synchronous = FULL");
  if (s.ok()) s = db_->Run("BEGIN IMMEDIATE");
  if (!s.ok()) {
    if (durability == Durability::kDurable) {
      db_->Run("PRAGMA synchronous = NORMAL").IgnoreError();
    }
    mu_.Unlock();
    return s;
  }
  txn_durability_ = durability;
  txn_owner_.store(std::this_thread::get_id());
  return Transaction(this);
}

absl::Status Catalog::EndTransaction(bool commit) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::Status s;
  if (commit) {
    s = db_->Run("COMMIT");
    if (!s.ok() && !sqlite3_get_autocommit(db_->raw())) db_->Run("ROLLBACK").IgnoreError();
  } else if (!sqlite3_get_autocommit(db_->raw())) {
    db_->Run("ROLLBACK").IgnoreError();
  }
  if (txn_durability_ == Durability::kDurable) {
    db_->Run("PRAGMA synchronous = NORMAL").IgnoreError();
    txn_durability_ = Durability::kNormal;
  }
  txn_owner_.store(std::thread::id());
  mu_.Unlock();
  return s;
}

// =========================================================================================
// Open and schema

Catalog::Catalog(std::string path, Clock& clock, std::unique_ptr<internal::Db> db,
                 const Options& options)
    : path_(std::move(path)), clock_(clock), options_(options), db_(std::move(db)) {}

Catalog::~Catalog() = default;

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, Clock& clock) {
  return Open(path, clock, Options());
}

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, Clock& clock,
                                                       const Options& options) {
  if (options.schema_version < 1 || options.schema_version > kLatestSchemaVersion) {
    return absl::InvalidArgumentError(absl::StrCat("catalog: schema version must be 1..",
                                                   kLatestSchemaVersion, ", got ",
                                                   options.schema_version));
  }
  if (!options.create_if_missing && ::access(path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("catalog: ", path, " does not exist"));
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(path, flags));
  sqlite3_busy_timeout(db->raw(),
                       static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  GNR_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON"));
  {
    GNR_ASSIGN_OR_RETURN(Stmt st, db->Prepare("PRAGMA journal_mode = WAL"));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    std::string mode = row ? st.Text(0) : "";
    if (mode != "wal") {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog: ", path, ": cannot switch to WAL mode (journal mode '", mode, "')"));
    }
  }
  GNR_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = NORMAL"));
  std::unique_ptr<Catalog> catalog(new Catalog(path, clock, std::move(db), options));
  GNR_RETURN_IF_ERROR(catalog->Migrate(options.schema_version));
  // The read connection, opened once the schema exists.
  GNR_ASSIGN_OR_RETURN(catalog->read_db_,
                       Db::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX));
  sqlite3_busy_timeout(catalog->read_db_->raw(),
                       static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  GNR_RETURN_IF_ERROR(catalog->read_db_->Exec("PRAGMA query_only = ON"));
  GNR_ASSIGN_OR_RETURN(std::string generation, catalog->GetMeta("catalog.generation"));
  uint64_t g = 0;
  if (absl::SimpleAtoi(generation, &g) && g > 0) catalog->generation_ = g;
  return catalog;
}

absl::Status Catalog::Migrate(int target_version) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::MutexLock lock(&mu_);
  Db& db = *db_;
  GNR_RETURN_IF_ERROR(db.Run("BEGIN IMMEDIATE"));
  auto body = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("PRAGMA user_version"));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    int current = row ? static_cast<int>(st.Int(0)) : 0;
    GNR_RETURN_IF_ERROR(st.Run());
    GNR_ASSIGN_OR_RETURN(Stmt app, db.Query("PRAGMA application_id"));
    GNR_ASSIGN_OR_RETURN(row, app.Step());
    int64_t app_id = row ? app.Int(0) : 0;
    GNR_RETURN_IF_ERROR(app.Run());
    if (current == 0) {
      GNR_ASSIGN_OR_RETURN(Stmt tables, db.Query("SELECT count(*) FROM sqlite_master"));
      GNR_ASSIGN_OR_RETURN(row, tables.Step());
      if (row && tables.Int(0) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("catalog: ", path_, " is an SQLite database but not a gnrfs catalog"));
      }
    } else if (app_id != internal::kApplicationId) {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog: ", path_, " is not a gnrfs catalog (application id ", app_id, ")"));
    }
    if (current > target_version) {
      return absl::FailedPreconditionError(
          absl::StrCat("catalog: ", path_, " has schema version ", current, ", newer than the ",
                       target_version, " this program supports; upgrade gnrfs"));
    }
    absl::Time now = clock_.Now();
    for (const internal::Migration& m : internal::Migrations()) {
      if (m.version <= current || m.version > target_version) continue;
      GNR_RETURN_IF_ERROR(
          Annotate(db.Exec(m.sql), absl::StrCat("migrating to schema version ", m.version)));
      if (m.version == 1) {
        GNR_RETURN_IF_ERROR(
            db.Exec(absl::StrCat("PRAGMA application_id = ", internal::kApplicationId)));
        GNR_RETURN_IF_ERROR(
            db.Run("INSERT INTO meta (key, value) VALUES ('catalog.created_ns', ?), "
                   "('catalog.generation', '1'), ('catalog.sync_count', '0')",
                   absl::StrCat(absl::ToUnixNanos(now))));
        GNR_RETURN_IF_ERROR(db.Run(
            "INSERT INTO inodes (ino, type, perm, uid, gid, nlink, size, atime_ns, mtime_ns, "
            "ctime_ns, btime_ns, generation) VALUES (1, 2, ?, ?, ?, 2, 0, ?, ?, ?, ?, 1)",
            options_.root_mode & 07777, options_.root_uid, options_.root_gid, now, now, now, now));
      }
      GNR_RETURN_IF_ERROR(db.Exec(absl::StrCat("PRAGMA user_version = ", m.version)));
    }
    schema_version_ = std::max(current, target_version);
    return absl::OkStatus();
  };
  absl::Status s = body();
  if (s.ok()) s = db.Run("COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(db.raw())) db.Run("ROLLBACK").IgnoreError();
  return s;
}

absl::Status Catalog::RequireSchema(int version, std::string_view what) const {
  if (schema_version_ >= version) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("catalog: ", AbslView(what), " needs schema version ", version,
                   "; this catalog was opened at version ", schema_version_));
}

// =========================================================================================
// Maintenance

absl::Status Catalog::Sync() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (OwnedByThisThread()) {
    return absl::FailedPreconditionError("catalog: Sync inside a transaction");
  }
  absl::MutexLock lock(&mu_);
  Db& db = *db_;
  GNR_RETURN_IF_ERROR(db.Run("PRAGMA synchronous = FULL"));
  absl::Status s = db.Run("BEGIN IMMEDIATE");
  if (s.ok()) {
    s = db.Run(
        "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
        "WHERE key = 'catalog.sync_count'");
    if (s.ok()) s = db.Run("COMMIT");
    if (!s.ok() && !sqlite3_get_autocommit(db.raw())) db.Run("ROLLBACK").IgnoreError();
  }
  db.Run("PRAGMA synchronous = NORMAL").IgnoreError();
  return s;
}

absl::Status Catalog::Checkpoint() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (OwnedByThisThread()) {
    return absl::FailedPreconditionError("catalog: Checkpoint inside a transaction");
  }
  absl::MutexLock lock(&mu_);
  int log = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_->raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
  return internal::SqliteStatus(db_->raw(), rc, "checkpoint");
}

absl::Status Catalog::SnapshotTo(const std::string& dest_path) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (OwnedByThisThread()) {
    return absl::FailedPreconditionError("catalog: SnapshotTo inside a transaction");
  }
  if (::access(dest_path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("catalog: snapshot target ", dest_path, " already exists"));
  }
  absl::MutexLock lock(&mu_);
  return db_->Run("VACUUM INTO ?", dest_path);
}

absl::Status Catalog::CheckIntegrity() {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::Status {
    std::vector<std::string> problems;
    {
      GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("PRAGMA integrity_check"));
      while (true) {
        GNR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        std::string line = st.Text(0);
        if (line != "ok") problems.push_back(line);
      }
    }
    {
      GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("PRAGMA foreign_key_check"));
      while (true) {
        GNR_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        problems.push_back(absl::StrCat("foreign key violation in ", st.Text(0), " row ", st.Int(1),
                                        " -> ", st.Text(2)));
      }
    }
    if (problems.empty()) return absl::OkStatus();
    return absl::DataLossError(
        absl::StrCat("catalog: integrity check failed: ", absl::StrJoin(problems, "; ")));
  });
}

absl::StatusOr<std::string> Catalog::GetMeta(std::string_view key) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::string> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("SELECT value FROM meta WHERE key = ?", key));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: no setting ", AbslView(key)));
    return st.Text(0);
  });
}

absl::Status Catalog::SetMeta(std::string_view key, std::string_view value) {
  if (key.empty() || key.substr(0, 8) == "catalog.") {
    return absl::InvalidArgumentError(
        absl::StrCat("catalog: setting name '", AbslView(key), "' is empty or reserved"));
  }
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    return db.Run(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        key, value);
  });
}

// =========================================================================================
// Namespace

absl::StatusOr<Attr> Catalog::Lookup(Ino parent, std::string_view name) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Attr> {
    if (name.size() > kMaxNameLength) {
      return PosixError(ENAMETOOLONG, absl::StrCat("lookup: name of ", name.size(),
                                                   " bytes exceeds ", kMaxNameLength));
    }
    GNR_ASSIGN_OR_RETURN(Attr dir, LoadDir(db, parent, "lookup", /*live=*/false));
    if (name == ".") return dir;
    if (name == "..") {
      GNR_ASSIGN_OR_RETURN(std::optional<Ino> up, ParentOf(db, parent));
      if (!up.has_value()) {
        return PosixError(ENOENT, absl::StrCat("lookup: directory ", parent, " was removed"));
      }
      return LoadAttr(db, *up, "lookup");
    }
    GNR_ASSIGN_OR_RETURN(Entry e, RequireEntry(db, parent, name, "lookup"));
    return LoadAttr(db, e.child, "lookup");
  });
}

absl::StatusOr<Attr> Catalog::GetAttr(Ino ino) {
  return Scope::Run(this, Scope::kRead,
                    [&](Db& db) -> absl::StatusOr<Attr> { return LoadAttr(db, ino, "getattr"); });
}

absl::StatusOr<Ino> Catalog::Parent(Ino dir) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Ino> {
    GNR_RETURN_IF_ERROR(LoadDir(db, dir, "parent", /*live=*/false).status());
    GNR_ASSIGN_OR_RETURN(std::optional<Ino> up, ParentOf(db, dir));
    if (!up.has_value()) {
      return PosixError(ENOENT, absl::StrCat("parent: directory ", dir, " was removed"));
    }
    return *up;
  });
}

absl::StatusOr<Attr> Catalog::CreateNode(Ino parent, std::string_view name, const NodeSpec& spec) {
  const std::string_view op = "create";
  uint32_t type_bits = ModeTypeBits(spec.type);
  if (type_bits == 0) {
    return PosixError(EINVAL,
                      absl::StrCat("create: unknown node type ", static_cast<int>(spec.type)));
  }
  if ((spec.mode & S_IFMT) != 0 && (spec.mode & S_IFMT) != type_bits) {
    return PosixError(EINVAL,
                      absl::StrCat("create: mode ", absl::Hex(spec.mode), " does not match type ",
                                   AbslView(NodeTypeName(spec.type))));
  }
  if ((spec.mode & ~(S_IFMT | 07777u)) != 0) {
    return PosixError(EINVAL,
                      absl::StrCat("create: mode ", absl::Hex(spec.mode), " has unknown bits"));
  }
  if (spec.type == NodeType::kSymlink) {
    if (spec.symlink_target.empty()) {
      return PosixError(ENOENT, "symlink: empty target");
    }
    if (spec.symlink_target.size() > kMaxSymlinkLength) {
      return PosixError(ENAMETOOLONG,
                        absl::StrCat("symlink: target of ", spec.symlink_target.size(),
                                     " bytes exceeds ", kMaxSymlinkLength));
    }
  } else if (!spec.symlink_target.empty()) {
    return PosixError(EINVAL, "create: only symlinks have a target");
  }
  GNR_RETURN_IF_ERROR(CheckName(name, op, EEXIST));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<Attr> {
    GNR_RETURN_IF_ERROR(LoadDir(db, parent, op, /*live=*/true).status());
    GNR_ASSIGN_OR_RETURN(std::optional<Entry> existing, FindEntry(db, parent, name));
    if (existing.has_value()) {
      return PosixError(
          EEXIST, absl::StrCat("create: ", Quote(name), " already exists in directory ", parent));
    }
    absl::Time now = clock_.Now();
    bool is_dir = spec.type == NodeType::kDirectory;
    bool is_link = spec.type == NodeType::kSymlink;
    bool is_dev = spec.type == NodeType::kCharDevice || spec.type == NodeType::kBlockDevice;
    std::optional<ByteView> target;
    if (is_link) target = AsBytes(spec.symlink_target);
    GNR_RETURN_IF_ERROR(
        db.Run("INSERT INTO inodes (type, perm, uid, gid, nlink, size, rdev, atime_ns, mtime_ns, "
               "ctime_ns, btime_ns, generation, symlink_target) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               static_cast<int64_t>(spec.type), spec.mode & 07777u, spec.uid, spec.gid,
               int64_t{is_dir ? 2 : 1}, uint64_t{is_link ? spec.symlink_target.size() : 0},
               uint64_t{is_dev ? spec.rdev : 0}, now, now, now, now, generation_, target));
    Ino ino = static_cast<Ino>(db.LastInsertRowId());
    GNR_RETURN_IF_ERROR(InsertEntry(db, parent, name, ino));
    if (is_dir) GNR_RETURN_IF_ERROR(AddLinks(db, parent, +1));
    GNR_RETURN_IF_ERROR(TouchDir(db, parent, now));
    return LoadAttr(db, ino, op);
  });
}

absl::StatusOr<std::string> Catalog::ReadLink(Ino ino) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::string> {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query("SELECT type, symlink_target FROM inodes WHERE ino = ?", ino));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return PosixError(ENOENT, absl::StrCat("readlink: no inode ", ino));
    if (static_cast<NodeType>(st.Int(0)) != NodeType::kSymlink) {
      return PosixError(EINVAL, absl::StrCat("readlink: inode ", ino, " is not a symlink"));
    }
    Bytes target = st.Blob(1);
    return std::string(target.begin(), target.end());
  });
}

absl::StatusOr<Unlinked> Catalog::Unlink(Ino parent, std::string_view name) {
  const std::string_view op = "unlink";
  GNR_RETURN_IF_ERROR(CheckName(name, op, EINVAL));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<Unlinked> {
    GNR_RETURN_IF_ERROR(LoadDir(db, parent, op, /*live=*/false).status());
    GNR_ASSIGN_OR_RETURN(Entry e, RequireEntry(db, parent, name, op));
    GNR_ASSIGN_OR_RETURN(Attr child, LoadAttr(db, e.child, op));
    if (child.is_directory()) {
      return PosixError(EISDIR, absl::StrCat("unlink: ", Quote(name), " in directory ", parent,
                                             " is a directory"));
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(DeleteEntry(db, e.cookie));
    GNR_RETURN_IF_ERROR(AddLinksAndTouch(db, child.ino, -1, now));
    GNR_RETURN_IF_ERROR(TouchDir(db, parent, now));
    return Unlinked{child.ino, child.nlink > 0 ? child.nlink - 1 : 0};
  });
}

absl::StatusOr<Unlinked> Catalog::Rmdir(Ino parent, std::string_view name) {
  const std::string_view op = "rmdir";
  GNR_RETURN_IF_ERROR(CheckName(name, op, EINVAL));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<Unlinked> {
    GNR_RETURN_IF_ERROR(LoadDir(db, parent, op, /*live=*/false).status());
    GNR_ASSIGN_OR_RETURN(Entry e, RequireEntry(db, parent, name, op));
    GNR_ASSIGN_OR_RETURN(Attr child, LoadAttr(db, e.child, op));
    if (!child.is_directory()) {
      return PosixError(ENOTDIR, absl::StrCat("rmdir: ", Quote(name), " in directory ", parent,
                                              " is a ", AbslView(NodeTypeName(child.type))));
    }
    GNR_ASSIGN_OR_RETURN(bool has_entries, DirHasEntries(db, child.ino));
    if (has_entries) {
      return PosixError(ENOTEMPTY, absl::StrCat("rmdir: directory ", Quote(name), " (inode ",
                                                child.ino, ") is not empty"));
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(DeleteEntry(db, e.cookie));
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE inodes SET nlink = 0, ctime_ns = ? WHERE ino = ?", now, child.ino));
    GNR_RETURN_IF_ERROR(AddLinks(db, parent, -1));
    GNR_RETURN_IF_ERROR(TouchDir(db, parent, now));
    return Unlinked{child.ino, 0};
  });
}

absl::StatusOr<RenameResult> Catalog::Rename(Ino old_parent, std::string_view old_name,
                                             Ino new_parent, std::string_view new_name,
                                             RenameMode mode) {
  const std::string_view op = "rename";
  if (mode != RenameMode::kDefault && mode != RenameMode::kNoReplace &&
      mode != RenameMode::kExchange) {
    return PosixError(EINVAL, "rename: unknown mode");
  }
  GNR_RETURN_IF_ERROR(CheckName(old_name, op, EINVAL));
  GNR_RETURN_IF_ERROR(CheckName(new_name, op, EINVAL));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<RenameResult> {
    GNR_RETURN_IF_ERROR(LoadDir(db, old_parent, op, /*live=*/false).status());
    GNR_RETURN_IF_ERROR(LoadDir(db, new_parent, op, /*live=*/true).status());
    GNR_ASSIGN_OR_RETURN(Entry src, RequireEntry(db, old_parent, old_name, op));
    GNR_ASSIGN_OR_RETURN(Attr src_attr, LoadAttr(db, src.child, op));
    GNR_ASSIGN_OR_RETURN(std::optional<Entry> dst, FindEntry(db, new_parent, new_name));
    std::optional<Attr> dst_attr;
    if (dst.has_value()) {
      GNR_ASSIGN_OR_RETURN(dst_attr, LoadAttr(db, dst->child, op));
    }
    if (mode == RenameMode::kExchange && !dst.has_value()) {
      return PosixError(ENOENT, absl::StrCat("rename: exchange target ", Quote(new_name),
                                             " does not exist in directory ", new_parent));
    }
    if (mode == RenameMode::kNoReplace && dst.has_value()) {
      return PosixError(EEXIST, absl::StrCat("rename: target ", Quote(new_name),
                                             " exists in directory ", new_parent));
    }
    // Two links to the same inode: nothing to do (POSIX).
    if (dst.has_value() && dst->child == src.child) return RenameResult{};

    // Loops, in the order Linux checks them: the source may not be an ancestor of the new
    // parent; the target may not be an ancestor of the old parent.
    if (src_attr.is_directory()) {
      GNR_ASSIGN_OR_RETURN(bool loop, IsAncestorOrSelf(db, src.child, new_parent));
      if (loop) {
        return PosixError(
            EINVAL, absl::StrCat("rename: cannot move directory ", src.child, " into itself"));
      }
    }
    if (dst_attr.has_value() && dst_attr->is_directory()) {
      GNR_ASSIGN_OR_RETURN(bool loop, IsAncestorOrSelf(db, dst->child, old_parent));
      if (loop) {
        return PosixError(
            mode == RenameMode::kExchange ? EINVAL : ENOTEMPTY,
            absl::StrCat("rename: target directory ", dst->child, " contains the source"));
      }
    }

    absl::Time now = clock_.Now();
    RenameResult result;
    if (mode == RenameMode::kExchange) {
      GNR_RETURN_IF_ERROR(
          db.Run("UPDATE dirents SET child = ? WHERE cookie = ?", dst->child, src.cookie));
      GNR_RETURN_IF_ERROR(
          db.Run("UPDATE dirents SET child = ? WHERE cookie = ?", src.child, dst->cookie));
      if (old_parent != new_parent && src_attr.is_directory() != dst_attr->is_directory()) {
        // A directory changes parent in each direction: move one link.
        int64_t delta = src_attr.is_directory() ? 1 : -1;
        GNR_RETURN_IF_ERROR(AddLinks(db, new_parent, delta));
        GNR_RETURN_IF_ERROR(AddLinks(db, old_parent, -delta));
      }
      GNR_RETURN_IF_ERROR(AddLinksAndTouch(db, src.child, 0, now));
      GNR_RETURN_IF_ERROR(AddLinksAndTouch(db, dst->child, 0, now));
    } else {
      if (dst.has_value()) {
        if (src_attr.is_directory() && !dst_attr->is_directory()) {
          return PosixError(ENOTDIR, absl::StrCat("rename: cannot replace non-directory ",
                                                  Quote(new_name), " with a directory"));
        }
        if (!src_attr.is_directory() && dst_attr->is_directory()) {
          return PosixError(EISDIR, absl::StrCat("rename: cannot replace directory ",
                                                 Quote(new_name), " with a non-directory"));
        }
        if (dst_attr->is_directory()) {
          GNR_ASSIGN_OR_RETURN(bool has_entries, DirHasEntries(db, dst->child));
          if (has_entries) {
            return PosixError(ENOTEMPTY, absl::StrCat("rename: target directory ", Quote(new_name),
                                                      " is not empty"));
          }
        }
        GNR_RETURN_IF_ERROR(DeleteEntry(db, dst->cookie));
        if (dst_attr->is_directory()) {
          GNR_RETURN_IF_ERROR(
              db.Run("UPDATE inodes SET nlink = 0, ctime_ns = ? WHERE ino = ?", now, dst->child));
          GNR_RETURN_IF_ERROR(AddLinks(db, new_parent, -1));
          result.replaced = Unlinked{dst->child, 0};
        } else {
          GNR_RETURN_IF_ERROR(AddLinksAndTouch(db, dst->child, -1, now));
          result.replaced = Unlinked{dst->child, dst_attr->nlink > 0 ? dst_attr->nlink - 1 : 0};
        }
      }
      GNR_RETURN_IF_ERROR(DeleteEntry(db, src.cookie));
      GNR_RETURN_IF_ERROR(InsertEntry(db, new_parent, new_name, src.child));
      if (src_attr.is_directory() && old_parent != new_parent) {
        GNR_RETURN_IF_ERROR(AddLinks(db, old_parent, -1));
        GNR_RETURN_IF_ERROR(AddLinks(db, new_parent, +1));
      }
      GNR_RETURN_IF_ERROR(AddLinksAndTouch(db, src.child, 0, now));
    }
    GNR_RETURN_IF_ERROR(TouchDir(db, old_parent, now));
    if (new_parent != old_parent) GNR_RETURN_IF_ERROR(TouchDir(db, new_parent, now));
    return result;
  });
}

absl::StatusOr<Attr> Catalog::Link(Ino ino, Ino new_parent, std::string_view new_name) {
  const std::string_view op = "link";
  GNR_RETURN_IF_ERROR(CheckName(new_name, op, EEXIST));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<Attr> {
    GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, ino, op));
    if (attr.is_directory()) {
      return PosixError(EPERM, absl::StrCat("link: inode ", ino, " is a directory"));
    }
    if (attr.nlink == 0) {
      return PosixError(ENOENT, absl::StrCat("link: inode ", ino, " was removed"));
    }
    if (attr.nlink >= kMaxLinks) {
      return PosixError(EMLINK,
                        absl::StrCat("link: inode ", ino, " already has ", attr.nlink, " links"));
    }
    GNR_RETURN_IF_ERROR(LoadDir(db, new_parent, op, /*live=*/true).status());
    GNR_ASSIGN_OR_RETURN(std::optional<Entry> existing, FindEntry(db, new_parent, new_name));
    if (existing.has_value()) {
      return PosixError(EEXIST, absl::StrCat("link: ", Quote(new_name),
                                             " already exists in directory ", new_parent));
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(InsertEntry(db, new_parent, new_name, ino));
    GNR_RETURN_IF_ERROR(AddLinksAndTouch(db, ino, +1, now));
    GNR_RETURN_IF_ERROR(TouchDir(db, new_parent, now));
    return LoadAttr(db, ino, op);
  });
}

absl::StatusOr<Attr> Catalog::SetAttr(Ino ino, const AttrUpdate& update) {
  const std::string_view op = "setattr";
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<Attr> {
    GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, ino, op));
    absl::Time now = clock_.Now();
    bool changed = false;
    if (update.mode.has_value()) {
      uint32_t type_bits = *update.mode & S_IFMT;
      if ((type_bits != 0 && type_bits != ModeTypeBits(attr.type)) ||
          (*update.mode & ~(S_IFMT | 07777u)) != 0) {
        return PosixError(
            EINVAL, absl::StrCat("setattr: mode ", absl::Hex(*update.mode), " cannot apply to a ",
                                 AbslView(NodeTypeName(attr.type))));
      }
      attr.mode = ModeTypeBits(attr.type) | (*update.mode & 07777u);
      changed = true;
    }
    if (update.uid.has_value()) {
      attr.uid = *update.uid;
      changed = true;
    }
    if (update.gid.has_value()) {
      attr.gid = *update.gid;
      changed = true;
    }
    if (update.size.has_value()) {
      if (attr.is_directory()) {
        return PosixError(EISDIR, absl::StrCat("truncate: inode ", ino, " is a directory"));
      }
      if (attr.type != NodeType::kFile) {
        return PosixError(EINVAL, absl::StrCat("truncate: inode ", ino, " is a ",
                                               AbslView(NodeTypeName(attr.type))));
      }
      if (*update.size > codec::kMaxFileSize) {
        return PosixError(
            EFBIG, absl::StrCat("truncate: size ", *update.size, " exceeds the largest file size"));
      }
      if (*update.size != attr.size) attr.mtime = now;
      attr.size = *update.size;
      changed = true;
    }
    if (update.atime_now) {
      attr.atime = now;
      changed = true;
    } else if (update.atime.has_value()) {
      attr.atime = *update.atime;
      changed = true;
    }
    if (update.mtime_now) {
      attr.mtime = now;
      changed = true;
    } else if (update.mtime.has_value()) {
      attr.mtime = *update.mtime;
      changed = true;
    }
    if (update.ctime.has_value()) {
      attr.ctime = *update.ctime;
    } else if (changed) {
      attr.ctime = now;
    } else {
      return attr;
    }
    GNR_RETURN_IF_ERROR(db.Run(
        "UPDATE inodes SET perm = ?, uid = ?, gid = ?, size = ?, atime_ns = ?, mtime_ns = ?, "
        "ctime_ns = ? WHERE ino = ?",
        attr.mode & 07777u, attr.uid, attr.gid, attr.size, attr.atime, attr.mtime, attr.ctime,
        ino));
    return attr;
  });
}

absl::StatusOr<std::vector<DirEntry>> Catalog::ReadDir(Ino dir, uint64_t after_cookie,
                                                       size_t max_entries) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<DirEntry>> {
    GNR_RETURN_IF_ERROR(LoadDir(db, dir, "readdir", /*live=*/false).status());
    std::vector<DirEntry> out;
    if (max_entries == 0) return out;
    GNR_ASSIGN_OR_RETURN(
        Stmt st, db.Query(absl::StrCat("SELECT d.cookie, d.name, ", AbslView(kAttrCols),
                                       " FROM dirents d JOIN inodes i ON i.ino = d.child "
                                       "WHERE d.parent = ? AND d.cookie > ? "
                                       "ORDER BY d.cookie LIMIT ?"),
                          dir, after_cookie,
                          static_cast<int64_t>(std::min<size_t>(max_entries, size_t{1} << 30))));
    while (true) {
      GNR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      DirEntry e;
      e.cookie = st.UInt(0);
      Bytes name = st.Blob(1);
      e.name.assign(name.begin(), name.end());
      e.attr = ReadAttr(st, 2);
      out.push_back(std::move(e));
    }
    return out;
  });
}

absl::StatusOr<uint64_t> Catalog::CountEntries(Ino dir) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<uint64_t> {
    GNR_RETURN_IF_ERROR(LoadDir(db, dir, "readdir", /*live=*/false).status());
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("SELECT count(*) FROM dirents WHERE parent = ?", dir));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.UInt(0) : 0;
  });
}

// ---- Xattrs ------------------------------------------------------------------------------

namespace {

absl::Status CheckXattrName(std::string_view name) {
  if (name.empty() || name.size() > kMaxXattrNameLength) {
    return PosixError(ERANGE, absl::StrCat("xattr: name of ", name.size(), " bytes is outside 1..",
                                           kMaxXattrNameLength));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Bytes> Catalog::GetXattr(Ino ino, std::string_view name) {
  GNR_RETURN_IF_ERROR(CheckXattrName(name));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Bytes> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("SELECT value FROM xattrs WHERE ino = ? AND name = ?",
                                           ino, AsBytes(name)));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) return st.Blob(0);
    GNR_RETURN_IF_ERROR(LoadAttr(db, ino, "getxattr").status());
    return PosixError(ENODATA,
                      absl::StrCat("getxattr: inode ", ino, " has no attribute ", Quote(name)));
  });
}

absl::Status Catalog::SetXattr(Ino ino, std::string_view name, ByteView value, XattrSetMode mode) {
  GNR_RETURN_IF_ERROR(CheckXattrName(name));
  if (value.size() > kMaxXattrValueSize) {
    return PosixError(E2BIG, absl::StrCat("setxattr: value of ", value.size(), " bytes exceeds ",
                                          kMaxXattrValueSize));
  }
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(LoadAttr(db, ino, "setxattr").status());
    GNR_ASSIGN_OR_RETURN(
        Stmt st, db.Query("SELECT 1 FROM xattrs WHERE ino = ? AND name = ?", ino, AsBytes(name)));
    GNR_ASSIGN_OR_RETURN(bool exists, st.Step());
    if (exists && mode == XattrSetMode::kCreate) {
      return PosixError(EEXIST,
                        absl::StrCat("setxattr: inode ", ino, " already has ", Quote(name)));
    }
    if (!exists && mode == XattrSetMode::kReplace) {
      return PosixError(ENODATA,
                        absl::StrCat("setxattr: inode ", ino, " has no attribute ", Quote(name)));
    }
    GNR_RETURN_IF_ERROR(
        db.Run("INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) "
               "ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value",
               ino, AsBytes(name), value));
    return db.Run("UPDATE inodes SET ctime_ns = ? WHERE ino = ?", clock_.Now(), ino);
  });
}

absl::StatusOr<std::vector<std::string>> Catalog::ListXattrs(Ino ino) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<std::string>> {
    GNR_RETURN_IF_ERROR(LoadAttr(db, ino, "listxattr").status());
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query("SELECT name FROM xattrs WHERE ino = ? ORDER BY name", ino));
    std::vector<std::string> out;
    while (true) {
      GNR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      Bytes name = st.Blob(0);
      out.emplace_back(name.begin(), name.end());
    }
    return out;
  });
}

absl::Status Catalog::RemoveXattr(Ino ino, std::string_view name) {
  GNR_RETURN_IF_ERROR(CheckXattrName(name));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(LoadAttr(db, ino, "removexattr").status());
    GNR_RETURN_IF_ERROR(
        db.Run("DELETE FROM xattrs WHERE ino = ? AND name = ?", ino, AsBytes(name)));
    if (db.Changes() == 0) {
      return PosixError(
          ENODATA, absl::StrCat("removexattr: inode ", ino, " has no attribute ", Quote(name)));
    }
    return db.Run("UPDATE inodes SET ctime_ns = ? WHERE ino = ?", clock_.Now(), ino);
  });
}

// ---- Totals and orphans ------------------------------------------------------------------

absl::StatusOr<FsTotals> Catalog::Totals() {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<FsTotals> {
    FsTotals t;
    {
      GNR_ASSIGN_OR_RETURN(Stmt st,
                           db.Query("SELECT count(*), coalesce(sum(nlink = 0), 0), "
                                    "coalesce(sum(CASE WHEN type = 1 THEN size ELSE 0 END), 0) "
                                    "FROM inodes"));
      GNR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) {
        t.inodes = st.UInt(0);
        t.orphans = st.UInt(1);
        t.file_bytes = st.UInt(2);
      }
    }
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query("SELECT coalesce(sum(size), 0) FROM versions WHERE state = 2"));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) t.committed_bytes = st.UInt(0);
    return t;
  });
}

absl::StatusOr<std::vector<Ino>> Catalog::ListOrphans() {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Ino>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query("SELECT ino FROM inodes WHERE nlink = 0 ORDER BY ino"));
    std::vector<Ino> out;
    while (true) {
      GNR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(st.UInt(0));
    }
  });
}

absl::StatusOr<std::vector<Upload>> Catalog::PurgeInode(Ino ino) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<std::vector<Upload>> {
    GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, ino, "purge"));
    if (attr.nlink > 0) {
      return PosixError(EBUSY,
                        absl::StrCat("purge: inode ", ino, " still has ", attr.nlink, " links"));
    }
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query(absl::StrCat("SELECT ", AbslView(kUploadCols),
                                               " FROM uploads WHERE ino = ? ORDER BY upload_id"),
                                  ino));
    GNR_ASSIGN_OR_RETURN(std::vector<Upload> uploads, ReadUploads(st));
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(db.Run("UPDATE inodes SET current_version = NULL WHERE ino = ?", ino));
    GNR_RETURN_IF_ERROR(db.Run(
        "UPDATE versions SET state = 3, obsoleted_ns = ? WHERE ino = ? AND state != 3", now, ino));
    GNR_RETURN_IF_ERROR(db.Run("DELETE FROM uploads WHERE ino = ?", ino));
    GNR_RETURN_IF_ERROR(db.Run("DELETE FROM xattrs WHERE ino = ?", ino));
    GNR_RETURN_IF_ERROR(db.Run("DELETE FROM inodes WHERE ino = ?", ino));
    return uploads;
  });
}

// =========================================================================================
// Versions

absl::StatusOr<VersionId> Catalog::AddVersion(const NewVersion& version) {
  GNR_RETURN_IF_ERROR(CheckBucketId(version.bucket_id));
  uint32_t k = 0, m = 0;
  uint64_t segments = 0;
  if (version.kind == VersionKind::kSharded) {
    if (!version.inline_blob.empty()) {
      return absl::InvalidArgumentError("catalog: a sharded version has no inline blob");
    }
    absl::StatusOr<codec::FileManifest> manifest = codec::DecodeFileManifest(version.manifest);
    if (!manifest.ok()) return Annotate(manifest.status(), "catalog: version manifest");
    if (manifest->file_size != version.size) {
      return absl::InvalidArgumentError(absl::StrCat("catalog: manifest describes ",
                                                     manifest->file_size,
                                                     " bytes but the version has ", version.size));
    }
    if (manifest->nonce != version.nonce) {
      return absl::InvalidArgumentError("catalog: manifest nonce differs from the version's");
    }
    k = manifest->data_shards;
    m = manifest->parity_shards;
    segments = manifest->segments.size();
  } else if (version.kind == VersionKind::kInline) {
    if (version.inline_blob.empty()) {
      return absl::InvalidArgumentError("catalog: an inline version needs its blob");
    }
    if (!version.manifest.empty()) {
      return absl::InvalidArgumentError("catalog: an inline version has no manifest");
    }
  } else {
    return absl::InvalidArgumentError("catalog: unknown version kind");
  }
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<VersionId> {
    GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, version.ino, "add version"));
    if (attr.is_directory()) {
      return PosixError(EISDIR,
                        absl::StrCat("add version: inode ", version.ino, " is a directory"));
    }
    if (attr.type != NodeType::kFile) {
      return PosixError(EINVAL, absl::StrCat("add version: inode ", version.ino, " is a ",
                                             AbslView(NodeTypeName(attr.type))));
    }
    GNR_ASSIGN_OR_RETURN(Stmt b,
                         db.Query("SELECT 1 FROM buckets WHERE bucket_id = ?", version.bucket_id));
    GNR_ASSIGN_OR_RETURN(bool known, b.Step());
    if (!known) {
      return absl::NotFoundError(absl::StrCat("catalog: unknown bucket ", Hex(version.bucket_id)));
    }
    std::optional<ByteView> manifest, blob;
    if (version.kind == VersionKind::kSharded) manifest = ByteView(version.manifest);
    if (version.kind == VersionKind::kInline) blob = ByteView(version.inline_blob);
    GNR_RETURN_IF_ERROR(db.Run(
        "INSERT INTO versions (ino, kind, state, size, nonce, bucket_id, manifest, inline_blob, "
        "data_shards, parity_shards, segment_count, created_ns) "
        "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        version.ino, static_cast<int64_t>(version.kind), version.size, version.nonce,
        version.bucket_id, manifest, blob, k, m, segments, clock_.Now()));
    return db.LastInsertRowId();
  });
}

absl::StatusOr<Version> Catalog::GetVersion(VersionId id) {
  return Scope::Run(this, Scope::kRead,
                    [&](Db& db) -> absl::StatusOr<Version> { return LoadVersion(db, id); });
}

absl::StatusOr<std::vector<Version>> Catalog::ListVersions(Ino ino) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Version>> {
    GNR_ASSIGN_OR_RETURN(
        Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kVersionCols),
                                       " FROM versions v WHERE v.ino = ? ORDER BY v.version_id"),
                          ino));
    return ReadVersions(st);
  });
}

absl::StatusOr<std::vector<Version>> Catalog::ListVersionsByState(VersionState state,
                                                                  size_t limit) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Version>> {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query(absl::StrCat("SELECT ", AbslView(kVersionCols),
                                               " FROM versions v WHERE v.state = ? "
                                               "ORDER BY v.version_id LIMIT ?"),
                                  static_cast<int64_t>(state), static_cast<uint64_t>(limit)));
    return ReadVersions(st);
  });
}

absl::Status Catalog::CommitVersion(VersionId id, bool make_current, uint32_t min_acked_shards) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, id));
    if (v.state != VersionState::kPending) {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog: version ", id, " is ", AbslView(VersionStateName(v.state)), ", not pending"));
    }
    GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, v.ino, "commit version"));
    if (v.kind == VersionKind::kSharded) {
      uint32_t needed = min_acked_shards;
      if (needed == 0) needed = std::min(v.data_shards + 1, v.data_shards + v.parity_shards);
      GNR_ASSIGN_OR_RETURN(std::vector<uint32_t> acked, AckedPerSegment(db, v));
      for (size_t s = 0; s < acked.size(); ++s) {
        if (acked[s] < needed) {
          return absl::FailedPreconditionError(
              absl::StrCat("catalog: cannot commit version ", id, ": segment ", s, " has ",
                           acked[s], " acknowledged shards, needs ", needed));
        }
      }
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE versions SET state = 2, committed_ns = ? WHERE version_id = ?", now, id));
    if (make_current) {
      if (attr.current_version.has_value() && *attr.current_version != id) {
        GNR_RETURN_IF_ERROR(MarkObsolete(db, *attr.current_version, now));
      }
      GNR_RETURN_IF_ERROR(db.Run("UPDATE inodes SET current_version = ? WHERE ino = ?", id, v.ino));
    }
    return absl::OkStatus();
  });
}

absl::Status Catalog::SetCurrentVersion(Ino ino, VersionId id) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, id));
    if (v.ino != ino) {
      return absl::InvalidArgumentError(
          absl::StrCat("catalog: version ", id, " belongs to inode ", v.ino, ", not ", ino));
    }
    if (v.state == VersionState::kPending) {
      return absl::FailedPreconditionError(
          absl::StrCat("catalog: version ", id, " is not committed"));
    }
    GNR_ASSIGN_OR_RETURN(Attr attr, LoadAttr(db, ino, "set current version"));
    if (attr.current_version == id) return absl::OkStatus();
    absl::Time now = clock_.Now();
    if (attr.current_version.has_value()) {
      GNR_RETURN_IF_ERROR(MarkObsolete(db, *attr.current_version, now));
    }
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE versions SET state = 2, obsoleted_ns = NULL WHERE version_id = ?", id));
    return db.Run("UPDATE inodes SET current_version = ? WHERE ino = ?", id, ino);
  });
}

absl::Status Catalog::ObsoleteVersion(VersionId id) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, id));
    if (v.is_current) {
      return absl::FailedPreconditionError(
          absl::StrCat("catalog: version ", id, " is the current version of inode ", v.ino));
    }
    return MarkObsolete(db, id, clock_.Now());
  });
}

absl::StatusOr<std::vector<Version>> Catalog::ListObsoleteVersions(absl::Time obsoleted_before,
                                                                   size_t limit) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Version>> {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query(absl::StrCat("SELECT ", AbslView(kVersionCols),
                                               " FROM versions v WHERE v.state = 3 AND "
                                               "v.obsoleted_ns <= ? "
                                               "ORDER BY v.obsoleted_ns, v.version_id LIMIT ?"),
                                  obsoleted_before, static_cast<uint64_t>(limit)));
    return ReadVersions(st);
  });
}

absl::Status Catalog::DeleteVersion(VersionId id) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, id));
    if (v.state != VersionState::kObsolete || v.is_current) {
      return absl::FailedPreconditionError(absl::StrCat("catalog: version ", id, " is ",
                                                        AbslView(VersionStateName(v.state)),
                                                        "; only obsolete versions can be deleted"));
    }
    return db.Run("DELETE FROM versions WHERE version_id = ?", id);
  });
}

absl::Status Catalog::UpdateManifest(VersionId id, ByteView manifest) {
  absl::StatusOr<codec::FileManifest> next = codec::DecodeFileManifest(manifest);
  if (!next.ok()) return Annotate(next.status(), "catalog: new manifest");
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, id));
    if (v.kind != VersionKind::kSharded) {
      return absl::InvalidArgumentError(
          absl::StrCat("catalog: version ", id, " is inline and has no manifest"));
    }
    absl::StatusOr<codec::FileManifest> old = codec::DecodeFileManifest(v.manifest);
    if (!old.ok()) return Annotate(old.status(), "catalog: stored manifest");
    if (next->file_size != old->file_size || next->nonce != old->nonce ||
        next->data_shards != old->data_shards || next->parity_shards != old->parity_shards ||
        next->segment_size != old->segment_size || next->segments.size() != old->segments.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("catalog: new manifest of version ", id, " describes different content"));
    }
    return db.Run("UPDATE versions SET manifest = ? WHERE version_id = ?", manifest, id);
  });
}

// =========================================================================================
// Placements

absl::Status Catalog::InsertPlacement(Db& db, const NewPlacement& p, absl::Time now) {
  if (schema_version_ < 4) {
    if (p.sentinel_generation != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog: sentinel generation ", p.sentinel_generation,
          " needs schema version 4; this catalog was opened at version ", schema_version_));
    }
    return db.Run(
        "INSERT INTO placements (version_id, segment, shard_index, generation, shard_id, "
        "farmer_id, farmer_hint, merkle_root, stored_length, state, groups_used, created_ns, "
        "updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p.version, p.segment, p.shard_index, p.generation, p.shard_id, p.farmer, p.farmer_hint,
        p.merkle_root, p.stored_length, static_cast<int64_t>(p.state), p.groups_used, now, now);
  }
  return db.Run(
      "INSERT INTO placements (version_id, segment, shard_index, generation, shard_id, "
      "farmer_id, farmer_hint, merkle_root, stored_length, state, groups_used, created_ns, "
      "updated_ns, sentinel_generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      p.version, p.segment, p.shard_index, p.generation, p.shard_id, p.farmer, p.farmer_hint,
      p.merkle_root, p.stored_length, static_cast<int64_t>(p.state), p.groups_used, now, now,
      p.sentinel_generation);
}

absl::StatusOr<PlacementId> Catalog::AddPlacement(const NewPlacement& p) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<PlacementId> {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, p.version));
    if (v.kind != VersionKind::kSharded) {
      return absl::InvalidArgumentError(
          absl::StrCat("catalog: version ", v.id, " is inline and has no shards"));
    }
    if (p.segment >= v.segment_count || p.shard_index >= v.data_shards + v.parity_shards) {
      return absl::InvalidArgumentError(
          absl::StrCat("catalog: shard (segment ", p.segment, ", index ", p.shard_index,
                       ") is outside version ", v.id, " (", v.segment_count, " segments of ",
                       v.data_shards + v.parity_shards, " shards)"));
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(InsertPlacement(db, p, now));
    return db.LastInsertRowId();
  });
}

absl::StatusOr<Placement> Catalog::GetPlacement(PlacementId id) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Placement> {
    return LoadPlacement(db, id, schema_version_);
  });
}

absl::Status Catalog::SetPlacementState(PlacementId id, PlacementState state) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE placements SET state = ?, updated_ns = ? WHERE placement_id = ?",
               static_cast<int64_t>(state), clock_.Now(), id));
    return RequireChanged(db, "placement", id);
  });
}

absl::Status Catalog::SetPlacementFarmer(PlacementId id, const FarmerId& farmer,
                                         std::string_view hint) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE placements SET farmer_id = ?, farmer_hint = ?, updated_ns = ? "
               "WHERE placement_id = ?",
               farmer, hint, clock_.Now(), id));
    return RequireChanged(db, "placement", id);
  });
}

absl::Status Catalog::MarkGroupUsed(PlacementId id, uint32_t group) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query("SELECT groups_used FROM placements WHERE placement_id = ?", id));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: no placement ", id));
    Bytes bitmap = st.Blob(0);
    if (GroupUsed(bitmap, group)) return absl::OkStatus();
    SetGroupUsed(bitmap, group);
    return db.Run("UPDATE placements SET groups_used = ?, updated_ns = ? WHERE placement_id = ?",
                  bitmap, clock_.Now(), id);
  });
}

absl::Status Catalog::DeletePlacement(PlacementId id) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(db.Run("DELETE FROM placements WHERE placement_id = ?", id));
    return RequireChanged(db, "placement", id);
  });
}

absl::StatusOr<std::vector<Placement>> Catalog::ListPlacementsByVersion(VersionId version) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Placement>> {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query(absl::StrCat("SELECT ", PlacementCols(schema_version_),
                                               " FROM placements p WHERE p.version_id = ? "
                                               "ORDER BY p.segment, p.shard_index, p.placement_id"),
                                  version));
    return ReadPlacements(st);
  });
}

absl::StatusOr<std::vector<Placement>> Catalog::ListPlacementsByFarmer(const FarmerId& farmer,
                                                                       size_t limit) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Placement>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", PlacementCols(schema_version_),
                                                        " FROM placements p WHERE p.farmer_id = ? "
                                                        "ORDER BY p.placement_id LIMIT ?"),
                                           farmer, static_cast<uint64_t>(limit)));
    return ReadPlacements(st);
  });
}

absl::StatusOr<std::vector<Placement>> Catalog::ListPlacementsByState(PlacementState state,
                                                                      size_t limit) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Placement>> {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query(absl::StrCat("SELECT ", PlacementCols(schema_version_),
                                               " FROM placements p WHERE p.state = ? "
                                               "ORDER BY p.placement_id LIMIT ?"),
                                  static_cast<int64_t>(state), static_cast<uint64_t>(limit)));
    return ReadPlacements(st);
  });
}

absl::StatusOr<std::vector<Placement>> Catalog::ListPlacementsByShard(const ShardId& shard_id) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Placement>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", PlacementCols(schema_version_),
                                                        " FROM placements p WHERE p.shard_id = ? "
                                                        "ORDER BY p.placement_id"),
                                           shard_id));
    return ReadPlacements(st);
  });
}

absl::StatusOr<std::vector<Placement>> Catalog::ListPlacementsDueForAudit(absl::Time audited_before,
                                                                          size_t limit) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Placement>> {
    GNR_ASSIGN_OR_RETURN(
        Stmt st,
        db.Query(absl::StrCat("SELECT ", PlacementCols(schema_version_),
                              " FROM placements p JOIN versions v ON v.version_id = p.version_id "
                              "WHERE p.state = 2 AND v.state = 2 AND "
                              "(p.last_audit_ns IS NULL OR p.last_audit_ns < ?) "
                              "ORDER BY p.last_audit_ns, p.placement_id LIMIT ?"),
                 audited_before, static_cast<uint64_t>(limit)));
    return ReadPlacements(st);
  });
}

absl::StatusOr<std::vector<uint32_t>> Catalog::AckedShardsPerSegment(VersionId version) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<uint32_t>> {
    GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, version));
    return AckedPerSegment(db, v);
  });
}

absl::StatusOr<std::vector<Version>> Catalog::ListUnderReplicatedVersions(size_t limit) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Version>> {
    GNR_ASSIGN_OR_RETURN(
        Stmt st,
        db.Query(
            absl::StrCat("SELECT ", AbslView(kVersionCols),
                         " FROM versions v WHERE v.state = 2 AND v.kind = 2 AND "
                         "(SELECT count(*) FROM (SELECT DISTINCT p.segment, p.shard_index "
                         "FROM placements p WHERE p.version_id = v.version_id AND p.state = 2)) < "
                         "v.segment_count * (v.data_shards + v.parity_shards) "
                         "ORDER BY v.version_id LIMIT ?"),
            static_cast<uint64_t>(limit)));
    return ReadVersions(st);
  });
}

// =========================================================================================
// Uploads

absl::StatusOr<UploadId> Catalog::AddUpload(const NewUpload& upload) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<UploadId> {
    GNR_RETURN_IF_ERROR(LoadAttr(db, upload.ino, "add upload").status());
    if (upload.version.has_value()) {
      GNR_RETURN_IF_ERROR(LoadVersion(db, *upload.version).status());
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(
        db.Run("INSERT INTO uploads (ino, staging_path, state, bytes, version_id, created_ns, "
               "updated_ns) VALUES (?, ?, 1, ?, ?, ?, ?)",
               upload.ino, upload.staging_path, upload.bytes, upload.version, now, now));
    return db.LastInsertRowId();
  });
}

absl::StatusOr<Upload> Catalog::GetUpload(UploadId id) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Upload> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kUploadCols),
                                                        " FROM uploads WHERE upload_id = ?"),
                                           id));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: no upload ", id));
    return ReadUpload(st);
  });
}

absl::Status Catalog::UpdateUpload(UploadId id, const UploadUpdate& update) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    if (update.version.has_value()) {
      GNR_RETURN_IF_ERROR(LoadVersion(db, *update.version).status());
    }
    std::optional<int64_t> state;
    if (update.state.has_value()) state = static_cast<int64_t>(*update.state);
    GNR_RETURN_IF_ERROR(db.Run(
        "UPDATE uploads SET state = coalesce(?, state), bytes_done = coalesce(?, bytes_done), "
        "last_error = coalesce(?, last_error), version_id = coalesce(?, version_id), "
        "attempts = attempts + ?, updated_ns = ? WHERE upload_id = ?",
        state, update.bytes_done, update.last_error, update.version,
        int64_t{update.increment_attempts ? 1 : 0}, clock_.Now(), id));
    return RequireChanged(db, "upload", id);
  });
}

absl::Status Catalog::RemoveUpload(UploadId id) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(db.Run("DELETE FROM uploads WHERE upload_id = ?", id));
    return RequireChanged(db, "upload", id);
  });
}

absl::StatusOr<std::vector<Upload>> Catalog::ListUploads() {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Upload>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kUploadCols),
                                                        " FROM uploads ORDER BY upload_id")));
    return ReadUploads(st);
  });
}

absl::StatusOr<std::vector<Upload>> Catalog::ListUploadsForInode(Ino ino) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Upload>> {
    GNR_ASSIGN_OR_RETURN(Stmt st,
                         db.Query(absl::StrCat("SELECT ", AbslView(kUploadCols),
                                               " FROM uploads WHERE ino = ? ORDER BY upload_id"),
                                  ino));
    return ReadUploads(st);
  });
}

// =========================================================================================
// Buckets

absl::Status Catalog::PutBucket(const Bucket& bucket) {
  GNR_RETURN_IF_ERROR(CheckBucketId(bucket.id));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    return db.Run(
        "INSERT INTO buckets (bucket_id, size_bytes, used_bytes, traffic_bytes, start_ns, "
        "expiry_ns, data_shards, parity_shards, chain_id, contract, purchase_tx, "
        "purchase_block, owner, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (bucket_id) DO UPDATE SET size_bytes = excluded.size_bytes, "
        "traffic_bytes = excluded.traffic_bytes, start_ns = excluded.start_ns, "
        "expiry_ns = excluded.expiry_ns, data_shards = excluded.data_shards, "
        "parity_shards = excluded.parity_shards, chain_id = excluded.chain_id, "
        "contract = excluded.contract, purchase_tx = excluded.purchase_tx, "
        "purchase_block = excluded.purchase_block, owner = excluded.owner, "
        "updated_ns = excluded.updated_ns",
        bucket.id, bucket.size_bytes, bucket.used_bytes, bucket.traffic_bytes, bucket.start,
        bucket.expiry, bucket.data_shards, bucket.parity_shards, bucket.chain_id, bucket.contract,
        bucket.purchase_tx, bucket.purchase_block, bucket.owner, clock_.Now());
  });
}

absl::StatusOr<Bucket> Catalog::GetBucket(ByteView id) {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Bucket> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kBucketCols),
                                                        " FROM buckets WHERE bucket_id = ?"),
                                           id));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: unknown bucket ", Hex(id)));
    return ReadBucket(st);
  });
}

absl::StatusOr<std::vector<Bucket>> Catalog::ListBuckets() {
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Bucket>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kBucketCols),
                                                        " FROM buckets ORDER BY bucket_id")));
    std::vector<Bucket> out;
    while (true) {
      GNR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadBucket(st));
    }
  });
}

absl::StatusOr<uint64_t> Catalog::ChargeBucket(ByteView id, int64_t delta, bool enforce_limit) {
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<uint64_t> {
    GNR_ASSIGN_OR_RETURN(
        Stmt st, db.Query("SELECT size_bytes, used_bytes FROM buckets WHERE bucket_id = ?", id));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: unknown bucket ", Hex(id)));
    uint64_t size = st.UInt(0);
    uint64_t used = st.UInt(1);
    GNR_RETURN_IF_ERROR(st.Run());
    uint64_t next;
    if (delta >= 0) {
      uint64_t add = static_cast<uint64_t>(delta);
      if (enforce_limit && (used > size || add > size - used)) {
        return PosixError(
            ENOSPC, absl::StrCat("bucket ", Hex(id), " has ", used > size ? 0 : size - used, " of ",
                                 size, " bytes free, ", add, " needed"));
      }
      next = used + add;
    } else {
      uint64_t sub = static_cast<uint64_t>(-(delta + 1)) + 1;
      next = sub > used ? 0 : used - sub;
    }
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE buckets SET used_bytes = ?, updated_ns = ? WHERE bucket_id = ?", next,
               clock_.Now(), id));
    return next;
  });
}

// =========================================================================================
// Audits and farmers

absl::StatusOr<VerdictId> Catalog::RecordVerdict(const NewVerdict& verdict) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "recording verdicts"));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<VerdictId> {
    absl::Time now = clock_.Now();
    absl::Time time = verdict.time.value_or(now);
    std::optional<VersionId> version;
    std::optional<int64_t> ino;
    if (verdict.placement.has_value()) {
      GNR_ASSIGN_OR_RETURN(Placement p, LoadPlacement(db, *verdict.placement, schema_version_));
      GNR_ASSIGN_OR_RETURN(Version v, LoadVersion(db, p.version));
      version = v.id;
      ino = static_cast<int64_t>(v.ino);
      GNR_RETURN_IF_ERROR(
          db.Run("UPDATE placements SET audits = audits + 1, "
                 "last_audit_ns = max(coalesce(last_audit_ns, ?), ?) WHERE placement_id = ?",
                 time, time, p.id));
    }
    bool answered = verdict.result == AuditResult::kPass || verdict.result == AuditResult::kFail;
    GNR_RETURN_IF_ERROR(
        db.Run("INSERT INTO farmers (farmer_id, first_seen_ns, last_seen_ns) VALUES (?, ?, ?) "
               "ON CONFLICT (farmer_id) DO UPDATE SET last_seen_ns = "
               "CASE WHEN ? THEN max(last_seen_ns, excluded.last_seen_ns) ELSE last_seen_ns END",
               verdict.farmer, time, time, int64_t{answered ? 1 : 0}));
    GNR_RETURN_IF_ERROR(
        db.Run("INSERT INTO audits (time_ns, block_number, block_hash, shard_id, farmer_id, "
               "placement_id, version_id, ino, kind, challenge_index, result, latency_ms, detail) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               time, verdict.block_number, verdict.block_hash, verdict.shard_id, verdict.farmer,
               verdict.placement, version, ino, static_cast<int64_t>(verdict.kind),
               verdict.challenge_index, static_cast<int64_t>(verdict.result), verdict.latency_ms,
               verdict.detail));
    return db.LastInsertRowId();
  });
}

absl::StatusOr<Verdict> Catalog::GetVerdict(VerdictId id) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "verdicts"));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Verdict> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kVerdictCols),
                                                        " FROM audits WHERE verdict_id = ?"),
                                           id));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: no verdict ", id));
    return ReadVerdict(st);
  });
}

absl::StatusOr<std::vector<Verdict>> Catalog::ListVerdicts(const VerdictQuery& q) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "verdicts"));
  std::string sql = absl::StrCat("SELECT ", AbslView(kVerdictCols), " FROM audits WHERE 1");
  if (q.ino) absl::StrAppend(&sql, " AND ino = ?");
  if (q.version) absl::StrAppend(&sql, " AND version_id = ?");
  if (q.farmer) absl::StrAppend(&sql, " AND farmer_id = ?");
  if (q.shard_id) absl::StrAppend(&sql, " AND shard_id = ?");
  if (q.placement) absl::StrAppend(&sql, " AND placement_id = ?");
  if (q.result) absl::StrAppend(&sql, " AND result = ?");
  if (q.since) absl::StrAppend(&sql, " AND time_ns >= ?");
  if (q.before) absl::StrAppend(&sql, " AND verdict_id < ?");
  absl::StrAppend(&sql, " ORDER BY verdict_id DESC LIMIT ?");
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Verdict>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Prepare(sql));
    int i = 0;
    if (q.ino) st.Bind(++i, *q.ino);
    if (q.version) st.Bind(++i, *q.version);
    if (q.farmer) st.Bind(++i, *q.farmer);
    if (q.shard_id) st.Bind(++i, *q.shard_id);
    if (q.placement) st.Bind(++i, *q.placement);
    if (q.result) st.Bind(++i, static_cast<int64_t>(*q.result));
    if (q.since) st.Bind(++i, *q.since);
    if (q.before) st.Bind(++i, *q.before);
    st.Bind(++i, static_cast<uint64_t>(q.limit));
    return ReadVerdicts(st);
  });
}

absl::StatusOr<std::vector<Verdict>> Catalog::ListUnreportedVerdicts(size_t limit) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "verdicts"));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Verdict>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kVerdictCols),
                                                        " FROM audits WHERE reported_ns IS NULL "
                                                        "ORDER BY verdict_id LIMIT ?"),
                                           static_cast<uint64_t>(limit)));
    return ReadVerdicts(st);
  });
}

absl::Status Catalog::MarkVerdictsReported(const std::vector<VerdictId>& ids) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "verdicts"));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    absl::Time now = clock_.Now();
    for (VerdictId id : ids) {
      GNR_RETURN_IF_ERROR(
          db.Run("UPDATE audits SET reported_ns = ? WHERE verdict_id = ? AND reported_ns IS NULL",
                 now, id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<FarmerAuditStats>> Catalog::FarmerStats(
    std::optional<absl::Time> since) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "farmer statistics"));
  return Scope::Run(this, Scope::kRead,
                    [&](Db& db) -> absl::StatusOr<std::vector<FarmerAuditStats>> {
                      GNR_ASSIGN_OR_RETURN(
                          Stmt st, db.Query(absl::StrCat(AbslView(kFarmerStatsSelect),
                                                         " WHERE time_ns >= ? "
                                                         "GROUP BY farmer_id ORDER BY farmer_id"),
                                            since.value_or(absl::InfinitePast())));
                      std::vector<FarmerAuditStats> out;
                      while (true) {
                        GNR_ASSIGN_OR_RETURN(bool row, st.Step());
                        if (!row) return out;
                        out.push_back(ReadFarmerStats(st));
                      }
                    });
}

absl::StatusOr<FarmerAuditStats> Catalog::FarmerStatsFor(const FarmerId& farmer) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "farmer statistics"));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<FarmerAuditStats> {
    GNR_ASSIGN_OR_RETURN(
        Stmt st,
        db.Query(absl::StrCat(AbslView(kFarmerStatsSelect), " WHERE farmer_id = ?"), farmer));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    FarmerAuditStats s;
    if (row && !st.IsNull(0)) s = ReadFarmerStats(st);
    s.farmer = farmer;
    return s;
  });
}

absl::Status Catalog::PutFarmer(const Farmer& farmer) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "farmers"));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    return db.Run(
        "INSERT INTO farmers (farmer_id, hint, status, suspicion, first_seen_ns, last_seen_ns, "
        "note) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (farmer_id) DO UPDATE SET hint = excluded.hint, status = excluded.status, "
        "suspicion = excluded.suspicion, last_seen_ns = excluded.last_seen_ns, "
        "note = excluded.note",
        farmer.id, farmer.hint, static_cast<int64_t>(farmer.status), farmer.suspicion,
        farmer.first_seen, farmer.last_seen, farmer.note);
  });
}

absl::StatusOr<Farmer> Catalog::GetFarmer(const FarmerId& id) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "farmers"));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<Farmer> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kFarmerCols),
                                                        " FROM farmers WHERE farmer_id = ?"),
                                           id));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("catalog: unknown farmer ", Hex(id)));
    return ReadFarmer(st);
  });
}

absl::StatusOr<std::vector<Farmer>> Catalog::ListFarmers() {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "farmers"));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<Farmer>> {
    GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kFarmerCols),
                                                        " FROM farmers ORDER BY farmer_id")));
    std::vector<Farmer> out;
    while (true) {
      GNR_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadFarmer(st));
    }
  });
}

absl::Status Catalog::SetFarmerStatus(const FarmerId& id, FarmerStatus status, uint32_t suspicion) {
  GNR_RETURN_IF_ERROR(RequireSchema(2, "farmers"));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_RETURN_IF_ERROR(db.Run("UPDATE farmers SET status = ?, suspicion = ? WHERE farmer_id = ?",
                               static_cast<int64_t>(status), suspicion, id));
    if (db.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("catalog: unknown farmer ", Hex(id)));
    }
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------
// Auditor state

namespace {

constexpr std::string_view kAuditStateCols =
    "placement_id, suspicion, last_audit_block, retag_needed, bad_reason, replaced_by, updated_ns";

ShardAuditState ReadAuditState(const Stmt& st) {
  ShardAuditState s;
  s.placement = st.Int(0);
  s.suspicion = static_cast<uint32_t>(st.Int(1));
  if (std::optional<int64_t> b = st.OptInt(2)) s.last_audit_block = static_cast<uint64_t>(*b);
  s.retag_needed = st.Int(3) != 0;
  s.bad_reason = st.Text(4);
  s.replaced_by = st.OptInt(5);
  s.updated = st.Time(6);
  return s;
}

absl::Status WriteAuditState(Db& db, const ShardAuditState& s, absl::Time now) {
  std::optional<int64_t> block;
  if (s.last_audit_block) block = static_cast<int64_t>(*s.last_audit_block);
  return db.Run(
      "INSERT INTO shard_audit_state (placement_id, suspicion, last_audit_block, retag_needed, "
      "bad_reason, replaced_by, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (placement_id) DO UPDATE SET suspicion = excluded.suspicion, "
      "last_audit_block = excluded.last_audit_block, retag_needed = excluded.retag_needed, "
      "bad_reason = excluded.bad_reason, replaced_by = excluded.replaced_by, "
      "updated_ns = excluded.updated_ns",
      s.placement, s.suspicion, block, int64_t{s.retag_needed ? 1 : 0}, s.bad_reason, s.replaced_by,
      now);
}

absl::StatusOr<ShardAuditState> LoadAuditState(Db& db, PlacementId id) {
  GNR_ASSIGN_OR_RETURN(Stmt st,
                       db.Query(absl::StrCat("SELECT ", AbslView(kAuditStateCols),
                                             " FROM shard_audit_state WHERE placement_id = ?"),
                                id));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) return ReadAuditState(st);
  ShardAuditState s;
  s.placement = id;
  return s;
}

}  // namespace

absl::StatusOr<ShardAuditState> Catalog::GetShardAuditState(PlacementId id) {
  GNR_RETURN_IF_ERROR(RequireSchema(3, "shard audit state"));
  return Scope::Run(this, Scope::kRead, [&](Db& db) -> absl::StatusOr<ShardAuditState> {
    GNR_ASSIGN_OR_RETURN(Placement p, LoadPlacement(db, id, schema_version_));
    (void)p;
    return LoadAuditState(db, id);
  });
}

absl::Status Catalog::SetShardAuditState(const ShardAuditState& state) {
  GNR_RETURN_IF_ERROR(RequireSchema(3, "shard audit state"));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::Status {
    GNR_ASSIGN_OR_RETURN(Placement p, LoadPlacement(db, state.placement, schema_version_));
    (void)p;
    return WriteAuditState(db, state, clock_.Now());
  });
}

absl::StatusOr<std::vector<ShardAuditState>> Catalog::ListShardAuditStates() {
  GNR_RETURN_IF_ERROR(RequireSchema(3, "shard audit state"));
  return Scope::Run(
      this, Scope::kRead, [&](Db& db) -> absl::StatusOr<std::vector<ShardAuditState>> {
        GNR_ASSIGN_OR_RETURN(Stmt st, db.Query(absl::StrCat("SELECT ", AbslView(kAuditStateCols),
                                                            " FROM shard_audit_state "
                                                            "ORDER BY placement_id")));
        std::vector<ShardAuditState> out;
        while (true) {
          GNR_ASSIGN_OR_RETURN(bool row, st.Step());
          if (!row) return out;
          out.push_back(ReadAuditState(st));
        }
      });
}

absl::StatusOr<PlacementId> Catalog::ReplacePlacement(PlacementId old_id,
                                                      const NewPlacement& replacement) {
  GNR_RETURN_IF_ERROR(RequireSchema(3, "replacing placements"));
  return Scope::Run(this, Scope::kWrite, [&](Db& db) -> absl::StatusOr<PlacementId> {
    GNR_ASSIGN_OR_RETURN(Placement old, LoadPlacement(db, old_id, schema_version_));
    if (old.state == PlacementState::kRepaired) {
      return absl::FailedPreconditionError(
          absl::StrCat("catalog: placement ", old_id, " was already repaired"));
    }
    if (replacement.version != old.version || replacement.segment != old.segment ||
        replacement.shard_index != old.shard_index) {
      return absl::InvalidArgumentError(absl::StrCat(
          "catalog: replacement for placement ", old_id, " names version ", replacement.version,
          " segment ", replacement.segment, " index ", replacement.shard_index, ", not version ",
          old.version, " segment ", old.segment, " index ", old.shard_index));
    }
    absl::Time now = clock_.Now();
    GNR_RETURN_IF_ERROR(InsertPlacement(db, replacement, now));
    PlacementId new_id = db.LastInsertRowId();
    GNR_RETURN_IF_ERROR(
        db.Run("UPDATE placements SET state = ?, updated_ns = ? WHERE placement_id = ?",
               static_cast<int64_t>(PlacementState::kRepaired), now, old_id));
    GNR_ASSIGN_OR_RETURN(ShardAuditState state, LoadAuditState(db, old_id));
    state.replaced_by = new_id;
    GNR_RETURN_IF_ERROR(WriteAuditState(db, state, now));
    return new_id;
  });
}

}  // namespace gnr::catalog
