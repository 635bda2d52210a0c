#include "fs/catalog/schema.h"

namespace gnr::catalog::internal {
namespace {

// Version 1: the file system proper.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE inodes (
  ino             INTEGER PRIMARY KEY AUTOINCREMENT,
  type            INTEGER NOT NULL CHECK (type BETWEEN 1 AND 7),
  perm            INTEGER NOT NULL CHECK (perm BETWEEN 0 AND 4095),
  uid             INTEGER NOT NULL,
  gid             INTEGER NOT NULL,
  nlink           INTEGER NOT NULL CHECK (nlink >= 0),
  size            INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  rdev            INTEGER NOT NULL DEFAULT 0,
  atime_ns        INTEGER NOT NULL,
  mtime_ns        INTEGER NOT NULL,
  ctime_ns        INTEGER NOT NULL,
  btime_ns        INTEGER NOT NULL,
  generation      INTEGER NOT NULL,
  current_version INTEGER REFERENCES versions (version_id),
  symlink_target  BLOB,
  CHECK ((type = 3) = (symlink_target IS NOT NULL))
);
CREATE INDEX inodes_orphans ON inodes (ino) WHERE nlink = 0;

CREATE TABLE dirents (
  cookie INTEGER PRIMARY KEY AUTOINCREMENT,
  parent INTEGER NOT NULL REFERENCES inodes (ino),
  name   BLOB NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  child  INTEGER NOT NULL REFERENCES inodes (ino),
  UNIQUE (parent, name)
);
CREATE INDEX dirents_parent_cookie ON dirents (parent, cookie);
CREATE INDEX dirents_child ON dirents (child);
-- Cookies 0..2 are left for the caller ("start", ".", "..").
INSERT INTO sqlite_sequence (name, seq) VALUES ('dirents', 2);

CREATE TABLE xattrs (
  ino   INTEGER NOT NULL REFERENCES inodes (ino) ON DELETE CASCADE,
  name  BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (ino, name)
) WITHOUT ROWID;

CREATE TABLE buckets (
  bucket_id      BLOB PRIMARY KEY CHECK (length(bucket_id) BETWEEN 1 AND 255),
  size_bytes     INTEGER NOT NULL,
  used_bytes     INTEGER NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
  traffic_bytes  INTEGER NOT NULL DEFAULT 0,
  start_ns       INTEGER NOT NULL,
  expiry_ns      INTEGER NOT NULL,
  data_shards    INTEGER NOT NULL,
  parity_shards  INTEGER NOT NULL,
  chain_id       INTEGER NOT NULL DEFAULT 0,
  contract       TEXT NOT NULL DEFAULT '',
  purchase_tx    BLOB NOT NULL DEFAULT x'',
  purchase_block INTEGER NOT NULL DEFAULT 0,
  owner          BLOB NOT NULL DEFAULT x'',
  updated_ns     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE versions (
  version_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  ino           INTEGER NOT NULL,  -- no foreign key: obsolete versions outlive their inode
  kind          INTEGER NOT NULL CHECK (kind IN (1, 2)),
  state         INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
  size          INTEGER NOT NULL CHECK (size >= 0),
  nonce         BLOB NOT NULL CHECK (length(nonce) = 32),
  bucket_id     BLOB NOT NULL REFERENCES buckets (bucket_id),
  manifest      BLOB,
  inline_blob   BLOB,
  data_shards   INTEGER NOT NULL DEFAULT 0,
  parity_shards INTEGER NOT NULL DEFAULT 0,
  segment_count INTEGER NOT NULL DEFAULT 0,
  created_ns    INTEGER NOT NULL,
  committed_ns  INTEGER,
  obsoleted_ns  INTEGER,
  CHECK ((kind = 1) = (inline_blob IS NOT NULL)),
  CHECK ((kind = 2) = (manifest IS NOT NULL))
);
CREATE INDEX versions_ino ON versions (ino, version_id);
CREATE INDEX versions_state ON versions (state, obsoleted_ns);

CREATE TABLE placements (
  placement_id  INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id    INTEGER NOT NULL REFERENCES versions (version_id) ON DELETE CASCADE,
  segment       INTEGER NOT NULL CHECK (segment >= 0),
  shard_index   INTEGER NOT NULL CHECK (shard_index >= 0),
  generation    INTEGER NOT NULL DEFAULT 0,
  shard_id      BLOB NOT NULL CHECK (length(shard_id) = 32),
  farmer_id     BLOB NOT NULL CHECK (length(farmer_id) = 20),
  farmer_hint   TEXT NOT NULL DEFAULT '',
  merkle_root   BLOB NOT NULL CHECK (length(merkle_root) = 32),
  stored_length INTEGER NOT NULL,
  state         INTEGER NOT NULL CHECK (state BETWEEN 1 AND 5),
  groups_used   BLOB NOT NULL DEFAULT x'',
  audits        INTEGER NOT NULL DEFAULT 0,
  last_audit_ns INTEGER,
  created_ns    INTEGER NOT NULL,
  updated_ns    INTEGER NOT NULL
);
CREATE INDEX placements_version ON placements (version_id, segment, shard_index);
CREATE INDEX placements_farmer ON placements (farmer_id);
CREATE INDEX placements_shard ON placements (shard_id);
CREATE INDEX placements_state_audit ON placements (state, last_audit_ns);

CREATE TABLE uploads (
  upload_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  ino          INTEGER NOT NULL REFERENCES inodes (ino) ON DELETE CASCADE,
  staging_path TEXT NOT NULL,
  state        INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
  bytes        INTEGER NOT NULL DEFAULT 0,
  bytes_done   INTEGER NOT NULL DEFAULT 0,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT NOT NULL DEFAULT '',
  version_id   INTEGER REFERENCES versions (version_id) ON DELETE SET NULL,
  created_ns   INTEGER NOT NULL,
  updated_ns   INTEGER NOT NULL
);
CREATE INDEX uploads_ino ON uploads (ino);
CREATE INDEX uploads_version ON uploads (version_id);
)sql";

// Version 2: the auditor's verdicts and what it knows about farmers.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE farmers (
  farmer_id     BLOB PRIMARY KEY CHECK (length(farmer_id) = 20),
  hint          TEXT NOT NULL DEFAULT '',
  status        INTEGER NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 4),
  suspicion     INTEGER NOT NULL DEFAULT 0,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns  INTEGER NOT NULL,
  note          TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE audits (
  verdict_id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ns         INTEGER NOT NULL,
  block_number    INTEGER NOT NULL,
  block_hash      BLOB NOT NULL CHECK (length(block_hash) = 32),
  shard_id        BLOB NOT NULL CHECK (length(shard_id) = 32),
  farmer_id       BLOB NOT NULL REFERENCES farmers (farmer_id),
  placement_id    INTEGER REFERENCES placements (placement_id) ON DELETE SET NULL,
  version_id      INTEGER,
  ino             INTEGER,
  kind            INTEGER NOT NULL CHECK (kind IN (1, 2)),
  challenge_index INTEGER NOT NULL,
  result          INTEGER NOT NULL CHECK (result BETWEEN 1 AND 4),
  latency_ms      INTEGER NOT NULL DEFAULT 0,
  detail          TEXT NOT NULL DEFAULT '',
  reported_ns     INTEGER
);
CREATE INDEX audits_farmer ON audits (farmer_id, verdict_id);
CREATE INDEX audits_shard ON audits (shard_id, verdict_id);
CREATE INDEX audits_placement ON audits (placement_id);
CREATE INDEX audits_version ON audits (version_id, verdict_id);
CREATE INDEX audits_ino ON audits (ino, verdict_id);
CREATE INDEX audits_time ON audits (time_ns);
CREATE INDEX audits_unreported ON audits (verdict_id) WHERE reported_ns IS NULL;
)sql";

// Version 3: the auditor's per-shard state (policy and repair history).
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE shard_audit_state (
  placement_id     INTEGER PRIMARY KEY REFERENCES placements (placement_id) ON DELETE CASCADE,
  suspicion        INTEGER NOT NULL DEFAULT 0 CHECK (suspicion >= 0),
  last_audit_block INTEGER,
  retag_needed     INTEGER NOT NULL DEFAULT 0 CHECK (retag_needed IN (0, 1)),
  bad_reason       TEXT NOT NULL DEFAULT '',
  replaced_by      INTEGER REFERENCES placements (placement_id) ON DELETE SET NULL,
  updated_ns       INTEGER NOT NULL
);
)sql";

// Version 4: re-tagging. The sentinel generation each placed shard carries (its sentinel key
// is derived with it; codec::ShardManifest::sentinel_generation). Every shard placed before
// is generation 0.
constexpr std::string_view kSchemaV4 = R"sql(
ALTER TABLE placements ADD COLUMN
  sentinel_generation INTEGER NOT NULL DEFAULT 0 CHECK (sentinel_generation >= 0);
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

}  // namespace gnr::catalog::internal
