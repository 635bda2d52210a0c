#pragma once
// POSIX parity recording, in the manner of mergerfs's tests: run the same sequence of
// syscalls under two roots (a directory on the gnrfs mount and a native directory) and
// compare, line by line, every return value and errno.
//
//   void Scenario(PosixTrace& t) {
//     int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
//     t.Pwrite(h, "hello", 3);
//     t.Close(h);
//     t.Stat("f");
//   }
//   PosixTrace native(native_dir), mounted(mount_dir);
//   Scenario(native);
//   Scenario(mounted);
//   EXPECT_TRACES_EQ(native, mounted);
//
// Each call performs one syscall on `root/path`, appends one normalized line to the trace
// ("open(f, O_WRONLY|O_CREAT, 0644) = h0", "unlink(d) = -1 EISDIR") and returns the raw
// result so a scenario can branch on it. What is recorded is what must agree between two
// correct POSIX file systems:
//   - file descriptors are recorded as handles h0, h1, ... in the order they were opened;
//   - stat records type+mode, size, nlink, uid, gid (not inode numbers, blocks, devices);
//   - timestamps are recorded exactly when they are far from now (they were set with
//     utimensat), otherwise as "recent" plus how they moved since the previous stat of the
//     same name ('=' unchanged, '+' later, '-' earlier). Call Tick() between operations
//     whose timestamps must differ, so coarse native timestamps can tell them apart;
//   - data read back is recorded verbatim (or as length + SHA-256 when long).
// Not thread-safe.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gnr::e2e {

class PosixTrace {
 public:
  // `root` must be an existing, empty directory; paths given to the calls are relative to it.
  explicit PosixTrace(std::string root);
  ~PosixTrace();  // closes handles still open
  PosixTrace(const PosixTrace&) = delete;
  PosixTrace& operator=(const PosixTrace&) = delete;

  const std::string& root() const { return root_; }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string Text() const;  // all lines, '\n'-terminated
  // Adds a free-form line (a scenario's checkpoint name).
  void Note(std::string_view text);

  // Sleeps long enough (20 ms) that the next timestamp-changing operation is visibly later
  // than the previous one, even on a file system with jiffy-granular timestamps. Calls that
  // change timestamps also wait by themselves when a stat was recorded since the previous
  // change less than a tick ago, so a native file system's coarse clock never makes two
  // observed changes look simultaneous.
  void Tick();

  // Files. Open/Creat return a handle index (>= 0) or -1.
  int Open(std::string_view path, int flags, mode_t mode = 0644);
  int Close(int h);
  ssize_t Write(int h, std::string_view data);
  ssize_t Pwrite(int h, std::string_view data, off_t offset);
  // Reads up to n bytes (read(2) / pread(2)); records and returns the bytes (empty on error).
  std::string Read(int h, size_t n);
  std::string Pread(int h, size_t n, off_t offset);
  off_t Lseek(int h, off_t offset, int whence);
  int Ftruncate(int h, off_t length);
  int Fsync(int h);
  int Fdatasync(int h);
  int Fstat(int h);
  int Fchmod(int h, mode_t mode);
  // Opens `path` with `flags` and appends `data` in a child process running as uid/gid (no
  // supplementary groups), as another user's program would; records what the write returned.
  // The process must be root.
  ssize_t WriteAs(uid_t uid, gid_t gid, std::string_view path, int flags, std::string_view data);

  // Names.
  int Truncate(std::string_view path, off_t length);
  int Stat(std::string_view path);
  int Lstat(std::string_view path);
  int Access(std::string_view path, int mode);
  int Unlink(std::string_view path);
  int Mkdir(std::string_view path, mode_t mode = 0755);
  int Rmdir(std::string_view path);
  int Rename(std::string_view from, std::string_view to, unsigned flags = 0);  // renameat2
  int Link(std::string_view target, std::string_view path);
  int Symlink(std::string_view target, std::string_view path);
  std::string Readlink(std::string_view path);
  int Chmod(std::string_view path, mode_t mode);
  int Chown(std::string_view path, uid_t uid, gid_t gid);   // fchownat, follows links
  int Lchown(std::string_view path, uid_t uid, gid_t gid);  // AT_SYMLINK_NOFOLLOW
  int Utimens(std::string_view path, const struct timespec times[2], int flags = 0);
  int Mknod(std::string_view path, mode_t mode, dev_t dev = 0);
  int Mkfifo(std::string_view path, mode_t mode = 0644);
  // Records the sorted names and d_types of a directory (with . and ..).
  int ReadDir(std::string_view path);
  // Extended attributes (lsetxattr family: symlinks are not followed). Values and the
  // sorted name list are recorded.
  int SetXattr(std::string_view path, std::string_view name, std::string_view value, int flags = 0);
  std::string GetXattr(std::string_view path, std::string_view name);
  int ListXattr(std::string_view path);
  int RemoveXattr(std::string_view path, std::string_view name);
  // Records whether two names refer to the same inode (st_dev + st_ino).
  void SameInode(std::string_view a, std::string_view b);
  // Reads a whole file by name; records its length and bytes (or digest).
  std::string Slurp(std::string_view path);

 private:
  std::string Abs(std::string_view path) const;
  int Fd(int h) const;
  std::string H(int h) const;
  // Appends "call = result" where result is `ok` for 0, the value, or "-1 EXXX".
  void Record(const std::string& call, long long result, int err);
  void RecordStat(const std::string& call, const std::string& key, int result, int err,
                  const struct stat& st);
  std::string TimeField(const std::string& key, const char* name, const struct timespec& ts);
  // Timestamp history follows the inode through the trace's own renames and unlinks, so a
  // stat after rename(a, b) compares b's times with a's.
  void MoveTimes(std::string_view from, std::string_view to);
  void SwapTimes(std::string_view a, std::string_view b);
  void DropTimes(std::string_view path);

  // Called before each call that may change a timestamp (see Tick()).
  void BeforeChange();
  void AfterStat() { stat_since_change_ = true; }

  std::string root_;
  struct timespec last_change_ = {0, 0};
  bool stat_since_change_ = false;
  std::vector<std::string> lines_;
  std::vector<int> fds_;  // handle index -> fd, -1 once closed
  // Last observed timestamps by (name, field), for the '=' '+' '-' relation.
  std::map<std::string, struct timespec> last_times_;
};

// Names for flags and errnos as they appear in traces ("O_WRONLY|O_CREAT", "ENOENT").
std::string OpenFlagsName(int flags);
std::string ErrnoName(int err);

// Returns "" when the traces are equal, else a side-by-side listing marking the first
// differing line ("native | mount").
std::string DiffTraces(const PosixTrace& expected, const PosixTrace& actual);

}  // namespace gnr::e2e
