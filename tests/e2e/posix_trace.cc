#include "tests/e2e/posix_trace.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/hex.h"
#include "common/strings.h"
#include "crypto/hash.h"

namespace gnr::e2e {
namespace {

// Timestamps within this distance of the wall clock are "recent" (set by the file system);
// others were set explicitly and are compared exactly.
constexpr time_t kRecentSeconds = 600;

std::string Quote(std::string_view data) {
  if (data.size() > 64) {
    return absl::StrCat(data.size(),
                        " bytes sha256:", HexEncode(crypto::Sha256(AsBytes(data))).substr(0, 16));
  }
  std::string out = "\"";
  for (char c : data) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    }
  }
  out.push_back('"');
  return out;
}

std::string ModeName(mode_t mode) {
  const char* type = "?";
  switch (mode & S_IFMT) {
    case S_IFREG:
      type = "reg";
      break;
    case S_IFDIR:
      type = "dir";
      break;
    case S_IFLNK:
      type = "lnk";
      break;
    case S_IFIFO:
      type = "fifo";
      break;
    case S_IFCHR:
      type = "chr";
      break;
    case S_IFBLK:
      type = "blk";
      break;
    case S_IFSOCK:
      type = "sock";
      break;
  }
  return absl::StrFormat("%s:%04o", type, mode & 07777);
}

const char* DirentType(unsigned char t) {
  switch (t) {
    case DT_REG:
      return "reg";
    case DT_DIR:
      return "dir";
    case DT_LNK:
      return "lnk";
    case DT_FIFO:
      return "fifo";
    case DT_CHR:
      return "chr";
    case DT_BLK:
      return "blk";
    case DT_SOCK:
      return "sock";
    default:
      return "unknown";
  }
}

int Compare(const struct timespec& a, const struct timespec& b) {
  if (a.tv_sec != b.tv_sec) return a.tv_sec < b.tv_sec ? -1 : 1;
  if (a.tv_nsec != b.tv_nsec) return a.tv_nsec < b.tv_nsec ? -1 : 1;
  return 0;
}

}  // namespace

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : absl::StrCat("errno", err);
}

std::string OpenFlagsName(int flags) {
  std::vector<std::string> parts;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      parts.push_back("O_RDONLY");
      break;
    case O_WRONLY:
      parts.push_back("O_WRONLY");
      break;
    default:
      parts.push_back("O_RDWR");
      break;
  }
  const std::pair<int, const char*> known[] = {
      {O_CREAT, "O_CREAT"},       {O_EXCL, "O_EXCL"},         {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},     {O_NOFOLLOW, "O_NOFOLLOW"}, {O_DIRECTORY, "O_DIRECTORY"},
      {O_NONBLOCK, "O_NONBLOCK"},
  };
  int rest = flags & ~O_ACCMODE;
  for (const auto& [bit, name] : known) {
    if (rest & bit) {
      parts.push_back(name);
      rest &= ~bit;
    }
  }
  rest &= ~O_CLOEXEC;  // not recorded: an implementation detail of the harness
  if (rest != 0) parts.push_back(absl::StrFormat("0%o", rest));
  return absl::StrJoin(parts, "|");
}

PosixTrace::PosixTrace(std::string root) : root_(std::move(root)) {}

PosixTrace::~PosixTrace() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

std::string PosixTrace::Text() const {
  std::string out;
  for (const std::string& line : lines_) absl::StrAppend(&out, line, "\n");
  return out;
}

void PosixTrace::Note(std::string_view text) {
  lines_.push_back(absl::StrCat("# ", AbslView(text)));
}

void PosixTrace::Tick() { usleep(20'000); }

void PosixTrace::BeforeChange() {
  // 15 ms covers the coarse clock's tick at HZ=100 and above.
  constexpr long kTickNs = 15'000'000;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long elapsed =
      (now.tv_sec - last_change_.tv_sec) * 1'000'000'000L + (now.tv_nsec - last_change_.tv_nsec);
  if (stat_since_change_ && elapsed < kTickNs) usleep((kTickNs - elapsed) / 1000 + 1);
  clock_gettime(CLOCK_MONOTONIC, &last_change_);
  stat_since_change_ = false;
}

std::string PosixTrace::Abs(std::string_view path) const {
  return path.empty() ? root_ : absl::StrCat(root_, "/", AbslView(path));
}

int PosixTrace::Fd(int h) const {
  return h >= 0 && static_cast<size_t>(h) < fds_.size() ? fds_[h] : -1;
}

std::string PosixTrace::H(int h) const { return h >= 0 ? absl::StrCat("h", h) : "h?"; }

void PosixTrace::Record(const std::string& call, long long result, int err) {
  if (result < 0) {
    lines_.push_back(absl::StrCat(call, " = -1 ", ErrnoName(err)));
  } else if (result == 0) {
    lines_.push_back(absl::StrCat(call, " = ok"));
  } else {
    lines_.push_back(absl::StrCat(call, " = ", result));
  }
}

std::string PosixTrace::TimeField(const std::string& key, const char* name,
                                  const struct timespec& ts) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string field_key = absl::StrCat(key, "/", name);
  std::string out;
  if (ts.tv_sec > now.tv_sec - kRecentSeconds && ts.tv_sec < now.tv_sec + kRecentSeconds) {
    out = absl::StrCat(name, "=recent");
    auto it = last_times_.find(field_key);
    // atime depends on mount options (relatime); only its explicit values are compared.
    if (it != last_times_.end() && std::string_view(name) != "atime") {
      int c = Compare(ts, it->second);
      out.push_back(c == 0 ? '=' : (c > 0 ? '+' : '-'));
    }
  } else {
    out = absl::StrFormat("%s=%d.%09d", name, static_cast<long long>(ts.tv_sec), ts.tv_nsec);
  }
  last_times_[field_key] = ts;
  return out;
}

namespace {
// Keys of last_times_ are "<path>/<field>" (stat), "l:<path>/<field>" (lstat) or "h<n>/..."
// (fstat). Returns the keys that belong to `path` or to anything below it.
std::vector<std::string> KeysUnder(const std::map<std::string, struct timespec>& times,
                                   std::string_view path) {
  std::vector<std::string> keys;
  for (const std::string& prefix :
       {absl::StrCat(AbslView(path), "/"), absl::StrCat("l:", AbslView(path), "/")}) {
    for (auto it = times.lower_bound(prefix);
         it != times.end() && absl::StartsWith(it->first, prefix); ++it) {
      keys.push_back(it->first);
    }
  }
  return keys;
}

std::string Rebase(const std::string& key, std::string_view from, std::string_view to) {
  bool l = absl::StartsWith(key, "l:");
  size_t skip = (l ? 2 : 0) + from.size();
  return absl::StrCat(l ? "l:" : "", AbslView(to), key.substr(skip));
}
}  // namespace

void PosixTrace::MoveTimes(std::string_view from, std::string_view to) {
  DropTimes(to);
  for (const std::string& key : KeysUnder(last_times_, from)) {
    last_times_[Rebase(key, from, to)] = last_times_[key];
    last_times_.erase(key);
  }
}

void PosixTrace::SwapTimes(std::string_view a, std::string_view b) {
  std::map<std::string, struct timespec> moved;
  for (const std::string& key : KeysUnder(last_times_, a))
    moved[Rebase(key, a, b)] = last_times_[key];
  for (const std::string& key : KeysUnder(last_times_, b))
    moved[Rebase(key, b, a)] = last_times_[key];
  DropTimes(a);
  DropTimes(b);
  for (const auto& [key, ts] : moved) last_times_[key] = ts;
}

void PosixTrace::DropTimes(std::string_view path) {
  for (const std::string& key : KeysUnder(last_times_, path)) last_times_.erase(key);
}

void PosixTrace::RecordStat(const std::string& call, const std::string& key, int result, int err,
                            const struct stat& st) {
  AfterStat();
  if (result != 0) {
    Record(call, result, err);
    return;
  }
  std::string line = absl::StrCat(call, " = ok ", ModeName(st.st_mode));
  // Directory sizes are file-system specific (ext4 says 4096); everything else must agree.
  if (!S_ISDIR(st.st_mode)) absl::StrAppend(&line, " size=", st.st_size);
  absl::StrAppend(&line, " nlink=", st.st_nlink, " uid=", st.st_uid, " gid=", st.st_gid);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    absl::StrAppend(&line, " rdev=", major(st.st_rdev), ":", minor(st.st_rdev));
  }
  absl::StrAppend(&line, " ", TimeField(key, "atime", st.st_atim), " ",
                  TimeField(key, "mtime", st.st_mtim), " ", TimeField(key, "ctime", st.st_ctim));
  lines_.push_back(std::move(line));
}

int PosixTrace::Open(std::string_view path, int flags, mode_t mode) {
  if (flags & (O_CREAT | O_TRUNC)) BeforeChange();
  int fd = open(Abs(path).c_str(), flags | O_CLOEXEC, mode);
  int err = errno;
  std::string call = absl::StrCat("open(", AbslView(path), ", ", OpenFlagsName(flags));
  if (flags & O_CREAT) absl::StrAppendFormat(&call, ", 0%o", mode);
  call.push_back(')');
  if (fd < 0) {
    Record(call, -1, err);
    return -1;
  }
  fds_.push_back(fd);
  int h = static_cast<int>(fds_.size()) - 1;
  lines_.push_back(absl::StrCat(call, " = ", H(h)));
  return h;
}

int PosixTrace::Close(int h) {
  int fd = Fd(h);
  int r = close(fd);
  int err = errno;
  if (fd >= 0) fds_[h] = -1;
  Record(absl::StrCat("close(", H(h), ")"), r, err);
  return r;
}

ssize_t PosixTrace::Write(int h, std::string_view data) {
  BeforeChange();
  ssize_t r = write(Fd(h), data.data(), data.size());
  Record(absl::StrCat("write(", H(h), ", ", Quote(data), ")"), r, errno);
  return r;
}

ssize_t PosixTrace::WriteAs(uid_t uid, gid_t gid, std::string_view path, int flags,
                            std::string_view data) {
  BeforeChange();
  const std::string abs = Abs(path);
  struct Outcome {
    ssize_t result;
    int err;
  } outcome{-1, EIO};
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    Record(absl::StrCat("write_as(pipe)"), -1, errno);
    return -1;
  }
  // The child only makes system calls: this process has other threads (the FUSE daemon).
  pid_t pid = fork();
  if (pid == 0) {
    Outcome o{-1, 0};
    if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
      o.err = errno;
    } else if (int fd = open(abs.c_str(), flags | O_CLOEXEC); fd < 0) {
      o.err = errno;
    } else {
      o.result = write(fd, data.data(), data.size());
      o.err = errno;
      close(fd);
    }
    (void)!write(pipe_fds[1], &o, sizeof(o));
    _exit(0);
  }
  close(pipe_fds[1]);
  if (pid > 0) {
    if (read(pipe_fds[0], &outcome, sizeof(outcome)) != static_cast<ssize_t>(sizeof(outcome))) {
      outcome = Outcome{-1, EIO};
    }
    int status;
    waitpid(pid, &status, 0);
  } else {
    outcome.err = errno;
  }
  close(pipe_fds[0]);
  Record(absl::StrCat("write_as(", uid, ":", gid, ", ", AbslView(path), ", ", OpenFlagsName(flags),
                      ", ", Quote(data), ")"),
         outcome.result, outcome.err);
  return outcome.result;
}

ssize_t PosixTrace::Pwrite(int h, std::string_view data, off_t offset) {
  BeforeChange();
  ssize_t r = pwrite(Fd(h), data.data(), data.size(), offset);
  Record(absl::StrCat("pwrite(", H(h), ", ", Quote(data), ", ", offset, ")"), r, errno);
  return r;
}

std::string PosixTrace::Read(int h, size_t n) {
  std::string buf(n, '\0');
  ssize_t r = read(Fd(h), buf.data(), n);
  int err = errno;
  std::string call = absl::StrCat("read(", H(h), ", ", n, ")");
  if (r < 0) {
    Record(call, r, err);
    return "";
  }
  buf.resize(static_cast<size_t>(r));
  lines_.push_back(absl::StrCat(call, " = ", r, " ", Quote(buf)));
  return buf;
}

std::string PosixTrace::Pread(int h, size_t n, off_t offset) {
  std::string buf(n, '\0');
  ssize_t r = pread(Fd(h), buf.data(), n, offset);
  int err = errno;
  std::string call = absl::StrCat("pread(", H(h), ", ", n, ", ", offset, ")");
  if (r < 0) {
    Record(call, r, err);
    return "";
  }
  buf.resize(static_cast<size_t>(r));
  lines_.push_back(absl::StrCat(call, " = ", r, " ", Quote(buf)));
  return buf;
}

off_t PosixTrace::Lseek(int h, off_t offset, int whence) {
  off_t r = lseek(Fd(h), offset, whence);
  const char* w = whence == SEEK_SET ? "SEEK_SET" : whence == SEEK_CUR ? "SEEK_CUR" : "SEEK_END";
  Record(absl::StrCat("lseek(", H(h), ", ", offset, ", ", w, ")"), r, errno);
  return r;
}

int PosixTrace::Ftruncate(int h, off_t length) {
  BeforeChange();
  int r = ftruncate(Fd(h), length);
  Record(absl::StrCat("ftruncate(", H(h), ", ", length, ")"), r, errno);
  return r;
}

int PosixTrace::Fsync(int h) {
  int r = fsync(Fd(h));
  Record(absl::StrCat("fsync(", H(h), ")"), r, errno);
  return r;
}

int PosixTrace::Fdatasync(int h) {
  int r = fdatasync(Fd(h));
  Record(absl::StrCat("fdatasync(", H(h), ")"), r, errno);
  return r;
}

int PosixTrace::Fstat(int h) {
  struct stat st = {};
  int r = fstat(Fd(h), &st);
  RecordStat(absl::StrCat("fstat(", H(h), ")"), H(h), r, errno, st);
  return r;
}

int PosixTrace::Fchmod(int h, mode_t mode) {
  BeforeChange();
  int r = fchmod(Fd(h), mode);
  Record(absl::StrFormat("fchmod(%s, 0%o)", H(h), mode), r, errno);
  return r;
}

int PosixTrace::Truncate(std::string_view path, off_t length) {
  BeforeChange();
  int r = truncate(Abs(path).c_str(), length);
  Record(absl::StrCat("truncate(", AbslView(path), ", ", length, ")"), r, errno);
  return r;
}

int PosixTrace::Stat(std::string_view path) {
  struct stat st = {};
  int r = stat(Abs(path).c_str(), &st);
  RecordStat(absl::StrCat("stat(", AbslView(path), ")"), std::string(path), r, errno, st);
  return r;
}

int PosixTrace::Lstat(std::string_view path) {
  struct stat st = {};
  int r = lstat(Abs(path).c_str(), &st);
  RecordStat(absl::StrCat("lstat(", AbslView(path), ")"), absl::StrCat("l:", AbslView(path)), r,
             errno, st);
  return r;
}

int PosixTrace::Access(std::string_view path, int mode) {
  int r = access(Abs(path).c_str(), mode);
  Record(absl::StrCat("access(", AbslView(path), ", ", mode, ")"), r, errno);
  return r;
}

int PosixTrace::Unlink(std::string_view path) {
  BeforeChange();
  int r = unlink(Abs(path).c_str());
  Record(absl::StrCat("unlink(", AbslView(path), ")"), r, errno);
  if (r == 0) DropTimes(path);
  return r;
}

int PosixTrace::Mkdir(std::string_view path, mode_t mode) {
  BeforeChange();
  int r = mkdir(Abs(path).c_str(), mode);
  Record(absl::StrFormat("mkdir(%s, 0%o)", AbslView(path), mode), r, errno);
  return r;
}

int PosixTrace::Rmdir(std::string_view path) {
  BeforeChange();
  int r = rmdir(Abs(path).c_str());
  Record(absl::StrCat("rmdir(", AbslView(path), ")"), r, errno);
  if (r == 0) DropTimes(path);
  return r;
}

int PosixTrace::Rename(std::string_view from, std::string_view to, unsigned flags) {
  BeforeChange();
  int r = renameat2(AT_FDCWD, Abs(from).c_str(), AT_FDCWD, Abs(to).c_str(), flags);
  std::string f = flags == 0                  ? "0"
                  : flags == RENAME_NOREPLACE ? "RENAME_NOREPLACE"
                  : flags == RENAME_EXCHANGE  ? "RENAME_EXCHANGE"
                                              : absl::StrCat(flags);
  int err = errno;
  Record(absl::StrCat("rename(", AbslView(from), ", ", AbslView(to), ", ", f, ")"), r, err);
  if (r == 0 && from != to) {
    if (flags & RENAME_EXCHANGE) {
      SwapTimes(from, to);
    } else {
      MoveTimes(from, to);
    }
  }
  return r;
}

int PosixTrace::Link(std::string_view target, std::string_view path) {
  BeforeChange();
  int r = link(Abs(target).c_str(), Abs(path).c_str());
  Record(absl::StrCat("link(", AbslView(target), ", ", AbslView(path), ")"), r, errno);
  return r;
}

int PosixTrace::Symlink(std::string_view target, std::string_view path) {
  BeforeChange();
  // The target is stored verbatim (not relative to the root).
  int r = symlink(std::string(target).c_str(), Abs(path).c_str());
  Record(absl::StrCat("symlink(", Quote(target), ", ", AbslView(path), ")"), r, errno);
  return r;
}

std::string PosixTrace::Readlink(std::string_view path) {
  char buf[4096];
  ssize_t r = readlink(Abs(path).c_str(), buf, sizeof(buf));
  int err = errno;
  std::string call = absl::StrCat("readlink(", AbslView(path), ")");
  if (r < 0) {
    Record(call, r, err);
    return "";
  }
  std::string target(buf, static_cast<size_t>(r));
  lines_.push_back(absl::StrCat(call, " = ", Quote(target)));
  return target;
}

int PosixTrace::Chmod(std::string_view path, mode_t mode) {
  BeforeChange();
  int r = chmod(Abs(path).c_str(), mode);
  Record(absl::StrFormat("chmod(%s, 0%o)", AbslView(path), mode), r, errno);
  return r;
}

int PosixTrace::Chown(std::string_view path, uid_t uid, gid_t gid) {
  BeforeChange();
  int r = fchownat(AT_FDCWD, Abs(path).c_str(), uid, gid, 0);
  Record(absl::StrCat("chown(", AbslView(path), ", ", static_cast<int>(uid), ", ",
                      static_cast<int>(gid), ")"),
         r, errno);
  return r;
}

int PosixTrace::Lchown(std::string_view path, uid_t uid, gid_t gid) {
  BeforeChange();
  int r = fchownat(AT_FDCWD, Abs(path).c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
  Record(absl::StrCat("lchown(", AbslView(path), ", ", static_cast<int>(uid), ", ",
                      static_cast<int>(gid), ")"),
         r, errno);
  return r;
}

int PosixTrace::Utimens(std::string_view path, const struct timespec times[2], int flags) {
  BeforeChange();
  int r = utimensat(AT_FDCWD, Abs(path).c_str(), times, flags);
  auto name = [](const struct timespec& ts) -> std::string {
    if (ts.tv_nsec == UTIME_NOW) return "UTIME_NOW";
    if (ts.tv_nsec == UTIME_OMIT) return "UTIME_OMIT";
    return absl::StrFormat("%d.%09d", static_cast<long long>(ts.tv_sec), ts.tv_nsec);
  };
  std::string t = times == nullptr ? "NULL" : absl::StrCat(name(times[0]), ", ", name(times[1]));
  Record(absl::StrCat("utimens(", AbslView(path), ", ", t,
                      flags & AT_SYMLINK_NOFOLLOW ? ", AT_SYMLINK_NOFOLLOW" : "", ")"),
         r, errno);
  return r;
}

int PosixTrace::Mknod(std::string_view path, mode_t mode, dev_t dev) {
  BeforeChange();
  int r = mknod(Abs(path).c_str(), mode, dev);
  Record(absl::StrCat("mknod(", AbslView(path), ", ", ModeName(mode), ", ", major(dev), ":",
                      minor(dev), ")"),
         r, errno);
  return r;
}

int PosixTrace::Mkfifo(std::string_view path, mode_t mode) {
  BeforeChange();
  int r = mkfifo(Abs(path).c_str(), mode);
  Record(absl::StrFormat("mkfifo(%s, 0%o)", AbslView(path), mode), r, errno);
  return r;
}

int PosixTrace::ReadDir(std::string_view path) {
  std::string call = absl::StrCat("readdir(", AbslView(path), ")");
  DIR* dir = opendir(Abs(path).c_str());
  if (dir == nullptr) {
    Record(call, -1, errno);
    return -1;
  }
  std::vector<std::string> entries;
  errno = 0;
  while (struct dirent* e = readdir(dir)) {
    entries.push_back(absl::StrCat(e->d_name, ":", DirentType(e->d_type)));
  }
  int err = errno;
  closedir(dir);
  if (err != 0) {
    Record(call, -1, err);
    return -1;
  }
  std::sort(entries.begin(), entries.end());
  lines_.push_back(absl::StrCat(call, " = [", absl::StrJoin(entries, " "), "]"));
  return 0;
}

int PosixTrace::SetXattr(std::string_view path, std::string_view name, std::string_view value,
                         int flags) {
  BeforeChange();
  int r =
      lsetxattr(Abs(path).c_str(), std::string(name).c_str(), value.data(), value.size(), flags);
  const char* f = flags == XATTR_CREATE    ? "XATTR_CREATE"
                  : flags == XATTR_REPLACE ? "XATTR_REPLACE"
                                           : "0";
  Record(absl::StrCat("setxattr(", AbslView(path), ", ", AbslView(name), ", ", Quote(value), ", ",
                      f, ")"),
         r, errno);
  return r;
}

std::string PosixTrace::GetXattr(std::string_view path, std::string_view name) {
  std::string call = absl::StrCat("getxattr(", AbslView(path), ", ", AbslView(name), ")");
  std::string abs = Abs(path);
  std::string key(name);
  ssize_t size = lgetxattr(abs.c_str(), key.c_str(), nullptr, 0);
  if (size < 0) {
    Record(call, -1, errno);
    return "";
  }
  std::string value(static_cast<size_t>(size), '\0');
  // A buffer one byte short must give ERANGE.
  if (size > 0) {
    ssize_t small = lgetxattr(abs.c_str(), key.c_str(), value.data(), value.size() - 1);
    if (small >= 0 || errno != ERANGE) {
      lines_.push_back(absl::StrCat(call, " = short buffer did not give ERANGE"));
    }
  }
  ssize_t r = lgetxattr(abs.c_str(), key.c_str(), value.data(), value.size());
  if (r < 0) {
    Record(call, -1, errno);
    return "";
  }
  value.resize(static_cast<size_t>(r));
  lines_.push_back(absl::StrCat(call, " = ", Quote(value)));
  return value;
}

int PosixTrace::ListXattr(std::string_view path) {
  std::string call = absl::StrCat("listxattr(", AbslView(path), ")");
  std::string abs = Abs(path);
  ssize_t size = llistxattr(abs.c_str(), nullptr, 0);
  if (size < 0) {
    Record(call, -1, errno);
    return -1;
  }
  std::string buf(static_cast<size_t>(size), '\0');
  ssize_t r = llistxattr(abs.c_str(), buf.data(), buf.size());
  if (r < 0) {
    Record(call, -1, errno);
    return -1;
  }
  std::vector<std::string> names;
  for (absl::string_view n : absl::StrSplit(absl::string_view(buf.data(), static_cast<size_t>(r)),
                                            '\0', absl::SkipEmpty())) {
    // Security labels (security.selinux ...) depend on the host, not on the file system.
    if (!absl::StartsWith(n, "security.")) names.emplace_back(n);
  }
  std::sort(names.begin(), names.end());
  lines_.push_back(absl::StrCat(call, " = [", absl::StrJoin(names, " "), "]"));
  return 0;
}

int PosixTrace::RemoveXattr(std::string_view path, std::string_view name) {
  BeforeChange();
  int r = lremovexattr(Abs(path).c_str(), std::string(name).c_str());
  Record(absl::StrCat("removexattr(", AbslView(path), ", ", AbslView(name), ")"), r, errno);
  return r;
}

void PosixTrace::SameInode(std::string_view a, std::string_view b) {
  struct stat sa = {}, sb = {};
  int ra = lstat(Abs(a).c_str(), &sa);
  int rb = lstat(Abs(b).c_str(), &sb);
  std::string verdict = (ra != 0 || rb != 0)                                 ? "error"
                        : (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) ? "yes"
                                                                             : "no";
  lines_.push_back(absl::StrCat("same_inode(", AbslView(a), ", ", AbslView(b), ") = ", verdict));
}

std::string PosixTrace::Slurp(std::string_view path) {
  std::string call = absl::StrCat("slurp(", AbslView(path), ")");
  int fd = open(Abs(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Record(call, -1, errno);
    return "";
  }
  std::string data;
  char buf[1 << 16];
  ssize_t r;
  while ((r = read(fd, buf, sizeof(buf))) > 0) data.append(buf, static_cast<size_t>(r));
  int err = errno;
  close(fd);
  if (r < 0) {
    Record(call, -1, err);
    return "";
  }
  lines_.push_back(absl::StrCat(call, " = ", data.size(), " ", Quote(data)));
  return data;
}

std::string DiffTraces(const PosixTrace& expected, const PosixTrace& actual) {
  const auto& a = expected.lines();
  const auto& b = actual.lines();
  size_t n = std::max(a.size(), b.size());
  size_t first = n;
  for (size_t i = 0; i < n; ++i) {
    if (i >= a.size() || i >= b.size() || a[i] != b[i]) {
      first = i;
      break;
    }
  }
  if (first == n) return "";
  std::string out = absl::StrCat("traces differ at line ", first + 1, " (native ", expected.root(),
                                 " vs mount ", actual.root(), "):\n");
  for (size_t i = 0; i < n; ++i) {
    const std::string& l = i < a.size() ? a[i] : "<missing>";
    const std::string& r = i < b.size() ? b[i] : "<missing>";
    if (l == r) {
      absl::StrAppend(&out, "    ", l, "\n");
    } else {
      absl::StrAppend(&out, "  - ", l, "\n  + ", r, "\n");
    }
  }
  return out;
}

}  // namespace gnr::e2e
