#include "fs/catalog/catalog.h"

#include <sys/stat.h>

#include <cerrno>
#include <set>

#include "fs/catalog/catalog_test_util.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::catalog {
namespace {

#define EXPECT_ERRNO(expr, err)                                       \
  do {                                                                \
    const auto& gnr_r_ = (expr);                                      \
    const absl::Status& gnr_s_ = ::gnr::testing::GetStatus(gnr_r_);   \
    EXPECT_EQ(PosixErrno(gnr_s_), std::optional<int>(err)) << gnr_s_; \
  } while (0)

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Catalog::Options options;
    options.root_uid = 1000;
    options.root_gid = 100;
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_.File("catalog.db"), clock_, options));
  }

  Attr Make(Ino parent, std::string_view name, NodeType type = NodeType::kFile,
            uint32_t mode = 0644) {
    NodeSpec spec;
    spec.type = type;
    spec.mode = mode;
    spec.uid = 1000;
    spec.gid = 100;
    if (type == NodeType::kSymlink) spec.symlink_target = "target";
    absl::StatusOr<Attr> attr = catalog_->CreateNode(parent, name, spec);
    EXPECT_TRUE(attr.ok()) << attr.status();
    return attr.ok() ? *attr : Attr{};
  }
  Attr Dir(Ino parent, std::string_view name) {
    return Make(parent, name, NodeType::kDirectory, 0755);
  }
  Attr Get(Ino ino) {
    absl::StatusOr<Attr> attr = catalog_->GetAttr(ino);
    EXPECT_TRUE(attr.ok()) << attr.status();
    return attr.ok() ? *attr : Attr{};
  }
  std::vector<std::string> Names(Ino dir) {
    std::vector<std::string> names;
    absl::StatusOr<std::vector<DirEntry>> entries = catalog_->ReadDir(dir, 0, 100000);
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (entries.ok()) {
      for (const DirEntry& e : *entries) names.push_back(e.name);
    }
    return names;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, FreshCatalogHasRoot) {
  Attr root = Get(kRootIno);
  EXPECT_EQ(root.type, NodeType::kDirectory);
  EXPECT_EQ(root.mode, S_IFDIR | 0755u);
  EXPECT_EQ(root.uid, 1000u);
  EXPECT_EQ(root.gid, 100u);
  EXPECT_EQ(root.nlink, 2u);
  EXPECT_EQ(root.generation, 1u);
  EXPECT_EQ(root.mtime, clock_.Now());
  EXPECT_EQ(catalog_->schema_version(), kLatestSchemaVersion);
  EXPECT_OK(catalog_->CheckIntegrity());
  ASSERT_OK_AND_ASSIGN(Ino parent, catalog_->Parent(kRootIno));
  EXPECT_EQ(parent, kRootIno);
}

TEST_F(CatalogTest, CreateLookupGetattr) {
  clock_.Advance(absl::Nanoseconds(1500000001));
  Attr file = Make(kRootIno, "a.txt");
  EXPECT_GT(file.ino, kRootIno);
  EXPECT_EQ(file.type, NodeType::kFile);
  EXPECT_EQ(file.mode, S_IFREG | 0644u);
  EXPECT_EQ(file.nlink, 1u);
  EXPECT_EQ(file.size, 0u);
  EXPECT_EQ(file.ctime, clock_.Now());  // nanoseconds kept
  EXPECT_EQ(file.btime, clock_.Now());
  EXPECT_FALSE(file.current_version.has_value());
  ASSERT_OK_AND_ASSIGN(Attr found, catalog_->Lookup(kRootIno, "a.txt"));
  EXPECT_EQ(found, file);
  Attr root = Get(kRootIno);
  EXPECT_EQ(root.mtime, clock_.Now());
  EXPECT_EQ(root.nlink, 2u);  // a file adds no link to its parent
  ASSERT_OK_AND_ASSIGN(Attr dot, catalog_->Lookup(kRootIno, "."));
  EXPECT_EQ(dot.ino, kRootIno);
  ASSERT_OK_AND_ASSIGN(Attr dotdot, catalog_->Lookup(kRootIno, ".."));
  EXPECT_EQ(dotdot.ino, kRootIno);
}

TEST_F(CatalogTest, InodeNumbersAreNeverReused) {
  Attr a = Make(kRootIno, "a");
  ASSERT_OK(catalog_->Unlink(kRootIno, "a"));
  ASSERT_OK(catalog_->PurgeInode(a.ino));
  Attr b = Make(kRootIno, "a");
  EXPECT_GT(b.ino, a.ino);
}

TEST_F(CatalogTest, CreateErrors) {
  Attr file = Make(kRootIno, "f");
  NodeSpec spec;
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, "f", spec), EEXIST);
  EXPECT_ERRNO(catalog_->CreateNode(file.ino, "x", spec), ENOTDIR);
  EXPECT_ERRNO(catalog_->CreateNode(999, "x", spec), ENOENT);
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, std::string(256, 'n'), spec), ENAMETOOLONG);
  EXPECT_OK(catalog_->CreateNode(kRootIno, std::string(255, 'n'), spec));
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, "a/b", spec), EINVAL);
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, std::string("a\0b", 3), spec), EINVAL);
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, ".", spec), EEXIST);
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, "", spec), ENOENT);
  spec.mode = S_IFDIR | 0644;  // type bits disagree with kFile
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, "g", spec), EINVAL);
  spec.mode = 0644;
  spec.symlink_target = "x";  // only symlinks have targets
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, "g", spec), EINVAL);
  spec.type = NodeType::kSymlink;
  spec.symlink_target = std::string(4096, 'x');
  EXPECT_ERRNO(catalog_->CreateNode(kRootIno, "g", spec), ENAMETOOLONG);
  // Creating in a removed directory.
  Attr d = Dir(kRootIno, "d");
  ASSERT_OK(catalog_->Rmdir(kRootIno, "d"));
  EXPECT_ERRNO(catalog_->CreateNode(d.ino, "x", NodeSpec{}), ENOENT);
}

TEST_F(CatalogTest, NamesAreBytes) {
  std::string name("caf\xc3\xa9 \xff\x01", 8);
  Attr f = Make(kRootIno, name);
  ASSERT_OK_AND_ASSIGN(Attr found, catalog_->Lookup(kRootIno, name));
  EXPECT_EQ(found.ino, f.ino);
  EXPECT_EQ(Names(kRootIno), std::vector<std::string>{name});
  EXPECT_ERRNO(catalog_->Lookup(kRootIno, "caf"), ENOENT);
}

TEST_F(CatalogTest, LookupErrors) {
  Attr f = Make(kRootIno, "f");
  EXPECT_ERRNO(catalog_->Lookup(kRootIno, "missing"), ENOENT);
  EXPECT_ERRNO(catalog_->Lookup(f.ino, "x"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Lookup(12345, "x"), ENOENT);
  EXPECT_ERRNO(catalog_->Lookup(kRootIno, std::string(300, 'x')), ENAMETOOLONG);
  EXPECT_ERRNO(catalog_->GetAttr(12345), ENOENT);
  EXPECT_ERRNO(catalog_->Parent(f.ino), ENOTDIR);
}

TEST_F(CatalogTest, DirectoriesCountLinks) {
  Attr a = Dir(kRootIno, "a");
  EXPECT_EQ(a.nlink, 2u);
  EXPECT_EQ(a.mode, S_IFDIR | 0755u);
  EXPECT_EQ(Get(kRootIno).nlink, 3u);
  Attr b = Dir(a.ino, "b");
  EXPECT_EQ(Get(a.ino).nlink, 3u);
  ASSERT_OK_AND_ASSIGN(Ino parent, catalog_->Parent(b.ino));
  EXPECT_EQ(parent, a.ino);
  ASSERT_OK_AND_ASSIGN(Attr up, catalog_->Lookup(b.ino, ".."));
  EXPECT_EQ(up.ino, a.ino);
}

TEST_F(CatalogTest, SpecialNodes) {
  Attr link = Make(kRootIno, "l", NodeType::kSymlink, 0777);
  EXPECT_EQ(link.mode, S_IFLNK | 0777u);
  EXPECT_EQ(link.size, 6u);
  ASSERT_OK_AND_ASSIGN(std::string target, catalog_->ReadLink(link.ino));
  EXPECT_EQ(target, "target");
  Attr fifo = Make(kRootIno, "p", NodeType::kFifo, 0600);
  EXPECT_EQ(fifo.mode, S_IFIFO | 0600u);
  EXPECT_ERRNO(catalog_->ReadLink(fifo.ino), EINVAL);
  EXPECT_ERRNO(catalog_->ReadLink(777), ENOENT);
  NodeSpec dev;
  dev.type = NodeType::kCharDevice;
  dev.mode = S_IFCHR | 0600;
  dev.rdev = 0x0103;
  ASSERT_OK_AND_ASSIGN(Attr c, catalog_->CreateNode(kRootIno, "null", dev));
  EXPECT_EQ(c.rdev, 0x0103u);
  EXPECT_EQ(c.mode, S_IFCHR | 0600u);
  Attr sock = Make(kRootIno, "s", NodeType::kSocket, 0755);
  EXPECT_EQ(sock.mode, S_IFSOCK | 0755u);
}

TEST_F(CatalogTest, UnlinkAndOrphans) {
  Attr f = Make(kRootIno, "f");
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(Unlinked u, catalog_->Unlink(kRootIno, "f"));
  EXPECT_EQ(u.ino, f.ino);
  EXPECT_TRUE(u.orphan());
  EXPECT_ERRNO(catalog_->Lookup(kRootIno, "f"), ENOENT);
  // Still readable by inode (open handles), flagged as orphan.
  Attr orphan = Get(f.ino);
  EXPECT_TRUE(orphan.orphan());
  EXPECT_EQ(orphan.ctime, clock_.Now());
  EXPECT_EQ(Get(kRootIno).mtime, clock_.Now());
  ASSERT_OK_AND_ASSIGN(std::vector<Ino> orphans, catalog_->ListOrphans());
  EXPECT_EQ(orphans, std::vector<Ino>{f.ino});
  ASSERT_OK_AND_ASSIGN(FsTotals totals, catalog_->Totals());
  EXPECT_EQ(totals.orphans, 1u);
  EXPECT_ERRNO(catalog_->Link(f.ino, kRootIno, "again"), ENOENT);
  ASSERT_OK(catalog_->PurgeInode(f.ino));
  EXPECT_ERRNO(catalog_->GetAttr(f.ino), ENOENT);
  EXPECT_ERRNO(catalog_->PurgeInode(f.ino), ENOENT);
  ASSERT_OK_AND_ASSIGN(orphans, catalog_->ListOrphans());
  EXPECT_TRUE(orphans.empty());
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogTest, UnlinkErrors) {
  Attr d = Dir(kRootIno, "d");
  Attr f = Make(kRootIno, "f");
  EXPECT_ERRNO(catalog_->Unlink(kRootIno, "d"), EISDIR);
  EXPECT_ERRNO(catalog_->Unlink(kRootIno, "missing"), ENOENT);
  EXPECT_ERRNO(catalog_->Unlink(f.ino, "x"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Unlink(kRootIno, "."), EINVAL);
  EXPECT_ERRNO(catalog_->PurgeInode(f.ino), EBUSY);
  EXPECT_ERRNO(catalog_->PurgeInode(d.ino), EBUSY);
}

TEST_F(CatalogTest, Rmdir) {
  Attr d = Dir(kRootIno, "d");
  Make(d.ino, "f");
  Make(kRootIno, "file");
  EXPECT_ERRNO(catalog_->Rmdir(kRootIno, "d"), ENOTEMPTY);
  EXPECT_ERRNO(catalog_->Rmdir(kRootIno, "file"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Rmdir(kRootIno, "missing"), ENOENT);
  EXPECT_ERRNO(catalog_->Rmdir(kRootIno, "."), EINVAL);
  EXPECT_ERRNO(catalog_->Rmdir(kRootIno, ".."), EINVAL);
  ASSERT_OK(catalog_->Unlink(d.ino, "f"));
  EXPECT_EQ(Get(kRootIno).nlink, 3u);
  ASSERT_OK_AND_ASSIGN(Unlinked u, catalog_->Rmdir(kRootIno, "d"));
  EXPECT_EQ(u.ino, d.ino);
  EXPECT_TRUE(u.orphan());
  EXPECT_EQ(Get(kRootIno).nlink, 2u);
  EXPECT_EQ(Get(d.ino).nlink, 0u);
  EXPECT_ERRNO(catalog_->Parent(d.ino), ENOENT);
  EXPECT_ERRNO(catalog_->Lookup(d.ino, ".."), ENOENT);
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> none, catalog_->ReadDir(d.ino, 0, 10));
  EXPECT_TRUE(none.empty());
}

TEST_F(CatalogTest, HardLinks) {
  Attr f = Make(kRootIno, "f");
  Attr d = Dir(kRootIno, "d");
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(Attr linked, catalog_->Link(f.ino, d.ino, "g"));
  EXPECT_EQ(linked.ino, f.ino);
  EXPECT_EQ(linked.nlink, 2u);
  EXPECT_EQ(linked.ctime, clock_.Now());
  EXPECT_EQ(Get(d.ino).mtime, clock_.Now());
  ASSERT_OK_AND_ASSIGN(Attr via, catalog_->Lookup(d.ino, "g"));
  EXPECT_EQ(via.ino, f.ino);
  EXPECT_ERRNO(catalog_->Link(f.ino, d.ino, "g"), EEXIST);
  EXPECT_ERRNO(catalog_->Link(d.ino, kRootIno, "d2"), EPERM);
  EXPECT_ERRNO(catalog_->Link(f.ino, f.ino, "x"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Link(999, kRootIno, "x"), ENOENT);
  ASSERT_OK_AND_ASSIGN(Unlinked u, catalog_->Unlink(kRootIno, "f"));
  EXPECT_EQ(u.nlink, 1u);
  EXPECT_FALSE(u.orphan());
  EXPECT_EQ(Get(f.ino).nlink, 1u);
}

TEST_F(CatalogTest, SetAttr) {
  Attr f = Make(kRootIno, "f");
  clock_.Advance(absl::Seconds(3));
  AttrUpdate chmod;
  chmod.mode = 04711;
  ASSERT_OK_AND_ASSIGN(Attr a, catalog_->SetAttr(f.ino, chmod));
  EXPECT_EQ(a.mode, S_IFREG | 04711u);
  EXPECT_EQ(a.ctime, clock_.Now());
  EXPECT_EQ(a.mtime, f.mtime);
  AttrUpdate with_type;
  with_type.mode = S_IFREG | 0600;
  ASSERT_OK_AND_ASSIGN(a, catalog_->SetAttr(f.ino, with_type));
  EXPECT_EQ(a.mode, S_IFREG | 0600u);
  with_type.mode = S_IFDIR | 0600;
  EXPECT_ERRNO(catalog_->SetAttr(f.ino, with_type), EINVAL);

  AttrUpdate chown;
  chown.uid = 7;
  chown.gid = 8;
  ASSERT_OK_AND_ASSIGN(a, catalog_->SetAttr(f.ino, chown));
  EXPECT_EQ(a.uid, 7u);
  EXPECT_EQ(a.gid, 8u);

  clock_.Advance(absl::Seconds(1));
  AttrUpdate truncate;
  truncate.size = 1 << 20;
  ASSERT_OK_AND_ASSIGN(a, catalog_->SetAttr(f.ino, truncate));
  EXPECT_EQ(a.size, 1u << 20);
  EXPECT_EQ(a.mtime, clock_.Now());
  EXPECT_EQ(a.ctime, clock_.Now());
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(a, catalog_->SetAttr(f.ino, truncate));  // same size: mtime kept
  EXPECT_EQ(a.mtime, clock_.Now() - absl::Seconds(1));

  AttrUpdate times;
  times.atime = absl::FromUnixNanos(123456789012345678);
  times.mtime_now = true;
  clock_.Advance(absl::Nanoseconds(7));
  ASSERT_OK_AND_ASSIGN(a, catalog_->SetAttr(f.ino, times));
  EXPECT_EQ(a.atime, absl::FromUnixNanos(123456789012345678));
  EXPECT_EQ(a.mtime, clock_.Now());
  EXPECT_EQ(Get(f.ino), a);  // persisted

  AttrUpdate before_epoch;
  before_epoch.mtime = absl::FromUnixSeconds(-100);
  ASSERT_OK_AND_ASSIGN(a, catalog_->SetAttr(f.ino, before_epoch));
  EXPECT_EQ(Get(f.ino).mtime, absl::FromUnixSeconds(-100));

  Attr d = Dir(kRootIno, "d");
  EXPECT_ERRNO(catalog_->SetAttr(d.ino, truncate), EISDIR);
  Attr l = Make(kRootIno, "l", NodeType::kSymlink, 0777);
  EXPECT_ERRNO(catalog_->SetAttr(l.ino, truncate), EINVAL);
  EXPECT_ERRNO(catalog_->SetAttr(999, chmod), ENOENT);
  // Nothing to change: nothing changes.
  ASSERT_OK_AND_ASSIGN(Attr same, catalog_->SetAttr(f.ino, AttrUpdate{}));
  EXPECT_EQ(same, Get(f.ino));
}

TEST_F(CatalogTest, ReadDirPagesWithStableCookies) {
  Attr d = Dir(kRootIno, "d");
  for (int i = 0; i < 10; ++i) Make(d.ino, "f" + std::to_string(i));
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> page1, catalog_->ReadDir(d.ino, 0, 4));
  ASSERT_EQ(page1.size(), 4u);
  EXPECT_GE(page1[0].cookie, kFirstCookie);
  EXPECT_EQ(page1[0].name, "f0");
  EXPECT_EQ(page1[0].attr.type, NodeType::kFile);
  for (size_t i = 1; i < page1.size(); ++i) EXPECT_GT(page1[i].cookie, page1[i - 1].cookie);
  // Concurrent changes: remove an already listed entry and a not yet listed one, add a new
  // one, rename one not yet listed.
  ASSERT_OK(catalog_->Unlink(d.ino, "f1"));
  ASSERT_OK(catalog_->Unlink(d.ino, "f6"));
  Make(d.ino, "new");
  ASSERT_OK(catalog_->Rename(d.ino, "f5", d.ino, "f5-renamed"));
  std::vector<std::string> rest;
  uint64_t cookie = page1.back().cookie;
  while (true) {
    ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> page, catalog_->ReadDir(d.ino, cookie, 3));
    if (page.empty()) break;
    for (const DirEntry& e : page) rest.push_back(e.name);
    cookie = page.back().cookie;
  }
  // f4..f9 without f6 and f5 (renamed: shows up later under its new name), then the new
  // entries in creation order. No unchanged entry is skipped or repeated.
  EXPECT_EQ(rest, (std::vector<std::string>{"f4", "f7", "f8", "f9", "new", "f5-renamed"}));
  ASSERT_OK_AND_ASSIGN(uint64_t count, catalog_->CountEntries(d.ino));
  EXPECT_EQ(count, 9u);
  Attr f = Make(kRootIno, "file");
  EXPECT_ERRNO(catalog_->ReadDir(f.ino, 0, 10), ENOTDIR);
  EXPECT_ERRNO(catalog_->ReadDir(999, 0, 10), ENOENT);
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> none, catalog_->ReadDir(d.ino, 0, 0));
  EXPECT_TRUE(none.empty());
}

TEST_F(CatalogTest, Xattrs) {
  Attr f = Make(kRootIno, "f");
  clock_.Advance(absl::Seconds(1));
  Bytes value = {0, 1, 2, 255};
  ASSERT_OK(catalog_->SetXattr(f.ino, "user.b", value));
  EXPECT_EQ(Get(f.ino).ctime, clock_.Now());
  ASSERT_OK(catalog_->SetXattr(f.ino, "user.a", Bytes{}));
  ASSERT_OK_AND_ASSIGN(Bytes got, catalog_->GetXattr(f.ino, "user.b"));
  EXPECT_EQ(got, value);
  ASSERT_OK_AND_ASSIGN(Bytes empty, catalog_->GetXattr(f.ino, "user.a"));
  EXPECT_TRUE(empty.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, catalog_->ListXattrs(f.ino));
  EXPECT_EQ(names, (std::vector<std::string>{"user.a", "user.b"}));
  EXPECT_ERRNO(catalog_->SetXattr(f.ino, "user.a", value, XattrSetMode::kCreate), EEXIST);
  EXPECT_ERRNO(catalog_->SetXattr(f.ino, "user.c", value, XattrSetMode::kReplace), ENODATA);
  ASSERT_OK(catalog_->SetXattr(f.ino, "user.a", value, XattrSetMode::kReplace));
  ASSERT_OK_AND_ASSIGN(got, catalog_->GetXattr(f.ino, "user.a"));
  EXPECT_EQ(got, value);
  EXPECT_ERRNO(catalog_->GetXattr(f.ino, "user.zzz"), ENODATA);
  EXPECT_ERRNO(catalog_->GetXattr(999, "user.a"), ENOENT);
  EXPECT_ERRNO(catalog_->SetXattr(f.ino, "", value), ERANGE);
  EXPECT_ERRNO(catalog_->SetXattr(f.ino, std::string(256, 'x'), value), ERANGE);
  EXPECT_ERRNO(catalog_->SetXattr(f.ino, "user.big", Bytes(kMaxXattrValueSize + 1)), E2BIG);
  ASSERT_OK(catalog_->RemoveXattr(f.ino, "user.a"));
  EXPECT_ERRNO(catalog_->RemoveXattr(f.ino, "user.a"), ENODATA);
  ASSERT_OK_AND_ASSIGN(names, catalog_->ListXattrs(f.ino));
  EXPECT_EQ(names, std::vector<std::string>{"user.b"});
  // Purging the inode drops its xattrs.
  ASSERT_OK(catalog_->Unlink(kRootIno, "f"));
  ASSERT_OK(catalog_->PurgeInode(f.ino));
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogTest, Totals) {
  Attr f = Make(kRootIno, "f");
  Dir(kRootIno, "d");
  AttrUpdate size;
  size.size = 1000;
  ASSERT_OK(catalog_->SetAttr(f.ino, size));
  ASSERT_OK_AND_ASSIGN(FsTotals t, catalog_->Totals());
  EXPECT_EQ(t.inodes, 3u);
  EXPECT_EQ(t.file_bytes, 1000u);
  EXPECT_EQ(t.orphans, 0u);
}

TEST_F(CatalogTest, MetaSettings) {
  EXPECT_STATUS(catalog_->GetMeta("volume.default_bucket"), absl::StatusCode::kNotFound);
  ASSERT_OK(catalog_->SetMeta("volume.default_bucket", "abc"));
  ASSERT_OK_AND_ASSIGN(std::string v, catalog_->GetMeta("volume.default_bucket"));
  EXPECT_EQ(v, "abc");
  ASSERT_OK(catalog_->SetMeta("volume.default_bucket", "def"));
  ASSERT_OK_AND_ASSIGN(v, catalog_->GetMeta("volume.default_bucket"));
  EXPECT_EQ(v, "def");
  EXPECT_STATUS(catalog_->SetMeta("catalog.generation", "9"), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(v, catalog_->GetMeta("catalog.generation"));
  EXPECT_EQ(v, "1");
}

// ---- Rename ------------------------------------------------------------------------------

TEST_F(CatalogTest, RenameWithinAndAcrossDirectories) {
  Attr a = Dir(kRootIno, "a");
  Attr b = Dir(kRootIno, "b");
  Attr f = Make(a.ino, "f");
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(RenameResult r, catalog_->Rename(a.ino, "f", a.ino, "g"));
  EXPECT_FALSE(r.replaced.has_value());
  EXPECT_ERRNO(catalog_->Lookup(a.ino, "f"), ENOENT);
  ASSERT_OK_AND_ASSIGN(Attr g, catalog_->Lookup(a.ino, "g"));
  EXPECT_EQ(g.ino, f.ino);
  EXPECT_EQ(g.ctime, clock_.Now());
  EXPECT_EQ(Get(a.ino).mtime, clock_.Now());
  ASSERT_OK(catalog_->Rename(a.ino, "g", b.ino, "h"));
  ASSERT_OK_AND_ASSIGN(Attr h, catalog_->Lookup(b.ino, "h"));
  EXPECT_EQ(h.ino, f.ino);
  EXPECT_EQ(Names(a.ino), std::vector<std::string>{});
  EXPECT_EQ(Get(a.ino).nlink, 2u);
  EXPECT_EQ(Get(b.ino).nlink, 2u);
  // A directory moving between parents moves a link.
  Attr sub = Dir(a.ino, "sub");
  EXPECT_EQ(Get(a.ino).nlink, 3u);
  ASSERT_OK(catalog_->Rename(a.ino, "sub", b.ino, "sub"));
  EXPECT_EQ(Get(a.ino).nlink, 2u);
  EXPECT_EQ(Get(b.ino).nlink, 3u);
  ASSERT_OK_AND_ASSIGN(Ino parent, catalog_->Parent(sub.ino));
  EXPECT_EQ(parent, b.ino);
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogTest, RenameOverExistingFile) {
  Attr src = Make(kRootIno, "src");
  Attr dst = Make(kRootIno, "dst");
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(RenameResult r, catalog_->Rename(kRootIno, "src", kRootIno, "dst"));
  ASSERT_TRUE(r.replaced.has_value());
  EXPECT_EQ(r.replaced->ino, dst.ino);
  EXPECT_TRUE(r.replaced->orphan());
  ASSERT_OK_AND_ASSIGN(Attr now_dst, catalog_->Lookup(kRootIno, "dst"));
  EXPECT_EQ(now_dst.ino, src.ino);
  EXPECT_EQ(Names(kRootIno), std::vector<std::string>{"dst"});
  Attr replaced = Get(dst.ino);
  EXPECT_EQ(replaced.nlink, 0u);
  EXPECT_EQ(replaced.ctime, clock_.Now());
}

TEST_F(CatalogTest, RenameOverHardLinkedFileKeepsSurvivorRight) {
  Attr d = Dir(kRootIno, "d");
  Attr target = Make(kRootIno, "target");
  ASSERT_OK(catalog_->Link(target.ino, d.ino, "other-link"));
  Attr src = Make(kRootIno, "src");
  clock_.Advance(absl::Seconds(9));
  ASSERT_OK_AND_ASSIGN(RenameResult r, catalog_->Rename(kRootIno, "src", kRootIno, "target"));
  ASSERT_TRUE(r.replaced.has_value());
  EXPECT_EQ(r.replaced->ino, target.ino);
  EXPECT_EQ(r.replaced->nlink, 1u);
  EXPECT_FALSE(r.replaced->orphan());
  ASSERT_OK_AND_ASSIGN(Attr survivor, catalog_->Lookup(d.ino, "other-link"));
  EXPECT_EQ(survivor.ino, target.ino);
  EXPECT_EQ(survivor.nlink, 1u);
  EXPECT_EQ(survivor.ctime, clock_.Now());
  ASSERT_OK_AND_ASSIGN(Attr moved, catalog_->Lookup(kRootIno, "target"));
  EXPECT_EQ(moved.ino, src.ino);
}

TEST_F(CatalogTest, RenameOntoAnotherLinkOfTheSameInodeDoesNothing) {
  Attr f = Make(kRootIno, "f");
  ASSERT_OK(catalog_->Link(f.ino, kRootIno, "g"));
  ASSERT_OK_AND_ASSIGN(RenameResult r, catalog_->Rename(kRootIno, "f", kRootIno, "g"));
  EXPECT_FALSE(r.replaced.has_value());
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{"f", "g"}));
  EXPECT_EQ(Get(f.ino).nlink, 2u);
  // Same for renaming an entry onto itself.
  ASSERT_OK(catalog_->Rename(kRootIno, "f", kRootIno, "f"));
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{"f", "g"}));
}

TEST_F(CatalogTest, RenameDirectoryOverEmptyDirectory) {
  Attr a = Dir(kRootIno, "a");
  Attr b = Dir(kRootIno, "b");
  Attr x = Dir(a.ino, "x");
  Attr y = Dir(b.ino, "y");
  EXPECT_EQ(Get(a.ino).nlink, 3u);
  EXPECT_EQ(Get(b.ino).nlink, 3u);
  ASSERT_OK_AND_ASSIGN(RenameResult r, catalog_->Rename(a.ino, "x", b.ino, "y"));
  ASSERT_TRUE(r.replaced.has_value());
  EXPECT_EQ(r.replaced->ino, y.ino);
  EXPECT_TRUE(r.replaced->orphan());
  EXPECT_EQ(Get(y.ino).nlink, 0u);
  EXPECT_EQ(Get(a.ino).nlink, 2u);
  EXPECT_EQ(Get(b.ino).nlink, 3u);  // lost y, gained x
  ASSERT_OK_AND_ASSIGN(Attr moved, catalog_->Lookup(b.ino, "y"));
  EXPECT_EQ(moved.ino, x.ino);
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogTest, RenameErrors) {
  Attr d = Dir(kRootIno, "d");
  Attr full = Dir(kRootIno, "full");
  Make(full.ino, "inside");
  Attr f = Make(kRootIno, "f");
  Attr sub = Dir(d.ino, "sub");
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "missing", kRootIno, "x"), ENOENT);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "d", kRootIno, "f"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "f", kRootIno, "d"), EISDIR);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "d", kRootIno, "full"), ENOTEMPTY);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "d", sub.ino, "loop"), EINVAL);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "d", d.ino, "self"), EINVAL);
  // The target is an ancestor of the source: ENOTEMPTY (as Linux).
  EXPECT_ERRNO(catalog_->Rename(d.ino, "sub", kRootIno, "d"), ENOTEMPTY);
  EXPECT_ERRNO(catalog_->Rename(f.ino, "x", kRootIno, "y"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "f", f.ino, "y"), ENOTDIR);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "f", 999, "y"), ENOENT);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, ".", kRootIno, "y"), EINVAL);
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "f", kRootIno, std::string(256, 'y')), ENAMETOOLONG);
  // Nothing changed.
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{"d", "full", "f"}));
  EXPECT_EQ(Get(kRootIno).nlink, 4u);
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogTest, RenameNoReplace) {
  Make(kRootIno, "a");
  Make(kRootIno, "b");
  EXPECT_ERRNO(catalog_->Rename(kRootIno, "a", kRootIno, "b", RenameMode::kNoReplace), EEXIST);
  ASSERT_OK(catalog_->Rename(kRootIno, "a", kRootIno, "c", RenameMode::kNoReplace));
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{"b", "c"}));
}

TEST_F(CatalogTest, RenameExchange) {
  Attr a = Dir(kRootIno, "a");
  Attr b = Dir(kRootIno, "b");
  Attr file = Make(a.ino, "x");
  Attr dir = Dir(b.ino, "y");
  EXPECT_EQ(Get(a.ino).nlink, 2u);
  EXPECT_EQ(Get(b.ino).nlink, 3u);
  clock_.Advance(absl::Seconds(4));
  ASSERT_OK_AND_ASSIGN(RenameResult r,
                       catalog_->Rename(a.ino, "x", b.ino, "y", RenameMode::kExchange));
  EXPECT_FALSE(r.replaced.has_value());
  ASSERT_OK_AND_ASSIGN(Attr ax, catalog_->Lookup(a.ino, "x"));
  EXPECT_EQ(ax.ino, dir.ino);
  EXPECT_EQ(ax.ctime, clock_.Now());
  ASSERT_OK_AND_ASSIGN(Attr by, catalog_->Lookup(b.ino, "y"));
  EXPECT_EQ(by.ino, file.ino);
  EXPECT_EQ(by.ctime, clock_.Now());
  // The directory moved from b to a.
  EXPECT_EQ(Get(a.ino).nlink, 3u);
  EXPECT_EQ(Get(b.ino).nlink, 2u);
  ASSERT_OK_AND_ASSIGN(Ino parent, catalog_->Parent(dir.ino));
  EXPECT_EQ(parent, a.ino);
  EXPECT_ERRNO(catalog_->Rename(a.ino, "x", b.ino, "missing", RenameMode::kExchange), ENOENT);
  // Exchanging a directory with its own descendant is EINVAL either way round.
  Attr inner = Dir(dir.ino, "inner");
  (void)inner;
  EXPECT_ERRNO(catalog_->Rename(a.ino, "x", dir.ino, "inner", RenameMode::kExchange), EINVAL);
  EXPECT_ERRNO(catalog_->Rename(dir.ino, "inner", a.ino, "x", RenameMode::kExchange), EINVAL);
  EXPECT_OK(catalog_->CheckIntegrity());
}

}  // namespace
}  // namespace gnr::catalog
