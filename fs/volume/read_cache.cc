#include "fs/volume/read_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/log.h"

namespace gnr::volume {
namespace {

bool ReadWhole(const std::string& path, uint64_t offset, MutableByteView out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t done = 0;
  bool ok = true;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return ok;
}

bool WriteWhole(const std::string& path, ByteView data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  bool ok = true;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return ok;
}

}  // namespace

ReadCache::ReadCache(std::string dir, uint64_t limit_bytes)
    : dir_(std::move(dir)), limit_bytes_(limit_bytes) {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    GNR_LOG(kWarning) << "read cache directory " << dir_ << ": " << ec.message();
  }
}

std::string ReadCache::FileName(const codec::FileNonce& nonce, uint64_t block) const {
  return absl::StrCat(HexEncode(ByteView(nonce).first(16)), "-", block);
}

bool ReadCache::Get(const codec::FileNonce& nonce, uint64_t block, uint64_t offset,
                    MutableByteView out) {
  if (!enabled()) return false;
  std::string name = FileName(nonce, block);
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(name);
    if (it == index_.end() || it->second->size < offset + out.size()) {
      ++misses_;
      return false;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  bool ok = ReadWhole(absl::StrCat(dir_, "/", name), offset, out);
  absl::MutexLock lock(&mu_);
  if (ok) {
    ++hits_;
  } else {
    ++misses_;
  }
  return ok;
}

void ReadCache::Put(const codec::FileNonce& nonce, uint64_t block, ByteView data) {
  if (!enabled() || data.size() > limit_bytes_) return;
  std::string name = FileName(nonce, block);
  std::string tmp;
  {
    absl::MutexLock lock(&mu_);
    tmp = absl::StrCat(dir_, "/tmp.", ++sequence_);
  }
  if (!WriteWhole(tmp, data) || ::rename(tmp.c_str(), absl::StrCat(dir_, "/", name).c_str()) != 0) {
    GNR_LOG(kWarning) << "read cache: cannot store block " << name << ": " << std::strerror(errno);
    ::unlink(tmp.c_str());
    return;
  }
  std::vector<std::string> doomed;
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(name);
    if (it != index_.end()) {
      bytes_ -= it->second->size;
      lru_.erase(it->second);
      index_.erase(it);
    }
    lru_.push_front(Entry{name, data.size()});
    index_[name] = lru_.begin();
    bytes_ += data.size();
    EvictLocked(doomed);
  }
  for (const std::string& d : doomed) ::unlink(absl::StrCat(dir_, "/", d).c_str());
}

void ReadCache::EvictLocked(std::vector<std::string>& doomed) {
  while (bytes_ > limit_bytes_ && !lru_.empty()) {
    Entry& last = lru_.back();
    bytes_ -= last.size;
    doomed.push_back(last.name);
    index_.erase(last.name);
    lru_.pop_back();
  }
}

uint64_t ReadCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}
uint64_t ReadCache::hits() const {
  absl::MutexLock lock(&mu_);
  return hits_;
}
uint64_t ReadCache::misses() const {
  absl::MutexLock lock(&mu_);
  return misses_;
}

}  // namespace gnr::volume
