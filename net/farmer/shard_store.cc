#include "net/farmer/shard_store.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "net/farmer/byte_size.h"

namespace gnr::farmer {
namespace {

constexpr size_t kWriteChunk = 1 << 20;
constexpr char kTempSuffix[] = ".tmp";
constexpr size_t kMaxBucketSize = 255;
constexpr size_t kMaxPayerSize = 64;
constexpr uint32_t kMaxLeafSize = 16u << 20;
constexpr size_t kSentinelSize = 32;

std::string ShortId(const ShardId& id) { return HexEncode(ByteView(id).first(8)); }

bool IsHexName(std::string_view name, size_t digits) {
  if (name.size() != digits) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

ShardStore::ShardStore(Env& env, Clock& clock, ShardStoreOptions options,
                       std::unique_ptr<FileLock> lock, std::unique_ptr<ShardIndex> index)
    : env_(env),
      clock_(clock),
      options_(std::move(options)),
      shards_dir_(JoinPath(options_.dir, "shards")),
      lock_(std::move(lock)),
      index_(std::move(index)) {}

ShardStore::~ShardStore() { Close(); }

absl::StatusOr<std::unique_ptr<ShardStore>> ShardStore::Open(Env& env, Clock& clock,
                                                             ShardStoreOptions options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("shard store needs a directory");
  GNR_RETURN_IF_ERROR(env.CreateDir(options.dir));
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, env.LockFile(JoinPath(options.dir, "LOCK")));
  std::string shards_dir = JoinPath(options.dir, "shards");
  if (!env.IsDirectory(shards_dir)) {
    GNR_RETURN_IF_ERROR(env.CreateDir(shards_dir));
    GNR_RETURN_IF_ERROR(env.SyncDir(options.dir));
  }
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<ShardIndex> index,
                       ShardIndex::Open(JoinPath(options.dir, "index.sqlite")));
  GNR_RETURN_IF_ERROR(index->SetCapacity(options.capacity_bytes));
  std::unique_ptr<ShardStore> store(
      new ShardStore(env, clock, std::move(options), std::move(lock), std::move(index)));
  GNR_RETURN_IF_ERROR(store->Recover());
  return store;
}

std::string ShardStore::ShardPath(const ShardId& id) const {
  std::string hex = HexEncode(id);
  return absl::StrCat(shards_dir_, "/", hex.substr(0, 2), "/", hex.substr(2, 2), "/", hex);
}

absl::Status ShardStore::Recover() {
  GNR_ASSIGN_OR_RETURN(std::vector<ShardMeta> rows, index_->LoadAll());
  absl::flat_hash_map<ShardId, ShardMeta> indexed;
  for (ShardMeta& m : rows) indexed.emplace(m.id, std::move(m));
  absl::flat_hash_set<ShardId> seen;
  std::vector<ShardId> drop_rows;

  GNR_ASSIGN_OR_RETURN(std::vector<std::string> level1, env_.ListDir(shards_dir_));
  for (const std::string& a : level1) {
    std::string dir1 = JoinPath(shards_dir_, a);
    if (!IsHexName(a, 2) || !env_.IsDirectory(dir1)) {
      GNR_LOG(kWarning) << "shard store: ignoring unexpected entry " << dir1;
      ++recovery_.unknown_files;
      continue;
    }
    GNR_ASSIGN_OR_RETURN(std::vector<std::string> level2, env_.ListDir(dir1));
    for (const std::string& b : level2) {
      std::string dir2 = JoinPath(dir1, b);
      if (!IsHexName(b, 2) || !env_.IsDirectory(dir2)) {
        GNR_LOG(kWarning) << "shard store: ignoring unexpected entry " << dir2;
        ++recovery_.unknown_files;
        continue;
      }
      GNR_ASSIGN_OR_RETURN(std::vector<std::string> names, env_.ListDir(dir2));
      bool changed = false;
      for (const std::string& name : names) {
        std::string path = JoinPath(dir2, name);
        if (name.ends_with(kTempSuffix)) {
          GNR_LOG(kInfo) << "shard store: removing unfinished write " << path;
          GNR_RETURN_IF_ERROR(env_.DeleteFile(path));
          ++recovery_.temp_files_removed;
          changed = true;
          continue;
        }
        absl::StatusOr<ShardId> id = HexDecodeFixed<32>(name);
        if (!IsHexName(name, 64) || !id.ok() || name.substr(0, 2) != a || name.substr(2, 2) != b) {
          GNR_LOG(kWarning) << "shard store: ignoring unexpected file " << path;
          ++recovery_.unknown_files;
          continue;
        }
        auto it = indexed.find(*id);
        if (it == indexed.end()) {
          // Renamed but its index row was never committed: it was never acknowledged.
          GNR_LOG(kInfo) << "shard store: removing " << path
                         << ": written but never acknowledged (no index row)";
          GNR_RETURN_IF_ERROR(env_.DeleteFile(path));
          ++recovery_.unindexed_files_removed;
          changed = true;
          continue;
        }
        GNR_ASSIGN_OR_RETURN(uint64_t size, env_.GetFileSize(path));
        if (size != it->second.size) {
          GNR_LOG(kError) << "shard store: shard " << name << " is " << size
                          << " bytes on disk but was acknowledged with " << it->second.size
                          << " bytes: the disk lost data; dropping the shard";
          GNR_RETURN_IF_ERROR(env_.DeleteFile(path));
          drop_rows.push_back(*id);
          ++recovery_.wrong_size_files;
          changed = true;
          continue;
        }
        seen.insert(*id);
      }
      if (changed) GNR_RETURN_IF_ERROR(env_.SyncDir(dir2));
    }
  }
  for (const auto& [id, meta] : indexed) {
    if (seen.contains(id)) continue;
    if (std::find(drop_rows.begin(), drop_rows.end(), id) != drop_rows.end()) continue;
    GNR_LOG(kError) << "shard store: shard " << HexEncode(id)
                    << " was acknowledged but its file is missing: the disk lost it; "
                       "forgetting the shard";
    drop_rows.push_back(id);
    ++recovery_.missing_files;
  }
  for (const ShardId& id : drop_rows) {
    GNR_RETURN_IF_ERROR(index_->Remove(id));
    indexed.erase(id);
  }

  absl::MutexLock lock(&mu_);
  for (auto& [id, meta] : indexed) {
    used_ += meta.size;
    shards_.emplace(id, std::move(meta));
  }
  recovery_.shards = shards_.size();
  GNR_LOG(kInfo) << "shard store " << options_.dir << ": " << shards_.size() << " shards, "
                 << HumanBytes(used_) << " of " << HumanBytes(options_.capacity_bytes) << " used";
  if (used_ > options_.capacity_bytes) {
    GNR_LOG(kWarning) << "shard store: " << HumanBytes(used_)
                      << " stored exceeds the configured capacity "
                      << HumanBytes(options_.capacity_bytes) << "; new shards are refused";
  }
  return absl::OkStatus();
}

absl::Status ShardStore::EnsureShardDir(const ShardId& id) {
  std::string hex = HexEncode(id);
  std::string dir1 = JoinPath(shards_dir_, hex.substr(0, 2));
  std::string dir2 = JoinPath(dir1, hex.substr(2, 2));
  if (env_.IsDirectory(dir2)) return absl::OkStatus();
  if (!env_.IsDirectory(dir1)) {
    GNR_RETURN_IF_ERROR(env_.CreateDir(dir1));
    GNR_RETURN_IF_ERROR(env_.SyncDir(shards_dir_));
  }
  GNR_RETURN_IF_ERROR(env_.CreateDir(dir2));
  return env_.SyncDir(dir1);
}

absl::StatusOr<std::vector<crypto::Hash256>> ShardStore::WriteShardFile(const PutArgs& args,
                                                                        ByteView data) {
  GNR_RETURN_IF_ERROR(EnsureShardDir(args.id));
  const std::string path = ShardPath(args.id);
  const std::string temp = path + kTempSuffix;
  bool renamed = false;
  auto cleanup = [&]() {
    absl::Status s = env_.DeleteFile(renamed ? path : temp);
    if (!s.ok() && !absl::IsNotFound(s)) {
      GNR_LOG(kWarning) << "shard store: could not remove " << (renamed ? path : temp) << ": "
                        << s.message() << " (removed at next start)";
    }
  };
  absl::StatusOr<std::vector<crypto::Hash256>> result =
      [&]() -> absl::StatusOr<std::vector<crypto::Hash256>> {
    GNR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env_.NewWritableFile(temp));
    crypto::MerkleBuilder builder(args.leaf_size, args.hash_kind);
    for (size_t pos = 0; pos < data.size(); pos += kWriteChunk) {
      ByteView piece = data.subspan(pos, std::min(kWriteChunk, data.size() - pos));
      builder.Update(piece);
      GNR_RETURN_IF_ERROR(file->Append(piece));
    }
    GNR_ASSIGN_OR_RETURN(crypto::MerkleTree tree, builder.Finish());
    if (tree.root() != args.merkle_root) {
      return absl::DataLossError(
          absl::StrCat("Merkle root mismatch for shard ", HexEncode(args.id), ": the ", data.size(),
                       " bytes received hash to ", HexEncode(tree.root()), ", the request claims ",
                       HexEncode(args.merkle_root), " (leaf size ", args.leaf_size, ")"));
    }
    GNR_RETURN_IF_ERROR(file->Sync());
    GNR_RETURN_IF_ERROR(file->Close());
    GNR_RETURN_IF_ERROR(env_.RenameFile(temp, path));
    renamed = true;
    GNR_RETURN_IF_ERROR(env_.SyncDir(DirName(path)));
    return std::vector<crypto::Hash256>(tree.leaf_hashes().begin(), tree.leaf_hashes().end());
  }();
  if (!result.ok()) cleanup();
  return result;
}

absl::StatusOr<PutResult> ShardStore::Put(const PutArgs& args, ByteView data) {
  const std::string sid = ShortId(args.id);
  auto refuse = [&](absl::Status status) {
    GNR_LOG(kWarning) << "refused shard " << sid << " (" << HumanBytes(data.size())
                      << "): " << status.message();
    absl::MutexLock lock(&mu_);
    ++counters_.puts_refused;
    if (absl::IsResourceExhausted(status)) ++counters_.puts_refused_full;
    if (absl::IsDataLoss(status)) ++counters_.puts_refused_bad_root;
    return status;
  };
  if (data.empty()) return refuse(absl::InvalidArgumentError("empty shard"));
  if (data.size() > options_.max_shard_size) {
    return refuse(absl::InvalidArgumentError(absl::StrCat("shard of ", data.size(),
                                                          " bytes exceeds the largest accepted (",
                                                          options_.max_shard_size, " bytes)")));
  }
  if (args.leaf_size == 0 || args.leaf_size > kMaxLeafSize) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("leaf size ", args.leaf_size, " is not in 1..", kMaxLeafSize)));
  }
  if (args.hash_kind != crypto::MerkleHashKind::kSha256 &&
      args.hash_kind != crypto::MerkleHashKind::kBlake2b256) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("unknown Merkle hash kind ", static_cast<int>(args.hash_kind))));
  }
  if (args.bucket.empty() || args.bucket.size() > kMaxBucketSize) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("bucket id of ", args.bucket.size(), " bytes (must be 1..255)")));
  }
  if (args.payer.size() > kMaxPayerSize) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("payer of ", args.payer.size(), " bytes (at most 64)")));
  }

  // The filesystem's free space, checked before reserving (statvfs is cheap).
  absl::StatusOr<DiskStats> disk = env_.GetDiskStats(options_.dir);

  absl::Status refusal;
  {
    absl::MutexLock lock(&mu_);
    auto it = shards_.find(args.id);
    const uint64_t taken = used_ + reserved_;
    if (closed_) {
      refusal = absl::FailedPreconditionError("shard store is closed (the farmer is stopping)");
    } else if (deleting_.contains(args.id)) {
      refusal = absl::UnavailableError(
          absl::StrCat("shard ", HexEncode(args.id), " is being deleted; retry"));
    } else if (it != shards_.end()) {
      if (it->second.merkle_root == args.merkle_root && it->second.size == data.size()) {
        ++counters_.puts_already_stored;
        GNR_LOG(kDebug) << "shard " << sid << " already stored";
        return PutResult{.already_stored = true};
      }
      refusal = absl::AlreadyExistsError(
          absl::StrCat("shard ", HexEncode(args.id), " is already stored with root ",
                       HexEncode(it->second.merkle_root), " and ", it->second.size, " bytes"));
    } else if (writing_.contains(args.id)) {
      refusal = absl::UnavailableError(
          absl::StrCat("shard ", HexEncode(args.id), " is being written by another request"));
    } else if (taken + data.size() > options_.capacity_bytes) {
      refusal = absl::ResourceExhaustedError(absl::StrCat(
          "farmer full: capacity ", HumanBytes(options_.capacity_bytes), " (",
          options_.capacity_bytes, " bytes), used ", used_, " bytes, in flight ", reserved_,
          " bytes, shard ", HexEncode(args.id), " needs ", data.size(), " bytes"));
    } else if (disk.ok() &&
               disk->available_bytes < reserved_ + data.size() + options_.min_free_disk_bytes) {
      refusal = absl::ResourceExhaustedError(absl::StrCat(
          "disk full: ", HumanBytes(disk->available_bytes), " available on the filesystem of ",
          options_.dir, ", shard ", HexEncode(args.id), " needs ", data.size(), " bytes and ",
          HumanBytes(options_.min_free_disk_bytes), " must stay free"));
    } else {
      reserved_ += data.size();
      writing_.insert(args.id);
      ++operations_in_flight_;
    }
  }
  if (!refusal.ok()) return refuse(refusal);

  // Release the reservation whatever happens.
  auto finish = [&](bool stored, const ShardMeta* meta) {
    absl::MutexLock lock(&mu_);
    reserved_ -= data.size();
    writing_.erase(args.id);
    --operations_in_flight_;
    if (stored) {
      used_ += meta->size;
      EraseTreeLocked(meta->id);  // none expected: deletes drop theirs
      shards_.emplace(meta->id, *meta);
      ++counters_.puts;
      counters_.bytes_written += meta->size;
    }
  };

  absl::StatusOr<std::vector<crypto::Hash256>> leaves = WriteShardFile(args, data);
  if (!leaves.ok()) {
    finish(false, nullptr);
    return refuse(leaves.status());
  }
  ShardMeta meta{.id = args.id,
                 .bucket = args.bucket,
                 .payer = args.payer,
                 .size = data.size(),
                 .merkle_root = args.merkle_root,
                 .leaf_size = args.leaf_size,
                 .hash_kind = args.hash_kind,
                 .created = clock_.Now(),
                 .last_access = clock_.Now()};
  absl::Status indexed = index_->Insert(meta, *leaves);
  if (!indexed.ok()) {
    // Not acknowledged: the file goes (or at the next start if this fails too).
    absl::Status s = env_.DeleteFile(ShardPath(args.id));
    if (!s.ok()) {
      GNR_LOG(kWarning) << "shard store: " << s.message();
    }
    finish(false, nullptr);
    return refuse(Annotate(indexed, "index"));
  }
  finish(true, &meta);
  GNR_LOG(kDebug) << "stored shard " << sid << " (" << HumanBytes(meta.size) << ")";
  return PutResult{};
}

absl::StatusOr<ShardMeta> ShardStore::Stat(const ShardId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = shards_.find(id);
  if (it == shards_.end() || deleting_.contains(id)) {
    return absl::NotFoundError(
        absl::StrCat("no shard ", HexEncode(id), ": never stored or deleted"));
  }
  return it->second;
}

std::vector<ShardMeta> ShardStore::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<ShardMeta> out;
  out.reserve(shards_.size());
  for (const auto& [id, meta] : shards_) out.push_back(meta);
  return out;
}

absl::StatusOr<ShardMeta> ShardStore::BeginRead(const ShardId& id) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("shard store is closed");
  auto it = shards_.find(id);
  if (it == shards_.end() || deleting_.contains(id)) {
    return absl::NotFoundError(
        absl::StrCat("no shard ", HexEncode(id), ": never stored or deleted"));
  }
  absl::Time now = clock_.Now();
  it->second.last_access = now;
  dirty_access_[id] = now;
  ++operations_in_flight_;
  return it->second;
}

absl::StatusOr<std::shared_ptr<const crypto::MerkleTree>> ShardStore::GetTree(
    const ShardMeta& meta) {
  {
    absl::MutexLock lock(&mu_);
    auto it = trees_.find(meta.id);
    if (it != trees_.end()) {
      if (it->second.tree->root() == meta.merkle_root) {
        tree_lru_.splice(tree_lru_.end(), tree_lru_, it->second.lru);
        return it->second.tree;
      }
      EraseTreeLocked(meta.id);  // another shard of the same id (deleted and stored again)
    }
    ++counters_.tree_loads;
  }
  // Built outside the lock: two first reads of a shard may both build it (harmless).
  GNR_ASSIGN_OR_RETURN(crypto::MerkleTree loaded, LoadTree(meta));
  auto tree = std::make_shared<const crypto::MerkleTree>(std::move(loaded));
  const uint64_t bytes = 2 * tree->leaf_count() * sizeof(crypto::Hash256) + 256;
  absl::MutexLock lock(&mu_);
  auto stored = shards_.find(meta.id);
  // Cache only the tree of a shard still stored with this root (not one deleted meanwhile).
  if (bytes > options_.tree_cache_bytes || stored == shards_.end() || deleting_.contains(meta.id) ||
      stored->second.merkle_root != tree->root() || trees_.contains(meta.id)) {
    return tree;
  }
  while (!tree_lru_.empty() && tree_bytes_ + bytes > options_.tree_cache_bytes) {
    EraseTreeLocked(tree_lru_.front());
  }
  tree_lru_.push_back(meta.id);
  trees_.emplace(meta.id, CachedTree{tree, std::prev(tree_lru_.end()), bytes});
  tree_bytes_ += bytes;
  return tree;
}

void ShardStore::EraseTreeLocked(const ShardId& id) {
  auto it = trees_.find(id);
  if (it == trees_.end()) return;
  tree_bytes_ -= it->second.bytes;
  tree_lru_.erase(it->second.lru);
  trees_.erase(it);
}

absl::StatusOr<crypto::MerkleTree> ShardStore::LoadTree(const ShardMeta& meta) {
  GNR_ASSIGN_OR_RETURN(std::vector<crypto::Hash256> leaves, index_->LeafHashes(meta.id));
  uint64_t expected = crypto::MerkleLeafCount(meta.size, meta.leaf_size);
  if (leaves.size() != expected) {
    return absl::DataLossError(absl::StrCat("index holds ", leaves.size(),
                                            " leaf hashes for shard ", HexEncode(meta.id),
                                            ", expected ", expected));
  }
  GNR_ASSIGN_OR_RETURN(crypto::MerkleTree tree,
                       crypto::MerkleTree::FromLeafHashes(std::move(leaves), meta.hash_kind));
  if (tree.root() != meta.merkle_root) {
    return absl::DataLossError(
        absl::StrCat("indexed leaf hashes of shard ", HexEncode(meta.id), " do not give its root"));
  }
  return tree;
}

absl::StatusOr<Bytes> ShardStore::ReadLeaves(const ShardMeta& meta, const crypto::MerkleTree& tree,
                                             uint64_t first, uint64_t count) {
  const uint64_t begin = first * meta.leaf_size;
  const uint64_t end = std::min<uint64_t>(meta.size, (first + count) * meta.leaf_size);
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file,
                       env_.NewRandomAccessFile(ShardPath(meta.id)));
  Bytes out(end - begin);
  GNR_ASSIGN_OR_RETURN(size_t n, file->Read(begin, MutableByteView(out)));
  if (n != out.size()) {
    return absl::DataLossError(absl::StrCat("shard ", HexEncode(meta.id), " is truncated on disk: ",
                                            begin + n, " of ", meta.size, " bytes"));
  }
  if (options_.verify_reads) {
    const std::vector<crypto::Hash256> hashes =
        crypto::MerkleLeafHashesOf(out, meta.leaf_size, meta.hash_kind);
    for (uint64_t i = 0; i < count; ++i) {
      if (i >= hashes.size() || hashes[i] != tree.leaf_hashes()[first + i]) {
        {
          absl::MutexLock lock(&mu_);
          ++counters_.corrupt_reads;
        }
        GNR_LOG(kError) << "shard " << HexEncode(meta.id) << ": leaf " << first + i
                        << " on disk does not match its hash (disk corruption); not served";
        return absl::DataLossError(absl::StrCat("shard ", HexEncode(meta.id), " leaf ", first + i,
                                                " is corrupt on this farmer's disk"));
      }
    }
  }
  return out;
}

absl::StatusOr<LeafRange> ShardStore::GetLeaves(const ShardId& id, uint64_t first_leaf,
                                                uint64_t count) {
  GNR_ASSIGN_OR_RETURN(ShardMeta meta, BeginRead(id));
  absl::StatusOr<LeafRange> result = [&]() -> absl::StatusOr<LeafRange> {
    uint64_t leaf_count = crypto::MerkleLeafCount(meta.size, meta.leaf_size);
    if (count == 0 || first_leaf >= leaf_count || count > leaf_count - first_leaf) {
      return absl::OutOfRangeError(absl::StrCat("leaves [", first_leaf, ", ", first_leaf + count,
                                                ") are not inside shard ", HexEncode(id), " of ",
                                                leaf_count, " leaves"));
    }
    if (count * meta.leaf_size > options_.max_shard_size + meta.leaf_size) {
      return absl::OutOfRangeError(
          absl::StrCat("read of ", count, " leaves exceeds the largest read"));
    }
    GNR_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::MerkleTree> tree, GetTree(meta));
    GNR_ASSIGN_OR_RETURN(Bytes bytes, ReadLeaves(meta, *tree, first_leaf, count));
    GNR_ASSIGN_OR_RETURN(crypto::MerkleRangeProof proof, tree->ProveRange(first_leaf, count));
    return LeafRange{std::move(bytes), std::move(proof)};
  }();
  absl::MutexLock lock(&mu_);
  --operations_in_flight_;
  if (result.ok()) {
    ++counters_.range_reads;
    counters_.bytes_read += result->leaves.size();
  }
  return result;
}

absl::StatusOr<std::vector<crypto::Hash256>> ShardStore::ReadSentinels(
    const ShardId& id, std::span<const uint64_t> offsets) {
  GNR_ASSIGN_OR_RETURN(ShardMeta meta, BeginRead(id));
  absl::StatusOr<std::vector<crypto::Hash256>> result =
      [&]() -> absl::StatusOr<std::vector<crypto::Hash256>> {
    for (uint64_t off : offsets) {
      if (off > meta.size || meta.size - off < kSentinelSize) {
        return absl::OutOfRangeError(absl::StrCat("sentinel offset ", off, " runs past shard ",
                                                  HexEncode(id), " of ", meta.size, " bytes"));
      }
    }
    GNR_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file,
                         env_.NewRandomAccessFile(ShardPath(id)));
    std::vector<crypto::Hash256> values(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) {
      GNR_ASSIGN_OR_RETURN(size_t n, file->Read(offsets[i], MutableByteView(values[i])));
      if (n != kSentinelSize) {
        return absl::DataLossError(
            absl::StrCat("shard ", HexEncode(id), " is truncated on disk at ", offsets[i] + n));
      }
    }
    return values;
  }();
  absl::MutexLock lock(&mu_);
  --operations_in_flight_;
  if (result.ok()) ++counters_.sentinel_challenges;
  return result;
}

absl::StatusOr<LeafProof> ShardStore::ProveLeaf(const ShardId& id, uint64_t leaf_index) {
  GNR_ASSIGN_OR_RETURN(ShardMeta meta, BeginRead(id));
  absl::StatusOr<LeafProof> result = [&]() -> absl::StatusOr<LeafProof> {
    uint64_t leaf_count = crypto::MerkleLeafCount(meta.size, meta.leaf_size);
    if (leaf_index >= leaf_count) {
      return absl::OutOfRangeError(absl::StrCat("leaf ", leaf_index, " is not inside shard ",
                                                HexEncode(id), " of ", leaf_count, " leaves"));
    }
    GNR_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::MerkleTree> tree, GetTree(meta));
    GNR_ASSIGN_OR_RETURN(Bytes leaf, ReadLeaves(meta, *tree, leaf_index, 1));
    GNR_ASSIGN_OR_RETURN(crypto::MerkleProof proof, tree->Prove(leaf_index));
    return LeafProof{std::move(leaf), std::move(proof)};
  }();
  absl::MutexLock lock(&mu_);
  --operations_in_flight_;
  if (result.ok()) ++counters_.merkle_challenges;
  return result;
}

absl::Status ShardStore::Delete(const ShardId& id, ByteView payer) {
  uint64_t size = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("shard store is closed");
    auto it = shards_.find(id);
    if (deleting_.contains(id)) {
      return absl::UnavailableError(absl::StrCat("shard ", HexEncode(id), " is being deleted"));
    }
    if (it == shards_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no shard ", HexEncode(id), ": never stored or deleted"));
    }
    if (!std::equal(payer.begin(), payer.end(), it->second.payer.begin(), it->second.payer.end())) {
      absl::Status s = absl::PermissionDeniedError(
          absl::StrCat("shard ", HexEncode(id), " was stored by payer 0x",
                       HexEncode(it->second.payer), "; delete asked by 0x", HexEncode(payer)));
      GNR_LOG(kWarning) << "refused delete: " << s.message();
      return s;
    }
    size = it->second.size;
    deleting_.insert(id);
    ++operations_in_flight_;
  }
  // The row goes first: a crash after it leaves an unindexed file that Open() removes.
  absl::Status removed = index_->Remove(id);
  if (removed.ok()) {
    std::string path = ShardPath(id);
    absl::Status s = env_.DeleteFile(path);
    if (s.ok()) s = env_.SyncDir(DirName(path));
    if (!s.ok()) {
      GNR_LOG(kWarning) << "shard store: deleted shard " << HexEncode(id)
                        << " from the index but not its file (" << s.message()
                        << "); it is removed at the next start";
    }
  }
  absl::MutexLock lock(&mu_);
  deleting_.erase(id);
  --operations_in_flight_;
  if (!removed.ok()) return Annotate(removed, "index");
  shards_.erase(id);
  dirty_access_.erase(id);
  EraseTreeLocked(id);
  used_ -= size;
  ++counters_.deletes;
  GNR_LOG(kInfo) << "deleted shard " << ShortId(id) << " (" << HumanBytes(size) << ")";
  return absl::OkStatus();
}

absl::Status ShardStore::FlushAccessTimes() {
  std::vector<std::pair<ShardId, absl::Time>> batch;
  {
    absl::MutexLock lock(&mu_);
    if (index_ == nullptr) return absl::OkStatus();
    batch.assign(dirty_access_.begin(), dirty_access_.end());
    dirty_access_.clear();
    ++operations_in_flight_;
  }
  absl::Status s = index_->TouchAccess(batch);
  absl::MutexLock lock(&mu_);
  --operations_in_flight_;
  return s;
}

void ShardStore::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return operations_in_flight_ == 0; };
    if (operations_in_flight_ > 0) {
      GNR_LOG(kInfo) << "shard store: waiting for " << operations_in_flight_
                     << " operations in progress";
    }
    mu_.Await(absl::Condition(&idle));
  }
  absl::Status s = FlushAccessTimes();
  if (!s.ok()) {
    GNR_LOG(kWarning) << "shard store: access times not saved: " << s.message();
  }
  absl::MutexLock lock(&mu_);
  index_.reset();
  lock_.reset();
}

StoreUsage ShardStore::usage() const {
  absl::MutexLock lock(&mu_);
  return StoreUsage{.capacity_bytes = options_.capacity_bytes,
                    .used_bytes = used_,
                    .reserved_bytes = reserved_,
                    .shards = shards_.size()};
}

StoreCounters ShardStore::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

}  // namespace gnr::farmer
