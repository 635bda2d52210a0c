// Volume: file data. Writes go to staging files; reads come from the staging file or from
// the committed version (read cache, then the decoder over the network).

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"
#include "fs/codec/inline_blob.h"
#include "fs/codec/layout.h"
#include "fs/volume/space.h"
#include "fs/volume/volume_impl.h"

namespace gnr::volume::internal {
namespace {

using catalog::PosixError;

constexpr size_t kMaxCachedVersions = 64;
constexpr uint64_t kMaterializeChunk = 4 << 20;

// Answers the decoder's range requests from the farmers that hold each shard, all at once,
// cutting stragglers: once some replies are in, a request that has not answered within
// max(hedge_min, 2 x the slowest answer so far) is given up (DeadlineExceeded), so the
// decoder fetches that range from another shard (parity) instead of waiting.
class NetworkShardSource final : public codec::ShardSource {
 public:
  NetworkShardSource(ShardNetwork& network, const Bytes& bucket_id, const VersionContent& content,
                     absl::Duration hedge_min, absl::Duration timeout)
      : network_(network),
        bucket_id_(bucket_id),
        content_(content),
        hedge_min_(hedge_min),
        timeout_(timeout) {}

  std::vector<absl::StatusOr<codec::StoredRangeReply>> Fetch(
      std::span<const codec::StoredRangeRequest> requests) override {
    struct Batch {
      absl::Mutex mu;
      std::vector<std::optional<absl::StatusOr<codec::StoredRangeReply>>> replies
          ABSL_GUARDED_BY(mu);
      size_t answered ABSL_GUARDED_BY(mu) = 0;
      absl::Duration slowest ABSL_GUARDED_BY(mu) = absl::ZeroDuration();
    };
    auto batch = std::make_shared<Batch>();
    const size_t n = requests.size();
    {
      absl::MutexLock lock(&batch->mu);
      batch->replies.resize(n);
    }
    const absl::Time start = absl::Now();
    for (size_t i = 0; i < n; ++i) {
      const codec::StoredRangeRequest& r = requests[i];
      auto it = content_.farmers.find({r.segment, r.shard_index});
      if (it == content_.farmers.end() || it->second.empty()) {
        absl::MutexLock lock(&batch->mu);
        batch->replies[i] = absl::NotFoundError(
            absl::StrCat("no farmer holds segment ", r.segment, " shard ", r.shard_index));
        ++batch->answered;
        continue;
      }
      const FarmerContact farmer = it->second.front();
      ShardNetwork* network = &network_;
      network_.GetShardRange(
          farmer, bucket_id_, r,
          [batch, i, start, farmer, network](absl::StatusOr<codec::StoredRangeReply> reply) {
            absl::Duration latency = absl::Now() - start;
            network->ReportFarmer(farmer.id, FarmerOp::kGet, latency, reply.status());
            absl::MutexLock lock(&batch->mu);
            if (batch->replies[i].has_value()) return;  // already given up on
            if (!reply.ok()) {
              reply = Annotate(reply.status(),
                               absl::StrCat("farmer ", HexEncode(ByteView(farmer.id).first(4))));
            }
            batch->replies[i] = std::move(reply);
            ++batch->answered;
            batch->slowest = std::max(batch->slowest, latency);
          });
    }
    absl::MutexLock lock(&batch->mu);
    auto all = [&batch]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch->mu) {
      return batch->answered == batch->replies.size();
    };
    while (!all()) {
      absl::Time now = absl::Now();
      absl::Time deadline = start + timeout_;
      if (batch->answered > 0) {
        deadline = std::min(deadline, start + std::max(hedge_min_, 2 * batch->slowest));
      }
      if (now >= deadline) break;
      // Wake up at the deadline, or early to recompute it when an answer arrives.
      size_t seen = batch->answered;
      auto changed = [&batch, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch->mu) {
        return batch->answered != seen;
      };
      batch->mu.AwaitWithTimeout(absl::Condition(&changed), deadline - now);
    }
    std::vector<absl::StatusOr<codec::StoredRangeReply>> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!batch->replies[i].has_value()) {
        batch->replies[i] = absl::DeadlineExceededError(absl::StrCat(
            "farmer too slow: gave up after ", absl::FormatDuration(absl::Now() - start)));
        ++batch->answered;
        out.push_back(*batch->replies[i]);
      } else {
        out.push_back(std::move(*batch->replies[i]));
        batch->replies[i] = absl::CancelledError("consumed");
      }
    }
    return out;
  }

 private:
  ShardNetwork& network_;
  const Bytes& bucket_id_;
  const VersionContent& content_;
  const absl::Duration hedge_min_;
  const absl::Duration timeout_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Reads

absl::StatusOr<size_t> VolumeImpl::Read(FileHandle fh, uint64_t offset, MutableByteView out) {
  GNR_ASSIGN_OR_RETURN(Handle h, GetHandle(fh));
  if (!h.readable) return PosixError(EBADF, absl::StrCat("read: handle ", fh, " is write-only"));
  InodeState& st = *h.state;
  {
    absl::ReaderMutexLock lock(&st.mu);
    if (st.staging != nullptr) {
      if (offset >= st.size) return size_t{0};
      size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), st.size - offset));
      GNR_ASSIGN_OR_RETURN(size_t got, st.staging->ReadAt(offset, out.first(n)));
      // A staging file shorter than the staged size (sparse tail) reads as zeros.
      std::fill(out.begin() + got, out.begin() + n, 0);
      return n;
    }
  }
  GNR_ASSIGN_OR_RETURN(catalog::Attr attr, catalog_->GetAttr(h.ino));
  if (attr.is_directory()) return PosixError(EISDIR, "read: is a directory");
  if (offset >= attr.size) return size_t{0};
  size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), attr.size - offset));
  if (!attr.current_version) {
    std::fill(out.begin(), out.begin() + n, 0);
    return n;
  }
  if (h.readahead != nullptr) {
    GNR_RETURN_IF_ERROR(
        ReadCommittedAhead(h.readahead, *attr.current_version, attr.size, offset, out.first(n)));
  } else {
    GNR_RETURN_IF_ERROR(ReadCommitted(*attr.current_version, offset, out.first(n)));
  }
  return n;
}

absl::Status VolumeImpl::ReadCommittedAhead(const std::shared_ptr<ReadAhead>& ra_ptr,
                                            catalog::VersionId version, uint64_t file_size,
                                            uint64_t offset, MutableByteView out) {
  using Window = ReadAhead::Window;
  ReadAhead& ra = *ra_ptr;
  absl::MutexLock lock(&ra.mu);
  const uint64_t end = offset + out.size();
  // Reads what no window holds straight from the network (ra.mu released meanwhile).
  auto direct = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ra.mu) {
    ra.next = end;
    ra.mu.Unlock();
    absl::Status s = ReadCommitted(version, offset, out);
    ra.mu.Lock();
    return s;
  };
  if (ra.version != version) {
    ra.DropAll();
    ra.version = version;
    ra.window = 0;
  }
  const bool inside =
      !ra.windows.empty() && offset >= ra.windows.front()->begin && offset < ra.end();
  // Sequential: at the end of the previous read, give or take the reordering of the kernel's
  // concurrent readahead requests (a window's worth).
  const uint64_t slack = std::max(ra.window, ReadAhead::kMinWindow);
  const bool sequential =
      inside || offset == 0 || (offset + slack >= ra.next && offset <= ra.next + slack);
  if (!sequential) {
    ra.window = 0;  // no more windows until the reads are sequential again
    return direct();
  }
  if (!inside && !ra.windows.empty() && offset < ra.windows.front()->begin) {
    // A straggler of the kernel's concurrent reads, behind windows already freed: the
    // sequential run goes on ahead of it.
    ra.mu.Unlock();
    absl::Status s = ReadCommitted(version, offset, out);
    ra.mu.Lock();
    return s;
  }
  if (inside) {
    // Free the windows the reader is well past (kept a little for reordered reads).
    while (ra.windows.size() > 1 && ra.windows.front()->end() + ReadAhead::kMinWindow <= offset) {
      ra.windows.front()->dropped = true;
      ra.windows.pop_front();
    }
  } else {
    ra.DropAll();  // a sequential run starts here
    ra.run_start = offset;
  }
  PlanWindows(ra_ptr, version, file_size, offset, std::min(end, file_size));

  // Copy from the windows holding [offset, end) once they are fetched: fetch those no worker
  // has started, wait for the others. Windows may be dropped by another reader while ra.mu
  // is released: then read directly.
  for (;;) {
    if (ra.version != version) return direct();
    auto it = std::find_if(ra.windows.begin(), ra.windows.end(),
                           [&](const auto& w) { return offset >= w->begin && offset < w->end(); });
    if (it == ra.windows.end()) return direct();
    std::shared_ptr<Window> pending;
    bool failed = false;
    uint64_t covered = offset;
    for (auto w = it; w != ra.windows.end() && covered < end; ++w) {
      if ((*w)->state != Window::State::kDone) {
        pending = *w;
        break;
      }
      if (!(*w)->status.ok()) {
        failed = true;
        break;
      }
      covered = (*w)->end();
    }
    if (failed) {
      // The fetch failed (after its retries): read directly, which reports the error, and
      // start over afterwards.
      ra.DropAll();
      return direct();
    }
    if (pending == nullptr) {
      if (covered < end) return direct();  // past the planned windows (not expected)
      uint64_t pos = offset;
      for (auto w = it; pos < end; ++w) {
        const uint64_t n = std::min(end, (*w)->end()) - pos;
        std::copy_n((*w)->data.begin() + (pos - (*w)->begin), n, out.begin() + (pos - offset));
        pos += n;
      }
      ra.next = end;
      return absl::OkStatus();
    }
    if (pending->state == Window::State::kQueued) {
      pending->state = Window::State::kRunning;  // ours: no worker has started it
      FetchWindow(ra, version, *pending);
    } else {
      auto done = [&pending]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ra.mu) {
        return pending->state == Window::State::kDone;
      };
      ra.mu.Await(absl::Condition(&done));
    }
  }
}

void VolumeImpl::PlanWindows(const std::shared_ptr<ReadAhead>& ra_ptr, catalog::VersionId version,
                             uint64_t file_size, uint64_t offset, uint64_t need) {
  using Window = ReadAhead::Window;
  ReadAhead& ra = *ra_ptr;
  uint64_t pos = ra.windows.empty() ? offset : ra.end();
  const uint64_t ahead = offset + std::max(ReadAhead::kMinWindow, offset - ra.run_start);
  std::vector<std::shared_ptr<Window>> queued;
  while (pos < file_size) {
    const uint64_t grow =
        std::clamp<uint64_t>(2 * ra.window, ReadAhead::kMinWindow, ReadAhead::kMaxWindow);
    uint64_t size = grow;
    if (pos < need) {
      size = std::max(size, need - pos);  // the read being answered must be covered
    } else if (pos >= ahead || ra.bytes() + size > ReadAhead::kMaxBytes) {
      break;
    }
    uint64_t window_end = std::min(file_size, pos + size);
    if (cache_->enabled()) {
      // On cache block boundaries: two windows never fetch the same block.
      const uint64_t bs = options_.cache_block_size;
      window_end = std::min(file_size, (window_end + bs - 1) / bs * bs);
    }
    auto w = std::make_shared<Window>();
    w->begin = pos;
    w->size = window_end - pos;
    ra.windows.push_back(w);
    ra.window = grow;
    queued.push_back(std::move(w));
    pos = window_end;
  }
  if (queued.empty()) return;
  // Lock order: ReadAhead::mu -> mu_.
  absl::MutexLock lock(&mu_);
  if (stop_) return;  // the readers fetch the windows themselves
  std::weak_ptr<ReadAhead> weak = ra_ptr;
  for (std::shared_ptr<Window>& w : queued) {
    tasks_.push_back([this, weak, w = std::move(w), version] {
      std::shared_ptr<ReadAhead> ra = weak.lock();
      if (ra == nullptr) return;  // the handle was released
      absl::MutexLock lock(&ra->mu);
      if (w->dropped || w->state != Window::State::kQueued) return;
      w->state = Window::State::kRunning;
      FetchWindow(*ra, version, *w);
    });
  }
  ++wake_seq_;
}

void VolumeImpl::FetchWindow(ReadAhead& ra, catalog::VersionId version, ReadAhead::Window& w) {
  const uint64_t begin = w.begin;
  const uint64_t size = w.size;
  ra.mu.Unlock();
  Bytes data(size);
  absl::Status s = ReadCommitted(version, begin, MutableByteView(data));
  if (!s.ok()) data.clear();
  ra.mu.Lock();
  w.data = std::move(data);
  w.status = std::move(s);
  w.state = ReadAhead::Window::State::kDone;
}

absl::StatusOr<std::shared_ptr<VersionContent>> VolumeImpl::LoadVersion(catalog::VersionId id,
                                                                        bool refresh) {
  if (!refresh) {
    absl::MutexLock lock(&versions_mu_);
    auto it = versions_.find(id);
    if (it != versions_.end()) return it->second;
  }
  GNR_ASSIGN_OR_RETURN(catalog::Version v, catalog_->GetVersion(id));
  if (v.bucket_id != options_.bucket_id) {
    return PosixError(EIO,
                      absl::StrCat("version ", id, " is stored in bucket ", HexEncode(v.bucket_id),
                                   ", not the mounted one: its key is unknown here"));
  }
  auto content = std::make_shared<VersionContent>();
  content->id = id;
  content->kind = v.kind;
  content->size = v.size;
  content->nonce = v.nonce;
  codec::FileKey key = codec::DeriveFileKey(env_.bucket_key, v.nonce);
  if (v.kind == catalog::VersionKind::kInline) {
    absl::StatusOr<Bytes> plain = codec::OpenInlineBlob(key, v.inline_blob);
    if (!plain.ok()) {
      return PosixError(EIO, absl::StrCat("inline content of version ", id,
                                          " cannot be opened: ", plain.status().ToString()));
    }
    content->inline_plaintext = *std::move(plain);
  } else {
    absl::StatusOr<codec::FileManifest> manifest = codec::DecodeFileManifest(v.manifest);
    if (!manifest.ok()) {
      return PosixError(EIO, absl::StrCat("manifest of version ", id,
                                          " is corrupt: ", manifest.status().ToString()));
    }
    GNR_ASSIGN_OR_RETURN(content->reader, codec::FileReader::Create(*std::move(manifest), key));
    GNR_ASSIGN_OR_RETURN(std::vector<catalog::Placement> placements,
                         catalog_->ListPlacementsByVersion(id));
    for (const catalog::Placement& p : placements) {
      if (p.state != catalog::PlacementState::kAcked) continue;
      content->farmers[{p.segment, p.shard_index}].push_back(
          FarmerContact{p.farmer, p.farmer_hint});
    }
  }
  absl::MutexLock lock(&versions_mu_);
  if (versions_.count(id) == 0) version_order_.push_back(id);
  versions_[id] = content;
  while (version_order_.size() > kMaxCachedVersions) {
    versions_.erase(version_order_.front());
    version_order_.pop_front();
  }
  return content;
}

void VolumeImpl::DropCachedContent() {
  absl::MutexLock lock(&versions_mu_);
  versions_.clear();
  version_order_.clear();
}

absl::Status VolumeImpl::ReadFromNetwork(VersionContent& content, uint64_t offset,
                                         MutableByteView out) {
  NetworkShardSource source(*env_.network, options_.bucket_id, content, options_.hedge_min,
                            options_.read_timeout);
  codec::ReadReport report;
  absl::Status s = content.reader->Read(offset, out, source, &report);
  for (const codec::ReadReport::Failure& f : report.failures) {
    GNR_LOG(kInfo) << "read of version " << content.id << ": segment " << f.segment << " shard "
                   << f.shard_index << " unusable (" << f.status.message() << ")"
                   << (s.ok() ? "; rebuilt from other shards" : "");
  }
  return s;
}

absl::Status VolumeImpl::ReadCommitted(catalog::VersionId version, uint64_t offset,
                                       MutableByteView out) {
  absl::Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    GNR_ASSIGN_OR_RETURN(std::shared_ptr<VersionContent> content,
                         LoadVersion(version, /*refresh=*/attempt > 0));
    // Bytes past the version's end (a catalog size ahead of it) read as zeros.
    size_t avail =
        offset >= content->size
            ? 0
            : static_cast<size_t>(std::min<uint64_t>(out.size(), content->size - offset));
    std::fill(out.begin() + avail, out.end(), 0);
    if (avail == 0) return absl::OkStatus();
    MutableByteView want = out.first(avail);
    if (content->kind == catalog::VersionKind::kInline) {
      std::copy_n(content->inline_plaintext.begin() + offset, avail, want.begin());
      return absl::OkStatus();
    }
    if (!cache_->enabled()) {
      last = ReadFromNetwork(*content, offset, want);
    } else {
      const uint64_t bs = options_.cache_block_size;
      uint64_t pos = offset;
      const uint64_t end = offset + avail;
      last = absl::OkStatus();
      while (pos < end && last.ok()) {
        uint64_t block = pos / bs;
        uint64_t block_begin = block * bs;
        uint64_t block_end = std::min(block_begin + bs, content->size);
        uint64_t piece_end = std::min(end, block_end);
        MutableByteView piece = want.subspan(pos - offset, piece_end - pos);
        if (!cache_->Get(content->nonce, block, pos - block_begin, piece)) {
          Bytes buf(block_end - block_begin);
          last = ReadFromNetwork(*content, block_begin, MutableByteView(buf));
          if (last.ok()) {
            std::copy_n(buf.begin() + (pos - block_begin), piece.size(), piece.begin());
            cache_->Put(content->nonce, block, buf);
          }
        }
        pos = piece_end;
      }
    }
    if (last.ok()) return last;
    GNR_LOG(kWarning) << "read of version " << version << " at " << offset << " failed"
                      << (attempt == 0 ? " (retrying with fresh placements)" : "") << ": " << last;
  }
  return PosixError(EIO, absl::StrCat("data of version ", version, " at offset ", offset,
                                      " cannot be recovered: ", last.ToString()));
}

// ---------------------------------------------------------------------------------------
// Writes and staging

absl::Status VolumeImpl::EnsureStaging(InodeState& st, bool truncate_to_zero) {
  if (st.staging != nullptr) return absl::OkStatus();
  GNR_ASSIGN_OR_RETURN(catalog::Attr attr, catalog_->GetAttr(st.ino));
  std::string path = absl::StrCat(staging_dir_, "/", st.ino);
  GNR_ASSIGN_OR_RETURN(std::shared_ptr<StagingFile> file,
                       StagingFile::Open(path, /*create=*/true, /*truncate=*/true));
  uint64_t size = 0;
  if (!truncate_to_zero && attr.size > 0) {
    // Up front: the staging file gets the whole committed content before the first change.
    size = attr.size;
    if (attr.current_version) {
      GNR_LOG(kDebug) << "materializing " << attr.size << " bytes of inode " << st.ino
                      << " (version " << *attr.current_version << ") for writing";
      Bytes buf(std::min<uint64_t>(kMaterializeChunk, size));
      for (uint64_t pos = 0; pos < size; pos += buf.size()) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - pos));
        absl::Status s = ReadCommitted(*attr.current_version, pos, MutableByteView(buf).first(n));
        if (s.ok()) s = file->WriteAt(pos, ByteView(buf).first(n));
        if (!s.ok()) {
          (void)file->Unlink();
          return s;
        }
      }
    }
    absl::Status s = file->Truncate(size);
    if (!s.ok()) {
      (void)file->Unlink();
      return s;
    }
  }
  st.staging = std::move(file);
  st.size = size;
  st.committed_generation = st.generation;  // clean: equals the committed content
  return absl::OkStatus();
}

absl::Status VolumeImpl::MarkDirty(InodeState& st) {
  bool was_dirty = st.dirty();
  st.generation++;
  absl::Time now = env_.clock->Now();
  st.mtime = now;
  st.ctime = now;
  st.times_dirty = true;
  if (was_dirty) return absl::OkStatus();
  st.dirty_since = now;
  {
    absl::MutexLock lock(&mu_);
    ScheduleUploadLocked(st.ino, now + TimedUploadDelay(st.writers > 0 ? st.open_commits : 0));
  }
  if (!st.upload_id) {
    // From here on the staging file is the truth: record it so a restart resumes it.
    GNR_ASSIGN_OR_RETURN(st.upload_id, catalog_->AddUpload(catalog::NewUpload{
                                           st.ino, st.staging->path(), st.size, std::nullopt}));
  }
  return absl::OkStatus();
}

absl::Status VolumeImpl::ReserveSpace(InodeState& st, uint64_t new_size) {
  absl::MutexLock lock(&mu_);
  InodeState& s = st;  // s.pending_estimate is guarded by mu_
  uint64_t est = StoredBytesFor(options_.params, new_size);
  if (est > s.pending_estimate) {
    absl::Time now = env_.clock->Now();
    if (bucket_.ExpiredAt(now)) {
      GNR_LOG(kWarning) << "write refused: bucket " << HexEncode(options_.bucket_id)
                        << " expired at " << absl::FormatTime(bucket_.end)
                        << "; buy time with `gnr market`";
      return PosixError(ENOSPC, "the bucket has expired");
    }
    uint64_t after = used_stored_ + pending_stored_ - s.pending_estimate + est;
    if (after > bucket_.size_bytes) {
      GNR_LOG(kInfo) << "write refused: growing inode " << st.ino << " to " << new_size
                     << " bytes needs " << after << " stored bytes, the bucket has "
                     << bucket_.size_bytes << " (used " << used_stored_ << ", pending "
                     << pending_stored_ << ")";
      return PosixError(ENOSPC, absl::StrCat("bucket space exhausted: ", after, " > ",
                                             bucket_.size_bytes, " stored bytes"));
    }
  }
  pending_stored_ = pending_stored_ - s.pending_estimate + est;
  s.pending_estimate = est;
  return absl::OkStatus();
}

absl::Status VolumeImpl::TruncateLocked(InodeState& st, uint64_t size) {
  GNR_RETURN_IF_ERROR(EnsureStaging(st, /*truncate_to_zero=*/size == 0));
  GNR_RETURN_IF_ERROR(ReserveSpace(st, size));
  InvalidateEarlySegments(st, size);
  GNR_RETURN_IF_ERROR(st.staging->Truncate(size));
  st.size = size;
  return MarkDirty(st);
}

absl::StatusOr<size_t> VolumeImpl::Write(FileHandle fh, uint64_t offset, ByteView data) {
  GNR_ASSIGN_OR_RETURN(Handle h, GetHandle(fh));
  if (!h.writable) return PosixError(EBADF, absl::StrCat("write: handle ", fh, " is read-only"));
  if (data.empty()) return size_t{0};
  InodeState& st = *h.state;
  absl::MutexLock lock(&st.mu);
  if (st.purged) return PosixError(ENOENT, absl::StrCat("write: inode ", h.ino, " was removed"));
  GNR_RETURN_IF_ERROR(EnsureStaging(st, /*truncate_to_zero=*/false));
  if (h.append) offset = st.size;
  if (offset > codec::kMaxFileSize || data.size() > codec::kMaxFileSize - offset) {
    return PosixError(
        EFBIG, absl::StrCat("write past the largest file size (", codec::kMaxFileSize, " bytes)"));
  }
  uint64_t new_size = std::max<uint64_t>(st.size, offset + data.size());
  GNR_RETURN_IF_ERROR(ReserveSpace(st, new_size));
  InvalidateEarlySegments(st, offset);
  GNR_RETURN_IF_ERROR(st.staging->WriteAt(offset, data));
  st.size = new_size;
  GNR_RETURN_IF_ERROR(MarkDirty(st));
  if (offset != st.write_end) st.random_writer = true;
  st.write_end = offset + data.size();
  MaybeStartEarlySegment(h.state);
  return data.size();
}

absl::Status VolumeImpl::PersistOverlay(InodeState& st) {
  if (!st.times_dirty || st.purged) return absl::OkStatus();
  catalog::AttrUpdate u;
  if (st.staging != nullptr) u.size = st.size;
  u.mtime = st.mtime;
  u.ctime = st.ctime;
  absl::StatusOr<catalog::Attr> a = catalog_->SetAttr(st.ino, u);
  if (!a.ok()) {
    // An inode removed meanwhile has nothing left to persist.
    if (catalog::IsPosixError(a.status(), ENOENT)) return absl::OkStatus();
    return a.status();
  }
  st.times_dirty = false;
  return absl::OkStatus();
}

absl::Status VolumeImpl::RefreshBucket(bool force) {
  absl::Time now = env_.clock->Now();
  {
    absl::MutexLock lock(&mu_);
    if (!force && bucket_checked_ && now - *bucket_checked_ < options_.bucket_refresh) {
      return absl::OkStatus();
    }
    bucket_checked_ = now;
  }
  absl::StatusOr<BucketInfo> info = env_.chain->GetBucket(options_.bucket_id);
  absl::StatusOr<catalog::Bucket> known = catalog_->GetBucket(options_.bucket_id);
  if (!info.ok()) {
    if (!known.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("bucket ", HexEncode(options_.bucket_id), " is unknown: the chain says ",
                       info.status().ToString(), " and the catalog has no record of it"));
    }
    GNR_LOG(kWarning) << "cannot refresh bucket " << HexEncode(options_.bucket_id)
                      << " from the chain (" << info.status() << "); using the last known size";
    absl::MutexLock lock(&mu_);
    bucket_.size_bytes = known->size_bytes;
    bucket_.start = known->start;
    bucket_.end = known->expiry;
    used_stored_ = known->used_bytes;
    return absl::OkStatus();
  }
  catalog::Bucket b = known.ok() ? *known : catalog::Bucket{};
  b.id = options_.bucket_id;
  b.size_bytes = info->size_bytes;
  b.start = info->start;
  b.expiry = info->end;
  b.data_shards = static_cast<uint32_t>(options_.params.data_shards);
  b.parity_shards = static_cast<uint32_t>(options_.params.parity_shards);
  GNR_RETURN_IF_ERROR(catalog_->PutBucket(b));
  GNR_ASSIGN_OR_RETURN(catalog::Bucket stored, catalog_->GetBucket(options_.bucket_id));
  absl::MutexLock lock(&mu_);
  bucket_ = *info;
  used_stored_ = stored.used_bytes;
  return absl::OkStatus();
}

}  // namespace gnr::volume::internal
