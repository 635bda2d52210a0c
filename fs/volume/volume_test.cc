#include "fs/volume/volume.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "crypto/random.h"
#include "fs/catalog/posix_error.h"
#include "fs/codec/inline_blob.h"
#include "fs/codec/layout.h"
#include "fs/codec/params.h"
#include "fs/volume/space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_chain.h"
#include "tests/fakes/fake_shard_network.h"
#include "tests/testing/status_matchers.h"

namespace gnr::volume {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr uint32_t kSegment = 8192;

int Errno(const absl::Status& s) { return catalog::PosixErrno(s).value_or(0); }
template <typename T>
int Errno(const absl::StatusOr<T>& s) {
  return Errno(s.status());
}

Bytes RandomBytes(crypto::Random& rng, size_t n) { return rng.Generate(n); }

// Waits (real time) until `pred` holds, up to `timeout`.
template <typename Pred>
bool Eventually(Pred pred, absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return pred();
}

class VolumeTest : public ::testing::Test {
 protected:
  VolumeTest() : network_(8), rng_(7) {
    char tmpl[] = "/tmp/gnr_volume_test_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    bucket_ = ToBytes("test-bucket");
    key_.fill(0x42);
    BucketInfo info;
    info.size_bytes = uint64_t{1} << 30;
    chain_.SetBucket(bucket_, info);
  }
  ~VolumeTest() override {
    volume_.reset();
    std::filesystem::remove_all(dir_);
  }

  VolumeOptions Options() {
    VolumeOptions o;
    o.state_dir = dir_;
    o.bucket_id = bucket_;
    o.params.segment_size = kSegment;
    o.params.leaf_size = 512;
    o.params.inline_threshold = 4096;
    o.read_cache_bytes = 64 * 1024;
    o.cache_block_size = 8192;
    o.upload_threads = 2;
    o.upload_delay = absl::ZeroDuration();
    o.max_dirty_time = absl::Hours(1);
    o.retry_delay = absl::Milliseconds(10);
    o.hedge_min = absl::Milliseconds(50);
    o.read_timeout = absl::Seconds(5);
    return o;
  }

  void OpenVolume() { OpenVolume(Options()); }
  void OpenVolume(const VolumeOptions& o) {
    volume_.reset();
    absl::StatusOr<std::unique_ptr<Volume>> v =
        Volume::Open(o, VolumeEnv{&network_, &chain_, &clock_, &random_, key_});
    ASSERT_TRUE(v.ok()) << v.status();
    volume_ = *std::move(v);
  }

  // Creates `name` in the root with `data`, fsyncs, closes. Returns the inode.
  Ino WriteFile(std::string_view name, ByteView data, bool fsync = true) {
    absl::StatusOr<CreateResult> c =
        volume_->Create(caller_, kRootIno, name, 0644, O_CREAT | O_WRONLY | O_TRUNC);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return 0;
    if (!data.empty()) {
      // In uneven pieces, as programs write.
      size_t pos = 0, piece = 1000;
      while (pos < data.size()) {
        size_t n = std::min(piece, data.size() - pos);
        absl::StatusOr<size_t> w = volume_->Write(c->fh, pos, data.subspan(pos, n));
        EXPECT_TRUE(w.ok()) << w.status();
        pos += n;
        piece = piece * 3 % 7001 + 1;
      }
    }
    if (fsync) EXPECT_OK(volume_->Fsync(c->fh, false));
    EXPECT_OK(volume_->Release(c->fh));
    return c->attr.ino;
  }

  absl::StatusOr<Bytes> ReadFile(Ino ino) {
    absl::StatusOr<Attr> a = volume_->GetAttr(ino);
    if (!a.ok()) return a.status();
    absl::StatusOr<FileHandle> fh = volume_->Open(caller_, ino, O_RDONLY);
    if (!fh.ok()) return fh.status();
    Bytes out;
    uint64_t pos = 0;
    for (;;) {
      absl::StatusOr<Bytes> piece = volume_->Read(*fh, pos, 3000);
      if (!piece.ok()) {
        (void)volume_->Release(*fh);
        return piece.status();
      }
      if (piece->empty()) break;
      Append(out, *piece);
      pos += piece->size();
    }
    EXPECT_EQ(out.size(), a->size);
    GNR_RETURN_IF_ERROR(volume_->Release(*fh));
    return out;
  }

  std::string dir_;
  Bytes bucket_;
  codec::BucketKey key_;
  fakes::FakeShardNetwork network_;
  fakes::FakeChain chain_;
  FakeClock clock_;
  crypto::DeterministicRandom random_{1};
  crypto::DeterministicRandom rng_;
  Caller caller_{1000, 1000, 1};
  std::unique_ptr<Volume> volume_;
};

// ---------------------------------------------------------------------------------------
// Data round trips

TEST_F(VolumeTest, RoundTripsFilesOfManySizes) {
  OpenVolume();
  std::vector<std::pair<Ino, Bytes>> files;
  for (size_t size : {0, 1, 100, 4095, 4096, 8191, 8192, 8193, 30000, 70001}) {
    Bytes data = RandomBytes(rng_, size);
    Ino ino = WriteFile(absl::StrCat("f", size), data);
    files.emplace_back(ino, data);
    ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
    EXPECT_EQ(back, data) << size;
  }
  // After a remount the reads come from the farmers (the cache starts empty).
  OpenVolume();
  for (const auto& [ino, data] : files) {
    ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
    EXPECT_EQ(back, data) << data.size();
  }
  EXPECT_GT(network_.counters().gets, 0u);
}

// A handle read sequentially (the kernel's 128 KiB FUSE reads) fetches ahead in growing
// windows: a few large shard range requests instead of k per read. A jump elsewhere fetches
// only what is asked, and a new version is never answered from the old one's read-ahead.
TEST_F(VolumeTest, SequentialReadsFetchAheadAndStayCoherent) {
  VolumeOptions o = Options();
  o.params.segment_size = 1 << 20;
  o.read_cache_bytes = 0;
  OpenVolume(o);
  Bytes data = RandomBytes(rng_, 3 << 20);
  Ino ino = WriteFile("big", data);
  OpenVolume(o);  // cold: everything from the farmers
  const uint64_t k = static_cast<uint64_t>(o.params.data_shards);

  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, ino, O_RDONLY));
  uint64_t gets = network_.counters().gets;
  constexpr size_t kPiece = 128 << 10;
  Bytes back;
  for (uint64_t pos = 0; pos < data.size(); pos += kPiece) {
    ASSERT_OK_AND_ASSIGN(Bytes piece, volume_->Read(fh, pos, kPiece));
    Append(back, piece);
    if (pos == kPiece) {
      // The first read fetched the first 1 MiB window; once the reads are sequential, the
      // next one (2 MiB, the rest of the file) comes in the background, without another Read.
      EXPECT_TRUE(Eventually([&] { return network_.counters().gets - gets >= 3 * k; }));
    }
  }
  EXPECT_EQ(back, data);
  // 24 reads; windows of 1 MiB then 2 MiB: the three segments fetched once each.
  EXPECT_LE(network_.counters().gets - gets, 3 * (k + 1));

  // A jump on a fresh handle: just the 4 KiB asked for.
  ASSERT_OK_AND_ASSIGN(FileHandle other, volume_->Open(caller_, ino, O_RDONLY));
  gets = network_.counters().gets;
  const uint64_t at = (2 << 20) + 4096;
  ASSERT_OK_AND_ASSIGN(Bytes small, volume_->Read(other, at, 4096));
  EXPECT_TRUE(std::equal(small.begin(), small.end(), data.begin() + at));
  EXPECT_LE(network_.counters().gets - gets, k + 1);
  ASSERT_OK(volume_->Release(other));

  // A new version (written through another handle) while `fh` has read-ahead buffered.
  ASSERT_OK_AND_ASSIGN(Bytes head, volume_->Read(fh, 0, kPiece));
  EXPECT_TRUE(std::equal(head.begin(), head.end(), data.begin()));
  ASSERT_OK_AND_ASSIGN(FileHandle writer, volume_->Open(caller_, ino, O_WRONLY));
  Bytes patch = RandomBytes(rng_, 5000);
  ASSERT_OK(volume_->Write(writer, 100, patch).status());
  ASSERT_OK(volume_->Fsync(writer, false));
  ASSERT_OK(volume_->Release(writer));
  std::copy(patch.begin(), patch.end(), data.begin() + 100);
  ASSERT_OK_AND_ASSIGN(head, volume_->Read(fh, 0, kPiece));
  EXPECT_TRUE(std::equal(head.begin(), head.end(), data.begin()));
  ASSERT_OK(volume_->Release(fh));
  OpenVolume(o);
  ASSERT_OK_AND_ASSIGN(back, ReadFile(ino));
  EXPECT_EQ(back, data);
}

// Forwards to another ShardNetwork and records every shard range asked for.
class RecordingNetwork final : public ShardNetwork {
 public:
  struct Range {
    codec::ShardId shard{};
    uint64_t first_leaf = 0;
    uint64_t end_leaf = 0;
    uint64_t stored_bytes = 0;
  };
  explicit RecordingNetwork(ShardNetwork& inner) : inner_(inner) {}

  absl::StatusOr<std::vector<FarmerContact>> ChooseFarmers(
      ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
      std::span<const FarmerId> exclude) override {
    return inner_.ChooseFarmers(bucket_id, placement_key, count, exclude);
  }
  void PutShard(const FarmerContact& farmer, PutShardRequest request,
                PutShardCallback done) override {
    inner_.PutShard(farmer, std::move(request), std::move(done));
  }
  void GetShardRange(const FarmerContact& farmer, ByteView bucket_id,
                     const codec::StoredRangeRequest& request, GetRangeCallback done) override {
    {
      absl::MutexLock lock(&mu_);
      ranges_.push_back(
          {request.shard_id, request.leaves.begin, request.leaves.end, request.stored.size()});
    }
    inner_.GetShardRange(farmer, bucket_id, request, std::move(done));
  }
  void DeleteShard(const FarmerContact& farmer, ByteView bucket_id, const codec::ShardId& shard_id,
                   DoneCallback done) override {
    inner_.DeleteShard(farmer, bucket_id, shard_id, std::move(done));
  }

  std::vector<Range> TakeRanges() {
    absl::MutexLock lock(&mu_);
    return std::exchange(ranges_, {});
  }
  uint64_t StoredBytes() {
    absl::MutexLock lock(&mu_);
    uint64_t n = 0;
    for (const Range& r : ranges_) n += r.stored_bytes;
    return n;
  }

 private:
  ShardNetwork& inner_;
  absl::Mutex mu_;
  std::vector<Range> ranges_ ABSL_GUARDED_BY(mu_);
};

// No leaf of any shard was asked for twice, except the one leaf two consecutive windows
// share when a window boundary falls inside it.
void ExpectEachRangeOnce(std::vector<RecordingNetwork::Range> ranges) {
  ASSERT_FALSE(ranges.empty());
  std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) {
    return std::tie(a.shard, a.first_leaf) < std::tie(b.shard, b.first_leaf);
  });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const auto& a = ranges[i - 1];
    const auto& b = ranges[i];
    if (a.shard != b.shard) continue;
    EXPECT_GT(b.first_leaf, a.first_leaf) << "the same range twice";
    EXPECT_GE(b.first_leaf + 1, a.end_leaf)
        << "overlapping ranges [" << a.first_leaf << ", " << a.end_leaf << ") and [" << b.first_leaf
        << ", " << b.end_leaf << ")";
  }
}

// A file of many windows read sequentially: every shard range is fetched once (a reader never
// fetches a window a worker is fetching, and vice versa), several windows ahead of the reader
// but no more than ReadAhead::kMaxBytes, and the bytes come back intact — also when two
// threads read alternate pieces of one handle at once (the kernel's async readahead).
TEST_F(VolumeTest, SequentialReadFetchesEachShardRangeOnceAndBoundedAhead) {
  VolumeOptions o = Options();
  o.params.segment_size = 2 << 20;
  o.params.leaf_size = 16 << 10;
  o.read_cache_bytes = 0;
  OpenVolume(o);
  Bytes data = RandomBytes(rng_, 56 << 20);
  Ino ino = WriteFile("big", data);
  volume_.reset();
  RecordingNetwork recorder(network_);
  absl::Cleanup close_first = [this] { volume_.reset(); };  // before the recorder goes
  ASSERT_OK_AND_ASSIGN(volume_,
                       Volume::Open(o, VolumeEnv{&recorder, &chain_, &clock_, &random_, key_}));
  constexpr size_t kPiece = 128 << 10;

  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, ino, O_RDONLY));
  Bytes back;
  constexpr uint64_t kHead = 16 << 20;
  for (uint64_t pos = 0; pos < kHead; pos += kPiece) {
    ASSERT_OK_AND_ASSIGN(Bytes piece, volume_->Read(fh, pos, kPiece));
    Append(back, piece);
  }
  // 16 MiB read: several 8 MiB windows are fetched ahead without further reads (up to
  // 39 MiB), but no more than the 32 MiB a handle may hold (with the window being read).
  EXPECT_TRUE(Eventually([&] { return recorder.StoredBytes() >= kHead + (16u << 20); }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_LE(recorder.StoredBytes(), kHead + (33u << 20));
  for (uint64_t pos = kHead; pos < data.size(); pos += kPiece) {
    ASSERT_OK_AND_ASSIGN(Bytes piece, volume_->Read(fh, pos, kPiece));
    Append(back, piece);
  }
  EXPECT_EQ(back, data);
  ASSERT_OK(volume_->Release(fh));
  std::vector<RecordingNetwork::Range> once = recorder.TakeRanges();
  uint64_t file_stored_bytes = 0;
  for (const auto& r : once) file_stored_bytes += r.stored_bytes;
  ExpectEachRangeOnce(once);

  // Two threads take the next piece in turn, as the kernel's readahead hands its requests to
  // the FUSE threads. A thread that falls behind a window already freed reads its piece
  // directly (rare: an extra range, not a restart of the run).
  ASSERT_OK_AND_ASSIGN(fh, volume_->Open(caller_, ino, O_RDONLY));
  Bytes twice(data.size());
  std::atomic<uint64_t> next_piece{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      for (uint64_t pos; (pos = next_piece.fetch_add(1) * kPiece) < data.size();) {
        absl::StatusOr<size_t> n =
            volume_->Read(fh, pos, MutableByteView(twice).subspan(pos, kPiece));
        if (!n.ok() || *n != kPiece) ++failures;
      }
    });
  }
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(twice == data);
  ASSERT_OK(volume_->Release(fh));
  uint64_t concurrent_stored_bytes = recorder.StoredBytes();
  EXPECT_LE(concurrent_stored_bytes, file_stored_bytes + (4u << 20));
}

// With the read cache on (blocks of 768 KiB: windows of 1, 2, 4, 8 MiB end on block
// boundaries, so the blocks the windows fetch in parallel never overlap), each shard range
// is still fetched once.
TEST_F(VolumeTest, SequentialReadThroughTheCacheFetchesEachShardRangeOnce) {
  VolumeOptions o = Options();
  o.params.segment_size = 2 << 20;
  o.params.leaf_size = 16 << 10;
  o.read_cache_bytes = 64 << 20;
  o.cache_block_size = 768 << 10;
  OpenVolume(o);
  Bytes data = RandomBytes(rng_, (20 << 20) + 12345);
  Ino ino = WriteFile("big", data);
  volume_.reset();
  RecordingNetwork recorder(network_);
  absl::Cleanup close_first = [this] { volume_.reset(); };  // before the recorder goes
  ASSERT_OK_AND_ASSIGN(volume_,
                       Volume::Open(o, VolumeEnv{&recorder, &chain_, &clock_, &random_, key_}));
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_TRUE(back == data);
  ExpectEachRangeOnce(recorder.TakeRanges());
}

// The process dies while an upload is in flight (nothing committed): the shards that reached
// farmers belong to no version (the resumed upload sends new ones, under a new nonce), so the
// next Open deletes them, from the put journal, before resuming the upload.
TEST_F(VolumeTest, ShardsOfAnUploadCutByACrashAreDeletedAtTheNextOpen) {
  VolumeOptions o = Options();
  OpenVolume(o);
  for (int i = 0; i < network_.farmer_count(); ++i) network_.SetHold(i, true);
  Bytes data = RandomBytes(rng_, 3 * kSegment + 5);  // 4 segments
  Ino ino = WriteFile("f", data, /*fsync=*/false);   // uploaded at once (upload_delay 0)
  ASSERT_TRUE(Eventually([&] { return network_.HeldCount() >= 6; }));
  volume_.reset();  // gone with puts in flight and no version committed
  for (int i = 0; i < network_.farmer_count(); ++i) network_.ReleaseHeld(i);
  ASSERT_GE(network_.TotalShards(), 6u);  // the farmers stored them anyway
  const std::string journal = absl::StrCat(dir_, "/staging/", ino, ".puts");
  EXPECT_TRUE(std::filesystem::exists(journal));

  OpenVolume(o);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), /*full_redundancy=*/true));
  // Only the committed version's shards are left: 4 segments of k+m.
  const size_t n = static_cast<size_t>(o.params.total_shards());
  EXPECT_TRUE(Eventually([&] { return network_.TotalShards() == 4 * n; }))
      << network_.TotalShards();
  EXPECT_FALSE(std::filesystem::exists(journal));
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, SparseFilesReadZerosInHoles) {
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "sparse", 0644, O_CREAT | O_RDWR));
  ASSERT_OK(volume_->Write(c.fh, 50000, AsBytes("tail")).status());
  ASSERT_OK(volume_->Write(c.fh, 10, AsBytes("head")).status());
  ASSERT_OK_AND_ASSIGN(Attr a, volume_->GetAttr(c.attr.ino));
  EXPECT_EQ(a.size, 50004u);
  ASSERT_OK(volume_->Fsync(c.fh, false));
  ASSERT_OK(volume_->Release(c.fh));
  Bytes expected(50004, 0);
  std::copy_n("head", 4, expected.begin() + 10);
  std::copy_n("tail", 4, expected.begin() + 50000);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(c.attr.ino));
  EXPECT_EQ(back, expected);
}

TEST_F(VolumeTest, RandomWritesAppendsAndTruncatesMatchAModel) {
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "model", 0644, O_CREAT | O_RDWR));
  Ino ino = c.attr.ino;
  FileHandle fh = c.fh;
  Bytes model;
  for (int step = 0; step < 120; ++step) {
    uint64_t r = rng_.NextU64();
    switch (r % 8) {
      case 0:
      case 1:
      case 2: {  // write somewhere (maybe past the end)
        uint64_t off = (r >> 8) % (model.size() + 5000);
        Bytes data = RandomBytes(rng_, 1 + (r >> 24) % 9000);
        ASSERT_OK(volume_->Write(fh, off, data).status());
        if (model.size() < off + data.size()) model.resize(off + data.size(), 0);
        std::copy(data.begin(), data.end(), model.begin() + off);
        break;
      }
      case 3: {  // append through an O_APPEND handle
        ASSERT_OK_AND_ASSIGN(FileHandle ah, volume_->Open(caller_, ino, O_WRONLY | O_APPEND));
        Bytes data = RandomBytes(rng_, 1 + (r >> 8) % 3000);
        ASSERT_OK(volume_->Write(ah, 0, data).status());  // offset ignored
        Append(model, data);
        ASSERT_OK(volume_->Release(ah));
        break;
      }
      case 4: {  // truncate up or down
        uint64_t size = (r >> 8) % (model.size() * 2 + 100);
        SetAttrRequest req;
        req.size = size;
        ASSERT_OK(volume_->SetAttr(caller_, ino, req).status());
        model.resize(size, 0);
        break;
      }
      case 5:  // commit
        ASSERT_OK(volume_->Fsync(fh, false));
        break;
      case 6: {  // close and reopen (the staging file goes away once committed)
        ASSERT_OK(volume_->Release(fh));
        ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10)));
        ASSERT_OK_AND_ASSIGN(fh, volume_->Open(caller_, ino, O_RDWR));
        break;
      }
      case 7: {  // read a random range
        uint64_t off = (r >> 8) % (model.size() + 10);
        size_t len = 1 + (r >> 24) % 10000;
        ASSERT_OK_AND_ASSIGN(Bytes got, volume_->Read(fh, off, len));
        size_t expect = off >= model.size() ? 0 : std::min<size_t>(len, model.size() - off);
        ASSERT_EQ(got.size(), expect) << "step " << step;
        ASSERT_TRUE(std::equal(got.begin(), got.end(), model.begin() + off)) << "step " << step;
        break;
      }
    }
    ASSERT_OK_AND_ASSIGN(Attr a, volume_->GetAttr(ino));
    ASSERT_EQ(a.size, model.size()) << "step " << step;
  }
  ASSERT_OK(volume_->Release(fh));
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10)));
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, model);
}

TEST_F(VolumeTest, SmallFilesAreInlineWithoutShards) {
  OpenVolume();
  Bytes data = ToBytes("a small file");
  Ino ino = WriteFile("small", data);
  EXPECT_EQ(network_.TotalShards(), 0u);
  EXPECT_EQ(network_.counters().puts, 0u);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, FarmersHoldNoPlaintext) {
  OpenVolume();
  std::string marker = "GNR-PLAINTEXT-MARKER-0123456789";
  std::string text;
  while (text.size() < 40000) text += marker;
  WriteFile("secret", AsBytes(text));
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), /*full_redundancy=*/true));
  std::vector<Bytes> shards = network_.AllShardBytes();
  ASSERT_FALSE(shards.empty());
  for (const Bytes& s : shards) {
    EXPECT_EQ(AsStringView(s).find(marker.substr(0, 16)), std::string_view::npos);
  }
}

// ---------------------------------------------------------------------------------------
// Commit rules

TEST_F(VolumeTest, FsyncReturnsOnlyAfterKPlusOneAcks) {
  OpenVolume();
  for (int i = 0; i < network_.farmer_count(); ++i) network_.SetHold(i, true);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "held", 0644, O_CREAT | O_WRONLY));
  Bytes data = RandomBytes(rng_, 6000);  // one segment: each chosen farmer gets one shard
  ASSERT_OK(volume_->Write(c.fh, 0, data).status());
  std::atomic<bool> returned{false};
  absl::Status fsync_status;
  std::thread t([&] {
    fsync_status = volume_->Fsync(c.fh, false);
    returned = true;
  });
  // RS(4,2): k+1 = 5 acks are needed to commit; the sixth shard waits for the commit.
  ASSERT_TRUE(Eventually([&] { return network_.HeldCount() == 5; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(network_.HeldCount(), 5u);
  EXPECT_EQ(volume_->Stats().deferred_shards, 1u);
  // Release farmers one by one.
  int acked = 0;
  for (int i = 0; i < network_.farmer_count() && acked < 5; ++i) {
    if (network_.ShardCount(i) == 0 && network_.HeldCount() > 0) {
      size_t before = network_.HeldCount();
      network_.ReleaseHeld(i, /*stop_holding=*/false);
      acked += static_cast<int>(before - network_.HeldCount());
    }
    absl::SleepFor(absl::Milliseconds(30));
    if (acked < 5) {
      EXPECT_FALSE(returned) << "fsync returned with only " << acked << " acks";
    }
  }
  ASSERT_EQ(acked, 5);
  ASSERT_TRUE(Eventually([&] { return returned.load(); }));
  t.join();
  EXPECT_OK(fsync_status);
  // Committed: the sixth shard goes out now, and keeps going in the background.
  ASSERT_TRUE(Eventually([&] { return network_.HeldCount() == 1; }));
  EXPECT_EQ(volume_->Stats().deferred_shards, 0u);
  for (int i = 0; i < network_.farmer_count(); ++i) network_.ReleaseHeld(i);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), /*full_redundancy=*/true));
  EXPECT_EQ(network_.TotalShards(), 6u);
  ASSERT_OK(volume_->Release(c.fh));
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(c.attr.ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, WithoutDeferredShardsAllKPlusMGoOutAtOnce) {
  VolumeOptions o = Options();
  o.deferred_shard_bytes = 0;
  OpenVolume(o);
  for (int i = 0; i < network_.farmer_count(); ++i) network_.SetHold(i, true);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "held", 0644, O_CREAT | O_WRONLY));
  ASSERT_OK(volume_->Write(c.fh, 0, RandomBytes(rng_, 6000)).status());
  std::thread t([&] { EXPECT_OK(volume_->Fsync(c.fh, false)); });
  ASSERT_TRUE(Eventually([&] { return network_.HeldCount() == 6; }));
  EXPECT_EQ(volume_->Stats().deferred_shards, 0u);
  for (int i = 0; i < network_.farmer_count(); ++i) network_.ReleaseHeld(i);
  t.join();
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), /*full_redundancy=*/true));
  EXPECT_EQ(network_.TotalShards(), 6u);
  ASSERT_OK(volume_->Release(c.fh));
}

TEST_F(VolumeTest, DeferredShardsStayWithinTheirMemoryBound) {
  VolumeOptions o = Options();
  o.segments_in_flight = 4;
  const uint64_t stored = codec::StoredShardLength(o.params, codec::ShardLength(kSegment, 4));
  o.deferred_shard_bytes = 2 * stored;  // room for two of the four segments' sixth shards
  OpenVolume(o);
  for (int i = 0; i < network_.farmer_count(); ++i) network_.SetHold(i, true);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "big", 0644, O_CREAT | O_WRONLY));
  Bytes data = RandomBytes(rng_, 4 * kSegment);
  ASSERT_OK(volume_->Write(c.fh, 0, data).status());
  std::atomic<bool> returned{false};
  std::thread t([&] {
    EXPECT_OK(volume_->Fsync(c.fh, false));
    returned = true;
  });
  // 4 x 5 quorum shards, plus the sixth shards of the two oldest segments, put to make room.
  ASSERT_TRUE(Eventually([&] { return network_.HeldCount() == 22; }));
  VolumeStats stats = volume_->Stats();
  EXPECT_EQ(stats.deferred_shards, 2u);
  EXPECT_EQ(stats.deferred_shard_bytes, 2 * stored);
  EXPECT_FALSE(returned);
  for (int i = 0; i < network_.farmer_count(); ++i) network_.ReleaseHeld(i);
  t.join();
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), /*full_redundancy=*/true));
  EXPECT_EQ(network_.TotalShards(), 24u);
  EXPECT_EQ(volume_->Stats().deferred_shard_bytes, 0u);
  ASSERT_OK(volume_->Release(c.fh));
  OpenVolume(o);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(c.attr.ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, DeferredShardsOfAFailedUploadAreNeverSent) {
  OpenVolume();
  // 4 of the 8 farmers down: 4 shards at most are acked, short of k+1, so the upload fails
  // and the shards it had held back are dropped with it.
  for (int i = 0; i < 4; ++i) network_.SetDown(i, true);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "doomed", 0644, O_CREAT | O_WRONLY));
  ASSERT_OK(volume_->Write(c.fh, 0, RandomBytes(rng_, 6000)).status());
  EXPECT_FALSE(volume_->Fsync(c.fh, false).ok());
  EXPECT_EQ(volume_->Stats().deferred_shards, 0u);
  EXPECT_EQ(volume_->Stats().deferred_shard_bytes, 0u);
  ASSERT_OK(volume_->Release(c.fh));
}

TEST_F(VolumeTest, FailedFarmersAreReplacedBySpares) {
  OpenVolume();
  network_.SetDown(0, true);
  network_.SetDown(3, true);
  network_.FailNextPuts(5, 100);
  Bytes data = RandomBytes(rng_, 3 * kSegment + 17);
  Ino ino = WriteFile("spares", data);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), true));
  EXPECT_EQ(network_.ShardCount(0), 0u);
  EXPECT_EQ(network_.ShardCount(3), 0u);
  EXPECT_EQ(network_.ShardCount(5), 0u);
  // 5 farmers left for 6 shards per segment: each segment has at least k+1.
  EXPECT_GE(network_.TotalShards(), 4u * 5);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, FsyncFailsWithEioWhenTooFewFarmersAndRetriesLater) {
  OpenVolume();
  for (int i = 0; i < 4; ++i) network_.SetDown(i, true);  // 4 left < k+1
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "f", 0644, O_CREAT | O_RDWR));
  Bytes data = RandomBytes(rng_, 20000);
  ASSERT_OK(volume_->Write(c.fh, 0, data).status());
  absl::Status s = volume_->Fsync(c.fh, false);
  EXPECT_EQ(Errno(s), EIO) << s;
  // Still readable: the staging file is the truth.
  ASSERT_OK_AND_ASSIGN(Bytes back, volume_->Read(c.fh, 0, data.size()));
  EXPECT_EQ(back, data);
  EXPECT_FALSE(volume_->PendingUploads().empty());
  for (int i = 0; i < 4; ++i) network_.SetDown(i, false);
  clock_.Advance(absl::Minutes(5));  // past the retry backoff
  EXPECT_OK(volume_->Fsync(c.fh, false));
  ASSERT_OK(volume_->Release(c.fh));
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(back, ReadFile(c.attr.ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, AFileStillBeingWrittenIsUploadedLessAndLessOften) {
  VolumeOptions o = Options();
  o.max_dirty_time = absl::Seconds(30);
  OpenVolume(o);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "grows", 0644, O_CREAT | O_WRONLY));
  const Ino ino = c.attr.ino;
  auto pending = [&] {
    for (const PendingUpload& p : volume_->PendingUploads()) {
      if (p.ino == ino && !p.committed) return true;
    }
    return false;
  };
  uint64_t end = 0;
  auto write_more = [&] {
    ASSERT_OK(volume_->Write(c.fh, end, RandomBytes(rng_, 10000)).status());
    end += 10000;
  };
  // Each upload of a file still open sends all of it again: the timed uploads come after
  // 30 s, then 60 s, then 120 s of being dirty.
  for (absl::Duration wait : {absl::Seconds(30), absl::Seconds(60), absl::Seconds(120)}) {
    write_more();
    clock_.Advance(wait - absl::Seconds(1));
    absl::SleepFor(absl::Milliseconds(300));  // the workers look at least every 100 ms
    EXPECT_TRUE(pending()) << "uploaded before " << wait;
    clock_.Advance(absl::Seconds(2));
    EXPECT_TRUE(Eventually([&] { return !pending(); })) << "not uploaded after " << wait;
  }
  // Once the writer closed, the next writer starts at 30 s again.
  ASSERT_OK(volume_->Release(c.fh));
  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, ino, O_WRONLY));
  c.fh = fh;
  write_more();
  clock_.Advance(absl::Seconds(31));
  EXPECT_TRUE(Eventually([&] { return !pending(); }));
  ASSERT_OK(volume_->Release(c.fh));
}

TEST_F(VolumeTest, ACommitWakesUploadsWaitingOutAFailureBackoff) {
  VolumeOptions o = Options();
  o.retry_delay = absl::Minutes(1);  // the fake clock never gets there in this test
  OpenVolume(o);
  for (int i = 0; i < 4; ++i) network_.SetDown(i, true);  // 2 left < k+1
  Bytes a_data = RandomBytes(rng_, 20000);
  Ino a = WriteFile("a", a_data, /*fsync=*/false);
  // Its first attempt fails for want of farmers; the retry is due a minute later.
  bool failed = false;
  for (int i = 0; i < 500 && !failed; ++i) {
    for (const PendingUpload& p : volume_->PendingUploads()) {
      failed |= p.ino == a && p.state.starts_with("retrying");
    }
    if (!failed) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(failed);

  // The farmers are back and another file commits: "a" goes at once, not after its backoff.
  for (int i = 0; i < 4; ++i) network_.SetDown(i, false);
  Bytes b_data = RandomBytes(rng_, 30000);
  Ino b = WriteFile("b", b_data, /*fsync=*/true);
  // (Not WaitForUploads: it would start every pending upload itself.)
  bool a_committed = false;
  for (int i = 0; i < 1000 && !a_committed; ++i) {
    a_committed = true;
    for (const PendingUpload& p : volume_->PendingUploads()) {
      a_committed &= !(p.ino == a && !p.committed);
    }
    if (!a_committed) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(a_committed);
  OpenVolume(o);
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(a));
  EXPECT_EQ(back, a_data);
  ASSERT_OK_AND_ASSIGN(back, ReadFile(b));
  EXPECT_EQ(back, b_data);
}

TEST_F(VolumeTest, RestartResumesPendingUploads) {
  OpenVolume();
  for (int i = 0; i < network_.farmer_count(); ++i) network_.SetHold(i, true);
  Bytes big = RandomBytes(rng_, 20000);
  Bytes small = ToBytes("small but pending");
  Ino a = WriteFile("big", big, /*fsync=*/false);
  Ino b;
  {
    // The inline file commits without farmers; hold it back by keeping it open.
    ASSERT_OK_AND_ASSIGN(CreateResult c,
                         volume_->Create(caller_, kRootIno, "small", 0644, O_CREAT | O_WRONLY));
    ASSERT_OK(volume_->Write(c.fh, 0, small).status());
    b = c.attr.ino;
    ASSERT_OK(volume_->Flush(c.fh));
    // "Crash": the volume goes away with the handle open and the upload stuck.
    volume_.reset();
  }
  for (int i = 0; i < network_.farmer_count(); ++i) network_.ReleaseHeld(i);
  OpenVolume();
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10)));
  EXPECT_TRUE(volume_->PendingUploads().empty());
  // Remount again so the content must come from the network.
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(a));
  EXPECT_EQ(back, big);
  ASSERT_OK_AND_ASSIGN(back, ReadFile(b));
  EXPECT_EQ(back, small);
}

// ---------------------------------------------------------------------------------------
// Reads under faults

TEST_F(VolumeTest, ReadsSurviveLossOfMFarmersAndCorruption) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 5 * kSegment + 1234);
  Ino ino = WriteFile("precious", data);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), true));
  // Lose two farmers holding shards, and make a third one lie.
  std::vector<int> holders;
  for (int i = 0; i < network_.farmer_count(); ++i) {
    if (network_.ShardCount(i) > 0) holders.push_back(i);
  }
  ASSERT_GE(holders.size(), 6u);
  network_.WipeFarmer(holders[0]);
  network_.SetDown(holders[1], true);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, data);
  // A corrupting farmer on top of two lost ones exceeds m for some segment: EIO, never
  // wrong bytes.
  network_.SetCorrupt(holders[2], true);
  OpenVolume();
  absl::StatusOr<Bytes> bad = ReadFile(ino);
  if (!bad.ok()) {
    EXPECT_EQ(Errno(bad), EIO) << bad.status();
  } else {
    EXPECT_EQ(*bad, data);
  }
  network_.SetDown(holders[1], false);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(back, ReadFile(ino));
  EXPECT_EQ(back, data);
}

TEST_F(VolumeTest, SlowFarmerIsCutFromReads) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 6000);
  Ino ino = WriteFile("f", data);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), true));
  int slow = -1;
  for (int i = 0; i < network_.farmer_count() && slow < 0; ++i) {
    if (network_.ShardCount(i) > 0) slow = i;
  }
  network_.SetDelay(slow, absl::Seconds(3));
  OpenVolume();
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, data);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  network_.SetDelay(slow, absl::ZeroDuration());
}

// ---------------------------------------------------------------------------------------
// Deletes and space

TEST_F(VolumeTest, UnlinkAndReplaceFreeShardsAndSpace) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 2 * kSegment + 5);
  Ino ino = WriteFile("doomed", data);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), true));
  EXPECT_EQ(network_.TotalShards(), 3u * 6);
  uint64_t used = volume_->Stats().used_stored_bytes;
  EXPECT_EQ(used, StoredBytesFor(Options().params, data.size()));
  EXPECT_EQ(used, network_.TotalStoredBytes());

  // Rewriting replaces the version: the old shards go.
  Bytes data2 = RandomBytes(rng_, kSegment + 5);
  WriteFile("doomed", data2);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), true));
  EXPECT_TRUE(Eventually([&] { return network_.TotalShards() == 2u * 6; }));
  EXPECT_TRUE(Eventually([&] {
    return volume_->Stats().used_stored_bytes == StoredBytesFor(Options().params, data2.size());
  }));
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(back, data2);

  ASSERT_OK(volume_->Unlink(kRootIno, "doomed"));
  EXPECT_EQ(Errno(volume_->Lookup(kRootIno, "doomed")), ENOENT);
  EXPECT_TRUE(Eventually([&] { return network_.TotalShards() == 0; }));
  EXPECT_TRUE(Eventually([&] { return volume_->Stats().used_stored_bytes == 0; }));
}

TEST_F(VolumeTest, WritesBeyondTheBucketFailWithEnospc) {
  Bytes data = RandomBytes(rng_, 30000);
  BucketInfo info;
  info.size_bytes = StoredBytesFor(Options().params, 30000);
  chain_.SetBucket(bucket_, info);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "big", 0644, O_CREAT | O_WRONLY));
  ASSERT_OK(volume_->Write(c.fh, 0, data).status());
  absl::StatusOr<size_t> w = volume_->Write(c.fh, data.size(), Bytes(20000, 1));
  EXPECT_EQ(Errno(w), ENOSPC) << w.status();
  SetAttrRequest grow;
  grow.size = 200000;
  EXPECT_EQ(Errno(volume_->SetAttr(caller_, c.attr.ino, grow)), ENOSPC);
  ASSERT_OK(volume_->Fsync(c.fh, false));
  ASSERT_OK(volume_->Release(c.fh));
  ASSERT_OK_AND_ASSIGN(FsStats fs, volume_->StatFs());
  EXPECT_EQ(fs.blocks_free, 0u);
  EXPECT_GT(fs.blocks, 0u);
  // Once the file is gone the space is back.
  ASSERT_OK(volume_->Unlink(kRootIno, "big"));
  EXPECT_TRUE(Eventually([&] { return volume_->Stats().used_stored_bytes == 0; }));
  WriteFile("again", data);

  // An expired bucket takes no more data.
  info.size_bytes = uint64_t{1} << 30;
  info.end = clock_.Now() - absl::Hours(1);
  chain_.SetBucket(bucket_, info);
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(c, volume_->Create(caller_, kRootIno, "late", 0644, O_CREAT | O_WRONLY));
  EXPECT_EQ(Errno(volume_->Write(c.fh, 0, AsBytes("x"))), ENOSPC);
  ASSERT_OK(volume_->Release(c.fh));
}

TEST_F(VolumeTest, UnlinkedOpenFileLivesUntilReleased) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 20000);
  Ino ino = WriteFile("open", data);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10), true));
  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, ino, O_RDWR));
  ASSERT_OK(volume_->Unlink(kRootIno, "open"));
  ASSERT_OK_AND_ASSIGN(Bytes back, volume_->Read(fh, 0, data.size()));
  EXPECT_EQ(back, data);
  ASSERT_OK(volume_->Write(fh, 0, AsBytes("changed")).status());
  ASSERT_OK_AND_ASSIGN(back, volume_->Read(fh, 0, 7));
  EXPECT_EQ(AsStringView(back), "changed");
  EXPECT_OK(volume_->Fsync(fh, false));
  ASSERT_OK_AND_ASSIGN(Attr a, volume_->GetAttr(ino));
  EXPECT_EQ(a.nlink, 0u);
  EXPECT_GT(network_.TotalShards(), 0u);
  ASSERT_OK(volume_->Release(fh));
  EXPECT_EQ(Errno(volume_->GetAttr(ino)), ENOENT);
  EXPECT_TRUE(Eventually([&] { return network_.TotalShards() == 0; }));
}

// ---------------------------------------------------------------------------------------
// Full segments put while the file is being written (VolumeOptions::upload_while_writing)

class EarlySegmentsTest : public VolumeTest {
 protected:
  // Writes `data` sequentially to a new file in 1000-byte pieces; returns the open handle.
  FileHandle WriteOpen(std::string_view name, ByteView data) {
    absl::StatusOr<CreateResult> c =
        volume_->Create(caller_, kRootIno, name, 0644, O_CREAT | O_WRONLY | O_TRUNC);
    EXPECT_TRUE(c.ok()) << c.status();
    for (size_t pos = 0; c.ok() && pos < data.size(); pos += 1000) {
      size_t n = std::min<size_t>(1000, data.size() - pos);
      EXPECT_OK(volume_->Write(c->fh, pos, data.subspan(pos, n)).status());
    }
    return c.ok() ? c->fh : 0;
  }
  // Waits until the farmers hold `segments` full segments' shards.
  bool SegmentsOnFarmers(size_t segments) {
    const size_t n = Options().params.total_shards();
    return Eventually([&] { return network_.TotalShards() == segments * n; });
  }
  // Waits until the farmers hold k+1 shards of each of `segments` segments sent ahead: the
  // rest are held back until the file commits (VolumeOptions::deferred_shard_bytes).
  bool QuorumsOnFarmers(size_t segments) {
    const size_t quorum = Options().params.data_shards + 1;
    return Eventually([&] {
      return network_.TotalShards() == segments * quorum &&
             volume_->Stats().deferred_shards ==
                 segments * (Options().params.total_shards() - quorum);
    });
  }
  // The farmers end up holding exactly the committed version of `path` (void shards are
  // deleted), and it reads back as `data` with the cache dropped.
  void ExpectCommittedExactly(std::string_view path, const Bytes& data) {
    EXPECT_TRUE(Eventually([&] {
      return network_.TotalStoredBytes() == StoredBytesFor(Options().params, data.size());
    }));
    volume_->DropCachedContent();
    absl::StatusOr<Attr> a = volume_->LookupPath(path);
    ASSERT_TRUE(a.ok()) << a.status();
    absl::StatusOr<Bytes> back = ReadFile(a->ino);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, data);
  }
};

TEST_F(EarlySegmentsTest, SequentialWriteSendsFullSegmentsBeforeFsync) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 5 * kSegment + 3000);
  FileHandle fh = WriteOpen("big", data);
  // The five full segments reach the farmers while the file is still open and unsynced
  // (k+1 shards of each; the others go out once the file commits).
  EXPECT_TRUE(QuorumsOnFarmers(5));
  EXPECT_EQ(volume_->Stats().early_segments_adopted, 0u);
  ASSERT_OK(volume_->Fsync(fh, false));
  ASSERT_OK(volume_->Release(fh));
  VolumeStats stats = volume_->Stats();
  EXPECT_EQ(stats.early_segments_adopted, 5u);
  EXPECT_EQ(stats.early_segments_discarded, 0u);
  // Only the tail was encoded at fsync; nothing was sent twice.
  EXPECT_TRUE(SegmentsOnFarmers(6));
  ExpectCommittedExactly("/big", data);
  ASSERT_OK_AND_ASSIGN(Attr a, volume_->LookupPath("/big"));
  // A remount reads the same bytes from the farmers.
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes again, ReadFile(a.ino));
  EXPECT_EQ(again, data);
}

TEST_F(EarlySegmentsTest, RewritingASegmentSentAheadVoidsItAndTheLaterOnes) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 4 * kSegment);
  FileHandle fh = WriteOpen("f", data);
  ASSERT_TRUE(QuorumsOnFarmers(4));
  // Change one byte of segment 1: all four sent ahead are void (segment 1 encoded again
  // under their nonce would reuse its keystream); they start over under a new nonce.
  data[kSegment + 17] ^= 0xff;
  ASSERT_OK(volume_->Write(fh, kSegment + 17, ByteView(data).subspan(kSegment + 17, 1)).status());
  ASSERT_OK(volume_->Fsync(fh, false));
  ASSERT_OK(volume_->Release(fh));
  VolumeStats stats = volume_->Stats();
  EXPECT_GE(stats.early_segments_discarded, 4u);
  EXPECT_LE(stats.early_segments_adopted, 4u);
  ExpectCommittedExactly("/f", data);
}

TEST_F(EarlySegmentsTest, TruncatingBelowSegmentsSentAheadVoidsThem) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 4 * kSegment);
  FileHandle fh = WriteOpen("t", data);
  ASSERT_TRUE(QuorumsOnFarmers(4));
  SetAttrRequest req;
  req.size = kSegment + kSegment / 2;
  ASSERT_OK_AND_ASSIGN(Attr a, volume_->LookupPath("/t"));
  ASSERT_OK(volume_->SetAttr(caller_, a.ino, req, fh).status());
  ASSERT_OK(volume_->Fsync(fh, false));
  ASSERT_OK(volume_->Release(fh));
  data.resize(*req.size);
  EXPECT_EQ(volume_->Stats().early_segments_adopted, 0u);
  EXPECT_EQ(volume_->Stats().early_segments_discarded, 4u);
  ExpectCommittedExactly("/t", data);
}

TEST_F(EarlySegmentsTest, AFileMadeBigFirstIsSentAsTheWriterFillsItIn) {
  OpenVolume();
  // As download tools do: set the final size, then write from the start.
  Bytes data = RandomBytes(rng_, 4 * kSegment);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "pre", 0644, O_CREAT | O_WRONLY));
  SetAttrRequest req;
  req.size = data.size();
  ASSERT_OK(volume_->SetAttr(caller_, c.attr.ino, req, c.fh).status());
  for (size_t pos = 0; pos < data.size(); pos += 1000) {
    size_t n = std::min<size_t>(1000, data.size() - pos);
    ASSERT_OK(volume_->Write(c.fh, pos, ByteView(data).subspan(pos, n)).status());
    // A slow writer: a worker that took the size for the frontier would encode (and then
    // void) the half-written segment here. Timing only makes such a bug show; the test
    // passes whatever the timing when there is none.
    if (pos % kSegment == 0) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(QuorumsOnFarmers(4));
  ASSERT_OK(volume_->Fsync(c.fh, false));
  ASSERT_OK(volume_->Release(c.fh));
  // Never encoded before the writer was past it: nothing sent twice.
  EXPECT_EQ(volume_->Stats().early_segments_adopted, 4u);
  EXPECT_EQ(volume_->Stats().early_segments_discarded, 0u);
  ExpectCommittedExactly("/pre", data);
}

TEST_F(EarlySegmentsTest, UnlinkDeletesSegmentsSentAhead) {
  OpenVolume();
  Bytes data = RandomBytes(rng_, 3 * kSegment);
  FileHandle fh = WriteOpen("doomed", data);
  ASSERT_TRUE(QuorumsOnFarmers(3));
  ASSERT_OK(volume_->Unlink(kRootIno, "doomed"));
  ASSERT_OK(volume_->Release(fh));
  EXPECT_TRUE(Eventually([&] { return network_.TotalShards() == 0; }));
  EXPECT_TRUE(volume_->PendingUploads().empty());
  EXPECT_EQ(volume_->Stats().deferred_shards, 0u);  // the held-back ones are dropped
}

TEST_F(EarlySegmentsTest, WithoutUploadWhileWritingNothingIsSentBeforeFsync) {
  VolumeOptions o = Options();
  o.upload_while_writing = false;
  OpenVolume(o);
  Bytes data = RandomBytes(rng_, 3 * kSegment + 5);
  FileHandle fh = WriteOpen("lazy", data);
  EXPECT_EQ(network_.counters().puts, 0u);
  ASSERT_OK(volume_->Fsync(fh, false));
  ASSERT_OK(volume_->Release(fh));
  EXPECT_EQ(volume_->Stats().early_segments_adopted, 0u);
  ExpectCommittedExactly("/lazy", data);
}

TEST_F(VolumeTest, UnlinkWakesAWaitingFsync) {
  OpenVolume();
  for (int i = 0; i < network_.farmer_count(); ++i) network_.SetHold(i, true);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "gone", 0644, O_CREAT | O_WRONLY));
  ASSERT_OK(volume_->Write(c.fh, 0, RandomBytes(rng_, 9000)).status());
  absl::Status fsync_status = absl::UnknownError("not run");
  std::thread t([&] { fsync_status = volume_->Fsync(c.fh, false); });
  ASSERT_TRUE(Eventually([&] { return network_.HeldCount() > 0; }));
  ASSERT_OK(volume_->Unlink(kRootIno, "gone"));
  t.join();
  EXPECT_OK(fsync_status);
  ASSERT_OK(volume_->Release(c.fh));
  for (int i = 0; i < network_.farmer_count(); ++i) network_.ReleaseHeld(i);
  // Shards acked for the abandoned upload are deleted again.
  EXPECT_TRUE(Eventually([&] { return network_.TotalShards() == 0; }));
  EXPECT_TRUE(volume_->PendingUploads().empty());
}

TEST_F(VolumeTest, RenameOverAnOpenFile) {
  OpenVolume();
  Bytes a = RandomBytes(rng_, 9000), b = RandomBytes(rng_, 12000);
  Ino ia = WriteFile("a", a);
  Ino ib = WriteFile("b", b);
  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, ib, O_RDONLY));
  ASSERT_OK(volume_->Rename(kRootIno, "a", kRootIno, "b"));
  ASSERT_OK_AND_ASSIGN(Attr now_b, volume_->Lookup(kRootIno, "b"));
  EXPECT_EQ(now_b.ino, ia);
  ASSERT_OK_AND_ASSIGN(Bytes old, volume_->Read(fh, 0, b.size()));
  EXPECT_EQ(old, b);
  ASSERT_OK(volume_->Release(fh));
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ia));
  EXPECT_EQ(back, a);
  EXPECT_TRUE(Eventually(
      [&] { return network_.TotalStoredBytes() == StoredBytesFor(Options().params, a.size()); }));
  EXPECT_EQ(Errno(volume_->Rename(kRootIno, "b", kRootIno, "c", 4)), ENOTSUP);
}

// ---------------------------------------------------------------------------------------
// Namespace and attributes

TEST_F(VolumeTest, OpenFlags) {
  OpenVolume();
  WriteFile("x", AsBytes("hello world"));
  EXPECT_EQ(Errno(volume_->Create(caller_, kRootIno, "x", 0644, O_CREAT | O_EXCL | O_WRONLY)),
            EEXIST);
  // O_CREAT without O_EXCL opens the existing file.
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "x", 0644, O_CREAT | O_RDWR));
  ASSERT_OK_AND_ASSIGN(Bytes got, volume_->Read(c.fh, 0, 100));
  EXPECT_EQ(AsStringView(got), "hello world");
  ASSERT_OK(volume_->Release(c.fh));
  // Read-only and write-only handles.
  ASSERT_OK_AND_ASSIGN(FileHandle ro, volume_->Open(caller_, c.attr.ino, O_RDONLY));
  EXPECT_EQ(Errno(volume_->Write(ro, 0, AsBytes("x"))), EBADF);
  ASSERT_OK(volume_->Release(ro));
  ASSERT_OK_AND_ASSIGN(FileHandle wo, volume_->Open(caller_, c.attr.ino, O_WRONLY | O_APPEND));
  EXPECT_EQ(Errno(volume_->Read(wo, 0, 1)), EBADF);
  ASSERT_OK(volume_->Write(wo, 0, AsBytes("!")).status());
  ASSERT_OK(volume_->Release(wo));
  ASSERT_OK_AND_ASSIGN(got, ReadFile(c.attr.ino));
  EXPECT_EQ(AsStringView(got), "hello world!");
  // O_TRUNC empties it.
  ASSERT_OK_AND_ASSIGN(FileHandle tr, volume_->Open(caller_, c.attr.ino, O_WRONLY | O_TRUNC));
  ASSERT_OK_AND_ASSIGN(Attr a, volume_->GetAttr(c.attr.ino));
  EXPECT_EQ(a.size, 0u);
  ASSERT_OK(volume_->Release(tr));
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10)));
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(got, ReadFile(c.attr.ino));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Errno(volume_->Release(12345)), EBADF);
}

TEST_F(VolumeTest, DirectoriesLinksAndSpecialFiles) {
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Attr d, volume_->Mkdir(caller_, kRootIno, "dir", 0755));
  EXPECT_EQ(d.mode & S_IFMT, static_cast<uint32_t>(S_IFDIR));
  EXPECT_EQ(d.uid, 1000u);
  EXPECT_EQ(Errno(volume_->Mkdir(caller_, kRootIno, "dir", 0755)), EEXIST);
  ASSERT_OK_AND_ASSIGN(CreateResult f,
                       volume_->Create(caller_, d.ino, "f", 0600, O_CREAT | O_WRONLY));
  ASSERT_OK(volume_->Release(f.fh));
  EXPECT_EQ(Errno(volume_->Rmdir(kRootIno, "dir")), ENOTEMPTY);
  EXPECT_EQ(Errno(volume_->Unlink(kRootIno, "dir")), EISDIR);

  ASSERT_OK_AND_ASSIGN(Attr l, volume_->Link(f.attr.ino, kRootIno, "hard"));
  EXPECT_EQ(l.nlink, 2u);
  EXPECT_EQ(Errno(volume_->Link(d.ino, kRootIno, "dirlink")), EPERM);
  ASSERT_OK_AND_ASSIGN(Attr s, volume_->Symlink(caller_, "dir/f", kRootIno, "sym"));
  EXPECT_EQ(s.mode & S_IFMT, static_cast<uint32_t>(S_IFLNK));
  ASSERT_OK_AND_ASSIGN(std::string target, volume_->Readlink(s.ino));
  EXPECT_EQ(target, "dir/f");
  EXPECT_EQ(Errno(volume_->Readlink(d.ino)), EINVAL);

  ASSERT_OK_AND_ASSIGN(Attr fifo, volume_->Mknod(caller_, kRootIno, "fifo", S_IFIFO | 0644, 0));
  EXPECT_EQ(fifo.mode & S_IFMT, static_cast<uint32_t>(S_IFIFO));
  EXPECT_EQ(Errno(volume_->Mknod(caller_, kRootIno, "dev", S_IFCHR | 0644, 0x0101)), EPERM);
  Caller root{0, 0, 1};
  ASSERT_OK_AND_ASSIGN(Attr dev, volume_->Mknod(root, kRootIno, "dev", S_IFCHR | 0644, 0x0101));
  EXPECT_EQ(dev.rdev, 0x0101u);

  // Listing with cookies, in pieces.
  ASSERT_OK_AND_ASSIGN(DirHandle dh, volume_->OpenDir(kRootIno));
  std::vector<std::string> names;
  uint64_t cookie = 0;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> page, volume_->ReadDir(dh, cookie, 2, true));
    if (page.empty()) break;
    for (const DirEntry& e : page) {
      names.push_back(e.name);
      EXPECT_EQ(e.attr.has_value(), e.name != "." && e.name != "..");
      cookie = e.next_cookie;
    }
  }
  ASSERT_OK(volume_->ReleaseDir(dh));
  EXPECT_THAT(names, UnorderedElementsAre(".", "..", "dir", "hard", "sym", "fifo", "dev"));
  EXPECT_EQ(Errno(volume_->OpenDir(f.attr.ino)), ENOTDIR);

  ASSERT_OK(volume_->Unlink(d.ino, "f"));
  ASSERT_OK_AND_ASSIGN(l, volume_->GetAttr(f.attr.ino));
  EXPECT_EQ(l.nlink, 1u);
  ASSERT_OK(volume_->Rmdir(kRootIno, "dir"));
  ASSERT_OK_AND_ASSIGN(Attr p, volume_->LookupPath("/hard"));
  EXPECT_EQ(p.ino, f.attr.ino);
  EXPECT_EQ(Errno(volume_->LookupPath("/dir/f")), ENOENT);
}

TEST_F(VolumeTest, SetAttrChangesModeOwnerAndTimes) {
  OpenVolume();
  Ino ino = WriteFile("t", AsBytes("0123456789"));
  SetAttrRequest req;
  req.mode = 0600;
  req.uid = 5;
  req.gid = 6;
  req.atime = TimeChange::At(absl::FromUnixNanos(1'000'000'123));
  req.mtime = TimeChange::At(absl::FromUnixNanos(2'000'000'456));
  ASSERT_OK_AND_ASSIGN(Attr a, volume_->SetAttr(caller_, ino, req));
  EXPECT_EQ(a.mode, static_cast<uint32_t>(S_IFREG | 0600));
  EXPECT_EQ(a.uid, 5u);
  EXPECT_EQ(a.gid, 6u);
  EXPECT_EQ(a.atime, absl::FromUnixNanos(1'000'000'123));
  EXPECT_EQ(a.mtime, absl::FromUnixNanos(2'000'000'456));
  clock_.Advance(absl::Seconds(3));
  SetAttrRequest now;
  now.mtime = TimeChange::Now();
  ASSERT_OK_AND_ASSIGN(a, volume_->SetAttr(caller_, ino, now));
  EXPECT_EQ(a.mtime, clock_.Now());
  // Writes move mtime and ctime; a utimens after them survives the commit.
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, ino, O_RDWR));
  ASSERT_OK(volume_->Write(fh, 10, AsBytes("abc")).status());
  ASSERT_OK_AND_ASSIGN(a, volume_->GetAttr(ino));
  EXPECT_EQ(a.mtime, clock_.Now());
  EXPECT_EQ(a.ctime, clock_.Now());
  EXPECT_EQ(a.size, 13u);
  SetAttrRequest old_times;
  old_times.mtime = TimeChange::At(absl::FromUnixSeconds(1000));
  ASSERT_OK(volume_->SetAttr(caller_, ino, old_times).status());
  ASSERT_OK(volume_->Fsync(fh, false));
  ASSERT_OK(volume_->Release(fh));
  ASSERT_OK_AND_ASSIGN(a, volume_->GetAttr(ino));
  EXPECT_EQ(a.mtime, absl::FromUnixSeconds(1000));
  EXPECT_EQ(a.size, 13u);
  // Truncate a committed file down: the staging file is filled from the network first.
  SetAttrRequest cut;
  cut.size = 4;
  ASSERT_OK_AND_ASSIGN(a, volume_->SetAttr(caller_, ino, cut));
  EXPECT_EQ(a.size, 4u);
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(10)));
  OpenVolume();
  ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
  EXPECT_EQ(AsStringView(back), "0123");
}

TEST_F(VolumeTest, XattrsAndStatFs) {
  OpenVolume();
  Ino ino = WriteFile("x", AsBytes("x"));
  ASSERT_OK(volume_->SetXattr(ino, "user.a", AsBytes("1"), 0));
  EXPECT_EQ(Errno(volume_->SetXattr(ino, "user.a", AsBytes("2"), kXattrCreate)), EEXIST);
  EXPECT_EQ(Errno(volume_->SetXattr(ino, "user.b", AsBytes("2"), kXattrReplace)), ENODATA);
  ASSERT_OK_AND_ASSIGN(Bytes v, volume_->GetXattr(ino, "user.a"));
  EXPECT_EQ(AsStringView(v), "1");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, volume_->ListXattr(ino));
  EXPECT_THAT(names, ElementsAre("user.a"));
  ASSERT_OK(volume_->RemoveXattr(ino, "user.a"));
  EXPECT_EQ(Errno(volume_->GetXattr(ino, "user.a")), ENODATA);

  ASSERT_OK_AND_ASSIGN(FsStats fs, volume_->StatFs());
  EXPECT_EQ(fs.block_size, 4096u);
  // 1 GiB bought under RS(4,2) holds 2/3 GiB of plaintext.
  EXPECT_EQ(fs.blocks, (uint64_t{1} << 30) * 4 / 6 / 4096);
  EXPECT_LE(fs.blocks_free, fs.blocks);
  EXPECT_EQ(fs.name_max, 255u);
}

TEST_F(VolumeTest, SecondVolumeOnTheSameStateDirIsRefused) {
  OpenVolume();
  absl::StatusOr<std::unique_ptr<Volume>> second =
      Volume::Open(Options(), VolumeEnv{&network_, &chain_, &clock_, &random_, key_});
  EXPECT_STATUS(second, absl::StatusCode::kFailedPrecondition);
}

TEST_F(VolumeTest, ConcurrentWritersOnManyFiles) {
  OpenVolume();
  constexpr int kThreads = 4, kFiles = 6;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<Ino, Bytes>>> written(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      crypto::DeterministicRandom rng(100 + t);
      for (int i = 0; i < kFiles; ++i) {
        Bytes data = rng.Generate(1000 + (rng.NextU64() % 30000));
        Ino ino = WriteFile(absl::StrCat("t", t, "-", i), data, /*fsync=*/i % 2 == 0);
        written[t].emplace_back(ino, std::move(data));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_OK(volume_->WaitForUploads(absl::Seconds(20)));
  OpenVolume();
  for (const auto& files : written) {
    for (const auto& [ino, data] : files) {
      ASSERT_OK_AND_ASSIGN(Bytes back, ReadFile(ino));
      EXPECT_EQ(back, data);
    }
  }
}

// Not a timing assertion: prints rates with the default parameters (64 MiB segments,
// RS(4,2)) over the in-memory network. Run with --gtest_also_run_disabled_tests.
TEST_F(VolumeTest, DISABLED_ThroughputWithDefaultParameters) {
  VolumeOptions o = Options();
  o.params = codec::CodecParams();
  o.read_cache_bytes = 0;
  OpenVolume(o);
  constexpr size_t kSize = 256 << 20;
  Bytes chunk = RandomBytes(rng_, 1 << 20);
  ASSERT_OK_AND_ASSIGN(CreateResult c,
                       volume_->Create(caller_, kRootIno, "big", 0644, O_CREAT | O_WRONLY));
  absl::Time start = absl::Now();
  for (size_t pos = 0; pos < kSize; pos += chunk.size()) {
    ASSERT_OK(volume_->Write(c.fh, pos, chunk).status());
  }
  absl::Time written = absl::Now();
  ASSERT_OK(volume_->Fsync(c.fh, false));
  absl::Time committed = absl::Now();
  ASSERT_OK(volume_->Release(c.fh));
  OpenVolume(o);
  ASSERT_OK_AND_ASSIGN(FileHandle fh, volume_->Open(caller_, c.attr.ino, O_RDONLY));
  absl::Time read_start = absl::Now();
  for (size_t pos = 0; pos < kSize; pos += 128 << 10) {
    ASSERT_OK_AND_ASSIGN(Bytes got, volume_->Read(fh, pos, 128 << 10));
    ASSERT_EQ(got.size(), size_t{128} << 10);
  }
  absl::Time read_end = absl::Now();
  ASSERT_OK(volume_->Release(fh));
  auto rate = [](absl::Duration d) { return kSize / absl::ToDoubleSeconds(d) / 1e6; };
  std::printf("staging writes %.0f MB/s, write+commit %.0f MB/s, cold 128 KiB reads %.0f MB/s\n",
              rate(written - start), rate(committed - start), rate(read_end - read_start));
}

TEST(SpaceTest, StoredBytesMatchTheEncoder) {
  codec::CodecParams p;
  p.segment_size = kSegment;
  p.leaf_size = 512;
  EXPECT_EQ(StoredBytesFor(p, 0), codec::kInlineBlobOverhead);
  EXPECT_EQ(StoredBytesFor(p, 100), 100 + codec::kInlineBlobOverhead);
  // One full segment: S = 2048, sentinels = 16 groups * 8 (the floor), 6 shards.
  EXPECT_EQ(StoredBytesFor(p, kSegment), 6 * (2048 + 32 * 128));
  EXPECT_EQ(PlaintextEquivalent(p, 600), 400u);
}

}  // namespace
}  // namespace gnr::volume
