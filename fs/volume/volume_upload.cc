// Volume: the upload scheduler, the upload of one file version (encode, put shards, commit),
// background top-ups to k+m, and garbage collection of obsolete versions.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "fs/catalog/posix_error.h"
#include "fs/codec/encoder.h"
#include "fs/codec/inline_blob.h"
#include "fs/codec/layout.h"
#include "fs/codec/params.h"
#include "fs/volume/space.h"
#include "fs/volume/volume_impl.h"

namespace gnr::volume::internal {
namespace {

std::string Short(const FarmerId& id) { return HexEncode(ByteView(id).first(4)); }

// Counts down answers of a batch of network requests.
struct Latch {
  absl::Mutex mu;
  size_t pending ABSL_GUARDED_BY(mu) = 0;
  std::vector<absl::Status> results ABSL_GUARDED_BY(mu);
};

constexpr int kMaxGcAttempts = 3;

}  // namespace

// ---------------------------------------------------------------------------------------
// Put journal

std::shared_ptr<PutJournal> PutJournal::Open(std::string path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    GNR_LOG(kWarning) << "cannot open the put journal " << path << ": " << std::strerror(errno)
                      << "; after a crash, shards of this upload may stay on farmers";
    return nullptr;
  }
  return std::shared_ptr<PutJournal>(new PutJournal(std::move(path), fd));
}

std::vector<PutJournal::Entry> PutJournal::Read(const std::string& path) {
  std::vector<Entry> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    if (f.size() < 2) continue;
    absl::StatusOr<FarmerId> farmer = HexDecodeFixed<20>(f[0]);
    absl::StatusOr<codec::ShardId> shard = HexDecodeFixed<32>(f[1]);
    if (!farmer.ok() || !shard.ok()) continue;
    out.push_back(Entry{FarmerContact{*farmer, f.size() > 2 ? f[2] : ""}, *shard});
  }
  return out;
}

PutJournal::~PutJournal() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) ::close(fd_);
}

void PutJournal::Append(const FarmerContact& farmer, const codec::ShardId& shard_id) {
  std::string line =
      absl::StrCat(HexEncode(farmer.id), " ", HexEncode(shard_id), " ", farmer.endpoint, "\n");
  absl::MutexLock lock(&mu_);
  if (fd_ < 0) return;
  // One write(2) per line with O_APPEND: a crash leaves whole lines (and at worst a torn
  // last one, which Read skips).
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    GNR_LOG(kWarning) << "cannot append to the put journal " << path_ << ": "
                      << std::strerror(errno);
  }
}

void PutJournal::Remove() {
  absl::MutexLock lock(&mu_);
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

void VolumeImpl::CleanUpPutJournals() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(staging_dir_, ec)) {
    if (entry.path().extension() != ".puts") continue;
    const std::string path = entry.path().string();
    size_t deleted = 0, kept = 0;
    for (const PutJournal::Entry& e : PutJournal::Read(path)) {
      // A shard the catalog places belongs to a committed version (the crash came after the
      // commit, before the journal was removed): keep it.
      absl::StatusOr<std::vector<catalog::Placement>> placed =
          catalog_->ListPlacementsByShard(e.shard_id);
      if (!placed.ok() || !placed->empty()) {
        ++kept;
        continue;
      }
      DeleteShardQuietly(e.farmer, e.shard_id);
      ++deleted;
    }
    GNR_LOG(kInfo) << "upload interrupted before its commit (" << path << "): deleting " << deleted
                   << " shard(s) it sent"
                   << (kept > 0 ? absl::StrCat(", ", kept, " placed kept") : "");
    std::filesystem::remove(entry.path(), ec);
  }
}

// ---------------------------------------------------------------------------------------
// Scheduler

void VolumeImpl::ScheduleUploadLocked(Ino ino, absl::Time due) {
  auto [it, inserted] = upload_due_.emplace(ino, due);
  if (!inserted) it->second = std::min(it->second, due);
  ++wake_seq_;
}

void VolumeImpl::RetryBackedOffUploadsNowLocked() {
  const absl::Time now = env_.clock->Now();
  for (auto& [ino, due] : upload_due_) {
    auto it = inodes_.find(ino);
    if (due > now && it != inodes_.end() && it->second->retry_shift > 0) {
      due = now;
      it->second->retry_shift = 0;
      ++wake_seq_;
    }
  }
}

void VolumeImpl::ScheduleTopUp(const std::shared_ptr<SegmentPut>& seg) {
  absl::MutexLock lock(&mu_);
  if (stop_) return;
  tasks_.push_back([this, seg] { TopUp(seg); });
  ++wake_seq_;
}

void VolumeImpl::PruneTopUpsLocked() {
  auto settled = [](const std::shared_ptr<SegmentPut>& seg) {
    absl::MutexLock lock(&seg->mu);
    return seg->Settled();
  };
  topping_up_.erase(std::remove_if(topping_up_.begin(), topping_up_.end(), settled),
                    topping_up_.end());
}

bool VolumeImpl::AwaitOrStop(absl::Mutex& mu, const absl::Condition& cond, absl::Time deadline) {
  for (;;) {
    if (cond.Eval()) return true;
    if (stopping_.load() || absl::Now() >= deadline) return false;
    absl::Duration wait = std::min(absl::Milliseconds(50), deadline - absl::Now());
    mu.AwaitWithTimeout(cond, std::max(wait, absl::Milliseconds(1)));
  }
}

void VolumeImpl::WorkerLoop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    absl::Time now = env_.clock->Now();
    if (!tasks_.empty()) {
      absl::AnyInvocable<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      ++busy_workers_;
      mu_.Unlock();
      task();
      mu_.Lock();
      --busy_workers_;
      continue;
    }
    std::optional<Ino> next;
    absl::Time next_due = absl::InfiniteFuture();
    for (const auto& [ino, due] : upload_due_) {
      auto it = inodes_.find(ino);
      if (it == inodes_.end() || it->second->uploading) continue;
      if (due <= now) {
        next = ino;
        break;
      }
      next_due = std::min(next_due, due);
    }
    if (next) {
      std::shared_ptr<InodeState> st = inodes_[*next];
      upload_due_.erase(*next);
      st->uploading = true;
      ++busy_workers_;
      mu_.Unlock();
      RunUpload(st);
      mu_.Lock();
      --busy_workers_;
      st->uploading = false;
      ++wake_seq_;
      MaybeDropStateLocked(st->ino);
      continue;
    }
    if ((gc_requested_ || now >= next_gc_) && !gc_running_) {
      gc_requested_ = false;
      gc_running_ = true;
      next_gc_ = now + absl::Minutes(1);
      if (upload_due_.empty()) shard_buffers_->Clear();  // no upload for a while
      ++busy_workers_;
      mu_.Unlock();
      (void)RefreshBucket(/*force=*/false);
      RunGc();
      mu_.Lock();
      --busy_workers_;
      gc_running_ = false;
      PruneTopUpsLocked();
      continue;
    }
    uint64_t seen = wake_seq_;
    auto woken = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ || !tasks_.empty() || wake_seq_ != seen || (gc_requested_ && !gc_running_);
    };
    absl::Duration wait = absl::Milliseconds(100);
    if (next_due != absl::InfiniteFuture()) wait = std::min(wait, next_due - now);
    mu_.AwaitWithTimeout(absl::Condition(&woken), std::max(wait, absl::Milliseconds(1)));
  }
}

void VolumeImpl::RunUpload(const std::shared_ptr<InodeState>& st) {
  absl::Status status = UploadOnce(st);
  bool orphan;
  int handles;
  {
    absl::MutexLock lock(&mu_);
    orphan = st->orphan;
    handles = st->open_handles;
    if (status.ok()) {
      st->retry_shift = 0;
      RetryBackedOffUploadsNowLocked();
    }
  }
  if (!status.ok() && orphan) {
    GNR_LOG(kInfo) << "upload of " << PathOf(st->ino) << " abandoned: the file was removed ("
                   << status.message() << ")";
  } else if (!status.ok()) {
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      delay = options_.retry_delay * (1 << st->retry_shift);
      st->retry_shift = std::min(st->retry_shift + 1, 5);
    }
    std::optional<catalog::UploadId> upload_id;
    uint64_t attempts;
    {
      absl::MutexLock lock(&st->mu);
      st->failures++;
      st->last_error = status;
      attempts = st->failures;
      upload_id = st->upload_id;
      if (st->dirty() && !orphan) {
        absl::MutexLock vlock(&mu_);
        ScheduleUploadLocked(st->ino, env_.clock->Now() + delay);
      }
    }
    if (upload_id) {
      catalog::UploadUpdate u;
      u.state = catalog::UploadState::kFailed;
      u.last_error = status.ToString();
      u.increment_attempts = true;
      (void)catalog_->UpdateUpload(*upload_id, u);
    }
    if (absl::IsCancelled(status)) {
      GNR_LOG(kInfo) << "upload of " << PathOf(st->ino) << " stopped: " << status.message();
    } else {
      GNR_LOG(kWarning) << "upload of " << PathOf(st->ino) << " failed (attempt " << attempts
                        << "), kept staged, retrying in " << absl::FormatDuration(delay) << ": "
                        << status;
    }
  }
  if (orphan && handles == 0) {
    PurgeInode(st->ino);
    return;
  }
  absl::MutexLock lock(&st->mu);
  if (!st->dirty() && st->staging != nullptr) {
    absl::MutexLock vlock(&mu_);
    if (st->open_handles == 0) {
      // Committed and nobody has it open: the local copy is no longer needed.
      (void)st->staging->Unlink();
      st->staging = nullptr;
    }
  }
}

// ---------------------------------------------------------------------------------------
// One upload

std::optional<FarmerContact> VolumeImpl::NextCandidate(const std::shared_ptr<SegmentPut>& seg) {
  for (;;) {
    std::vector<FarmerId> exclude;
    {
      absl::MutexLock lock(&seg->mu);
      while (seg->next_candidate < seg->candidates.size()) {
        const FarmerContact& c = seg->candidates[seg->next_candidate++];
        if (std::find(seg->tried.begin(), seg->tried.end(), c.id) != seg->tried.end()) continue;
        seg->tried.push_back(c.id);
        return c;
      }
      if (seg->asked_more) return std::nullopt;
      seg->asked_more = true;
      exclude = seg->tried;
    }
    absl::StatusOr<std::vector<FarmerContact>> more = env_.network->ChooseFarmers(
        seg->bucket_id, seg->placement_key,
        static_cast<size_t>(std::max(options_.spare_farmers, 1)), exclude);
    if (!more.ok() || more->empty()) return std::nullopt;
    absl::MutexLock lock(&seg->mu);
    seg->candidates.insert(seg->candidates.end(), more->begin(), more->end());
  }
}

void VolumeImpl::IssuePut(const std::shared_ptr<SegmentPut>& seg, uint32_t shard,
                          const FarmerContact& farmer) {
  PutShardRequest req;
  req.bucket_id = seg->bucket_id;
  req.shard_id = seg->manifests[shard].id;
  req.merkle_root = seg->manifests[shard].merkle_root;
  req.size = seg->manifests[shard].stored_length;
  req.leaf_size = seg->leaf_size;
  req.merkle_kind = seg->merkle_kind;
  {
    absl::MutexLock lock(&seg->mu);
    // Dropped meanwhile: a held-back shard whose upload was aborted as it was released.
    if (seg->shards[shard] == nullptr) return;
    req.data = seg->shards[shard];
    seg->deferred[shard] = false;  // if held back until now (IssueDeferred)
    seg->in_flight[shard] = true;
    seg->outstanding++;
  }
  if (seg->journal != nullptr) seg->journal->Append(farmer, req.shard_id);
  const absl::Time start = absl::Now();
  std::shared_ptr<Liveness> live = live_;
  env_.network->PutShard(
      farmer, std::move(req),
      [seg, shard, farmer, start, live](absl::StatusOr<FarmerContact> acked) {
        const absl::Duration latency = absl::Now() - start;
        bool record = false, top_up = false, discard = false;
        {
          absl::MutexLock lock(&seg->mu);
          seg->outstanding--;
          seg->in_flight[shard] = false;
          if (acked.ok()) {
            if (seg->aborted || seg->acked[shard].has_value()) {
              discard = true;  // abandoned upload, or a duplicate of an acked shard
            } else {
              seg->acked[shard] = *acked;
              seg->shards[shard].reset();  // on a farmer now: drop our copy
              if (seg->version != 0) {
                seg->recorded[shard] = true;
                record = true;
              }
            }
          } else {
            seg->errors.push_back(absl::StrCat("shard ", shard, " on ", Short(farmer.id), ": ",
                                               acked.status().ToString()));
            if (!seg->aborted) {
              seg->failed.push_back(shard);
              top_up = seg->version != 0;
            }
          }
        }
        absl::ReaderMutexLock lock(&live->mu);
        VolumeImpl* volume = live->volume;
        if (volume == nullptr) return;
        volume->env_.network->ReportFarmer(farmer.id, FarmerOp::kPut, latency, acked.status());
        if (record) volume->RecordLateAck(seg, shard);
        if (top_up) volume->ScheduleTopUp(seg);
        if (discard) volume->DeleteShardQuietly(*acked, seg->manifests[shard].id);
      });
}

absl::Status VolumeImpl::PutSegmentShards(const std::shared_ptr<SegmentPut>& seg) {
  const size_t want = seg->n + static_cast<size_t>(std::max(options_.spare_farmers, 0));
  absl::StatusOr<std::vector<FarmerContact>> chosen =
      env_.network->ChooseFarmers(seg->bucket_id, seg->placement_key, want, {});
  if (!chosen.ok()) return Annotate(chosen.status(), absl::StrCat(seg->label, ": no farmers"));
  if (chosen->size() < seg->k + 1) {
    return absl::UnavailableError(absl::StrCat(seg->label, ": the network offers ", chosen->size(),
                                               " farmers; RS(", seg->k, ",", seg->n - seg->k,
                                               ") needs at least ", seg->k + 1, " to commit"));
  }
  {
    absl::MutexLock lock(&seg->mu);
    seg->candidates = *std::move(chosen);
  }
  const uint32_t quorum = std::min(seg->k + 1, seg->n);
  for (uint32_t i = 0; i < seg->n; ++i) {
    if (i >= quorum && options_.deferred_shard_bytes > 0) {
      DeferShard(seg, i);
      continue;
    }
    std::optional<FarmerContact> f = NextCandidate(seg);
    if (!f) {
      absl::MutexLock lock(&seg->mu);
      seg->given_up[i] = true;
      GNR_LOG(kWarning) << seg->label << " shard " << i
                        << ": no distinct farmer left; left for the repairer";
      continue;
    }
    IssuePut(seg, i, *f);
  }
  return absl::OkStatus();
}

absl::Status VolumeImpl::AwaitQuorum(const std::shared_ptr<SegmentPut>& seg) {
  const size_t need = std::min<size_t>(seg->k + 1, seg->n);
  for (;;) {
    uint32_t retry;
    {
      absl::MutexLock lock(&seg->mu);
      auto ready = [&seg, need]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(seg->mu) {
        return seg->AckedCount() >= need || !seg->failed.empty() || seg->outstanding == 0;
      };
      if (!AwaitOrStop(seg->mu, absl::Condition(&ready), absl::InfiniteFuture())) {
        return absl::CancelledError("volume closing");
      }
      if (seg->AckedCount() >= need) return absl::OkStatus();
      if (seg->failed.empty()) {
        return absl::UnavailableError(absl::StrCat(
            seg->label, ": only ", seg->AckedCount(), " of ", seg->n, " shards acknowledged, ",
            need, " needed to commit (", absl::StrJoin(seg->errors, "; "), ")"));
      }
      retry = seg->failed.front();
      seg->failed.pop_front();
    }
    std::optional<FarmerContact> f = NextCandidate(seg);
    if (f) {
      GNR_LOG(kInfo) << seg->label << " shard " << retry << ": retrying on spare farmer "
                     << Short(f->id);
      IssuePut(seg, retry, *f);
    } else {
      absl::MutexLock lock(&seg->mu);
      seg->given_up[retry] = true;
    }
  }
}

void VolumeImpl::DeferShard(const std::shared_ptr<SegmentPut>& seg, uint32_t shard) {
  std::vector<std::pair<std::shared_ptr<SegmentPut>, uint32_t>> over;
  {
    absl::MutexLock lock(&mu_);
    {
      absl::MutexLock seg_lock(&seg->mu);
      seg->deferred[shard] = true;
    }
    deferred_.emplace_back(seg, shard);
    deferred_bytes_ += seg->manifests[shard].stored_length;
    while (deferred_bytes_ > options_.deferred_shard_bytes) {
      over.push_back(std::move(deferred_.front()));
      deferred_.pop_front();
      deferred_bytes_ -= over.back().first->manifests[over.back().second].stored_length;
    }
  }
  for (const auto& [s, i] : over) IssueDeferred(s, {i});
}

void VolumeImpl::ReleaseDeferredShards(const std::shared_ptr<SegmentPut>& seg) {
  std::vector<uint32_t> shards;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = deferred_.begin(); it != deferred_.end();) {
      if (it->first != seg) {
        ++it;
        continue;
      }
      shards.push_back(it->second);
      deferred_bytes_ -= seg->manifests[it->second].stored_length;
      it = deferred_.erase(it);
    }
  }
  if (!shards.empty()) IssueDeferred(seg, shards);
}

void VolumeImpl::IssueDeferred(const std::shared_ptr<SegmentPut>& seg,
                               const std::vector<uint32_t>& shards) {
  for (uint32_t shard : shards) {
    {
      absl::MutexLock lock(&seg->mu);
      if (!seg->deferred[shard]) continue;
      if (seg->aborted) {
        seg->deferred[shard] = false;
        seg->shards[shard].reset();
        continue;
      }
    }
    // Clears the shard's deferred mark as it counts it outstanding, so the segment never
    // looks settled in between.
    if (std::optional<FarmerContact> f = NextCandidate(seg)) {
      IssuePut(seg, shard, *f);
      continue;
    }
    absl::MutexLock lock(&seg->mu);
    if (!seg->deferred[shard]) continue;  // the upload was aborted meanwhile
    seg->deferred[shard] = false;
    seg->given_up[shard] = true;
    seg->shards[shard].reset();
    GNR_LOG(kWarning) << seg->label << " shard " << shard
                      << ": no distinct farmer left; left for the repairer";
  }
}

void VolumeImpl::ForgetDeferredShards(const std::vector<std::shared_ptr<SegmentPut>>& segs) {
  {
    absl::MutexLock lock(&mu_);
    for (auto it = deferred_.begin(); it != deferred_.end();) {
      if (std::find(segs.begin(), segs.end(), it->first) == segs.end()) {
        ++it;
        continue;
      }
      deferred_bytes_ -= it->first->manifests[it->second].stored_length;
      it = deferred_.erase(it);
    }
  }
  for (const auto& seg : segs) {
    absl::MutexLock lock(&seg->mu);
    for (uint32_t i = 0; i < seg->n; ++i) {
      if (!seg->deferred[i]) continue;
      seg->deferred[i] = false;
      seg->shards[i].reset();
    }
  }
}

void VolumeImpl::TopUp(const std::shared_ptr<SegmentPut>& seg) {
  for (;;) {
    uint32_t retry;
    {
      absl::MutexLock lock(&seg->mu);
      if (seg->failed.empty() || seg->aborted) return;
      retry = seg->failed.front();
      seg->failed.pop_front();
    }
    std::optional<FarmerContact> f = NextCandidate(seg);
    if (f) {
      GNR_LOG(kInfo) << seg->label << " shard " << retry << ": topping up on spare farmer "
                     << Short(f->id);
      IssuePut(seg, retry, *f);
    } else {
      absl::MutexLock lock(&seg->mu);
      seg->given_up[retry] = true;
      seg->shards[retry].reset();
      GNR_LOG(kWarning) << seg->label << " shard " << retry
                        << ": no farmer accepted it; the version stays readable with fewer "
                           "shards and is left for the repairer";
    }
  }
}

void VolumeImpl::RecordLateAck(const std::shared_ptr<SegmentPut>& seg, uint32_t shard) {
  catalog::NewPlacement p;
  FarmerContact farmer;
  {
    absl::MutexLock lock(&seg->mu);
    p.version = seg->version;
    farmer = *seg->acked[shard];
  }
  p.segment = seg->segment;
  p.shard_index = shard;
  p.generation = seg->manifests[shard].generation;
  p.shard_id = seg->manifests[shard].id;
  p.farmer = farmer.id;
  p.farmer_hint = farmer.endpoint;
  p.merkle_root = seg->manifests[shard].merkle_root;
  p.stored_length = seg->manifests[shard].stored_length;
  p.state = catalog::PlacementState::kAcked;
  absl::StatusOr<catalog::PlacementId> id = catalog_->AddPlacement(p);
  if (!id.ok()) {
    GNR_LOG(kInfo) << seg->label << " shard " << shard << " acked by " << Short(farmer.id)
                   << " after its version went away (" << id.status() << "); deleting it";
    DeleteShardQuietly(farmer, p.shard_id);
    return;
  }
  GNR_LOG(kDebug) << seg->label << " shard " << shard << " topped up on " << Short(farmer.id);
  absl::MutexLock lock(&versions_mu_);
  versions_.erase(p.version);  // readers pick up the new placement
}

void VolumeImpl::DeleteShardQuietly(const FarmerContact& farmer, const codec::ShardId& id) {
  env_.network->DeleteShard(farmer, options_.bucket_id, id, [farmer](absl::Status s) {
    if (!s.ok() && !absl::IsNotFound(s)) {
      GNR_LOG(kDebug) << "delete of an abandoned shard on " << Short(farmer.id) << ": " << s;
    }
  });
}

void VolumeImpl::AbortSegments(const std::vector<std::shared_ptr<SegmentPut>>& segs) {
  ForgetDeferredShards(segs);
  for (const auto& seg : segs) {
    std::vector<std::pair<FarmerContact, codec::ShardId>> doomed;
    {
      absl::MutexLock lock(&seg->mu);
      seg->aborted = true;
      seg->failed.clear();
      for (uint32_t i = 0; i < seg->n; ++i) {
        if (seg->acked[i]) doomed.emplace_back(*seg->acked[i], seg->manifests[i].id);
      }
    }
    for (const auto& [farmer, id] : doomed) DeleteShardQuietly(farmer, id);
  }
}

void VolumeImpl::PrepareShardBuffers(uint64_t plaintext_length, codec::EncodedSegment& es) {
  const codec::CodecParams& p = options_.params;
  const uint64_t stored = codec::StoredShardLength(
      p, codec::ShardLength(plaintext_length, static_cast<uint64_t>(p.data_shards)));
  es.shards.resize(static_cast<size_t>(p.total_shards()));
  for (Bytes& b : es.shards) {
    if (b.size() != stored) b = shard_buffers_->Take(static_cast<size_t>(stored));
  }
}

absl::Duration VolumeImpl::TimedUploadDelay(int open_commits) const {
  const absl::Duration cap = std::max(options_.max_dirty_time, absl::Hours(1));
  absl::Duration delay = options_.max_dirty_time;
  for (int i = 0; i < open_commits && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

codec::FileNonce VolumeImpl::NewNonce() {
  absl::MutexLock lock(&random_mu_);
  return codec::NewFileNonce(*env_.random);
}

std::shared_ptr<PutJournal> VolumeImpl::OpenPutJournal(Ino ino) {
  return PutJournal::Open(absl::StrCat(staging_dir_, "/", ino, ".puts"));
}

std::shared_ptr<SegmentPut> VolumeImpl::NewSegmentPut(const std::string& label,
                                                      codec::EncodedSegment& es,
                                                      std::shared_ptr<PutJournal> journal) {
  const codec::CodecParams& params = options_.params;
  auto seg = std::make_shared<SegmentPut>();
  seg->journal = std::move(journal);
  seg->label = absl::StrCat(label, " segment ", es.index);
  seg->segment = es.index;
  seg->k = static_cast<uint32_t>(params.data_shards);
  seg->n = static_cast<uint32_t>(params.total_shards());
  seg->bucket_id = options_.bucket_id;
  seg->leaf_size = params.leaf_size;
  seg->merkle_kind = params.merkle_kind;
  // DHT placement key of the segment: its first shard's id (H(nonce, segment, 0, gen)).
  seg->placement_key = es.manifest.shards[0].id;
  seg->manifests = es.manifest.shards;
  absl::MutexLock lock(&seg->mu);
  for (Bytes& b : es.shards) seg->shards.push_back(shard_buffers_->Share(std::move(b)));
  seg->acked.resize(seg->n);
  seg->recorded.resize(seg->n, false);
  seg->in_flight.resize(seg->n, false);
  seg->deferred.resize(seg->n, false);
  seg->given_up.resize(seg->n, false);
  return seg;
}

// ---------------------------------------------------------------------------------------
// Segments put while the file is being written

void VolumeImpl::MaybeStartEarlySegment(const std::shared_ptr<InodeState>& st) {
  if (!options_.upload_while_writing || st->purged || st->staging == nullptr || st->random_writer) {
    return;
  }
  const uint64_t segment_size = options_.params.segment_size;
  if (segment_size == 0 || StoreInline(options_.params, st->size)) return;
  const uint64_t index = st->early != nullptr ? st->early->segments.size() : 0;
  // Only full segments the writer is done with: it wrote past their end (a file made big
  // first, by a truncate or a seek, is still being filled in below its size).
  if (std::min(st->size, st->write_end) / segment_size <= index ||
      (st->early != nullptr && st->early->job != EarlySegments::Job::kNone)) {
    return;
  }
  if (st->early != nullptr) {
    // Bound the memory: not while the last segments_in_flight early segments all wait for
    // their quorum (each holds its shards until they are acknowledged).
    const auto& segs = st->early->segments;
    const size_t window = static_cast<size_t>(options_.segments_in_flight);
    size_t waiting = 0;
    for (size_t i = segs.size() > window ? segs.size() - window : 0; i < segs.size(); ++i) {
      absl::MutexLock lock(&segs[i]->mu);
      if (segs[i]->AckedCount() < segs[i]->k + 1 && !segs[i]->aborted) ++waiting;
    }
    if (waiting >= window) return;
  } else {
    auto early = std::make_shared<EarlySegments>();
    early->nonce = NewNonce();
    early->journal = OpenPutJournal(st->ino);
    st->early = std::move(early);
  }
  std::shared_ptr<EarlySegments> early = st->early;
  const uint64_t epoch = early->epoch;
  absl::MutexLock lock(&mu_);
  if (stop_ || st->orphan) return;
  early->job = EarlySegments::Job::kQueued;
  tasks_.push_back(
      [this, st, early, index, epoch] { EncodeEarlySegment(st, early, index, epoch); });
  ++wake_seq_;
}

void VolumeImpl::EncodeEarlySegment(const std::shared_ptr<InodeState>& st,
                                    const std::shared_ptr<EarlySegments>& early, uint64_t index,
                                    uint64_t epoch) {
  const codec::CodecParams& params = options_.params;
  std::shared_ptr<StagingFile> staging;
  {
    absl::MutexLock lock(&st->mu);
    if (st->early != early || early->epoch != epoch || early->job != EarlySegments::Job::kQueued) {
      return;  // called off meanwhile
    }
    early->job = EarlySegments::Job::kRunning;
    staging = st->staging;
  }
  // Encode from the staged bytes; a write into this segment meanwhile bumps the epoch, and
  // the result is then thrown away below.
  std::shared_ptr<SegmentPut> seg;
  codec::SegmentManifest manifest;
  absl::Status status =
      staging != nullptr ? absl::OkStatus() : absl::FailedPreconditionError("no staging file");
  if (status.ok()) {
    absl::StatusOr<codec::SegmentEncoder> encoder = codec::SegmentEncoder::Create(
        params, codec::DeriveFileKey(env_.bucket_key, early->nonce), early->nonce);
    codec::EncodedSegment es;
    status = encoder.status();
    if (status.ok()) {
      PrepareShardBuffers(params.segment_size, es);
      StagingSource source(staging);
      status = encoder->Encode(index, params.segment_size, source, es);
    }
    if (status.ok()) {
      manifest = es.manifest;
      seg = NewSegmentPut(PathOf(st->ino), es, early->journal);
      status = PutSegmentShards(seg);
    }
  }
  bool keep = false;
  {
    absl::MutexLock lock(&st->mu);
    early->job = EarlySegments::Job::kNone;
    keep = status.ok() && st->early == early && early->epoch == epoch &&
           early->segments.size() == index && !st->purged;
    if (keep) {
      early->segments.push_back(seg);
      early->manifests.push_back(std::move(manifest));
      GNR_LOG(kDebug) << seg->label << ": encoded and sent while the file is being written";
      MaybeStartEarlySegment(st);  // the writer may be further on already
    } else if (!status.ok() && st->early == early) {
      // Not worth retrying here: the upload encodes whatever is missing.
      GNR_LOG(kInfo) << PathOf(st->ino) << " segment " << index
                     << ": not sent ahead of the upload (" << status.message() << ")";
    }
  }
  if (!keep && seg != nullptr) {
    early_segments_discarded_.fetch_add(1);
    AbortSegments({seg});
  }
}

void VolumeImpl::InvalidateEarlySegments(InodeState& st, uint64_t offset) {
  if (st.early == nullptr) return;
  EarlySegments& early = *st.early;
  const uint64_t first = offset / options_.params.segment_size;
  const bool hits_job = early.job != EarlySegments::Job::kNone && first <= early.segments.size();
  if (first >= early.segments.size() && !hits_job) return;
  // All of them, not only from `first` on: segment `first` encoded again under the same
  // nonce would reuse its AES-CTR keystream (and its shard ids) for other bytes. The next
  // full segment starts over with a new nonce.
  ++early.epoch;  // a job queued or running is void
  if (early.job == EarlySegments::Job::kQueued) early.job = EarlySegments::Job::kNone;
  std::vector<std::shared_ptr<SegmentPut>> doomed = std::move(early.segments);
  st.early = nullptr;
  if (!doomed.empty()) {
    GNR_LOG(kDebug) << PathOf(st.ino) << ": segment " << first << " changed; the " << doomed.size()
                    << " segment(s) sent ahead are void";
    early_segments_discarded_.fetch_add(doomed.size());
    AbortSegments(doomed);
  }
}

absl::Status VolumeImpl::UploadOnce(const std::shared_ptr<InodeState>& st) {
  // Snapshot what to upload. Writes may continue meanwhile; they bump the generation, so
  // the file stays dirty and is uploaded again after this commit.
  uint64_t snap_gen, size;
  std::shared_ptr<StagingFile> staging;
  std::optional<catalog::UploadId> upload_id;
  std::shared_ptr<EarlySegments> early;
  {
    absl::MutexLock lock(&st->mu);
    if (st->purged || !st->dirty()) return absl::OkStatus();
    // Segments sent ahead belong to this upload: one being encoded is waited for, one
    // only queued is called off (the worker running this upload might be the one to run it).
    auto settled = [&st]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(st->mu) {
      return st->early == nullptr || st->early->job != EarlySegments::Job::kRunning;
    };
    st->mu.Await(absl::Condition(&settled));
    if (st->early != nullptr && st->early->job == EarlySegments::Job::kQueued) {
      st->early->job = EarlySegments::Job::kNone;
      ++st->early->epoch;
    }
    if (st->purged || !st->dirty()) return absl::OkStatus();
    snap_gen = st->generation;
    size = st->size;
    staging = st->staging;
    upload_id = st->upload_id;
    early = std::move(st->early);
    st->random_writer = false;  // judged again from the next write on
  }
  bool orphan;
  {
    absl::MutexLock lock(&mu_);
    orphan = st->orphan;
  }
  if (orphan) {  // nobody can see it; it is purged on close
    if (early != nullptr) {
      early_segments_discarded_.fetch_add(early->segments.size());
      AbortSegments(early->segments);
    }
    return absl::OkStatus();
  }
  if (upload_id) {
    catalog::UploadUpdate u;
    u.state = catalog::UploadState::kUploading;
    u.bytes_done = 0;
    (void)catalog_->UpdateUpload(*upload_id, u);
  }
  const std::string label = PathOf(st->ino);
  const codec::CodecParams& params = options_.params;
  const codec::FileNonce nonce = early != nullptr ? early->nonce : NewNonce();
  const codec::FileKey key = codec::DeriveFileKey(env_.bucket_key, nonce);

  catalog::NewVersion nv;
  nv.ino = st->ino;
  nv.size = size;
  nv.nonce = nonce;
  nv.bucket_id = options_.bucket_id;
  uint64_t stored = 0;
  uint64_t segment_count = 0;
  std::vector<std::shared_ptr<SegmentPut>> segs;
  const absl::Time started = absl::Now();
  std::shared_ptr<PutJournal> journal;
  // Gives up the journal of a failed upload (its acked shards are being deleted), unless it
  // was cancelled by a closing volume: then the next Open deletes what it sent.
  auto drop_journal = [&journal](const absl::Status& why) {
    if (journal != nullptr && !absl::IsCancelled(why)) journal->Remove();
  };

  if (early != nullptr && (StoreInline(params, size) || early->segments.empty())) {
    // Nothing to adopt (the file shrank to an inline blob, or none was kept).
    std::vector<std::shared_ptr<SegmentPut>> unused = std::move(early->segments);
    early_segments_discarded_.fetch_add(unused.size());
    AbortSegments(unused);
    journal = early->journal;  // kept until a commit: it covers the deletes just sent
    early.reset();
  }
  if (StoreInline(params, size)) {
    Bytes plain(size);
    GNR_ASSIGN_OR_RETURN(size_t n, staging->ReadAt(0, MutableByteView(plain)));
    std::fill(plain.begin() + n, plain.end(), 0);  // a sparse tail reads as zeros
    Bytes blob;
    {
      absl::MutexLock lock(&random_mu_);
      GNR_ASSIGN_OR_RETURN(blob, codec::SealInlineBlob(key, plain, *env_.random));
    }
    nv.kind = catalog::VersionKind::kInline;
    stored = blob.size();
    nv.inline_blob = std::move(blob);
  } else {
    nv.kind = catalog::VersionKind::kSharded;
    if (early != nullptr && early->journal != nullptr) journal = early->journal;
    if (journal == nullptr) journal = OpenPutJournal(st->ino);
    absl::StatusOr<codec::FileEncoder> created =
        codec::FileEncoder::Create(params, key, nonce, size);
    if (!created.ok()) {
      if (early != nullptr) {
        early_segments_discarded_.fetch_add(early->segments.size());
        AbortSegments(early->segments);
      }
      return created.status();
    }
    codec::FileEncoder encoder = *std::move(created);
    segment_count = encoder.segment_count();
    StagingSource source(staging);
    std::deque<std::shared_ptr<SegmentPut>> window;
    absl::Status failure;
    while (!encoder.done() && failure.ok()) {
      {
        absl::MutexLock lock(&mu_);
        if (st->orphan || stop_) {
          failure = absl::CancelledError(stop_ ? "volume closing" : "file removed");
          break;
        }
      }
      const uint64_t index = encoder.next_segment();
      std::shared_ptr<SegmentPut> seg;
      if (early != nullptr && index < early->segments.size() &&
          encoder.Adopt(early->manifests[index]).ok()) {
        // Sent while the file was being written, from the same bytes (a change would have
        // voided it): its puts are in flight or done.
        seg = early->segments[index];
        early_segments_adopted_.fetch_add(1);
        segs.push_back(seg);
        window.push_back(seg);
      } else {
        codec::EncodedSegment es;
        PrepareShardBuffers(codec::SegmentPlaintextLength(size, params.segment_size, index), es);
        absl::Status s = encoder.Next(source, es);
        if (!s.ok()) {
          // DataLoss: the staging file shrank under us (a truncate): the next upload sees it.
          failure = Annotate(s, "encoding the staging file");
          break;
        }
        seg = NewSegmentPut(label, es, journal);
        segs.push_back(seg);
        window.push_back(seg);
        failure = PutSegmentShards(seg);
      }
      // Keep at most segments_in_flight segments short of their quorum.
      while (failure.ok() && window.size() >= static_cast<size_t>(options_.segments_in_flight)) {
        failure = AwaitQuorum(window.front());
        window.pop_front();
      }
      if (upload_id && failure.ok()) {
        catalog::UploadUpdate u;
        u.bytes_done = std::min<uint64_t>(size, (index + 1) * uint64_t{params.segment_size});
        (void)catalog_->UpdateUpload(*upload_id, u);
      }
    }
    while (failure.ok() && !window.empty()) {
      failure = AwaitQuorum(window.front());
      window.pop_front();
    }
    if (early != nullptr) {
      // Segments sent ahead that this version does not use (the upload failed first).
      std::vector<std::shared_ptr<SegmentPut>> unused;
      for (const auto& e : early->segments) {
        if (std::find(segs.begin(), segs.end(), e) == segs.end()) unused.push_back(e);
      }
      early_segments_discarded_.fetch_add(unused.size());
      AbortSegments(unused);
    }
    absl::StatusOr<codec::FileManifest> manifest =
        failure.ok() ? encoder.Finish() : absl::StatusOr<codec::FileManifest>(failure);
    absl::StatusOr<Bytes> encoded =
        manifest.ok() ? codec::EncodeFileManifest(*manifest) : manifest.status();
    if (!encoded.ok()) {
      AbortSegments(segs);
      drop_journal(encoded.status());
      return encoded.status();
    }
    stored = StoredBytesOf(*manifest);
    nv.manifest = *std::move(encoded);
  }

  // Commit: the version, its acknowledged placements, the inode's size, the
  // bucket charge and the upload record, in one durable transaction.
  std::vector<catalog::NewPlacement> placements;
  for (const auto& seg : segs) {
    absl::MutexLock lock(&seg->mu);
    for (uint32_t i = 0; i < seg->n; ++i) {
      if (!seg->acked[i] || seg->recorded[i]) continue;
      seg->recorded[i] = true;
      catalog::NewPlacement p;
      p.segment = seg->segment;
      p.shard_index = i;
      p.generation = seg->manifests[i].generation;
      p.shard_id = seg->manifests[i].id;
      p.farmer = seg->acked[i]->id;
      p.farmer_hint = seg->acked[i]->endpoint;
      p.merkle_root = seg->manifests[i].merkle_root;
      p.stored_length = seg->manifests[i].stored_length;
      p.state = catalog::PlacementState::kAcked;
      placements.push_back(std::move(p));
    }
  }
  catalog::VersionId vid = 0;
  uint64_t used = 0;
  absl::Status commit = [&]() -> absl::Status {
    GNR_ASSIGN_OR_RETURN(catalog::Transaction txn, catalog_->Begin(catalog::Durability::kDurable));
    GNR_ASSIGN_OR_RETURN(vid, catalog_->AddVersion(nv));
    for (catalog::NewPlacement& p : placements) {
      p.version = vid;
      GNR_RETURN_IF_ERROR(catalog_->AddPlacement(p).status());
    }
    GNR_RETURN_IF_ERROR(catalog_->CommitVersion(vid, /*make_current=*/true));
    // The size of the committed content; the times stay as the catalog has them (writes
    // record theirs through Flush/Release/Fsync, and a utimens meanwhile must not be undone).
    GNR_ASSIGN_OR_RETURN(catalog::Attr now, catalog_->GetAttr(st->ino));
    catalog::AttrUpdate u;
    u.size = size;
    u.mtime = now.mtime;
    u.ctime = now.ctime;
    GNR_RETURN_IF_ERROR(catalog_->SetAttr(st->ino, u).status());
    GNR_ASSIGN_OR_RETURN(used,
                         catalog_->ChargeBucket(options_.bucket_id, static_cast<int64_t>(stored),
                                                /*enforce_limit=*/false));
    if (upload_id) {
      catalog::UploadUpdate uu;
      uu.state = catalog::UploadState::kCommitted;
      uu.bytes_done = size;
      uu.version = vid;
      GNR_RETURN_IF_ERROR(catalog_->UpdateUpload(*upload_id, uu));
    }
    return txn.Commit();
  }();
  if (!commit.ok()) {
    AbortSegments(segs);
    drop_journal(commit);
    return Annotate(commit, "committing the version");
  }
  // The catalog places every acked shard now (later acks are recorded as they come).
  if (journal != nullptr) journal->Remove();

  // Committed. Acks that arrived since the snapshot above get their placements now; later
  // ones are recorded by the put callbacks; failures are retried on spares in background.
  size_t acked_total = 0, min_acked = segs.empty() ? 0 : SIZE_MAX;
  for (const auto& seg : segs) {
    std::vector<uint32_t> late;
    bool needs_top_up;
    {
      absl::MutexLock lock(&seg->mu);
      seg->version = vid;
      for (uint32_t i = 0; i < seg->n; ++i) {
        if (seg->acked[i] && !seg->recorded[i]) {
          seg->recorded[i] = true;
          late.push_back(i);
        }
      }
      acked_total += seg->AckedCount();
      min_acked = std::min(min_acked, seg->AckedCount());
      needs_top_up = !seg->failed.empty();
    }
    {
      // Pruned once settled (mu_ comes before SegmentPut::mu, so not inside the block above).
      absl::MutexLock vlock(&mu_);
      topping_up_.push_back(seg);
    }
    for (uint32_t i : late) RecordLateAck(seg, i);
    if (needs_top_up) ScheduleTopUp(seg);
    ReleaseDeferredShards(seg);
  }
  if (nv.kind == catalog::VersionKind::kInline) {
    GNR_LOG(kInfo) << "committed " << label << " version " << vid << ": " << size
                   << " bytes inline (" << stored << " byte blob)";
  } else {
    GNR_LOG(kInfo) << "committed " << label << " version " << vid << ": " << segment_count
                   << " segments, at least " << min_acked << " of " << params.total_shards()
                   << " shards acked each (k+1 = " << params.data_shards + 1 << "), " << acked_total
                   << " shards, " << stored << " stored bytes, in "
                   << absl::FormatDuration(absl::Now() - started);
  }

  {
    absl::MutexLock lock(&st->mu);
    st->committed_generation = std::max(st->committed_generation, snap_gen);
    if (st->generation == snap_gen) {
      if (st->upload_id) {
        (void)catalog_->RemoveUpload(*st->upload_id);
        st->upload_id.reset();
      }
      absl::MutexLock vlock(&mu_);
      if (st->writers > 0) ++st->open_commits;  // see TimedUploadDelay
      pending_stored_ -= std::min(pending_stored_, st->pending_estimate);
      st->pending_estimate = 0;
      upload_due_.erase(st->ino);  // e.g. the max_dirty_time deadline: nothing left to do
      used_stored_ = used;
      gc_requested_ = true;
      ++wake_seq_;
    } else {
      // Written to during the upload: upload again, soon if nobody writes any more.
      absl::Time now = env_.clock->Now();
      st->dirty_since = now;
      if (st->upload_id) {
        catalog::UploadUpdate uu;
        uu.state = catalog::UploadState::kQueued;
        (void)catalog_->UpdateUpload(*st->upload_id, uu);
      }
      absl::MutexLock vlock(&mu_);
      used_stored_ = used;
      gc_requested_ = true;
      absl::Duration delay = options_.upload_delay;
      if (st->writers > 0) {
        delay = TimedUploadDelay(++st->open_commits);  // see TimedUploadDelay
        GNR_LOG(kInfo) << label << " is still being written: next upload in "
                       << absl::FormatDuration(delay) << " unless it is closed or synced first";
      }
      ScheduleUploadLocked(st->ino, now + delay);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Garbage collection

void VolumeImpl::RunGc() {
  absl::StatusOr<std::vector<catalog::Version>> versions =
      catalog_->ListObsoleteVersions(absl::InfiniteFuture());
  if (!versions.ok()) {
    GNR_LOG(kWarning) << "garbage collection: " << versions.status();
    return;
  }
  for (const catalog::Version& v : *versions) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      bool busy = false;
      for (const auto& seg : topping_up_) {
        absl::MutexLock seg_lock(&seg->mu);
        if (seg->version == v.id && !seg->Settled()) busy = true;
      }
      if (busy) continue;  // puts still in flight: collect it next time
    }
    uint64_t stored = 0;
    size_t deleted = 0;
    bool complete = true;
    if (v.kind == catalog::VersionKind::kInline) {
      stored = v.inline_blob.size();
    } else {
      absl::StatusOr<codec::FileManifest> m = codec::DecodeFileManifest(v.manifest);
      if (m.ok()) stored = StoredBytesOf(*m);
      absl::StatusOr<std::vector<catalog::Placement>> placements =
          catalog_->ListPlacementsByVersion(v.id);
      if (!placements.ok()) {
        GNR_LOG(kWarning) << "garbage collection of version " << v.id << ": "
                          << placements.status();
        continue;
      }
      auto latch = std::make_shared<Latch>();
      {
        absl::MutexLock lock(&latch->mu);
        latch->pending = placements->size();
      }
      for (const catalog::Placement& p : *placements) {
        env_.network->DeleteShard(FarmerContact{p.farmer, p.farmer_hint}, v.bucket_id, p.shard_id,
                                  [latch](absl::Status s) {
                                    absl::MutexLock lock(&latch->mu);
                                    latch->results.push_back(std::move(s));
                                    latch->pending--;
                                  });
      }
      absl::MutexLock lock(&latch->mu);
      auto done = [&latch]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(latch->mu) { return latch->pending == 0; };
      if (!AwaitOrStop(latch->mu, absl::Condition(&done), absl::Now() + options_.read_timeout)) {
        complete = false;
      }
      for (const absl::Status& s : latch->results) {
        if (s.ok() || absl::IsNotFound(s)) {
          ++deleted;
        } else {
          complete = false;
        }
      }
      if (!complete) {
        int attempts;
        {
          absl::MutexLock vlock(&mu_);
          attempts = ++gc_attempts_[v.id];
        }
        if (attempts < kMaxGcAttempts) {
          GNR_LOG(kInfo) << "version " << v.id << ": " << (placements->size() - deleted)
                         << " shard deletes failed; trying again later";
          continue;
        }
        GNR_LOG(kWarning) << "version " << v.id << ": " << (placements->size() - deleted)
                          << " shards could not be deleted after " << attempts
                          << " attempts; forgetting them (they expire with the bucket)";
      }
    }
    absl::StatusOr<uint64_t> used = [&]() -> absl::StatusOr<uint64_t> {
      GNR_ASSIGN_OR_RETURN(catalog::Transaction txn, catalog_->Begin());
      GNR_RETURN_IF_ERROR(catalog_->DeleteVersion(v.id));
      GNR_ASSIGN_OR_RETURN(uint64_t u,
                           catalog_->ChargeBucket(v.bucket_id, -static_cast<int64_t>(stored),
                                                  /*enforce_limit=*/false));
      GNR_RETURN_IF_ERROR(txn.Commit());
      return u;
    }();
    if (!used.ok()) {
      GNR_LOG(kWarning) << "garbage collection of version " << v.id << ": " << used.status();
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      gc_attempts_.erase(v.id);
      if (v.bucket_id == options_.bucket_id) used_stored_ = *used;
    }
    {
      absl::MutexLock lock(&versions_mu_);
      versions_.erase(v.id);
    }
    GNR_LOG(kInfo) << "collected version " << v.id << " of inode " << v.ino << ": " << deleted
                   << " shards deleted, " << stored << " stored bytes freed";
  }
}

// ---------------------------------------------------------------------------------------
// Management

absl::Status VolumeImpl::WaitForUploads(absl::Duration timeout, bool full_redundancy) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::shared_ptr<InodeState>> states;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [ino, st] : inodes_) states.push_back(st);
  }
  for (const auto& st : states) {
    absl::MutexLock lock(&st->mu);
    if (!st->dirty()) continue;
    absl::MutexLock vlock(&mu_);
    if (!st->orphan) ScheduleUploadLocked(st->ino, env_.clock->Now());
  }
  for (;;) {
    bool pending = false;
    {
      absl::MutexLock lock(&mu_);
      states.clear();
      for (const auto& [ino, st] : inodes_) {
        if (st->uploading) pending = true;
        if (!st->orphan) states.push_back(st);
      }
      if (full_redundancy) {
        PruneTopUpsLocked();
        if (!topping_up_.empty()) pending = true;
      }
    }
    for (const auto& st : states) {
      if (pending) break;
      absl::MutexLock lock(&st->mu);
      if (st->dirty()) pending = true;
    }
    if (!pending) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::vector<std::string> what;
  for (const PendingUpload& p : PendingUploads()) {
    what.push_back(absl::StrCat(p.path, " (", p.size, " bytes, ", p.state, ")"));
  }
  return absl::DeadlineExceededError(absl::StrCat("uploads still pending after ",
                                                  absl::FormatDuration(timeout), ": ",
                                                  absl::StrJoin(what, ", ")));
}

std::vector<PendingUpload> VolumeImpl::PendingUploads() {
  std::vector<std::shared_ptr<InodeState>> states;
  std::vector<std::shared_ptr<SegmentPut>> topping;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [ino, st] : inodes_) states.push_back(st);
    PruneTopUpsLocked();
    topping = topping_up_;
  }
  std::vector<PendingUpload> out;
  for (const auto& st : states) {
    bool uploading, orphan;
    {
      absl::MutexLock lock(&mu_);
      uploading = st->uploading;
      orphan = st->orphan;
    }
    absl::MutexLock lock(&st->mu);
    if (!st->dirty() || orphan) continue;
    PendingUpload p;
    p.ino = st->ino;
    p.path = PathOf(st->ino);
    p.size = st->size;
    p.dirty_since = st->dirty_since;
    p.committed = false;
    if (uploading) {
      p.state = "uploading";
    } else if (!st->last_error.ok() && st->failures > 0) {
      p.state = absl::StrCat("retrying: ", st->last_error.message());
    } else {
      p.state = "waiting";
    }
    out.push_back(std::move(p));
  }
  std::map<catalog::VersionId, size_t> versions;  // version -> shards still to place
  for (const auto& seg : topping) {
    absl::MutexLock lock(&seg->mu);
    versions[seg->version] += seg->n - seg->AckedCount();
  }
  for (const auto& [vid, missing] : versions) {
    PendingUpload p;
    p.path = absl::StrCat("version ", vid);
    p.committed = true;
    p.state = absl::StrCat("topping up: ", missing, " shards to place");
    out.push_back(std::move(p));
  }
  return out;
}

VolumeStats VolumeImpl::Stats() {
  VolumeStats s;
  std::vector<PendingUpload> pending = PendingUploads();
  for (const PendingUpload& p : pending) {
    if (!p.committed) {
      s.pending_uploads++;
      s.staged_bytes += p.size;
    }
  }
  s.cache_bytes = cache_->bytes();
  s.cache_limit_bytes = cache_->limit_bytes();
  s.cache_hits = cache_->hits();
  s.cache_misses = cache_->misses();
  absl::MutexLock lock(&mu_);
  s.used_stored_bytes = used_stored_;
  s.bucket_size_bytes = bucket_.size_bytes;
  s.early_segments_adopted = early_segments_adopted_.load();
  s.early_segments_discarded = early_segments_discarded_.load();
  s.deferred_shards = deferred_.size();
  s.deferred_shard_bytes = deferred_bytes_;
  return s;
}

}  // namespace gnr::volume::internal
