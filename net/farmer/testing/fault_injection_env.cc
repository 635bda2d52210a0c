#include "net/farmer/testing/fault_injection_env.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace gnr::farmer::testing {

// A file written through the fault env. It must not be renamed while open (the store closes
// its temp file before renaming it).
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv& env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  absl::Status Append(ByteView data) override {
    GNR_RETURN_IF_ERROR(env_.OnAppend(path_, data.size()));
    return base_->Append(data);
  }
  absl::Status Sync() override {
    GNR_RETURN_IF_ERROR(base_->Sync());
    return env_.OnSync(path_);
  }
  absl::Status Close() override {
    GNR_RETURN_IF_ERROR(env_.OnClose());
    return base_->Close();
  }

 private:
  FaultInjectionEnv& env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

void FaultInjectionEnv::CrashAfter(int64_t operations) {
  absl::MutexLock lock(&mu_);
  crash_after_ = operations < 0 ? -1 : operations_ + operations;
}

bool FaultInjectionEnv::crashed() const {
  absl::MutexLock lock(&mu_);
  return crashed_;
}

int64_t FaultInjectionEnv::mutating_operations() const {
  absl::MutexLock lock(&mu_);
  return operations_;
}

absl::Status FaultInjectionEnv::CountOp() {
  if (crashed_ || (crash_after_ >= 0 && operations_ >= crash_after_)) {
    crashed_ = true;
    return absl::InternalError("injected crash");
  }
  ++operations_;
  return absl::OkStatus();
}

std::string FaultInjectionEnv::HiddenName(const std::string& path, const char* tag) {
  return absl::StrCat(path, ".fault-", tag, "-", next_hidden_++);
}

absl::Status FaultInjectionEnv::OnAppend(const std::string& path, size_t n) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  auto it = files_.find(path);
  if (it != files_.end()) it->second.size += n;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::OnSync(const std::string& path) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  auto it = files_.find(path);
  if (it != files_.end()) it->second.synced = it->second.size;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::OnClose() {
  absl::MutexLock lock(&mu_);
  if (crashed_) return absl::InternalError("injected crash");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  bool existed = base_.GetFileSize(path).ok();
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_.NewWritableFile(path));
  files_[path] = FileState{};
  if (!existed) pending_.push_back({OpKind::kCreate, DirName(path), path, "", ""});
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultWritableFile>(*this, path, std::move(file)));
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& path) {
  return base_.NewRandomAccessFile(path);
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  GNR_RETURN_IF_ERROR(base_.GetFileSize(from).status());
  std::string replaced;
  if (base_.GetFileSize(to).ok()) {
    // Keep the file being replaced, so that undoing the rename can restore it.
    replaced = HiddenName(to, "replaced");
    GNR_RETURN_IF_ERROR(base_.RenameFile(to, replaced));
  }
  GNR_RETURN_IF_ERROR(base_.RenameFile(from, to));
  auto it = files_.find(from);
  if (it != files_.end()) {
    FileState state = it->second;
    files_.erase(it);
    files_[to] = state;
  }
  pending_.push_back({OpKind::kRename, DirName(to), to, from, replaced});
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::DeleteFile(const std::string& path) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  GNR_RETURN_IF_ERROR(base_.GetFileSize(path).status());
  std::string hidden = HiddenName(path, "deleted");
  GNR_RETURN_IF_ERROR(base_.RenameFile(path, hidden));
  auto it = files_.find(path);
  if (it != files_.end()) {
    FileState state = it->second;
    files_.erase(it);
    files_[hidden] = state;
  }
  pending_.push_back({OpKind::kDelete, DirName(path), path, "", hidden});
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::CreateDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  return base_.CreateDir(path);
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  GNR_RETURN_IF_ERROR(CountOp());
  GNR_RETURN_IF_ERROR(base_.SyncDir(path));
  std::vector<PendingOp> still_pending;
  for (PendingOp& op : pending_) {
    if (op.dir != path) {
      still_pending.push_back(std::move(op));
      continue;
    }
    // Durable now: hidden copies are no longer needed.
    if (!op.hidden.empty()) {
      (void)base_.DeleteFile(op.hidden);
      files_.erase(op.hidden);
    }
  }
  pending_ = std::move(still_pending);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  GNR_ASSIGN_OR_RETURN(std::vector<std::string> names, base_.ListDir(path));
  std::erase_if(names,
                [](const std::string& name) { return name.find(".fault-") != std::string::npos; });
  return names;
}

absl::StatusOr<uint64_t> FaultInjectionEnv::GetFileSize(const std::string& path) {
  return base_.GetFileSize(path);
}

bool FaultInjectionEnv::IsDirectory(const std::string& path) { return base_.IsDirectory(path); }

absl::StatusOr<DiskStats> FaultInjectionEnv::GetDiskStats(const std::string& path) {
  return base_.GetDiskStats(path);
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  return base_.LockFile(path);
}

absl::Status FaultInjectionEnv::TruncateTo(const std::string& path, uint64_t size) {
  GNR_ASSIGN_OR_RETURN(uint64_t current, base_.GetFileSize(path));
  if (current <= size) return absl::OkStatus();
  Bytes keep(size);
  if (size > 0) {
    GNR_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> in, base_.NewRandomAccessFile(path));
    GNR_ASSIGN_OR_RETURN(size_t n, in->Read(0, MutableByteView(keep)));
    keep.resize(n);
  }
  GNR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, base_.NewWritableFile(path));
  GNR_RETURN_IF_ERROR(out->Append(keep));
  return out->Close();
}

void FaultInjectionEnv::ForgetCrash() {
  absl::MutexLock lock(&mu_);
  for (const PendingOp& op : pending_) {
    // What a completed delete or replacing rename left behind.
    if (!op.hidden.empty()) (void)base_.DeleteFile(op.hidden);
  }
  pending_.clear();
  files_.clear();
  crashed_ = false;
  crash_after_ = -1;
}

absl::Status FaultInjectionEnv::DropUnsyncedData() {
  absl::MutexLock lock(&mu_);
  // 1. Unsynced bytes are lost.
  for (const auto& [path, state] : files_) {
    if (state.synced < state.size) {
      absl::Status s = TruncateTo(path, state.synced);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
  }
  // 2. Unsynced names are lost, newest first.
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    const PendingOp& op = *it;
    switch (op.kind) {
      case OpKind::kCreate: {
        absl::Status s = base_.DeleteFile(op.path);
        if (!s.ok() && !absl::IsNotFound(s)) return s;
        break;
      }
      case OpKind::kRename:
        GNR_RETURN_IF_ERROR(base_.RenameFile(op.path, op.from));
        if (!op.hidden.empty()) GNR_RETURN_IF_ERROR(base_.RenameFile(op.hidden, op.path));
        break;
      case OpKind::kDelete:
        GNR_RETURN_IF_ERROR(base_.RenameFile(op.hidden, op.path));
        break;
    }
  }
  pending_.clear();
  files_.clear();
  crashed_ = false;
  crash_after_ = -1;
  return absl::OkStatus();
}

}  // namespace gnr::farmer::testing
