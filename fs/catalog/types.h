#pragma once
// Records of the catalog (fs/catalog/catalog.h): plain values copied in and out of SQLite.
// The schema behind them is documented in docs/catalog.md.
//
// Times are absl::Time with nanosecond precision (stored as int64 nanoseconds since the Unix
// epoch). Inode numbers are never reused within one catalog.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/bytes.h"
#include "fs/codec/keys.h"

namespace gnr::catalog {

using Ino = uint64_t;
inline constexpr Ino kRootIno = 1;

using VersionId = int64_t;
using PlacementId = int64_t;
using UploadId = int64_t;
using VerdictId = int64_t;
// Kademlia node id of a farmer: RIPEMD160(SHA256(compressed node public key)).
using FarmerId = FixedBytes<20>;
using ShardId = codec::ShardId;
using Hash256 = FixedBytes<32>;

// Longest directory entry name in bytes (NAME_MAX), longest symlink target (PATH_MAX - 1),
// largest xattr value (XATTR_SIZE_MAX) and name (XATTR_NAME_MAX).
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxSymlinkLength = 4095;
inline constexpr size_t kMaxXattrValueSize = 65536;
inline constexpr size_t kMaxXattrNameLength = 255;

// Directory cookies (readdir offsets) are >= kFirstCookie; 0 means "from the start" and 1, 2
// are left free for the caller's "." and "..".
inline constexpr uint64_t kFirstCookie = 3;

// ---------------------------------------------------------------------------------------
// Inodes and directory entries

enum class NodeType : uint8_t {
  kFile = 1,
  kDirectory = 2,
  kSymlink = 3,
  kFifo = 4,
  kSocket = 5,
  kCharDevice = 6,
  kBlockDevice = 7,
};

// The S_IFMT bits of `type` (S_IFREG, S_IFDIR, ...).
uint32_t ModeTypeBits(NodeType type);
// The type named by the S_IFMT bits of `mode`; nullopt for an unknown or missing type.
std::optional<NodeType> NodeTypeFromMode(uint32_t mode);
// "file", "directory", "symlink", "fifo", "socket", "char-device", "block-device".
std::string_view NodeTypeName(NodeType type);

struct Attr {
  Ino ino = 0;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // full st_mode: ModeTypeBits(type) | permission bits (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Hard links; a directory has 2 + its subdirectory count. 0 means orphan: unlinked, kept
  // until the owner of the last open handle calls Catalog::PurgeInode.
  uint64_t nlink = 0;
  uint64_t size = 0;  // bytes; a symlink's size is its target length
  uint64_t rdev = 0;  // device number of char/block devices
  absl::Time atime, mtime, ctime;
  absl::Time btime;         // creation (birth) time
  uint64_t generation = 0;  // FUSE generation number (>= 1)
  // The committed version that holds the file's content (regular files only); nullopt for a
  // file that has never been committed (its content is all zeros / staged locally).
  std::optional<VersionId> current_version;

  bool is_directory() const { return type == NodeType::kDirectory; }
  bool orphan() const { return nlink == 0; }
  friend bool operator==(const Attr&, const Attr&) = default;
};

// What CreateNode makes.
struct NodeSpec {
  NodeType type = NodeType::kFile;
  uint32_t mode = 0644;  // permission bits (07777); S_IFMT bits, if present, must match type
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;           // kCharDevice / kBlockDevice only
  std::string symlink_target;  // kSymlink only: 1..kMaxSymlinkLength bytes
};

// SetAttr: fields left empty keep their value. ctime becomes "now" whenever anything changes
// (and may also be set explicitly, e.g. by a restore).
struct AttrUpdate {
  std::optional<uint32_t> mode;  // permission bits only (07777); the type never changes
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  // Regular files only (EISDIR for a directory, EINVAL otherwise). A size change also sets
  // mtime to now unless `mtime`/`mtime_now` is given.
  std::optional<uint64_t> size;
  std::optional<absl::Time> atime;
  std::optional<absl::Time> mtime;
  bool atime_now = false;  // UTIME_NOW: the catalog clock's Now()
  bool mtime_now = false;
  std::optional<absl::Time> ctime;
};

struct DirEntry {
  std::string name;
  uint64_t cookie = 0;  // pass as `after_cookie` to continue after this entry
  Attr attr;            // the child's attributes (enough for readdirplus)
};

// What Unlink / Rmdir / Rename did to an inode that lost a link.
struct Unlinked {
  Ino ino = 0;
  uint64_t nlink = 0;  // after the operation; 0 = now an orphan (call PurgeInode when unused)
  bool orphan() const { return nlink == 0; }
};

enum class RenameMode : uint8_t {
  kDefault = 0,    // replace an existing target atomically
  kNoReplace = 1,  // RENAME_NOREPLACE: EEXIST if the target exists
  kExchange = 2,   // RENAME_EXCHANGE: swap two existing entries atomically
};

struct RenameResult {
  // The inode that was replaced (default mode only), with its remaining link count.
  std::optional<Unlinked> replaced;
};

enum class XattrSetMode : uint8_t {
  kAny = 0,      // create or replace
  kCreate = 1,   // XATTR_CREATE: EEXIST if present
  kReplace = 2,  // XATTR_REPLACE: ENODATA if absent
};

// statfs-style totals over the whole catalog.
struct FsTotals {
  uint64_t inodes = 0;           // live inodes (orphans included)
  uint64_t orphans = 0;          // inodes with nlink == 0
  uint64_t file_bytes = 0;       // sum of regular file sizes (logical)
  uint64_t committed_bytes = 0;  // sum of sizes of committed versions not yet collected
};

// ---------------------------------------------------------------------------------------
// Versions (file contents) and shard placements

enum class VersionKind : uint8_t {
  kInline = 1,   // the content is an encrypted inline blob in the catalog (codec/inline_blob.h)
  kSharded = 2,  // the content is on farmers; the catalog holds the codec FileManifest
};

enum class VersionState : uint8_t {
  kPending = 1,    // being uploaded; not visible to readers
  kCommitted = 2,  // durable on the network (>= k+1 acked shards per segment)
  kObsolete = 3,   // superseded, abandoned or its inode purged: garbage to collect
};

std::string_view VersionKindName(VersionKind kind);     // "inline", "sharded"
std::string_view VersionStateName(VersionState state);  // "pending", "committed", "obsolete"

struct NewVersion {
  Ino ino = 0;  // a regular file
  VersionKind kind = VersionKind::kSharded;
  uint64_t size = 0;         // plaintext bytes
  codec::FileNonce nonce{};  // per-version random nonce (file key = HKDF(bucket key, nonce))
  Bytes bucket_id;           // 1..255 bytes; the bucket must be known (PutBucket)
  // kSharded: codec::EncodeFileManifest output; its file size and nonce must match.
  Bytes manifest;
  // kInline: codec::SealInlineBlob output.
  Bytes inline_blob;
};

struct Version {
  VersionId id = 0;
  Ino ino = 0;
  VersionKind kind = VersionKind::kSharded;
  VersionState state = VersionState::kPending;
  uint64_t size = 0;
  codec::FileNonce nonce{};
  Bytes bucket_id;
  Bytes manifest;              // kSharded
  Bytes inline_blob;           // kInline
  uint32_t data_shards = 0;    // k (0 for inline)
  uint32_t parity_shards = 0;  // m (0 for inline)
  uint64_t segment_count = 0;
  absl::Time created;
  std::optional<absl::Time> committed;
  std::optional<absl::Time> obsoleted;
  bool is_current = false;  // the inode's current_version
};

enum class PlacementState : uint8_t {
  kPending = 1,   // sent (or about to be) to the farmer, not acknowledged yet
  kAcked = 2,     // the farmer acknowledged storing it (counts towards k+1 / k+m)
  kBad = 3,       // failed an audit / returned wrong data: to be repaired
  kLost = 4,      // farmer gone or shard missing: to be repaired
  kRepaired = 5,  // replaced (repaired, or re-tagged with fresh sentinels); kept for history
};
std::string_view PlacementStateName(PlacementState state);  // "pending", "acked", ...

struct NewPlacement {
  VersionId version = 0;
  uint64_t segment = 0;
  uint32_t shard_index = 0;  // 0..k+m-1
  uint32_t generation = 0;   // codec::ShardManifest::generation
  // codec::ShardManifest::sentinel_generation: which sentinels the stored shard carries
  // (bumped by a re-tag). Must be 0 on a catalog opened below schema version 4.
  uint32_t sentinel_generation = 0;
  ShardId shard_id{};
  FarmerId farmer{};
  std::string farmer_hint;  // contact hint (e.g. "tcp://10.0.0.5:4100"); may be empty
  Hash256 merkle_root{};
  uint64_t stored_length = 0;
  PlacementState state = PlacementState::kPending;
  // Sentinel groups already revealed for this shard (bitmap, bit g = byte g/8, bit g%8,
  // least significant first). Empty = none. A repair that keeps the shard bytes copies the
  // old placement's bitmap.
  Bytes groups_used;
};

struct Placement {
  PlacementId id = 0;
  VersionId version = 0;
  uint64_t segment = 0;
  uint32_t shard_index = 0;
  uint32_t generation = 0;
  uint32_t sentinel_generation = 0;  // 0 when read below schema version 4
  ShardId shard_id{};
  FarmerId farmer{};
  std::string farmer_hint;
  Hash256 merkle_root{};
  uint64_t stored_length = 0;
  PlacementState state = PlacementState::kPending;
  Bytes groups_used;
  uint64_t audits = 0;  // verdicts recorded for this placement
  std::optional<absl::Time> last_audit;
  absl::Time created;
  absl::Time updated;
};

// Bitmap helpers for Placement::groups_used.
bool GroupUsed(ByteView bitmap, uint32_t group);
void SetGroupUsed(Bytes& bitmap, uint32_t group);
uint32_t CountGroupsUsed(ByteView bitmap);
// The first group g in start, start+1, ... (mod group_count) that is not used; nullopt when
// all group_count groups are used or group_count == 0.
std::optional<uint32_t> FirstUnusedGroup(ByteView bitmap, uint32_t start, uint32_t group_count);

// ---------------------------------------------------------------------------------------
// Pending uploads (write-back staging that survives restarts)

enum class UploadState : uint8_t {
  kQueued = 1,     // staged, waiting for the scheduler
  kUploading = 2,  // shards being sent
  kCommitted = 3,  // version committed (>= k+1), still topping up towards k+m
  kFailed = 4,     // last attempt failed; will be retried (see attempts / last_error)
};
std::string_view UploadStateName(UploadState state);

struct NewUpload {
  Ino ino = 0;
  std::string staging_path;  // local file holding the bytes to upload
  uint64_t bytes = 0;        // size of the staged content
  std::optional<VersionId> version;
};

struct Upload {
  UploadId id = 0;
  Ino ino = 0;
  std::string staging_path;
  UploadState state = UploadState::kQueued;
  uint64_t bytes = 0;
  uint64_t bytes_done = 0;
  uint32_t attempts = 0;
  std::string last_error;
  std::optional<VersionId> version;
  absl::Time created;
  absl::Time updated;
};

// UpdateUpload: fields left empty keep their value; `updated` becomes now.
struct UploadUpdate {
  std::optional<UploadState> state;
  std::optional<uint64_t> bytes_done;
  std::optional<std::string> last_error;
  std::optional<VersionId> version;
  bool increment_attempts = false;
};

// ---------------------------------------------------------------------------------------
// Buckets (space bought on chain)

struct Bucket {
  Bytes id;                    // 1..255 bytes (32 on the chain)
  uint64_t size_bytes = 0;     // bought space
  uint64_t used_bytes = 0;     // charged by the volume (ChargeBucket)
  uint64_t traffic_bytes = 0;  // bought traffic remaining (as last seen on chain)
  absl::Time start;
  absl::Time expiry;
  uint32_t data_shards = 4;    // k used for new files in this bucket
  uint32_t parity_shards = 2;  // m
  // Chain information (informational): chain id, contract/special address, the purchase
  // transaction hash and block number, the owner's address.
  uint64_t chain_id = 0;
  std::string contract;  // hex address
  Bytes purchase_tx;
  uint64_t purchase_block = 0;
  Bytes owner;  // 20-byte address
  absl::Time updated;
};

// ---------------------------------------------------------------------------------------
// Audits

enum class AuditKind : uint8_t { kSentinel = 1, kMerkle = 2 };
enum class AuditResult : uint8_t {
  kPass = 1,
  kFail = 2,     // wrong answer: the shard is bad
  kTimeout = 3,  // no answer within the deadline
  kError = 4,    // could not be asked (farmer unreachable at transport level, ...)
};
std::string_view AuditKindName(AuditKind kind);        // "sentinel", "merkle"
std::string_view AuditResultName(AuditResult result);  // "pass", "fail", "timeout", "error"

struct NewVerdict {
  uint64_t block_number = 0;
  Hash256 block_hash{};
  ShardId shard_id{};
  FarmerId farmer{};
  std::optional<PlacementId> placement;  // when known; its audit count/time is updated
  AuditKind kind = AuditKind::kSentinel;
  // kSentinel: the fingerprint group asked; kMerkle: the leaf index asked.
  uint64_t challenge_index = 0;
  AuditResult result = AuditResult::kPass;
  uint32_t latency_ms = 0;
  std::string detail;              // e.g. expected vs received summary, for `gnr audit --explain`
  std::optional<absl::Time> time;  // default: now
};

struct Verdict {
  VerdictId id = 0;
  absl::Time time;
  uint64_t block_number = 0;
  Hash256 block_hash{};
  ShardId shard_id{};
  FarmerId farmer{};
  std::optional<PlacementId> placement;
  std::optional<VersionId> version;  // from the placement, at record time
  std::optional<Ino> ino;            // idem
  AuditKind kind = AuditKind::kSentinel;
  uint64_t challenge_index = 0;
  AuditResult result = AuditResult::kPass;
  uint32_t latency_ms = 0;
  std::string detail;
  std::optional<absl::Time> reported;  // when it was reported on chain
};

// ListVerdicts filter: every set field must match; newest first.
struct VerdictQuery {
  std::optional<Ino> ino;
  std::optional<VersionId> version;
  std::optional<FarmerId> farmer;
  std::optional<ShardId> shard_id;
  std::optional<PlacementId> placement;
  std::optional<AuditResult> result;
  std::optional<absl::Time> since;  // time >= since
  std::optional<VerdictId> before;  // id < before (paging)
  size_t limit = 100;
};

enum class FarmerStatus : uint8_t {
  kActive = 1,
  kSuspect = 2,  // missed deadlines beyond the auditor's threshold
  kBad = 3,      // failed an audit; no new placements
  kGone = 4,     // unreachable / left the network
};
std::string_view FarmerStatusName(FarmerStatus status);

struct Farmer {
  FarmerId id{};
  std::string hint;  // last known contact hint
  FarmerStatus status = FarmerStatus::kActive;
  uint32_t suspicion = 0;  // consecutive missed deadlines (auditor policy)
  absl::Time first_seen;
  absl::Time last_seen;
  std::string note;
};

struct FarmerAuditStats {
  FarmerId farmer{};
  uint64_t pass = 0;
  uint64_t fail = 0;
  uint64_t timeout = 0;
  uint64_t error = 0;
  uint64_t total() const { return pass + fail + timeout + error; }
  double pass_rate() const { return total() == 0 ? 1.0 : double(pass) / double(total()); }
  std::optional<absl::Time> last_verdict;
  double mean_latency_ms = 0;  // over pass + fail verdicts
};

// The auditor's per-shard (per-placement) state (schema version >= 3).
struct ShardAuditState {
  PlacementId placement = 0;
  uint32_t suspicion = 0;                    // consecutive missed challenges
  std::optional<uint64_t> last_audit_block;  // block number of the last challenge
  bool retag_needed = false;                 // sentinel budget low
  std::string bad_reason;                    // why the auditor marked it bad
  std::optional<PlacementId> replaced_by;    // the placement a repair put in its place
  absl::Time updated;
};

}  // namespace gnr::catalog
