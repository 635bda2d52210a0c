#include "net/farmer/shard_index.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "net/farmer/sqlite.h"

namespace gnr::farmer {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS shards(
  id BLOB PRIMARY KEY CHECK(length(id) = 32),
  bucket BLOB NOT NULL,
  payer BLOB NOT NULL,
  size INTEGER NOT NULL CHECK(size >= 0),
  root BLOB NOT NULL CHECK(length(root) = 32),
  leaf_size INTEGER NOT NULL CHECK(leaf_size > 0),
  hash_kind INTEGER NOT NULL,
  created_ns INTEGER NOT NULL,
  last_access_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shards_by_bucket ON shards(bucket);
CREATE TABLE IF NOT EXISTS shard_leaves(id BLOB PRIMARY KEY, hashes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS buckets(
  id BLOB PRIMARY KEY,
  shards INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

ShardId ToShardId(const Bytes& b) {
  ShardId id{};
  if (b.size() == id.size()) std::memcpy(id.data(), b.data(), id.size());
  return id;
}

}  // namespace

ShardIndex::ShardIndex(std::unique_ptr<internal::Db> db) : db_(std::move(db)) {}
ShardIndex::~ShardIndex() = default;

absl::StatusOr<std::unique_ptr<ShardIndex>> ShardIndex::Open(const std::string& path) {
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<internal::Db> db, internal::Db::Open(path));
  // WAL + FULL: a committed transaction survives a crash or power loss, which is what an
  // acknowledgement promises.
  GNR_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  GNR_RETURN_IF_ERROR(db->Exec(kSchema));
  return std::unique_ptr<ShardIndex>(new ShardIndex(std::move(db)));
}

absl::StatusOr<std::unique_ptr<ShardIndex>> ShardIndex::OpenReadOnly(const std::string& path) {
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<internal::Db> db,
                       internal::Db::Open(path, /*read_only=*/true));
  return std::unique_ptr<ShardIndex>(new ShardIndex(std::move(db)));
}

absl::Status ShardIndex::InTransaction(const std::function<absl::Status()>& body) {
  GNR_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  absl::Status s = body();
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) (void)db_->Exec("ROLLBACK");
  return s;
}

absl::Status ShardIndex::Insert(const ShardMeta& m, std::span<const crypto::Hash256> leaves) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(internal::Stmt exists,
                         db_->Query("SELECT 1 FROM shards WHERE id = ?", m.id));
    GNR_ASSIGN_OR_RETURN(bool found, exists.Step());
    if (found) {
      return absl::AlreadyExistsError(absl::StrCat("shard ", HexEncode(m.id), " already indexed"));
    }
    GNR_RETURN_IF_ERROR(db_->Run(
        "INSERT INTO shards(id, bucket, payer, size, root, leaf_size, hash_kind, created_ns, "
        "last_access_ns) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        m.id, m.bucket, m.payer, m.size, m.merkle_root, static_cast<uint64_t>(m.leaf_size),
        static_cast<uint64_t>(m.hash_kind), static_cast<int64_t>(absl::ToUnixNanos(m.created)),
        static_cast<int64_t>(absl::ToUnixNanos(m.last_access))));
    Bytes blob;
    blob.reserve(leaves.size() * 32);
    for (const crypto::Hash256& h : leaves) Append(blob, h);
    GNR_RETURN_IF_ERROR(db_->Run("INSERT INTO shard_leaves(id, hashes) VALUES(?, ?)", m.id, blob));
    return db_->Run(
        "INSERT INTO buckets(id, shards, bytes) VALUES(?, 1, ?) ON CONFLICT(id) DO UPDATE SET "
        "shards = shards + 1, bytes = bytes + excluded.bytes",
        m.bucket, m.size);
  });
}

absl::Status ShardIndex::Remove(const ShardId& id) {
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(internal::Stmt row,
                         db_->Query("SELECT bucket, size FROM shards WHERE id = ?", id));
    GNR_ASSIGN_OR_RETURN(bool found, row.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("shard ", HexEncode(id), " is not indexed"));
    }
    Bytes bucket = row.Blob(0);
    uint64_t size = row.UInt(1);
    GNR_RETURN_IF_ERROR(db_->Run("DELETE FROM shards WHERE id = ?", id));
    GNR_RETURN_IF_ERROR(db_->Run("DELETE FROM shard_leaves WHERE id = ?", id));
    GNR_RETURN_IF_ERROR(db_->Run(
        "UPDATE buckets SET shards = shards - 1, bytes = bytes - ? WHERE id = ?", size, bucket));
    return db_->Run("DELETE FROM buckets WHERE id = ? AND shards <= 0", bucket);
  });
}

absl::StatusOr<std::vector<ShardMeta>> ShardIndex::LoadAll() {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(internal::Stmt st,
                       db_->Prepare("SELECT id, bucket, payer, size, root, leaf_size, hash_kind, "
                                    "created_ns, last_access_ns FROM shards"));
  std::vector<ShardMeta> out;
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ShardMeta m;
    m.id = ToShardId(st.Blob(0));
    m.bucket = st.Blob(1);
    m.payer = st.Blob(2);
    m.size = st.UInt(3);
    Bytes root = st.Blob(4);
    if (root.size() == m.merkle_root.size()) {
      std::memcpy(m.merkle_root.data(), root.data(), root.size());
    }
    m.leaf_size = static_cast<uint32_t>(st.UInt(5));
    m.hash_kind = static_cast<crypto::MerkleHashKind>(st.UInt(6));
    m.created = absl::FromUnixNanos(st.Int(7));
    m.last_access = absl::FromUnixNanos(st.Int(8));
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<crypto::Hash256>> ShardIndex::LeafHashes(const ShardId& id) {
  absl::MutexLock lock(&mu_);
  GNR_ASSIGN_OR_RETURN(internal::Stmt st,
                       db_->Query("SELECT hashes FROM shard_leaves WHERE id = ?", id));
  GNR_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no leaf hashes for shard ", HexEncode(id)));
  Bytes blob = st.Blob(0);
  if (blob.empty() || blob.size() % 32 != 0) {
    return absl::DataLossError(absl::StrCat("leaf hashes of shard ", HexEncode(id), " are ",
                                            blob.size(), " bytes, not a multiple of 32"));
  }
  std::vector<crypto::Hash256> out(blob.size() / 32);
  for (size_t i = 0; i < out.size(); ++i) std::memcpy(out[i].data(), blob.data() + 32 * i, 32);
  return out;
}

absl::Status ShardIndex::TouchAccess(std::span<const std::pair<ShardId, absl::Time>> accesses) {
  if (accesses.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() -> absl::Status {
    for (const auto& [id, when] : accesses) {
      GNR_RETURN_IF_ERROR(db_->Run("UPDATE shards SET last_access_ns = ? WHERE id = ?",
                                   static_cast<int64_t>(absl::ToUnixNanos(when)), id));
    }
    return absl::OkStatus();
  });
}

absl::Status ShardIndex::SetCapacity(uint64_t capacity_bytes) {
  absl::MutexLock lock(&mu_);
  FixedBytes<8> value;
  PutBigEndian64(capacity_bytes, value);
  return db_->Run("INSERT OR REPLACE INTO meta(key, value) VALUES('capacity', ?)", value);
}

absl::StatusOr<IndexSummary> ShardIndex::Summary() {
  absl::MutexLock lock(&mu_);
  IndexSummary out;
  {
    GNR_ASSIGN_OR_RETURN(internal::Stmt st,
                         db_->Prepare("SELECT value FROM meta WHERE key = 'capacity'"));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      Bytes v = st.Blob(0);
      if (v.size() == 8) out.capacity_bytes = GetBigEndian64(v);
    }
  }
  {
    GNR_ASSIGN_OR_RETURN(internal::Stmt st,
                         db_->Prepare("SELECT count(*), coalesce(sum(size), 0) FROM shards"));
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      out.shards = st.UInt(0);
      out.bytes = st.UInt(1);
    }
  }
  GNR_ASSIGN_OR_RETURN(internal::Stmt st,
                       db_->Prepare("SELECT id, shards, bytes FROM buckets ORDER BY bytes DESC"));
  while (true) {
    GNR_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.buckets.push_back({st.Blob(0), st.UInt(1), st.UInt(2)});
  }
  return out;
}

}  // namespace gnr::farmer
