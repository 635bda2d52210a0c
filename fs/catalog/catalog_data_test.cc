// Versions, placements, uploads, buckets, audits, farmers and transactions.

#include <cerrno>

#include "fs/catalog/catalog.h"
#include "fs/catalog/catalog_test_util.h"
#include "fs/codec/layout.h"
#include "fs/codec/manifest.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::catalog {
namespace {

// A valid manifest: `segments` segments of 4 KiB, RS(k, m).
codec::FileManifest MakeManifest(uint64_t file_size, uint32_t k, uint32_t m, uint8_t seed) {
  codec::FileManifest f;
  f.file_size = file_size;
  for (size_t i = 0; i < f.nonce.size(); ++i) f.nonce[i] = static_cast<uint8_t>(seed + i);
  f.data_shards = k;
  f.parity_shards = m;
  f.segment_size = 4096;
  f.leaf_size = 1024;
  f.group_size = 8;
  for (uint64_t i = 0; i < codec::SegmentCount(file_size, f.segment_size); ++i) {
    codec::SegmentManifest seg;
    seg.plaintext_length = codec::SegmentPlaintextLength(file_size, f.segment_size, i);
    seg.shard_length = codec::ShardLength(seg.plaintext_length, k);
    seg.sentinel_count = 128;
    for (uint32_t t = 0; t < k + m; ++t) {
      codec::ShardManifest s;
      s.id = codec::ComputeShardId(f.nonce, i, t, 0);
      s.stored_length = seg.shard_length + 32 * seg.sentinel_count;
      s.merkle_root.fill(static_cast<uint8_t>(t + 1));
      seg.shards.push_back(s);
    }
    f.segments.push_back(seg);
  }
  return f;
}

FarmerId FarmerN(uint8_t n) {
  FarmerId id;
  id.fill(n);
  return id;
}

class CatalogDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_.File("catalog.db"), clock_));
    Bucket b;
    b.id = bucket_;
    b.size_bytes = 1 << 20;
    b.start = clock_.Now();
    b.expiry = clock_.Now() + absl::Hours(24 * 30);
    ASSERT_OK(catalog_->PutBucket(b));
    NodeSpec spec;
    ASSERT_OK_AND_ASSIGN(Attr f, catalog_->CreateNode(kRootIno, "file", spec));
    file_ = f.ino;
  }

  NewVersion Sharded(uint64_t size, uint8_t seed = 7) {
    codec::FileManifest m = MakeManifest(size, 4, 2, seed);
    NewVersion v;
    v.ino = file_;
    v.kind = VersionKind::kSharded;
    v.size = size;
    v.nonce = m.nonce;
    v.bucket_id = bucket_;
    absl::StatusOr<Bytes> encoded = codec::EncodeFileManifest(m);
    EXPECT_TRUE(encoded.ok()) << encoded.status();
    if (encoded.ok()) v.manifest = *encoded;
    return v;
  }

  NewVersion Inline(uint64_t size) {
    NewVersion v;
    v.ino = file_;
    v.kind = VersionKind::kInline;
    v.size = size;
    v.nonce.fill(3);
    v.bucket_id = bucket_;
    v.inline_blob = Bytes(size + 41, 0xab);
    return v;
  }

  // Acks shards 0..n-1 of every segment of `version`.
  void Ack(VersionId version, uint32_t n) {
    absl::StatusOr<Version> v = catalog_->GetVersion(version);
    ASSERT_TRUE(v.ok());
    codec::FileManifest m = *codec::DecodeFileManifest(v->manifest);
    for (uint64_t s = 0; s < v->segment_count; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        NewPlacement p;
        p.version = version;
        p.segment = s;
        p.shard_index = t;
        p.shard_id = m.segments[s].shards[t].id;
        p.farmer = FarmerN(static_cast<uint8_t>(t + 1));
        p.farmer_hint = "tcp://127.0.0.1:" + std::to_string(4000 + t);
        p.merkle_root = m.segments[s].shards[t].merkle_root;
        p.stored_length = m.segments[s].shards[t].stored_length;
        p.state = PlacementState::kAcked;
        ASSERT_OK(catalog_->AddPlacement(p));
      }
    }
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> catalog_;
  Bytes bucket_ = Bytes(32, 0xbb);
  Ino file_ = 0;
};

TEST_F(CatalogDataTest, InlineVersionLifecycle) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Inline(10)));
  ASSERT_OK_AND_ASSIGN(Version v, catalog_->GetVersion(id));
  EXPECT_EQ(v.state, VersionState::kPending);
  EXPECT_EQ(v.kind, VersionKind::kInline);
  EXPECT_EQ(v.size, 10u);
  EXPECT_EQ(v.inline_blob, Bytes(51, 0xab));
  EXPECT_EQ(v.bucket_id, bucket_);
  EXPECT_FALSE(v.is_current);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(catalog_->CommitVersion(id));
  ASSERT_OK_AND_ASSIGN(v, catalog_->GetVersion(id));
  EXPECT_EQ(v.state, VersionState::kCommitted);
  EXPECT_EQ(v.committed, clock_.Now());
  EXPECT_TRUE(v.is_current);
  ASSERT_OK_AND_ASSIGN(Attr attr, catalog_->GetAttr(file_));
  EXPECT_EQ(attr.current_version, id);
  EXPECT_STATUS(catalog_->CommitVersion(id), absl::StatusCode::kFailedPrecondition);
  EXPECT_STATUS(catalog_->ObsoleteVersion(id), absl::StatusCode::kFailedPrecondition);
  EXPECT_STATUS(catalog_->DeleteVersion(id), absl::StatusCode::kFailedPrecondition);

  // A newer version supersedes it; the old one becomes garbage.
  ASSERT_OK_AND_ASSIGN(VersionId id2, catalog_->AddVersion(Inline(20)));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(catalog_->CommitVersion(id2));
  ASSERT_OK_AND_ASSIGN(v, catalog_->GetVersion(id));
  EXPECT_EQ(v.state, VersionState::kObsolete);
  EXPECT_EQ(v.obsoleted, clock_.Now());
  ASSERT_OK_AND_ASSIGN(std::vector<Version> garbage,
                       catalog_->ListObsoleteVersions(clock_.Now() - absl::Seconds(1)));
  EXPECT_TRUE(garbage.empty());  // grace period
  ASSERT_OK_AND_ASSIGN(garbage, catalog_->ListObsoleteVersions(clock_.Now()));
  ASSERT_EQ(garbage.size(), 1u);
  EXPECT_EQ(garbage[0].id, id);
  // Bring the old one back, then forward again.
  ASSERT_OK(catalog_->SetCurrentVersion(file_, id));
  ASSERT_OK_AND_ASSIGN(attr, catalog_->GetAttr(file_));
  EXPECT_EQ(attr.current_version, id);
  ASSERT_OK(catalog_->SetCurrentVersion(file_, id2));
  ASSERT_OK_AND_ASSIGN(std::vector<Version> all, catalog_->ListVersions(file_));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, VersionState::kObsolete);
  EXPECT_TRUE(all[1].is_current);
  ASSERT_OK(catalog_->DeleteVersion(id));
  EXPECT_STATUS(catalog_->GetVersion(id), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(FsTotals t, catalog_->Totals());
  EXPECT_EQ(t.committed_bytes, 20u);
}

TEST_F(CatalogDataTest, AddVersionValidates) {
  NewVersion v = Sharded(10000);
  v.size = 9999;
  EXPECT_STATUS(catalog_->AddVersion(v), absl::StatusCode::kInvalidArgument);
  v = Sharded(10000);
  v.nonce[0] ^= 1;
  EXPECT_STATUS(catalog_->AddVersion(v), absl::StatusCode::kInvalidArgument);
  v = Sharded(10000);
  v.manifest[0] ^= 1;
  EXPECT_STATUS(catalog_->AddVersion(v), absl::StatusCode::kInvalidArgument);
  v = Sharded(10000);
  v.bucket_id = Bytes(32, 0xcc);
  EXPECT_STATUS(catalog_->AddVersion(v), absl::StatusCode::kNotFound);
  v.bucket_id.clear();
  EXPECT_STATUS(catalog_->AddVersion(v), absl::StatusCode::kInvalidArgument);
  NewVersion in = Inline(5);
  in.inline_blob.clear();
  EXPECT_STATUS(catalog_->AddVersion(in), absl::StatusCode::kInvalidArgument);
  in = Inline(5);
  in.ino = 999;
  EXPECT_EQ(PosixErrno(catalog_->AddVersion(in).status()), ENOENT);
  in.ino = kRootIno;
  EXPECT_EQ(PosixErrno(catalog_->AddVersion(in).status()), EISDIR);
}

TEST_F(CatalogDataTest, ShardedCommitNeedsKPlusOneAckedShardsPerSegment) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Sharded(3 * 4096 + 5)));
  ASSERT_OK_AND_ASSIGN(Version v, catalog_->GetVersion(id));
  EXPECT_EQ(v.segment_count, 4u);
  EXPECT_EQ(v.data_shards, 4u);
  EXPECT_EQ(v.parity_shards, 2u);
  Ack(id, 4);  // k acked: not enough
  absl::Status s = catalog_->CommitVersion(id);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("segment 0 has 4 acknowledged shards, needs 5"),
            absl::string_view::npos)
      << s;
  // A second copy of the same shard index does not count twice.
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> ps, catalog_->ListPlacementsByVersion(id));
  ASSERT_EQ(ps.size(), 16u);
  NewPlacement dup;
  dup.version = id;
  dup.segment = 0;
  dup.shard_index = 0;
  dup.farmer = FarmerN(9);
  dup.state = PlacementState::kAcked;
  ASSERT_OK(catalog_->AddPlacement(dup));
  ASSERT_OK_AND_ASSIGN(std::vector<uint32_t> acked, catalog_->AckedShardsPerSegment(id));
  EXPECT_EQ(acked, (std::vector<uint32_t>{4, 4, 4, 4}));
  EXPECT_STATUS(catalog_->CommitVersion(id), absl::StatusCode::kFailedPrecondition);
  // An explicit lower threshold is honoured.
  EXPECT_OK(catalog_->CommitVersion(id, /*make_current=*/false, /*min_acked_shards=*/4));
  ASSERT_OK_AND_ASSIGN(Attr attr, catalog_->GetAttr(file_));
  EXPECT_FALSE(attr.current_version.has_value());

  ASSERT_OK_AND_ASSIGN(VersionId id2, catalog_->AddVersion(Sharded(3 * 4096 + 5, 9)));
  Ack(id2, 5);
  ASSERT_OK(catalog_->CommitVersion(id2));
  ASSERT_OK_AND_ASSIGN(attr, catalog_->GetAttr(file_));
  EXPECT_EQ(attr.current_version, id2);
  // Committed with k+1 of k+m: both versions still need topping up.
  ASSERT_OK_AND_ASSIGN(std::vector<Version> under, catalog_->ListUnderReplicatedVersions());
  ASSERT_EQ(under.size(), 2u);
  EXPECT_EQ(under[1].id, id2);
  ASSERT_OK_AND_ASSIGN(VersionId id3, catalog_->AddVersion(Sharded(100, 11)));
  Ack(id3, 6);
  ASSERT_OK(catalog_->CommitVersion(id3, /*make_current=*/false));
  ASSERT_OK_AND_ASSIGN(under, catalog_->ListUnderReplicatedVersions());
  EXPECT_EQ(under.size(), 2u);  // id3 is complete
  // A shard marked bad makes it under-replicated again.
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> ps3, catalog_->ListPlacementsByVersion(id3));
  ASSERT_OK(catalog_->SetPlacementState(ps3[4].id, PlacementState::kBad));
  ASSERT_OK_AND_ASSIGN(under, catalog_->ListUnderReplicatedVersions());
  ASSERT_EQ(under.size(), 3u);
  EXPECT_EQ(under[2].id, id3);
}

TEST_F(CatalogDataTest, Placements) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Sharded(5000)));
  Ack(id, 6);
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> ps, catalog_->ListPlacementsByVersion(id));
  ASSERT_EQ(ps.size(), 12u);
  EXPECT_EQ(ps[0].segment, 0u);
  EXPECT_EQ(ps[0].shard_index, 0u);
  EXPECT_EQ(ps[11].segment, 1u);
  EXPECT_EQ(ps[11].shard_index, 5u);
  EXPECT_EQ(ps[3].farmer_hint, "tcp://127.0.0.1:4003");
  Hash256 root;
  root.fill(4);
  EXPECT_EQ(ps[3].merkle_root, root);
  PlacementId pid = ps[2].id;
  ASSERT_OK_AND_ASSIGN(Placement p, catalog_->GetPlacement(pid));
  EXPECT_EQ(p.state, PlacementState::kAcked);
  EXPECT_EQ(p.farmer, FarmerN(3));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(catalog_->SetPlacementState(pid, PlacementState::kBad));
  ASSERT_OK_AND_ASSIGN(p, catalog_->GetPlacement(pid));
  EXPECT_EQ(p.state, PlacementState::kBad);
  EXPECT_EQ(p.updated, clock_.Now());
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> bad,
                       catalog_->ListPlacementsByState(PlacementState::kBad));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].id, pid);
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> by_farmer,
                       catalog_->ListPlacementsByFarmer(FarmerN(3)));
  EXPECT_EQ(by_farmer.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> by_shard,
                       catalog_->ListPlacementsByShard(p.shard_id));
  ASSERT_EQ(by_shard.size(), 1u);
  ASSERT_OK(catalog_->SetPlacementFarmer(pid, FarmerN(42), "tcp://10.0.0.1:1"));
  ASSERT_OK_AND_ASSIGN(p, catalog_->GetPlacement(pid));
  EXPECT_EQ(p.farmer, FarmerN(42));
  EXPECT_EQ(p.farmer_hint, "tcp://10.0.0.1:1");
  // Sentinel groups.
  ASSERT_OK(catalog_->MarkGroupUsed(pid, 0));
  ASSERT_OK(catalog_->MarkGroupUsed(pid, 9));
  ASSERT_OK(catalog_->MarkGroupUsed(pid, 9));
  ASSERT_OK_AND_ASSIGN(p, catalog_->GetPlacement(pid));
  EXPECT_EQ(CountGroupsUsed(p.groups_used), 2u);
  EXPECT_TRUE(GroupUsed(p.groups_used, 9));
  EXPECT_FALSE(GroupUsed(p.groups_used, 8));
  EXPECT_EQ(FirstUnusedGroup(p.groups_used, 9, 16), 10u);
  EXPECT_EQ(FirstUnusedGroup(p.groups_used, 0, 16), 1u);
  // Errors.
  NewPlacement out_of_range;
  out_of_range.version = id;
  out_of_range.segment = 2;
  EXPECT_STATUS(catalog_->AddPlacement(out_of_range), absl::StatusCode::kInvalidArgument);
  out_of_range.segment = 0;
  out_of_range.shard_index = 6;
  EXPECT_STATUS(catalog_->AddPlacement(out_of_range), absl::StatusCode::kInvalidArgument);
  out_of_range.version = 999;
  EXPECT_STATUS(catalog_->AddPlacement(out_of_range), absl::StatusCode::kNotFound);
  EXPECT_STATUS(catalog_->SetPlacementState(999, PlacementState::kLost),
                absl::StatusCode::kNotFound);
  EXPECT_STATUS(catalog_->MarkGroupUsed(999, 1), absl::StatusCode::kNotFound);
  ASSERT_OK(catalog_->DeletePlacement(pid));
  EXPECT_STATUS(catalog_->DeletePlacement(pid), absl::StatusCode::kNotFound);
}

TEST_F(CatalogDataTest, GroupBitmapHelpers) {
  Bytes bitmap;
  EXPECT_EQ(FirstUnusedGroup(bitmap, 5, 10), 5u);
  EXPECT_EQ(FirstUnusedGroup(bitmap, 15, 10), 5u);  // start is taken mod the count
  EXPECT_EQ(FirstUnusedGroup(bitmap, 0, 0), std::nullopt);
  for (uint32_t g = 0; g < 20; ++g) SetGroupUsed(bitmap, g);
  EXPECT_EQ(FirstUnusedGroup(bitmap, 3, 20), std::nullopt);
  EXPECT_EQ(FirstUnusedGroup(bitmap, 3, 21), 20u);
  EXPECT_EQ(CountGroupsUsed(bitmap), 20u);
  Bytes some;
  SetGroupUsed(some, 17);
  SetGroupUsed(some, 18);
  EXPECT_EQ(FirstUnusedGroup(some, 17, 19), 0u);  // wraps around
}

TEST_F(CatalogDataTest, AuditQueueAndDeleteCascade) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Sharded(100)));
  Ack(id, 6);
  // Pending versions are not audited.
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> due,
                       catalog_->ListPlacementsDueForAudit(clock_.Now(), 100));
  EXPECT_TRUE(due.empty());
  ASSERT_OK(catalog_->CommitVersion(id));
  ASSERT_OK_AND_ASSIGN(due, catalog_->ListPlacementsDueForAudit(clock_.Now(), 4));
  ASSERT_EQ(due.size(), 4u);
  NewVerdict verdict;
  verdict.placement = due[0].id;
  verdict.shard_id = due[0].shard_id;
  verdict.farmer = due[0].farmer;
  ASSERT_OK(catalog_->RecordVerdict(verdict));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(due, catalog_->ListPlacementsDueForAudit(clock_.Now(), 100));
  ASSERT_EQ(due.size(), 6u);
  EXPECT_TRUE(due[0].last_audit == std::nullopt);
  EXPECT_EQ(due[5].audits, 1u);  // the audited one comes last
  // Superseded, then collected: placements go with the version, verdicts stay.
  ASSERT_OK_AND_ASSIGN(VersionId id2, catalog_->AddVersion(Inline(1)));
  ASSERT_OK(catalog_->CommitVersion(id2));
  ASSERT_OK(catalog_->DeleteVersion(id));
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> gone, catalog_->ListPlacementsByVersion(id));
  EXPECT_TRUE(gone.empty());
  VerdictQuery q;
  q.version = id;
  ASSERT_OK_AND_ASSIGN(std::vector<Verdict> kept, catalog_->ListVerdicts(q));
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_FALSE(kept[0].placement.has_value());
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogDataTest, UpdateManifestKeepsContent) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Sharded(5000)));
  codec::FileManifest m = MakeManifest(5000, 4, 2, 7);
  m.segments[1].shards[3].generation = 1;
  m.segments[1].shards[3].id = codec::ComputeShardId(m.nonce, 1, 3, 1);
  m.segments[1].shards[3].merkle_root.fill(0xee);
  ASSERT_OK_AND_ASSIGN(Bytes repaired, codec::EncodeFileManifest(m));
  ASSERT_OK(catalog_->UpdateManifest(id, repaired));
  ASSERT_OK_AND_ASSIGN(Version v, catalog_->GetVersion(id));
  EXPECT_EQ(v.manifest, repaired);
  ASSERT_OK_AND_ASSIGN(Bytes other, codec::EncodeFileManifest(MakeManifest(5000, 4, 2, 8)));
  EXPECT_STATUS(catalog_->UpdateManifest(id, other), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(catalog_->UpdateManifest(id, Bytes{1, 2, 3}), absl::StatusCode::kInvalidArgument);
}

TEST_F(CatalogDataTest, PurgeMakesVersionsObsoleteAndReturnsUploads) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Inline(3)));
  ASSERT_OK(catalog_->CommitVersion(id));
  NewUpload u;
  u.ino = file_;
  u.staging_path = "/tmp/staging/1";
  u.bytes = 3;
  ASSERT_OK_AND_ASSIGN(UploadId up, catalog_->AddUpload(u));
  ASSERT_OK(catalog_->Unlink(kRootIno, "file"));
  ASSERT_OK_AND_ASSIGN(std::vector<Upload> removed, catalog_->PurgeInode(file_));
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].id, up);
  EXPECT_EQ(removed[0].staging_path, "/tmp/staging/1");
  ASSERT_OK_AND_ASSIGN(std::vector<Upload> left, catalog_->ListUploads());
  EXPECT_TRUE(left.empty());
  ASSERT_OK_AND_ASSIGN(Version v, catalog_->GetVersion(id));
  EXPECT_EQ(v.state, VersionState::kObsolete);
  EXPECT_FALSE(v.is_current);
  ASSERT_OK(catalog_->DeleteVersion(id));
  EXPECT_OK(catalog_->CheckIntegrity());
}

TEST_F(CatalogDataTest, Uploads) {
  NewUpload u;
  u.ino = file_;
  u.staging_path = "/var/staging/abc";
  u.bytes = 1000;
  ASSERT_OK_AND_ASSIGN(UploadId id, catalog_->AddUpload(u));
  ASSERT_OK_AND_ASSIGN(Upload got, catalog_->GetUpload(id));
  EXPECT_EQ(got.state, UploadState::kQueued);
  EXPECT_EQ(got.bytes, 1000u);
  EXPECT_EQ(got.attempts, 0u);
  EXPECT_FALSE(got.version.has_value());
  clock_.Advance(absl::Seconds(3));
  ASSERT_OK_AND_ASSIGN(VersionId v, catalog_->AddVersion(Inline(4)));
  UploadUpdate upd;
  upd.state = UploadState::kFailed;
  upd.last_error = "farmer 3 timed out";
  upd.increment_attempts = true;
  upd.version = v;
  upd.bytes_done = 500;
  ASSERT_OK(catalog_->UpdateUpload(id, upd));
  ASSERT_OK_AND_ASSIGN(got, catalog_->GetUpload(id));
  EXPECT_EQ(got.state, UploadState::kFailed);
  EXPECT_EQ(got.attempts, 1u);
  EXPECT_EQ(got.last_error, "farmer 3 timed out");
  EXPECT_EQ(got.version, v);
  EXPECT_EQ(got.bytes_done, 500u);
  EXPECT_EQ(got.updated, clock_.Now());
  EXPECT_EQ(got.created, clock_.Now() - absl::Seconds(3));
  UploadUpdate only_state;
  only_state.state = UploadState::kUploading;
  ASSERT_OK(catalog_->UpdateUpload(id, only_state));
  ASSERT_OK_AND_ASSIGN(got, catalog_->GetUpload(id));
  EXPECT_EQ(got.state, UploadState::kUploading);
  EXPECT_EQ(got.last_error, "farmer 3 timed out");  // kept
  EXPECT_EQ(got.attempts, 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<Upload> mine, catalog_->ListUploadsForInode(file_));
  EXPECT_EQ(mine.size(), 1u);
  ASSERT_OK(catalog_->RemoveUpload(id));
  EXPECT_STATUS(catalog_->GetUpload(id), absl::StatusCode::kNotFound);
  EXPECT_STATUS(catalog_->RemoveUpload(id), absl::StatusCode::kNotFound);
  EXPECT_STATUS(catalog_->UpdateUpload(id, only_state), absl::StatusCode::kNotFound);
  u.ino = 999;
  EXPECT_EQ(PosixErrno(catalog_->AddUpload(u).status()), ENOENT);
}

TEST_F(CatalogDataTest, Buckets) {
  ASSERT_OK_AND_ASSIGN(Bucket b, catalog_->GetBucket(bucket_));
  EXPECT_EQ(b.size_bytes, 1u << 20);
  EXPECT_EQ(b.used_bytes, 0u);
  EXPECT_EQ(b.data_shards, 4u);
  ASSERT_OK_AND_ASSIGN(uint64_t used, catalog_->ChargeBucket(bucket_, 1000, true));
  EXPECT_EQ(used, 1000u);
  absl::StatusOr<uint64_t> over = catalog_->ChargeBucket(bucket_, 1 << 20, true);
  EXPECT_EQ(PosixErrno(over.status()), ENOSPC);
  ASSERT_OK_AND_ASSIGN(used, catalog_->ChargeBucket(bucket_, 1 << 20, false));  // not enforced
  EXPECT_EQ(used, 1000u + (1 << 20));
  ASSERT_OK_AND_ASSIGN(used, catalog_->ChargeBucket(bucket_, -5000000, true));
  EXPECT_EQ(used, 0u);  // clamped
  // Re-putting (e.g. after buying more space) keeps the usage.
  ASSERT_OK(catalog_->ChargeBucket(bucket_, 77, true));
  b.size_bytes = 2 << 20;
  b.purchase_tx = Bytes(32, 0x11);
  b.owner = Bytes(20, 0x22);
  b.chain_id = 31337;
  b.contract = "0x6000000000000000000000000000000000000000";
  ASSERT_OK(catalog_->PutBucket(b));
  ASSERT_OK_AND_ASSIGN(Bucket b2, catalog_->GetBucket(bucket_));
  EXPECT_EQ(b2.size_bytes, 2u << 20);
  EXPECT_EQ(b2.used_bytes, 77u);
  EXPECT_EQ(b2.purchase_tx, Bytes(32, 0x11));
  EXPECT_EQ(b2.chain_id, 31337u);
  EXPECT_EQ(b2.contract, "0x6000000000000000000000000000000000000000");
  ASSERT_OK_AND_ASSIGN(std::vector<Bucket> all, catalog_->ListBuckets());
  EXPECT_EQ(all.size(), 1u);
  EXPECT_STATUS(catalog_->GetBucket(Bytes{1}), absl::StatusCode::kNotFound);
  EXPECT_STATUS(catalog_->ChargeBucket(Bytes{1}, 1, true), absl::StatusCode::kNotFound);
  Bucket bad;
  EXPECT_STATUS(catalog_->PutBucket(bad), absl::StatusCode::kInvalidArgument);
}

TEST_F(CatalogDataTest, VerdictsAndFarmerStats) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Sharded(100)));
  Ack(id, 6);
  ASSERT_OK(catalog_->CommitVersion(id));
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> ps, catalog_->ListPlacementsByVersion(id));
  auto record = [&](const Placement& p, AuditResult result, uint32_t latency) {
    NewVerdict v;
    v.block_number = 100;
    v.block_hash.fill(0x42);
    v.shard_id = p.shard_id;
    v.farmer = p.farmer;
    v.placement = p.id;
    v.kind = AuditKind::kSentinel;
    v.challenge_index = 17;
    v.result = result;
    v.latency_ms = latency;
    v.detail = "expected 3f.. got 3f..";
    clock_.Advance(absl::Seconds(1));
    absl::StatusOr<VerdictId> r = catalog_->RecordVerdict(v);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(0);
  };
  VerdictId first = record(ps[0], AuditResult::kPass, 10);
  record(ps[0], AuditResult::kPass, 30);
  record(ps[0], AuditResult::kTimeout, 0);
  VerdictId fail = record(ps[1], AuditResult::kFail, 5);
  ASSERT_OK_AND_ASSIGN(Verdict v, catalog_->GetVerdict(fail));
  EXPECT_EQ(v.result, AuditResult::kFail);
  EXPECT_EQ(v.ino, file_);
  EXPECT_EQ(v.version, id);
  EXPECT_EQ(v.placement, ps[1].id);
  EXPECT_EQ(v.challenge_index, 17u);
  EXPECT_EQ(v.block_number, 100u);
  EXPECT_EQ(v.detail, "expected 3f.. got 3f..");
  EXPECT_EQ(v.time, clock_.Now());
  ASSERT_OK_AND_ASSIGN(Placement p0, catalog_->GetPlacement(ps[0].id));
  EXPECT_EQ(p0.audits, 3u);
  EXPECT_EQ(p0.last_audit, clock_.Now() - absl::Seconds(1));

  VerdictQuery by_file;
  by_file.ino = file_;
  ASSERT_OK_AND_ASSIGN(std::vector<Verdict> vs, catalog_->ListVerdicts(by_file));
  ASSERT_EQ(vs.size(), 4u);
  EXPECT_EQ(vs[0].id, fail);  // newest first
  VerdictQuery by_farmer;
  by_farmer.farmer = ps[0].farmer;
  by_farmer.limit = 2;
  ASSERT_OK_AND_ASSIGN(vs, catalog_->ListVerdicts(by_farmer));
  ASSERT_EQ(vs.size(), 2u);
  by_farmer.before = vs.back().id;
  ASSERT_OK_AND_ASSIGN(vs, catalog_->ListVerdicts(by_farmer));
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].id, first);
  VerdictQuery failures;
  failures.result = AuditResult::kFail;
  ASSERT_OK_AND_ASSIGN(vs, catalog_->ListVerdicts(failures));
  ASSERT_EQ(vs.size(), 1u);

  ASSERT_OK_AND_ASSIGN(std::vector<FarmerAuditStats> stats, catalog_->FarmerStats());
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].farmer, ps[0].farmer);
  EXPECT_EQ(stats[0].pass, 2u);
  EXPECT_EQ(stats[0].timeout, 1u);
  EXPECT_EQ(stats[0].total(), 3u);
  EXPECT_DOUBLE_EQ(stats[0].pass_rate(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(stats[0].mean_latency_ms, 20.0);
  EXPECT_EQ(stats[1].fail, 1u);
  ASSERT_OK_AND_ASSIGN(FarmerAuditStats one, catalog_->FarmerStatsFor(ps[1].farmer));
  EXPECT_EQ(one.fail, 1u);
  ASSERT_OK_AND_ASSIGN(FarmerAuditStats none, catalog_->FarmerStatsFor(FarmerN(200)));
  EXPECT_EQ(none.total(), 0u);
  EXPECT_EQ(none.farmer, FarmerN(200));
  ASSERT_OK_AND_ASSIGN(stats, catalog_->FarmerStats(clock_.Now()));
  ASSERT_EQ(stats.size(), 1u);  // only the last verdict is that recent

  // Farmer records were created by the verdicts.
  ASSERT_OK_AND_ASSIGN(Farmer f, catalog_->GetFarmer(ps[0].farmer));
  EXPECT_EQ(f.status, FarmerStatus::kActive);
  EXPECT_EQ(f.last_seen, clock_.Now() - absl::Seconds(2));  // the timeout did not count
  ASSERT_OK(catalog_->SetFarmerStatus(ps[0].farmer, FarmerStatus::kSuspect, 1));
  ASSERT_OK_AND_ASSIGN(f, catalog_->GetFarmer(ps[0].farmer));
  EXPECT_EQ(f.status, FarmerStatus::kSuspect);
  EXPECT_EQ(f.suspicion, 1u);
  EXPECT_STATUS(catalog_->SetFarmerStatus(FarmerN(200), FarmerStatus::kBad, 0),
                absl::StatusCode::kNotFound);
  Farmer nf;
  nf.id = FarmerN(201);
  nf.hint = "tcp://x:1";
  nf.first_seen = clock_.Now();
  nf.last_seen = clock_.Now();
  ASSERT_OK(catalog_->PutFarmer(nf));
  ASSERT_OK_AND_ASSIGN(std::vector<Farmer> farmers, catalog_->ListFarmers());
  EXPECT_EQ(farmers.size(), 3u);

  // Reporting on chain.
  ASSERT_OK_AND_ASSIGN(vs, catalog_->ListUnreportedVerdicts(3));
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0].id, first);
  ASSERT_OK(catalog_->MarkVerdictsReported({vs[0].id, vs[1].id, vs[2].id}));
  ASSERT_OK_AND_ASSIGN(vs, catalog_->ListUnreportedVerdicts(10));
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].id, fail);
  ASSERT_OK_AND_ASSIGN(v, catalog_->GetVerdict(first));
  EXPECT_EQ(v.reported, clock_.Now());
  EXPECT_STATUS(catalog_->GetVerdict(9999), absl::StatusCode::kNotFound);
}

// ---- Transactions ------------------------------------------------------------------------

TEST_F(CatalogDataTest, TransactionCommitsSeveralCallsAtomically) {
  ASSERT_OK_AND_ASSIGN(VersionId id, catalog_->AddVersion(Sharded(100)));
  Ack(id, 5);
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, catalog_->Begin(Durability::kDurable));
    ASSERT_OK(catalog_->CommitVersion(id));
    AttrUpdate size;
    size.size = 100;
    ASSERT_OK(catalog_->SetAttr(file_, size));
    ASSERT_OK(catalog_->ChargeBucket(bucket_, 6 * 4096, true));
    ASSERT_OK(txn.Commit());
    EXPECT_STATUS(txn.Commit(), absl::StatusCode::kFailedPrecondition);
  }
  ASSERT_OK_AND_ASSIGN(Attr attr, catalog_->GetAttr(file_));
  EXPECT_EQ(attr.current_version, id);
  EXPECT_EQ(attr.size, 100u);
  ASSERT_OK_AND_ASSIGN(Bucket b, catalog_->GetBucket(bucket_));
  EXPECT_EQ(b.used_bytes, 6u * 4096);
}

TEST_F(CatalogDataTest, TransactionRollsBackWithoutCommit) {
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, catalog_->Begin());
    NodeSpec spec;
    ASSERT_OK(catalog_->CreateNode(kRootIno, "a", spec));
    ASSERT_OK(catalog_->CreateNode(kRootIno, "b", spec));
    ASSERT_OK(catalog_->SetMeta("x.y", "z"));
    // Visible inside the transaction.
    ASSERT_OK(catalog_->Lookup(kRootIno, "a"));
    // A failing call inside leaves nothing behind and the transaction usable.
    EXPECT_EQ(PosixErrno(catalog_->CreateNode(kRootIno, "a", spec).status()), EEXIST);
    ASSERT_OK(catalog_->CreateNode(kRootIno, "c", spec));
    // Nested Begin on the same thread is refused rather than deadlocking.
    EXPECT_STATUS(catalog_->Begin(), absl::StatusCode::kFailedPrecondition);
    EXPECT_STATUS(catalog_->Sync(), absl::StatusCode::kFailedPrecondition);
  }  // destroyed without Commit
  EXPECT_EQ(PosixErrno(catalog_->Lookup(kRootIno, "a").status()), ENOENT);
  EXPECT_EQ(PosixErrno(catalog_->Lookup(kRootIno, "c").status()), ENOENT);
  EXPECT_STATUS(catalog_->GetMeta("x.y"), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<DirEntry> entries, catalog_->ReadDir(kRootIno, 0, 10));
  EXPECT_EQ(entries.size(), 1u);  // just "file"
  // Explicit rollback, and a transaction moved to another owner variable.
  ASSERT_OK_AND_ASSIGN(Transaction txn, catalog_->Begin());
  Transaction moved = std::move(txn);
  ASSERT_OK(catalog_->SetMeta("x.y", "z"));
  moved.Rollback();
  moved.Rollback();
  EXPECT_STATUS(catalog_->GetMeta("x.y"), absl::StatusCode::kNotFound);
  EXPECT_STATUS(moved.Commit(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CatalogDataTest, FailedCallRollsBackItsOwnPartialChanges) {
  // Rename over a non-empty directory fails after several checks; nothing may change.
  NodeSpec dir;
  dir.type = NodeType::kDirectory;
  dir.mode = 0755;
  ASSERT_OK_AND_ASSIGN(Attr a, catalog_->CreateNode(kRootIno, "a", dir));
  ASSERT_OK_AND_ASSIGN(Attr b, catalog_->CreateNode(kRootIno, "b", dir));
  ASSERT_OK(catalog_->CreateNode(b.ino, "x", NodeSpec{}));
  ASSERT_OK_AND_ASSIGN(Attr root_before, catalog_->GetAttr(kRootIno));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(PosixErrno(catalog_->Rename(kRootIno, "a", kRootIno, "b").status()), ENOTEMPTY);
  ASSERT_OK_AND_ASSIGN(Attr root_after, catalog_->GetAttr(kRootIno));
  EXPECT_EQ(root_before, root_after);
  ASSERT_OK_AND_ASSIGN(Attr a_after, catalog_->GetAttr(a.ino));
  EXPECT_EQ(a_after, a);
}

TEST_F(CatalogDataTest, SyncCheckpointSnapshot) {
  ASSERT_OK(catalog_->Sync());
  ASSERT_OK(catalog_->Checkpoint());
  std::string snap = dir_.File("snapshot.db");
  ASSERT_OK(catalog_->SnapshotTo(snap));
  EXPECT_STATUS(catalog_->SnapshotTo(snap), absl::StatusCode::kAlreadyExists);
  FakeClock clock;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> copy, Catalog::Open(snap, clock));
  ASSERT_OK_AND_ASSIGN(Attr f, copy->Lookup(kRootIno, "file"));
  EXPECT_EQ(f.ino, file_);
  ASSERT_OK_AND_ASSIGN(Bucket b, copy->GetBucket(bucket_));
  EXPECT_EQ(b.size_bytes, 1u << 20);
  EXPECT_OK(copy->CheckIntegrity());
}

}  // namespace
}  // namespace gnr::catalog
