// Schema migration, reopening, concurrent connections (threads and processes) and crashes.

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "fs/catalog/catalog.h"
#include "fs/catalog/catalog_test_util.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::catalog {
namespace {

// Runs `sql` on the file directly (to fake old, foreign or future files).
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  sqlite3_close(db);
}

int64_t RawInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

NodeSpec File() { return NodeSpec{}; }
NodeSpec Directory() {
  NodeSpec s;
  s.type = NodeType::kDirectory;
  s.mode = 0755;
  return s;
}

class CatalogFileTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.File("catalog.db"); }
  testing::TempDir dir_;
  FakeClock clock_;
};

TEST_F(CatalogFileTest, DataSurvivesReopen) {
  Ino ino = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
    ASSERT_OK_AND_ASSIGN(Attr d, c->CreateNode(kRootIno, "d", Directory()));
    ASSERT_OK_AND_ASSIGN(Attr f, c->CreateNode(d.ino, "f", File()));
    ino = f.ino;
    ASSERT_OK(c->SetXattr(ino, "user.k", Bytes{1, 2}));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
  ASSERT_OK_AND_ASSIGN(Attr d, c->Lookup(kRootIno, "d"));
  ASSERT_OK_AND_ASSIGN(Attr f, c->Lookup(d.ino, "f"));
  EXPECT_EQ(f.ino, ino);
  ASSERT_OK_AND_ASSIGN(Bytes v, c->GetXattr(ino, "user.k"));
  EXPECT_EQ(v, (Bytes{1, 2}));
  EXPECT_EQ(RawInt(path(), "PRAGMA application_id"), 0x474E5243);
  EXPECT_EQ(RawInt(path(), "PRAGMA user_version"), kLatestSchemaVersion);
}

TEST_F(CatalogFileTest, MigratesVersion1Database) {
  Ino ino = 0;
  {
    Catalog::Options v1;
    v1.schema_version = 1;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_, v1));
    EXPECT_EQ(c->schema_version(), 1);
    ASSERT_OK_AND_ASSIGN(Attr f, c->CreateNode(kRootIno, "old-file", File()));
    ino = f.ino;
    Bucket b;
    b.id = Bytes{1, 2, 3};
    b.size_bytes = 100;
    ASSERT_OK(c->PutBucket(b));
    // Tables of version 2 do not exist yet.
    NewVerdict verdict;
    EXPECT_STATUS(c->RecordVerdict(verdict), absl::StatusCode::kFailedPrecondition);
    EXPECT_STATUS(c->ListFarmers(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(RawInt(path(), "PRAGMA user_version"), 1);
  EXPECT_EQ(RawInt(path(), "SELECT count(*) FROM sqlite_master WHERE name = 'audits'"), 0);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
  EXPECT_EQ(c->schema_version(), kLatestSchemaVersion);
  EXPECT_EQ(RawInt(path(), "PRAGMA user_version"), kLatestSchemaVersion);
  ASSERT_OK_AND_ASSIGN(Attr f, c->Lookup(kRootIno, "old-file"));
  EXPECT_EQ(f.ino, ino);
  ASSERT_OK_AND_ASSIGN(Bucket b, c->GetBucket(Bytes{1, 2, 3}));
  EXPECT_EQ(b.size_bytes, 100u);
  NewVerdict verdict;
  verdict.farmer.fill(5);
  ASSERT_OK(c->RecordVerdict(verdict));
  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAuditStats> stats, c->FarmerStats());
  EXPECT_EQ(stats.size(), 1u);
  EXPECT_OK(c->CheckIntegrity());
  // New inodes continue the numbering.
  ASSERT_OK_AND_ASSIGN(Attr g, c->CreateNode(kRootIno, "new-file", File()));
  EXPECT_GT(g.ino, ino);
}

TEST_F(CatalogFileTest, RefusesNewerSchemaAndForeignFiles) {
  { ASSERT_OK(Catalog::Open(path(), clock_)); }
  Catalog::Options v1;
  v1.schema_version = 1;
  EXPECT_STATUS(Catalog::Open(path(), clock_, v1), absl::StatusCode::kFailedPrecondition);
  RawExec(path(), "PRAGMA user_version = 99");
  EXPECT_STATUS(Catalog::Open(path(), clock_), absl::StatusCode::kFailedPrecondition);

  std::string foreign = dir_.File("foreign.db");
  RawExec(foreign, "CREATE TABLE t (x)");
  EXPECT_STATUS(Catalog::Open(foreign, clock_), absl::StatusCode::kFailedPrecondition);
  std::string other_app = dir_.File("other.db");
  RawExec(other_app, "CREATE TABLE t (x); PRAGMA user_version = 1");
  EXPECT_STATUS(Catalog::Open(other_app, clock_), absl::StatusCode::kFailedPrecondition);

  std::string garbage = dir_.File("garbage.db");
  std::ofstream(garbage) << std::string(8192, 'x');
  EXPECT_STATUS(Catalog::Open(garbage, clock_), absl::StatusCode::kDataLoss);

  Catalog::Options no_create;
  no_create.create_if_missing = false;
  EXPECT_STATUS(Catalog::Open(dir_.File("missing.db"), clock_, no_create),
                absl::StatusCode::kNotFound);
  Catalog::Options bad;
  bad.schema_version = 0;
  EXPECT_STATUS(Catalog::Open(path(), clock_, bad), absl::StatusCode::kInvalidArgument);
}

TEST_F(CatalogFileTest, ThreadsShareOneCatalog) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
  constexpr int kThreads = 4, kOps = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<Attr> dir = c->CreateNode(kRootIno, absl::StrCat("t", t), Directory());
      if (!dir.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kOps; ++i) {
        if (i % 10 == 0) {
          // A multi-call transaction interleaved with other threads' single calls.
          absl::StatusOr<Transaction> txn = c->Begin();
          if (!txn.ok()) {
            ++failures;
            continue;
          }
          absl::StatusOr<Attr> f = c->CreateNode(dir->ino, absl::StrCat("f", i), File());
          AttrUpdate size;
          size.size = static_cast<uint64_t>(i);
          if (!f.ok() || !c->SetAttr(f->ino, size).ok() || !txn->Commit().ok()) ++failures;
        } else if (!c->CreateNode(dir->ino, absl::StrCat("f", i), File()).ok()) {
          ++failures;
        }
        if (!c->ReadDir(dir->ino, 0, 1000).ok()) ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK_AND_ASSIGN(Attr d, c->Lookup(kRootIno, absl::StrCat("t", t)));
    ASSERT_OK_AND_ASSIGN(uint64_t n, c->CountEntries(d.ino));
    EXPECT_EQ(n, static_cast<uint64_t>(kOps));
  }
  EXPECT_OK(c->CheckIntegrity());
}

TEST_F(CatalogFileTest, WriterWaitsForAnotherConnectionsTransaction) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> a, Catalog::Open(path(), clock_));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> b, Catalog::Open(path(), clock_));
  Catalog::Options impatient;
  impatient.busy_timeout = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_, impatient));
  absl::Status b_status, c_status;
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, a->Begin());
    ASSERT_OK(a->CreateNode(kRootIno, "from-a", File()));
    std::thread tb([&] { b_status = b->CreateNode(kRootIno, "from-b", File()).status(); });
    c_status = c->CreateNode(kRootIno, "from-c", File()).status();
    // Readers are not blocked by the writers (not even on the Catalog whose writer is
    // waiting) and see the last committed state.
    EXPECT_EQ(PosixErrno(b->Lookup(kRootIno, "from-a").status()), ENOENT);
    EXPECT_EQ(PosixErrno(c->Lookup(kRootIno, "from-a").status()), ENOENT);
    // The transaction's own thread sees its uncommitted changes.
    EXPECT_OK(a->Lookup(kRootIno, "from-a"));
    absl::SleepFor(absl::Milliseconds(100));
    ASSERT_OK(txn.Commit());
    tb.join();
  }
  EXPECT_OK(b_status);
  EXPECT_EQ(c_status.code(), absl::StatusCode::kUnavailable) << c_status;
  EXPECT_OK(b->Lookup(kRootIno, "from-a"));
  EXPECT_OK(a->Lookup(kRootIno, "from-b"));
}

// Child processes exit with 0 on success, 1 on any failure. They never return into gtest.
[[noreturn]] void ChildWrites(const std::string& path, int id, int ops) {
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(path, clock);
  if (!c.ok()) _exit(1);
  Catalog& cat = **c;
  absl::StatusOr<Attr> dir = cat.CreateNode(kRootIno, absl::StrCat("p", id), Directory());
  if (!dir.ok()) _exit(1);
  for (int i = 0; i < ops; ++i) {
    std::string name = absl::StrCat("f", i);
    if (i % 5 == 0) {
      absl::StatusOr<Transaction> txn = cat.Begin();
      if (!txn.ok()) _exit(1);
      absl::StatusOr<Attr> f = cat.CreateNode(dir->ino, name, File());
      if (!f.ok()) _exit(1);
      // Also touch a shared directory: creates contention on the same rows.
      if (!cat.CreateNode(kRootIno, absl::StrCat("shared-", id, "-", i), File()).ok()) _exit(1);
      if (!txn->Commit().ok()) _exit(1);
    } else {
      if (!cat.CreateNode(dir->ino, name, File()).ok()) _exit(1);
      if (!cat.Rename(dir->ino, name, dir->ino, name + "r").ok()) _exit(1);
      if (!cat.Rename(dir->ino, name + "r", dir->ino, name).ok()) _exit(1);
    }
  }
  c->reset();
  _exit(0);
}

TEST_F(CatalogFileTest, ProcessesWriteConcurrently) {
  { ASSERT_OK(Catalog::Open(path(), clock_)); }  // created before the race
  constexpr int kProcesses = 3, kOps = 100;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ChildWrites(path(), p, kOps);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
  for (int p = 0; p < kProcesses; ++p) {
    ASSERT_OK_AND_ASSIGN(Attr d, c->Lookup(kRootIno, absl::StrCat("p", p)));
    ASSERT_OK_AND_ASSIGN(uint64_t n, c->CountEntries(d.ino));
    EXPECT_EQ(n, static_cast<uint64_t>(kOps));
  }
  ASSERT_OK_AND_ASSIGN(uint64_t root_entries, c->CountEntries(kRootIno));
  EXPECT_EQ(root_entries, static_cast<uint64_t>(kProcesses + kProcesses * kOps / 5));
  ASSERT_OK_AND_ASSIGN(Attr root, c->GetAttr(kRootIno));
  EXPECT_EQ(root.nlink, static_cast<uint64_t>(2 + kProcesses));
  EXPECT_OK(c->CheckIntegrity());
}

// Child: commits pairs of entries forever, reporting each committed index on `fd`.
[[noreturn]] void ChildCommitsUntilKilled(const std::string& path, int fd) {
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(path, clock);
  if (!c.ok()) _exit(1);
  Catalog& cat = **c;
  for (uint32_t i = 0;; ++i) {
    absl::StatusOr<Transaction> txn = cat.Begin();
    if (!txn.ok()) _exit(1);
    if (!cat.CreateNode(kRootIno, absl::StrCat("a", i), File()).ok()) _exit(1);
    Bytes big(2000, static_cast<uint8_t>(i));
    absl::StatusOr<Attr> b = cat.CreateNode(kRootIno, absl::StrCat("b", i), File());
    if (!b.ok() || !cat.SetXattr(b->ino, "user.x", big).ok()) _exit(1);
    if (!txn->Commit().ok()) _exit(1);
    if (write(fd, &i, sizeof(i)) != sizeof(i)) _exit(1);
  }
}

TEST_F(CatalogFileTest, SurvivesKillDuringCommits) {
  { ASSERT_OK(Catalog::Open(path(), clock_)); }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    ChildCommitsUntilKilled(path(), fds[1]);
  }
  close(fds[1]);
  uint32_t last = 0;
  for (int n = 0; n < 60; ++n) ASSERT_EQ(read(fds[0], &last, sizeof(last)), sizeof(last));
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  close(fds[0]);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
  EXPECT_OK(c->CheckIntegrity());
  // Every reported commit is there; each transaction is all or nothing.
  for (uint32_t i = 0; i <= last; ++i) {
    EXPECT_OK(c->Lookup(kRootIno, absl::StrCat("a", i)));
    ASSERT_OK_AND_ASSIGN(Attr b, c->Lookup(kRootIno, absl::StrCat("b", i)));
    EXPECT_OK(c->GetXattr(b.ino, "user.x"));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> all, c->ReadDir(kRootIno, 0, 1 << 20));
  std::set<std::string> names;
  for (const DirEntry& e : all) names.insert(e.name);
  for (const std::string& name : names) {
    std::string other = (name[0] == 'a' ? "b" : "a") + name.substr(1);
    EXPECT_TRUE(names.count(other)) << name << " committed without " << other;
  }
  // The catalog is usable afterwards.
  EXPECT_OK(c->CreateNode(kRootIno, "after", File()));
}

[[noreturn]] void ChildBigTransaction(const std::string& path, int fd) {
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(path, clock);
  if (!c.ok()) _exit(1);
  absl::StatusOr<Transaction> txn = (*c)->Begin();
  if (!txn.ok()) _exit(1);
  for (int i = 0;; ++i) {
    if (!(*c)->CreateNode(kRootIno, absl::StrCat("big", i), File()).ok()) _exit(1);
    if (i == 3000) {
      char done = 1;
      if (write(fd, &done, 1) != 1) _exit(1);
    }
  }
}

TEST_F(CatalogFileTest, KillInsideBigTransactionLeavesNoTrace) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
    ASSERT_OK(c->CreateNode(kRootIno, "before", File()));
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    ChildBigTransaction(path(), fds[1]);
  }
  close(fds[1]);
  char done = 0;
  ASSERT_EQ(read(fds[0], &done, 1), 1);  // thousands of rows written, some spilled to the WAL
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(fds[0]);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(path(), clock_));
  EXPECT_OK(c->CheckIntegrity());
  EXPECT_OK(c->Lookup(kRootIno, "before"));
  EXPECT_EQ(PosixErrno(c->Lookup(kRootIno, "big0").status()), ENOENT);
  ASSERT_OK_AND_ASSIGN(uint64_t n, c->CountEntries(kRootIno));
  EXPECT_EQ(n, 1u);
}

}  // namespace
}  // namespace gnr::catalog
