// Real programs on the mount (issue: "any program works on the drive"): git, SQLite (WAL:
// shared mmap and fcntl locks), tar, with the result checked again after an unmount and a
// remount of the same state (so it came back from the farmers for the real Volume).

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/e2e/backends.h"
#include "tests/e2e/test_mount.h"
#include "tests/testing/status_matchers.h"

namespace gnr::e2e {
namespace {

struct Result {
  int exit_code = -1;
  std::string output;
};

// Runs `script` with bash in directory `dir` (under `timeout`), capturing its output.
Result Sh(const std::string& dir, const std::string& script) {
  char script_path[] = "/tmp/gnr-e2e-script-XXXXXX";
  char out_path[] = "/tmp/gnr-e2e-out-XXXXXX";
  int sfd = mkstemp(script_path);
  int ofd = mkstemp(out_path);
  Result r;
  if (sfd < 0 || ofd < 0) return r;
  close(ofd);
  std::string text = absl::StrCat("cd '", dir, "' || exit 99\n", script, "\n");
  if (write(sfd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) r.exit_code = -2;
  close(sfd);
  int rc = std::system(
      absl::StrCat("timeout 180 bash '", script_path, "' >'", out_path, "' 2>&1").c_str());
  if (r.exit_code != -2) r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream in(out_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  unlink(script_path);
  unlink(out_path);
  return r;
}

class ProgramsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_OK(CheckFuseAvailable());
    ASSERT_OK_AND_ASSIGN(volume_, TestVolume::Create(GetParam()));
    ASSERT_OK_AND_ASSIGN(mount_, TestMount::Start(volume_->volume(), absl::Seconds(240)));
  }
  void TearDown() override {
    if (mount_ != nullptr) EXPECT_OK(mount_->Unmount());
    mount_.reset();
    volume_.reset();
  }
  void Remount() {
    ASSERT_OK(mount_->Unmount());
    mount_.reset();
    ASSERT_OK(volume_->Reopen(/*drop_cache=*/true));
    ASSERT_OK_AND_ASSIGN(mount_, TestMount::Start(volume_->volume(), absl::Seconds(240)));
  }

  std::unique_ptr<TestVolume> volume_;
  std::unique_ptr<TestMount> mount_;
};

TEST_P(ProgramsTest, GitInitCommitFsck) {
  Result r = Sh(mount_->path(), R"(
    set -e
    export GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent
    git init -q repo && cd repo
    git config user.email e2e@gnr.test && git config user.name e2e
    mkdir -p src/deep && for i in $(seq 1 30); do echo "line $i" > src/f$i.txt; done
    head -c 300000 /dev/urandom > src/deep/blob.bin
    git add -A && git commit -q -m first
    echo changed >> src/f1.txt && git mv src/f2.txt src/moved.txt && git rm -q src/f3.txt
    git commit -q -am second
    git gc -q
    git fsck --strict --full
    git log --oneline | wc -l)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2\n"), std::string::npos) << r.output;
  Remount();
  r = Sh(mount_->path(), R"(
    set -e
    export GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent
    cd repo && git fsck --strict --full && git status --porcelain | wc -l)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0\n"), std::string::npos) << "work tree dirty: " << r.output;
}

TEST_P(ProgramsTest, SqliteInWalMode) {
  Result r = Sh(mount_->path(), R"(
    set -e
    sqlite3 db.sqlite "PRAGMA journal_mode=WAL;" \
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" \
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000)
       INSERT INTO t(v) SELECT hex(randomblob(32)) FROM n;" \
      "DELETE FROM t WHERE id % 3 = 0;" \
      "PRAGMA wal_checkpoint(TRUNCATE);" \
      "SELECT count(*) FROM t;" "PRAGMA integrity_check;")");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("13334\nok\n"), std::string::npos) << r.output;
  Remount();
  r = Sh(mount_->path(),
         R"(sqlite3 db.sqlite "SELECT count(*) FROM t;" "PRAGMA integrity_check;")");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "13334\nok\n");
}

TEST_P(ProgramsTest, TarInAndOut) {
  // A source tree in (tar extracts with its own mtimes, modes and symlinks) and out again.
  // clang-format off
  const std::string script = absl::StrReplaceAll(R"sh(
    set -e
    out=$(mktemp -d /tmp/gnr-e2e-untar-XXXXXX)
    trap 'rm -rf "$out" "$out.tar"' EXIT
    tar -C '@SRC@' -cf - common crypto | tar -xf -
    ln -s common/log.h loglink
    tar -cf "$out.tar" common crypto loglink
    tar -C "$out" -xf "$out.tar"
    diff -r '@SRC@/common' "$out/common"
    diff -r '@SRC@/crypto' "$out/crypto"
    [ "$(readlink "$out/loglink")" = common/log.h ]
    echo same)sh", {{"@SRC@", GNR_E2E_SOURCE_DIR}});
  // clang-format on
  Result r = Sh(mount_->path(), script);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("same"), std::string::npos) << r.output;
}

TEST_P(ProgramsTest, ConcurrentWritersAndReaders) {
  // Four processes write and verify their own files at once, one appends to a shared log.
  // clang-format off
  Result r = Sh(mount_->path(), R"sh(
    set -e
    worker() {
      for i in $(seq 1 15); do
        head -c $((i * 37000)) /dev/urandom > w$1-$i
        sha=$(sha256sum < w$1-$i)
        cp w$1-$i w$1-$i.copy
        sha2=$(sha256sum < w$1-$i.copy)
        if [ "$sha2" != "$sha" ]; then echo "mismatch w$1-$i"; exit 1; fi
        echo "worker $1 file $i" >> shared.log
      done
    }
    for w in 1 2 3 4; do worker $w & done
    fail=0; for j in $(jobs -p); do wait $j || fail=1; done
    [ $fail = 0 ] && [ $(wc -l < shared.log) = 60 ] && echo done)sh");
  // clang-format on
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("done"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, ProgramsTest, ::testing::ValuesIn(BackendsUnderTest()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

}  // namespace
}  // namespace gnr::e2e
