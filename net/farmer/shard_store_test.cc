#include "net/farmer/shard_store.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/hex.h"
#include "crypto/merkle.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/farmer/env.h"
#include "net/farmer/testing/fault_injection_env.h"
#include "net/farmer/testing/temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace gnr::farmer {
namespace {

using ::gnr::farmer::testing::FaultInjectionEnv;
using ::gnr::farmer::testing::TempDir;

constexpr uint32_t kLeaf = 4096;

struct TestShard {
  PutArgs args;
  Bytes data;
};

TestShard MakeShard(crypto::Random& rng, size_t size, uint32_t leaf_size = kLeaf,
                    Bytes payer = Bytes{0xAA, 0xBB}) {
  TestShard s;
  s.data = rng.Generate(size);
  s.args.id = rng.Generate<32>();
  s.args.bucket = Bytes{'b', '1'};
  s.args.payer = std::move(payer);
  s.args.leaf_size = leaf_size;
  s.args.merkle_root = crypto::MerkleTree::Build(s.data, leaf_size)->root();
  return s;
}

// Every regular file under `dir`, relative to it.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(std::filesystem::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Reads the whole shard back through GetLeaves and checks its proof.
void ExpectIntact(ShardStore& store, const TestShard& s) {
  uint64_t leaves = crypto::MerkleLeafCount(s.data.size(), s.args.leaf_size);
  absl::StatusOr<LeafRange> range = store.GetLeaves(s.args.id, 0, leaves);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->leaves, s.data);
  std::vector<crypto::Hash256> hashes;
  for (uint64_t i = 0; i < leaves; ++i) {
    size_t off = i * s.args.leaf_size;
    hashes.push_back(crypto::MerkleLeafHash(
        ByteView(s.data).subspan(off, std::min<size_t>(s.args.leaf_size, s.data.size() - off))));
  }
  EXPECT_OK(crypto::VerifyMerkleRange(s.args.merkle_root, hashes, range->proof));
}

class ShardStoreTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<ShardStore>> Open(uint64_t capacity = 64 << 20,
                                                   Env* env = nullptr) {
    return Open(ShardStoreOptions{.dir = "", .capacity_bytes = capacity}, env);
  }
  // `options` with this test's directory and no free-disk margin.
  absl::StatusOr<std::unique_ptr<ShardStore>> Open(ShardStoreOptions options, Env* env = nullptr) {
    options.dir = dir_.path();
    options.min_free_disk_bytes = 0;
    return ShardStore::Open(env ? *env : PosixEnv(), clock_, std::move(options));
  }

  TempDir dir_{"shard_store"};
  FakeClock clock_;
  crypto::DeterministicRandom rng_{42};
};

TEST_F(ShardStoreTest, PutThenReadEveryRange) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 10 * kLeaf + 123);
  ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(s.args, s.data));
  EXPECT_FALSE(r.already_stored);
  ExpectIntact(*store, s);

  for (uint64_t first = 0; first < 11; ++first) {
    for (uint64_t count = 1; first + count <= 11; count += 3) {
      ASSERT_OK_AND_ASSIGN(LeafRange range, store->GetLeaves(s.args.id, first, count));
      size_t begin = first * kLeaf;
      size_t end = std::min<size_t>(s.data.size(), (first + count) * kLeaf);
      EXPECT_EQ(range.leaves, Bytes(s.data.begin() + begin, s.data.begin() + end));
      EXPECT_EQ(range.proof.first_leaf, first);
      EXPECT_EQ(range.proof.leaf_count_in_range, count);
      EXPECT_EQ(range.proof.total_leaves, 11u);
    }
  }
  EXPECT_STATUS(store->GetLeaves(s.args.id, 11, 1), absl::StatusCode::kOutOfRange);
  EXPECT_STATUS(store->GetLeaves(s.args.id, 5, 7), absl::StatusCode::kOutOfRange);
  EXPECT_STATUS(store->GetLeaves(s.args.id, 0, 0), absl::StatusCode::kOutOfRange);
  EXPECT_STATUS(store->GetLeaves(rng_.Generate<32>(), 0, 1), absl::StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(ShardMeta meta, store->Stat(s.args.id));
  EXPECT_EQ(meta.size, s.data.size());
  EXPECT_EQ(meta.merkle_root, s.args.merkle_root);
  EXPECT_EQ(meta.bucket, s.args.bucket);
  EXPECT_EQ(meta.payer, s.args.payer);
  EXPECT_EQ(store->usage().used_bytes, s.data.size());
  EXPECT_EQ(store->usage().shards, 1u);
  EXPECT_EQ(store->usage().reserved_bytes, 0u);
}

TEST_F(ShardStoreTest, ShardFileLivesInFanOutDirectories) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 5000);
  ASSERT_OK(store->Put(s.args, s.data));
  std::string hex = HexEncode(s.args.id);
  EXPECT_EQ(store->ShardPath(s.args.id),
            dir_.path() + "/shards/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex);
  EXPECT_TRUE(std::filesystem::exists(store->ShardPath(s.args.id)));
  EXPECT_EQ(std::filesystem::file_size(store->ShardPath(s.args.id)), 5000u);
}

TEST_F(ShardStoreTest, SentinelChallengeReadsStoredOffsets) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 3 * kLeaf);
  ASSERT_OK(store->Put(s.args, s.data));
  std::vector<uint64_t> offsets = {0, 4000, 100, 3 * kLeaf - 32};
  ASSERT_OK_AND_ASSIGN(std::vector<crypto::Hash256> values,
                       store->ReadSentinels(s.args.id, offsets));
  ASSERT_EQ(values.size(), offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    EXPECT_TRUE(std::equal(values[i].begin(), values[i].end(), s.data.begin() + offsets[i]));
  }
  std::vector<uint64_t> past = {3 * kLeaf - 31};
  EXPECT_STATUS(store->ReadSentinels(s.args.id, past), absl::StatusCode::kOutOfRange);
  std::vector<uint64_t> huge = {~uint64_t{0}};
  EXPECT_STATUS(store->ReadSentinels(s.args.id, huge), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->counters().sentinel_challenges, 1u);
}

TEST_F(ShardStoreTest, MerkleChallengeAnswerVerifies) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 7 * kLeaf + 10);
  ASSERT_OK(store->Put(s.args, s.data));
  for (uint64_t leaf = 0; leaf < 8; ++leaf) {
    ASSERT_OK_AND_ASSIGN(LeafProof answer, store->ProveLeaf(s.args.id, leaf));
    EXPECT_EQ(answer.leaf.size(), leaf == 7 ? 10u : kLeaf);
    EXPECT_OK(crypto::VerifyMerkleProof(s.args.merkle_root, answer.leaf, answer.proof));
  }
  EXPECT_STATUS(store->ProveLeaf(s.args.id, 8), absl::StatusCode::kOutOfRange);
}

TEST_F(ShardStoreTest, RefusesWrongMerkleRootAndLeavesNothing) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 5 * kLeaf);
  s.args.merkle_root[0] ^= 1;
  absl::StatusOr<PutResult> r = store->Put(s.args, s.data);
  EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find("Merkle root mismatch"), std::string::npos);
  EXPECT_STATUS(store->Stat(s.args.id), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->usage().used_bytes, 0u);
  EXPECT_EQ(store->usage().reserved_bytes, 0u);
  EXPECT_EQ(store->counters().puts_refused_bad_root, 1u);
  for (const std::string& f : FilesUnder(dir_.path())) {
    EXPECT_FALSE(f.starts_with("shards/")) << f;
  }
  // A different leaf size gives a different tree: also refused.
  TestShard t = MakeShard(rng_, 5 * kLeaf);
  t.args.leaf_size = 2 * kLeaf;
  EXPECT_STATUS(store->Put(t.args, t.data), absl::StatusCode::kDataLoss);
}

TEST_F(ShardStoreTest, RefusesBadArguments) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 100);
  EXPECT_STATUS(store->Put(s.args, {}), absl::StatusCode::kInvalidArgument);
  PutArgs a = s.args;
  a.leaf_size = 0;
  EXPECT_STATUS(store->Put(a, s.data), absl::StatusCode::kInvalidArgument);
  a = s.args;
  a.bucket.clear();
  EXPECT_STATUS(store->Put(a, s.data), absl::StatusCode::kInvalidArgument);
  a = s.args;
  a.hash_kind = static_cast<crypto::MerkleHashKind>(9);
  EXPECT_STATUS(store->Put(a, s.data), absl::StatusCode::kInvalidArgument);
}

TEST_F(ShardStoreTest, RepeatedPutIsIdempotentAndConflictingPutRefused) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 2 * kLeaf);
  ASSERT_OK(store->Put(s.args, s.data));
  ASSERT_OK_AND_ASSIGN(PutResult again, store->Put(s.args, s.data));
  EXPECT_TRUE(again.already_stored);
  EXPECT_EQ(store->usage().used_bytes, s.data.size());

  TestShard other = MakeShard(rng_, 2 * kLeaf);
  other.args.id = s.args.id;
  EXPECT_STATUS(store->Put(other.args, other.data), absl::StatusCode::kAlreadyExists);
  ExpectIntact(*store, s);
}

TEST_F(ShardStoreTest, RefusesWhenFullWithClearError) {
  constexpr uint64_t kShard = 64 * 1024;
  ASSERT_OK_AND_ASSIGN(auto store, Open(3 * kShard));
  std::vector<TestShard> shards;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(MakeShard(rng_, kShard));
    ASSERT_OK(store->Put(shards.back().args, shards.back().data));
  }
  TestShard extra = MakeShard(rng_, kShard);
  absl::StatusOr<PutResult> r = store->Put(extra.args, extra.data);
  EXPECT_STATUS(r, absl::StatusCode::kResourceExhausted);
  std::string message(r.status().message());
  EXPECT_NE(message.find("farmer full: capacity 192.0 KiB (196608 bytes), used 196608 bytes"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(HexEncode(extra.args.id)), std::string::npos) << message;
  EXPECT_EQ(store->counters().puts_refused_full, 1u);
  EXPECT_FALSE(std::filesystem::exists(store->ShardPath(extra.args.id)));

  // Deleting frees room.
  ASSERT_OK(store->Delete(shards[0].args.id, shards[0].args.payer));
  EXPECT_OK(store->Put(extra.args, extra.data));
  EXPECT_EQ(store->usage().used_bytes, 3 * kShard);
}

TEST_F(ShardStoreTest, ConcurrentPutsNeverExceedCapacity) {
  constexpr uint64_t kShard = 256 * 1024;
  constexpr int kThreads = 8;
  ASSERT_OK_AND_ASSIGN(auto store, Open(5 * kShard));
  std::vector<TestShard> shards;
  for (int i = 0; i < kThreads * 2; ++i) shards.push_back(MakeShard(rng_, kShard));
  std::atomic<int> ok{0}, full{0};
  std::atomic<uint64_t> max_taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < 2; ++j) {
        const TestShard& s = shards[t * 2 + j];
        absl::StatusOr<PutResult> r = store->Put(s.args, s.data);
        if (r.ok()) ++ok;
        if (absl::IsResourceExhausted(r.status())) ++full;
        StoreUsage u = store->usage();
        uint64_t taken = u.used_bytes + u.reserved_bytes;
        uint64_t prev = max_taken.load();
        while (taken > prev && !max_taken.compare_exchange_weak(prev, taken)) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(full.load(), kThreads * 2 - 5);
  EXPECT_LE(max_taken.load(), 5 * kShard);
  EXPECT_EQ(store->usage().used_bytes, 5 * kShard);
  uint64_t on_disk = 0;
  for (const std::string& f : FilesUnder(dir_.Sub("shards"))) {
    on_disk += std::filesystem::file_size(dir_.Sub("shards/" + f));
  }
  EXPECT_EQ(on_disk, 5 * kShard);
}

TEST_F(ShardStoreTest, DeleteOnlyByPayer) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 3 * kLeaf);
  ASSERT_OK(store->Put(s.args, s.data));
  Bytes stranger = {0x01};
  absl::Status denied = store->Delete(s.args.id, stranger);
  EXPECT_STATUS(denied, absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(denied.message()).find("stored by payer 0xaabb"), std::string::npos)
      << denied;
  ExpectIntact(*store, s);

  ASSERT_OK(store->Delete(s.args.id, s.args.payer));
  EXPECT_STATUS(store->Stat(s.args.id), absl::StatusCode::kNotFound);
  EXPECT_STATUS(store->GetLeaves(s.args.id, 0, 1), absl::StatusCode::kNotFound);
  EXPECT_STATUS(store->Delete(s.args.id, s.args.payer), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(store->ShardPath(s.args.id)));
  EXPECT_EQ(store->usage().used_bytes, 0u);
  // It can be stored again.
  EXPECT_OK(store->Put(s.args, s.data));
}

TEST_F(ShardStoreTest, ReopenKeepsShardsAndIndex) {
  std::vector<TestShard> shards;
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open());
    for (int i = 0; i < 5; ++i) {
      shards.push_back(MakeShard(rng_, 1000 + i * 3000, i % 2 ? kLeaf : 1024));
      ASSERT_OK(store->Put(shards.back().args, shards.back().data));
    }
    ASSERT_OK(store->Delete(shards[2].args.id, shards[2].args.payer));
    clock_.Advance(absl::Hours(1));
    ASSERT_OK(store->GetLeaves(shards[0].args.id, 0, 1));
  }
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  EXPECT_EQ(store->recovery().shards, 4u);
  EXPECT_EQ(store->recovery().unindexed_files_removed, 0u);
  EXPECT_EQ(store->usage().shards, 4u);
  for (int i : {0, 1, 3, 4}) ExpectIntact(*store, shards[i]);
  EXPECT_STATUS(store->Stat(shards[2].args.id), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(ShardMeta m0, store->Stat(shards[0].args.id));
  EXPECT_EQ(m0.last_access - m0.created, absl::Hours(1));
}

TEST_F(ShardStoreTest, OneStorePerDirectory) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  EXPECT_STATUS(Open(), absl::StatusCode::kFailedPrecondition);
  store.reset();
  EXPECT_OK(Open());
}

// Flips one bit of byte `offset` of the shard's file.
void CorruptOnDisk(ShardStore& store, const TestShard& s, size_t offset) {
  std::fstream f(store.ShardPath(s.args.id), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  char c = static_cast<char>(s.data[offset] ^ 0x40);
  f.write(&c, 1);
}

TEST_F(ShardStoreTest, CorruptLeafOnDiskIsNotServedWithVerifyReads) {
  ASSERT_OK_AND_ASSIGN(
      auto store,
      Open(ShardStoreOptions{.dir = "", .capacity_bytes = 64 << 20, .verify_reads = true}));
  TestShard s = MakeShard(rng_, 4 * kLeaf);
  ASSERT_OK(store->Put(s.args, s.data));
  CorruptOnDisk(*store, s, 2 * kLeaf + 5);
  EXPECT_OK(store->GetLeaves(s.args.id, 0, 2));
  EXPECT_STATUS(store->GetLeaves(s.args.id, 1, 2), absl::StatusCode::kDataLoss);
  EXPECT_STATUS(store->ProveLeaf(s.args.id, 2), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->counters().corrupt_reads, 2u);
}

// By default leaves are served as stored: a corrupt one goes out with the shard's true
// proof, which the reader (or the auditor) finds does not match it.
TEST_F(ShardStoreTest, CorruptLeafIsCaughtByTheReaderByDefault) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  EXPECT_FALSE(store->options().verify_reads);
  TestShard s = MakeShard(rng_, 4 * kLeaf);
  ASSERT_OK(store->Put(s.args, s.data));
  CorruptOnDisk(*store, s, 2 * kLeaf + 5);
  ASSERT_OK_AND_ASSIGN(LeafProof p, store->ProveLeaf(s.args.id, 2));
  EXPECT_STATUS(crypto::VerifyMerkleProof(s.args.merkle_root, p.leaf, p.proof),
                absl::StatusCode::kDataLoss);
  ASSERT_OK_AND_ASSIGN(LeafProof good, store->ProveLeaf(s.args.id, 1));
  EXPECT_OK(crypto::VerifyMerkleProof(s.args.merkle_root, good.leaf, good.proof));
  EXPECT_EQ(store->counters().corrupt_reads, 0u);
}

// The Merkle tree of a shard is rebuilt from the index once, then served from the cache,
// until the shard is deleted; a shard stored again under the same id gets its own tree.
TEST_F(ShardStoreTest, RangeReadsReuseTheShardsTreeUntilItIsDeleted) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  TestShard s = MakeShard(rng_, 6 * kLeaf + 7);
  ASSERT_OK(store->Put(s.args, s.data));
  EXPECT_EQ(store->counters().tree_loads, 0u);
  ASSERT_OK(store->GetLeaves(s.args.id, 0, 2));
  EXPECT_EQ(store->counters().tree_loads, 1u);
  ASSERT_OK_AND_ASSIGN(LeafRange second, store->GetLeaves(s.args.id, 2, 5));
  ASSERT_OK(store->ProveLeaf(s.args.id, 6));
  ExpectIntact(*store, s);
  EXPECT_EQ(store->counters().tree_loads, 1u);
  EXPECT_EQ(second.leaves, Bytes(s.data.begin() + 2 * kLeaf, s.data.end()));

  ASSERT_OK(store->Delete(s.args.id, s.args.payer));
  EXPECT_STATUS(store->GetLeaves(s.args.id, 0, 1), absl::StatusCode::kNotFound);
  TestShard again = MakeShard(rng_, 3 * kLeaf);
  again.args.id = s.args.id;
  ASSERT_OK(store->Put(again.args, again.data));
  ExpectIntact(*store, again);  // checks the proof against the new root
  EXPECT_EQ(store->counters().tree_loads, 2u);
}

// The cache holds at most tree_cache_bytes: with room for one tree, two shards read in
// turn rebuild their trees every time; 0 disables it.
TEST_F(ShardStoreTest, TreeCacheIsBoundedInBytes) {
  TestShard a = MakeShard(rng_, 8 * kLeaf);
  TestShard b = MakeShard(rng_, 8 * kLeaf);
  for (uint64_t cache : {uint64_t{1024}, uint64_t{0}, uint64_t{1} << 20}) {
    ASSERT_OK_AND_ASSIGN(
        auto store,
        Open(ShardStoreOptions{.dir = "", .capacity_bytes = 64 << 20, .tree_cache_bytes = cache}));
    ASSERT_OK(store->Put(a.args, a.data));
    ASSERT_OK(store->Put(b.args, b.data));
    for (int round = 0; round < 3; ++round) {
      ASSERT_OK(store->GetLeaves(a.args.id, 0, 1));
      ASSERT_OK(store->GetLeaves(b.args.id, 1, 1));
    }
    EXPECT_EQ(store->counters().tree_loads, cache == 1024 ? 6u : cache == 0 ? 6u : 2u) << cache;
  }
}

// Many readers of a few shards at once (the farmer's worker threads) all get their leaves
// with valid proofs while the trees are built, cached and evicted under them.
TEST_F(ShardStoreTest, ConcurrentRangeReadsShareTheCache) {
  ASSERT_OK_AND_ASSIGN(
      auto store,
      Open(ShardStoreOptions{.dir = "", .capacity_bytes = 64 << 20, .tree_cache_bytes = 2048}));
  std::vector<TestShard> shards;
  for (int i = 0; i < 4; ++i) {
    shards.push_back(MakeShard(rng_, 9 * kLeaf + 100));
    ASSERT_OK(store->Put(shards.back().args, shards.back().data));
  }
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const TestShard& s = shards[(t + i) % shards.size()];
        uint64_t first = static_cast<uint64_t>(i % 10);
        absl::StatusOr<LeafRange> r = store->GetLeaves(s.args.id, first, 1);
        if (!r.ok()) {
          ++bad;
          continue;
        }
        size_t off = first * kLeaf;
        Bytes want(s.data.begin() + off,
                   s.data.begin() + std::min<size_t>(s.data.size(), off + kLeaf));
        std::vector<crypto::Hash256> hashes{crypto::MerkleLeafHash(r->leaves)};
        if (r->leaves != want ||
            !crypto::VerifyMerkleRange(s.args.merkle_root, hashes, r->proof).ok()) {
          ++bad;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(ShardStoreTest, RecoveryRemovesWhatWasNeverAcknowledged) {
  TestShard kept = MakeShard(rng_, 3000);
  TestShard lost = MakeShard(rng_, 3000);
  std::string orphan_path, temp_path, lost_path;
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open());
    ASSERT_OK(store->Put(kept.args, kept.data));
    ASSERT_OK(store->Put(lost.args, lost.data));
    lost_path = store->ShardPath(lost.args.id);
    // A file renamed into place whose index row never committed, and a temp file.
    ShardId orphan = kept.args.id;
    orphan[31] ^= 1;
    orphan_path = store->ShardPath(orphan);
    temp_path = store->ShardPath(kept.args.id) + ".tmp";
  }
  std::filesystem::create_directories(DirName(orphan_path));
  std::ofstream(orphan_path) << "never acknowledged";
  std::ofstream(temp_path) << "half written";
  std::filesystem::remove(lost_path);  // the disk lost an acknowledged shard

  ASSERT_OK_AND_ASSIGN(auto store, Open());
  const RecoveryReport& r = store->recovery();
  EXPECT_EQ(r.shards, 1u);
  EXPECT_EQ(r.temp_files_removed, 1u);
  EXPECT_EQ(r.unindexed_files_removed, 1u);
  EXPECT_EQ(r.missing_files, 1u);
  EXPECT_FALSE(std::filesystem::exists(orphan_path));
  EXPECT_FALSE(std::filesystem::exists(temp_path));
  ExpectIntact(*store, kept);
  EXPECT_STATUS(store->Stat(lost.args.id), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->usage().used_bytes, 3000u);
}

// Crash tests: the fault-injecting env stops every filesystem call after the n-th one
// (the process "dies" there), then optionally forgets whatever was not synced (a power
// cut). After reopening, acknowledged shards are intact; the shard being written is either
// acknowledged and intact or absent; nothing else is left on disk; usage adds up.
class ShardStoreCrashTest : public ShardStoreTest,
                            public ::testing::WithParamInterface<bool /*power cut*/> {
 protected:
  void CheckConsistent(ShardStore& store, const std::vector<TestShard>& acked) {
    uint64_t used = 0;
    std::vector<std::string> expected_files;
    for (const TestShard& s : acked) {
      ExpectIntact(store, s);
      used += s.data.size();
      std::string p = store.ShardPath(s.args.id);
      expected_files.push_back(p.substr(dir_.path().size() + 1));
    }
    EXPECT_EQ(store.usage().used_bytes, used);
    EXPECT_EQ(store.usage().shards, acked.size());
    std::vector<std::string> shard_files;
    for (const std::string& f : FilesUnder(dir_.path())) {
      if (f.starts_with("shards/")) shard_files.push_back(f);
    }
    std::sort(expected_files.begin(), expected_files.end());
    EXPECT_EQ(shard_files, expected_files);
  }
};

TEST_P(ShardStoreCrashTest, CrashAtEveryStepOfPut) {
  const bool power_cut = GetParam();
  std::vector<TestShard> acked;
  bool completed = false;
  for (int64_t crash_point = 0; !completed && crash_point < 100; ++crash_point) {
    FaultInjectionEnv env(PosixEnv());
    TestShard s = MakeShard(rng_, 5 * kLeaf + 7);
    bool acknowledged = false;
    {
      ASSERT_OK_AND_ASSIGN(auto store, Open(64 << 20, &env));
      env.CrashAfter(crash_point);
      acknowledged = store->Put(s.args, s.data).ok();
      completed = !env.crashed();
    }
    if (power_cut) {
      ASSERT_OK(env.DropUnsyncedData());
    } else {
      env.ForgetCrash();
    }
    ASSERT_OK_AND_ASSIGN(auto store, Open(64 << 20, &env));
    if (acknowledged) {
      acked.push_back(s);
    } else {
      // Not acknowledged: it may or may not be there, but never half.
      absl::StatusOr<ShardMeta> meta = store->Stat(s.args.id);
      if (meta.ok()) acked.push_back(s);
    }
    SCOPED_TRACE(::testing::Message() << "crash point " << crash_point);
    CheckConsistent(*store, acked);
  }
  EXPECT_TRUE(completed);
}

TEST_P(ShardStoreCrashTest, CrashAtEveryStepOfDelete) {
  const bool power_cut = GetParam();
  bool completed = false;
  for (int64_t crash_point = 0; !completed && crash_point < 100; ++crash_point) {
    TempDir dir("crash_delete");
    FaultInjectionEnv env(PosixEnv());
    auto open = [&] {
      return ShardStore::Open(
          env, clock_, {.dir = dir.path(), .capacity_bytes = 1 << 20, .min_free_disk_bytes = 0});
    };
    TestShard keep = MakeShard(rng_, 3 * kLeaf);
    TestShard gone = MakeShard(rng_, 3 * kLeaf);
    {
      ASSERT_OK_AND_ASSIGN(auto store, open());
      ASSERT_OK(store->Put(keep.args, keep.data));
      ASSERT_OK(store->Put(gone.args, gone.data));
      env.CrashAfter(crash_point);
      (void)store->Delete(gone.args.id, gone.args.payer);
      completed = !env.crashed();
    }
    if (power_cut) {
      ASSERT_OK(env.DropUnsyncedData());
    } else {
      env.ForgetCrash();
    }
    ASSERT_OK_AND_ASSIGN(auto store, open());
    SCOPED_TRACE(::testing::Message() << "crash point " << crash_point);
    ExpectIntact(*store, keep);
    // The deleted shard is either fully there or fully gone.
    if (store->Stat(gone.args.id).ok()) {
      ExpectIntact(*store, gone);
      EXPECT_EQ(store->usage().used_bytes, 6u * kLeaf);
    } else {
      EXPECT_FALSE(std::filesystem::exists(store->ShardPath(gone.args.id)));
      EXPECT_EQ(store->usage().used_bytes, 3u * kLeaf);
    }
  }
  EXPECT_TRUE(completed);
}

INSTANTIATE_TEST_SUITE_P(KillAndPowerCut, ShardStoreCrashTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PowerCut" : "Kill";
                         });

TEST(FaultInjectionEnv, DropsUnsyncedBytesAndNames) {
  TempDir dir("fault_env");
  FaultInjectionEnv env(PosixEnv());
  const std::string a = dir.Sub("a"), b = dir.Sub("b"), c = dir.Sub("c");
  {
    ASSERT_OK_AND_ASSIGN(auto f, env.NewWritableFile(a));
    ASSERT_OK(f->Append(ToBytes("synced")));
    ASSERT_OK(f->Sync());
    ASSERT_OK(f->Append(ToBytes("+lost")));
    ASSERT_OK(f->Close());
  }
  ASSERT_OK(env.SyncDir(dir.path()));
  ASSERT_OK(env.RenameFile(a, b));  // not synced: undone
  {
    ASSERT_OK_AND_ASSIGN(auto f, env.NewWritableFile(c));  // not synced: removed
    ASSERT_OK(f->Close());
  }
  ASSERT_OK(env.DropUnsyncedData());
  EXPECT_TRUE(std::filesystem::exists(a));
  EXPECT_FALSE(std::filesystem::exists(b));
  EXPECT_FALSE(std::filesystem::exists(c));
  EXPECT_EQ(std::filesystem::file_size(a), 6u);

  ASSERT_OK(env.DeleteFile(a));  // not synced: comes back
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, env.ListDir(dir.path()));
  EXPECT_TRUE(names.empty());
  ASSERT_OK(env.DropUnsyncedData());
  EXPECT_TRUE(std::filesystem::exists(a));

  env.CrashAfter(1);
  EXPECT_OK(env.CreateDir(dir.Sub("d")));
  EXPECT_STATUS(env.CreateDir(dir.Sub("e")), absl::StatusCode::kInternal);
  EXPECT_TRUE(env.crashed());
}

}  // namespace
}  // namespace gnr::farmer
