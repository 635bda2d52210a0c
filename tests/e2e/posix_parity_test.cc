// POSIX parity through a real FUSE mount (mergerfs-style): each scenario runs the same
// syscalls on a native directory (ext4 or tmpfs under $TMPDIR) and on the gnrfs mount, and
// every return value, errno, stat field and byte read must agree (tests/e2e/posix_trace.h).
//
// Coverage by operation:
//   open/creat  O_CREAT, O_EXCL, O_TRUNC (also with O_RDONLY), O_APPEND, O_CREAT|O_RDONLY,
//               O_DIRECTORY, opening a directory for writing
//   read/write  offsets, sparse gaps, overlapping writes, pwrite on O_APPEND, EBADF by mode
//   truncate    up (zeros) and down, by name and by descriptor
//   rename      over a file, over a hard-linked file, over an empty/non-empty directory,
//               file<->dir type errors, directory into itself, RENAME_NOREPLACE/EXCHANGE
//   unlink      of an open file (still readable and writable), of a directory (EISDIR)
//   mkdir/rmdir EEXIST, ENOTEMPTY, ENOTDIR, directory nlink
//   readdir     names and types after creations and removals
//   symlink     readlink, lstat, following, dangling, EINVAL on a non-link
//   link        nlink, same inode, EPERM on a directory, EEXIST
//   chmod/chown setuid bits, fchmod, lchown, -1 leaves a field alone; writes by another
//               user (a child process) that must drop set-id bits, through write-only
//               (direct) and read-write (cached) handles
//   coherence   a reader's cached pages after writes through a write-only handle
//   utimensat   explicit values, UTIME_NOW, UTIME_OMIT, NULL, on a symlink
//   fsync       fsync, fdatasync
//   mknod       fifo, regular, char device (root)
//   xattrs      set/get/list/remove, XATTR_CREATE/REPLACE, ERANGE; security.capability
//               removed by a write
//   names       255 bytes ok, 256 ENAMETOOLONG
//   timestamps  what moves (and what must not) for each of the above

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/backends.h"
#include "tests/e2e/posix_trace.h"
#include "tests/e2e/test_mount.h"
#include "tests/testing/status_matchers.h"

namespace gnr::e2e {
namespace {

class PosixParityTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_OK(CheckFuseAvailable());
    ASSERT_OK_AND_ASSIGN(native_dir_, MakeTempDir("native"));
    ASSERT_EQ(chmod(native_dir_.c_str(), 0755), 0);  // other users' programs (WriteAs)
    ASSERT_OK_AND_ASSIGN(volume_, TestVolume::Create(GetParam()));
    fuse::MountOptions options;
    options.allow_other = true;
    ASSERT_OK_AND_ASSIGN(mount_, TestMount::Start(volume_->volume(), absl::Seconds(120), options));
  }

  void TearDown() override {
    if (mount_ != nullptr) EXPECT_OK(mount_->Unmount());
    mount_.reset();
    volume_.reset();
    if (!native_dir_.empty()) RemoveTree(native_dir_);
  }

  // Runs `scenario` on both trees and expects identical traces.
  void Parity(const std::function<void(PosixTrace&)>& scenario) {
    PosixTrace native(native_dir_);
    PosixTrace mounted(mount_->path());
    scenario(native);
    scenario(mounted);
    std::string diff = DiffTraces(native, mounted);
    EXPECT_TRUE(diff.empty()) << diff;
    if (diff.empty() && getenv("GNR_E2E_SHOW_TRACES") != nullptr) {
      // The agreed trace documents the behaviour; show it on request.
      std::printf("%s", native.Text().c_str());
    }
  }

  std::string native_dir_;
  std::unique_ptr<TestVolume> volume_;
  std::unique_ptr<TestMount> mount_;
};

TEST_P(PosixParityTest, CreateAndWriteAtOffsets) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Fstat(h);
    t.Pwrite(h, "hello", 0);
    t.Pwrite(h, "world", 10);  // a 5-byte hole of zeros
    t.Pwrite(h, "XY", 3);      // overlaps the first write
    t.Write(h, "!");           // at the descriptor's position (0 + 1: pwrite does not move it)
    t.Fstat(h);
    t.Read(h, 4);  // EBADF: write-only
    t.Close(h);
    t.Slurp("f");
    t.Stat("f");
    h = t.Open("f", O_RDWR);
    t.Lseek(h, 0, SEEK_END);
    t.Write(h, "tail");
    t.Pread(h, 100, 0);
    t.Pread(h, 10, 1000);  // past the end: 0 bytes
    t.Close(h);
    t.Stat("f");
  });
}

TEST_P(PosixParityTest, AppendMode) {
  Parity([](PosixTrace& t) {
    int h = t.Open("log", O_CREAT | O_WRONLY | O_APPEND, 0600);
    t.Write(h, "one\n");
    t.Write(h, "two\n");
    t.Pwrite(h, "three\n", 0);  // Linux: O_APPEND wins over the offset
    t.Close(h);
    int a = t.Open("log", O_WRONLY | O_APPEND);
    int b = t.Open("log", O_WRONLY | O_APPEND);
    t.Write(a, "a\n");
    t.Write(b, "b\n");  // appends after a's write, not over it
    t.Close(a);
    t.Close(b);
    t.Slurp("log");
    t.Stat("log");
  });
}

TEST_P(PosixParityTest, ExclusiveCreate) {
  Parity([](PosixTrace& t) {
    int h = t.Open("x", O_CREAT | O_EXCL | O_WRONLY, 0640);
    t.Close(h);
    t.Open("x", O_CREAT | O_EXCL | O_WRONLY, 0640);  // EEXIST
    t.Open("x", O_CREAT | O_WRONLY, 0600);           // ok: mode of the existing file stays
    t.Stat("x");
    t.Mkdir("d");
    t.Open("d", O_CREAT | O_EXCL | O_RDONLY, 0644);  // EEXIST
    t.Open("d", O_CREAT | O_WRONLY, 0644);           // EISDIR
    t.Open("d", O_WRONLY);                           // EISDIR
    t.Open("x", O_RDONLY | O_DIRECTORY);             // ENOTDIR
    int dh = t.Open("d", O_RDONLY | O_DIRECTORY);
    t.Close(dh);
    t.Open("missing", O_RDONLY);                    // ENOENT
    t.Open("missing/x", O_CREAT | O_WRONLY, 0644);  // ENOENT
    t.Open("x/y", O_CREAT | O_WRONLY, 0644);        // ENOTDIR
  });
}

TEST_P(PosixParityTest, TruncateOnOpen) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "hello world");
    t.Close(h);
    t.Stat("f");
    t.Tick();
    h = t.Open("f", O_WRONLY | O_TRUNC);
    t.Fstat(h);
    t.Write(h, "x");
    t.Close(h);
    t.Stat("f");
    t.Slurp("f");
    t.Tick();
    h = t.Open("f", O_RDONLY | O_TRUNC);  // Linux truncates here too
    t.Read(h, 10);
    t.Close(h);
    t.Stat("f");
    t.Tick();
    h = t.Open("f", O_WRONLY | O_TRUNC);  // already empty: times still move
    t.Close(h);
    t.Stat("f");
  });
}

TEST_P(PosixParityTest, CreateReadOnly) {
  Parity([](PosixTrace& t) {
    int h = t.Open("ro", O_CREAT | O_RDONLY, 0444);
    t.Fstat(h);
    t.Read(h, 10);
    t.Write(h, "no");  // EBADF
    t.Close(h);
    t.Stat("ro");
    // Root ignores the mode bits (default_permissions honours CAP_DAC_OVERRIDE).
    h = t.Open("ro", O_WRONLY);
    t.Write(h, "yes");
    t.Close(h);
    t.Slurp("ro");
  });
}

TEST_P(PosixParityTest, TruncateUpAndDown) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_RDWR, 0644);
    t.Write(h, "0123456789");
    t.Truncate("f", 20);
    t.Stat("f");
    t.Slurp("f");  // ten bytes then ten zeros
    t.Truncate("f", 4);
    t.Slurp("f");
    t.Tick();
    t.Ftruncate(h, 6);
    t.Fstat(h);
    t.Pread(h, 100, 0);
    t.Tick();
    t.Ftruncate(h, 6);  // same size: mtime and ctime still move
    t.Fstat(h);
    t.Close(h);
    t.Truncate("missing", 0);  // ENOENT
    t.Mkdir("d");
    t.Truncate("d", 0);   // EISDIR
    t.Truncate("f", -1);  // EINVAL
  });
}

TEST_P(PosixParityTest, RenameOverExistingFile) {
  Parity([](PosixTrace& t) {
    int h = t.Open("a", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "AAAA");
    t.Close(h);
    h = t.Open("b", O_CREAT | O_WRONLY, 0600);
    t.Write(h, "BB");
    t.Close(h);
    t.Link("b", "b2");  // b's inode has a second name
    int old_b = t.Open("b", O_RDONLY);
    t.Stat("a");
    t.Stat("b2");
    t.Tick();
    t.Rename("a", "b");
    t.Slurp("b");
    t.Stat("b");
    t.Stat("a");            // ENOENT
    t.Stat("b2");           // the surviving link: nlink 1, ctime moved
    t.Pread(old_b, 10, 0);  // the replaced file is still readable through its descriptor
    t.Close(old_b);
    t.Rename("b", "b");  // same name: nothing happens
    t.Link("b", "c");
    t.Rename("b", "c");  // two names of one inode: nothing happens, both stay
    t.ReadDir("");
    t.Rename("missing", "z");  // ENOENT
  });
}

TEST_P(PosixParityTest, RenameDirectories) {
  Parity([](PosixTrace& t) {
    t.Mkdir("d1");
    t.Mkdir("d1/sub");
    t.Mkdir("d2");
    t.Mkdir("full");
    int h = t.Open("full/f", O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    h = t.Open("file", O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    t.Rename("d1", "file");      // ENOTDIR
    t.Rename("file", "d2");      // EISDIR
    t.Rename("d2", "full");      // ENOTEMPTY
    t.Rename("d1", "d1/sub/x");  // EINVAL: into itself
    t.Stat("d1");
    t.Rename("d1", "d2");  // over an empty directory
    t.Stat("d2");
    t.Stat("d2/sub");
    t.Stat("d1");                    // ENOENT
    t.Rename("d2/sub", "full/sub");  // moves between parents: both nlinks change
    t.Stat("d2");
    t.Stat("full");
    t.ReadDir("full");
    t.ReadDir("d2");
  });
}

TEST_P(PosixParityTest, RenameNoReplaceAndExchange) {
  Parity([](PosixTrace& t) {
    int h = t.Open("a", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "aaa");
    t.Close(h);
    h = t.Open("b", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "b");
    t.Close(h);
    t.Mkdir("d");
    t.Rename("a", "b", RENAME_NOREPLACE);  // EEXIST
    t.Rename("a", "c", RENAME_NOREPLACE);  // ok
    t.Rename("c", "a", RENAME_NOREPLACE);
    t.Rename("a", "b", RENAME_EXCHANGE);
    t.Slurp("a");
    t.Slurp("b");
    t.Rename("a", "d", RENAME_EXCHANGE);  // a file and a directory swap
    t.Stat("a");
    t.Stat("d");
    t.Rename("a", "nope", RENAME_EXCHANGE);                  // ENOENT
    t.Rename("a", "b", RENAME_EXCHANGE | RENAME_NOREPLACE);  // EINVAL
    t.ReadDir("");
  });
}

TEST_P(PosixParityTest, UnlinkOpenFile) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_RDWR, 0644);
    t.Write(h, "still here");
    int r = t.Open("f", O_RDONLY);
    t.Unlink("f");
    t.Stat("f");  // ENOENT
    t.Fstat(h);   // nlink 0
    t.Pread(r, 100, 0);
    t.Pwrite(h, "STILL", 0);
    t.Pread(r, 100, 0);
    t.Close(h);
    t.Pread(r, 100, 0);
    t.Close(r);
    t.ReadDir("");
    t.Unlink("f");  // ENOENT
  });
}

TEST_P(PosixParityTest, MkdirAndRmdir) {
  Parity([](PosixTrace& t) {
    t.Mkdir("d", 0750);
    t.Stat("d");
    t.Mkdir("d");  // EEXIST
    t.Mkdir("d/a");
    t.Mkdir("d/b");
    t.Stat("d");  // nlink 4
    int h = t.Open("d/f", O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    t.Rmdir("d");     // ENOTEMPTY
    t.Rmdir("d/f");   // ENOTDIR
    t.Unlink("d/a");  // EISDIR
    t.Unlink("d/f");
    t.Rmdir("d/a");
    t.Rmdir("d/b");
    t.Stat("d");
    t.Rmdir("d");
    t.Rmdir("d");          // ENOENT
    t.Mkdir("missing/x");  // ENOENT
    t.ReadDir("");
  });
}

TEST_P(PosixParityTest, ReadDirContents) {
  Parity([](PosixTrace& t) {
    for (int i = 0; i < 50; ++i) {
      int h = t.Open("file" + std::to_string(i), O_CREAT | O_WRONLY, 0644);
      t.Close(h);
    }
    t.Mkdir("dir");
    t.Symlink("file1", "link");
    t.Mkfifo("fifo");
    t.ReadDir("");
    for (int i = 0; i < 50; i += 3) t.Unlink("file" + std::to_string(i));
    t.Rename("file1", "renamed");
    t.ReadDir("");
    t.ReadDir("dir");
    t.ReadDir("file2");    // ENOTDIR
    t.ReadDir("missing");  // ENOENT
  });
}

TEST_P(PosixParityTest, ManyEntriesListedOnce) {
  // More entries than fit in one readdir reply, with long names: resuming at cookies must
  // neither skip nor repeat any.
  Parity([](PosixTrace& t) {
    for (int i = 0; i < 400; ++i) {
      int h = t.Open(std::string(200, 'n') + std::to_string(i), O_CREAT | O_WRONLY, 0644);
      t.Close(h);
    }
    t.ReadDir("");
  });
}

TEST_P(PosixParityTest, Symlinks) {
  Parity([](PosixTrace& t) {
    int h = t.Open("target", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "via link");
    t.Close(h);
    t.Symlink("target", "link");
    t.Symlink("nowhere", "dangling");
    t.Symlink(std::string(300, 'x'), "long");
    t.Readlink("link");
    t.Readlink("long");
    t.Lstat("link");
    t.Stat("link");
    t.Slurp("link");
    t.Stat("dangling");  // ENOENT
    t.Lstat("dangling");
    t.Readlink("target");                       // EINVAL
    t.Symlink("x", "link");                     // EEXIST
    h = t.Open("link", O_RDONLY | O_NOFOLLOW);  // ELOOP
    t.Mkdir("dir");
    t.Symlink("dir", "dirlink");
    h = t.Open("dirlink/inside", O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    t.ReadDir("dir");
    t.Unlink("dirlink");
    t.Stat("dir");
  });
}

TEST_P(PosixParityTest, HardLinks) {
  Parity([](PosixTrace& t) {
    int h = t.Open("a", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "shared");
    t.Close(h);
    t.Tick();
    t.Link("a", "b");
    t.Stat("a");  // nlink 2, ctime moved
    t.SameInode("a", "b");
    h = t.Open("b", O_WRONLY | O_APPEND);
    t.Write(h, "!");
    t.Close(h);
    t.Slurp("a");
    t.Link("a", "b");  // EEXIST
    t.Mkdir("d");
    t.Link("d", "d2");       // EPERM
    t.Link("missing", "x");  // ENOENT
    t.Unlink("a");
    t.Stat("b");  // nlink 1
    t.Mkdir("sub");
    t.Link("b", "sub/c");
    t.SameInode("b", "sub/c");
    t.Stat("sub/c");
  });
}

TEST_P(PosixParityTest, ChmodAndChown) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Stat("f");
    t.Tick();
    t.Chmod("f", 0600);
    t.Stat("f");  // ctime moves, mtime does not
    t.Chmod("f", 04755);
    t.Stat("f");
    t.Fchmod(h, 0640);
    t.Fstat(h);
    t.Close(h);
    t.Tick();
    t.Chown("f", 1000, 1000);
    t.Stat("f");
    t.Chown("f", static_cast<uid_t>(-1), 2000);
    t.Stat("f");
    t.Mkdir("d", 0700);
    t.Chmod("d", 01777);
    t.Stat("d");
    t.Symlink("f", "l");
    t.Lchown("l", 3000, 3000);
    t.Lstat("l");
    t.Stat("l");
    t.Chmod("missing", 0644);  // ENOENT
  });
}

TEST_P(PosixParityTest, Utimens) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    const struct timespec fixed[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
    t.Utimens("f", fixed);
    t.Stat("f");
    t.Tick();
    const struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    t.Utimens("f", omit_now);  // atime kept exactly, mtime now
    t.Stat("f");
    const struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    t.Utimens("f", fixed);
    t.Utimens("f", now_omit);  // mtime kept exactly
    t.Stat("f");
    t.Tick();
    t.Utimens("f", nullptr);  // both now
    t.Stat("f");
    const struct timespec omit_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    t.Tick();
    t.Utimens("f", omit_omit);  // nothing changes, not even ctime
    t.Stat("f");
    t.Mkdir("d");
    t.Utimens("d", fixed);
    t.Stat("d");
    t.Symlink("f", "l");
    t.Utimens("l", fixed, AT_SYMLINK_NOFOLLOW);
    t.Lstat("l");
    t.Utimens("missing", fixed);  // ENOENT
  });
}

TEST_P(PosixParityTest, FsyncAndDataSync) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Write(h, std::string(100000, 'z'));
    t.Fsync(h);
    t.Pwrite(h, "abc", 50000);
    t.Fdatasync(h);
    t.Close(h);
    t.Stat("f");
    t.Slurp("f");
    h = t.Open("f", O_RDONLY);
    t.Fsync(h);  // fsync of a read-only descriptor is allowed
    t.Close(h);
  });
}

TEST_P(PosixParityTest, SpecialFiles) {
  Parity([](PosixTrace& t) {
    t.Mkfifo("fifo", 0640);
    t.Stat("fifo");
    t.Mkfifo("fifo");  // EEXIST
    t.Mknod("plain", S_IFREG | 0600);
    t.Stat("plain");
    t.Mknod("null", S_IFCHR | 0666, makedev(1, 3));
    t.Stat("null");
    t.ReadDir("");
    t.Unlink("fifo");
    t.Unlink("null");
  });
}

TEST_P(PosixParityTest, ExtendedAttributes) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    t.ListXattr("f");
    t.SetXattr("f", "user.color", "blue");
    t.SetXattr("f", "user.empty", "");
    t.GetXattr("f", "user.color");
    t.GetXattr("f", "user.empty");
    t.GetXattr("f", "user.none");                        // ENODATA
    t.SetXattr("f", "user.color", "red", XATTR_CREATE);  // EEXIST
    t.SetXattr("f", "user.size", "1", XATTR_REPLACE);    // ENODATA
    t.SetXattr("f", "user.color", "red", XATTR_REPLACE);
    t.GetXattr("f", "user.color");
    t.ListXattr("f");
    t.RemoveXattr("f", "user.color");
    t.RemoveXattr("f", "user.color");  // ENODATA
    t.ListXattr("f");
    t.Mkdir("d");
    t.SetXattr("d", "user.dir", std::string(1000, 'v'));
    t.GetXattr("d", "user.dir");
  });
}

// Write-only handles bypass the kernel's page cache (fs/fuse/operations.cc, IsDirectWrite),
// and with it the kernel's own clearing of privileges on write: the drive does it.
TEST_P(PosixParityTest, WritesByOtherUsersDropSetIdBits) {
  constexpr uid_t kNobody = 65534;
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Write(h, "data");
    t.Close(h);
    for (int flags : {O_WRONLY | O_APPEND, O_RDWR | O_APPEND}) {
      t.Chmod("f", 06777);
      t.WriteAs(kNobody, kNobody, "f", flags, "+");  // clears both (group-executable)
      t.Stat("f");
      t.Chmod("f", 02767);
      t.WriteAs(kNobody, kNobody, "f", flags, "+");  // not in the file's group: clears it
      t.Stat("f");
      t.Chmod("f", 02767);
      t.WriteAs(kNobody, 0, "f", flags, "+");  // in its group, not executable: kept
      t.Stat("f");
    }
    t.Chmod("f", 06777);
    h = t.Open("f", O_WRONLY | O_APPEND);  // root (CAP_FSETID) keeps them
    t.Write(h, "!");
    t.Close(h);
    t.Stat("f");
    t.Chmod("f", 0644);
    t.WriteAs(kNobody, kNobody, "f", O_WRONLY, "x");  // EACCES
    t.Slurp("f");
  });
}

TEST_P(PosixParityTest, WritesRemoveFileCapabilities) {
  // struct vfs_cap_data, revision 2: effective, CAP_NET_BIND_SERVICE permitted.
  const std::string caps(
      "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00",
      20);
  Parity([&caps](PosixTrace& t) {
    int h = t.Open("bin", O_CREAT | O_WRONLY, 0755);
    t.Write(h, "ELF");
    t.Close(h);
    for (int flags : {O_WRONLY, O_RDWR}) {
      t.SetXattr("bin", "security.capability", caps);
      t.ListXattr("bin");
      h = t.Open("bin", flags);
      t.Pwrite(h, "x", 1);  // any write, even root's, removes them
      t.Close(h);
      t.ListXattr("bin");
    }
  });
}

TEST_P(PosixParityTest, ReadersSeeWritesOfWriteOnlyHandles) {
  Parity([](PosixTrace& t) {
    int h = t.Open("f", O_CREAT | O_WRONLY, 0644);
    t.Write(h, std::string(8192, 'a'));
    t.Close(h);
    int r = t.Open("f", O_RDONLY);
    t.Pread(r, 8, 4096);  // now in the reader's page cache
    int w = t.Open("f", O_WRONLY);
    t.Pwrite(w, "NEW", 4096);
    t.Pread(r, 8, 4096);
    t.Pwrite(w, "tail", 8192);  // grows the file
    t.Fstat(r);
    t.Pread(r, 16, 8186);
    int rw = t.Open("f", O_RDWR);  // a cached handle next to the direct one
    t.Pread(rw, 4, 0);
    t.Pwrite(w, "W", 0);
    t.Pread(rw, 4, 0);
    t.Pwrite(rw, "RW", 1);
    t.Pread(r, 4, 0);
    t.Close(w);
    t.Close(rw);
    t.Close(r);
    t.Slurp("f");
  });
}

TEST_P(PosixParityTest, NameLengths) {
  Parity([](PosixTrace& t) {
    int h = t.Open(std::string(255, 'a'), O_CREAT | O_WRONLY, 0644);
    t.Close(h);
    t.Stat(std::string(255, 'a'));
    t.Open(std::string(256, 'b'), O_CREAT | O_WRONLY, 0644);  // ENAMETOOLONG
    t.Mkdir(std::string(256, 'c'));
    t.Stat(std::string(256, 'd'));
    t.ReadDir("");
  });
}

TEST_P(PosixParityTest, TimestampsMoveCorrectly) {
  Parity([](PosixTrace& t) {
    t.Mkdir("d");
    t.Stat("d");
    t.Tick();
    int h = t.Open("d/f", O_CREAT | O_RDWR, 0644);  // d's mtime and ctime move
    t.Stat("d");
    t.Stat("d/f");
    t.Tick();
    t.Write(h, "data");  // f's mtime and ctime move; d's do not
    t.Fstat(h);
    t.Stat("d");
    t.Tick();
    t.Pread(h, 4, 0);  // reading moves neither mtime nor ctime
    t.Fstat(h);
    t.Close(h);
    t.Stat("d/f");
    t.Tick();
    t.Rename("d/f", "d/g");  // d's times move; g's ctime moves (Linux), mtime does not
    t.Stat("d");
    t.Stat("d/g");
    t.Tick();
    t.Unlink("d/g");
    t.Stat("d");
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, PosixParityTest, ::testing::ValuesIn(BackendsUnderTest()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

}  // namespace
}  // namespace gnr::e2e
