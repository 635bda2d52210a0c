// Schema version 4: the sentinel generation of each placed shard (re-tagging), and the
// migration from version 3.

#include <memory>

#include "fs/catalog/catalog.h"
#include "fs/catalog/catalog_test_util.h"
#include "fs/codec/manifest.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::catalog {
namespace {

class RetagSchemaTest : public ::testing::Test {
 protected:
  // A catalog at `schema` with one sharded version of 1 segment x 2 shards, both placed.
  void Populate(int schema) {
    Catalog::Options options;
    options.schema_version = schema;
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(path(), clock_, options));
    ASSERT_OK_AND_ASSIGN(testing::TwoShardFile file,
                         testing::AddTwoShardFile(*catalog_, clock_, Bytes{0x05}));
    manifest_ = file.manifest;
    version_ = file.version;
    placements_[0] = file.placements[0];
    placements_[1] = file.placements[1];
  }
  std::string path() const { return dir_.File("catalog.db"); }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> catalog_;
  codec::FileManifest manifest_;
  VersionId version_ = 0;
  PlacementId placements_[2] = {};
};

TEST_F(RetagSchemaTest, MigratesVersion3Placements) {
  Populate(3);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(catalog_->schema_version(), 3);
  // Below version 4 the column does not exist: reads give 0, a nonzero write is refused.
  ASSERT_OK_AND_ASSIGN(Placement old, catalog_->GetPlacement(placements_[1]));
  EXPECT_EQ(old.sentinel_generation, 0u);
  NewPlacement retagged;
  retagged.version = version_;
  retagged.shard_index = 1;
  retagged.generation = 1;
  retagged.sentinel_generation = 1;
  retagged.shard_id = codec::ComputeShardId(manifest_.nonce, 0, 1, 1);
  retagged.farmer.fill(9);
  retagged.state = PlacementState::kAcked;
  EXPECT_STATUS(catalog_->ReplacePlacement(placements_[1], retagged),
                absl::StatusCode::kFailedPrecondition);
  EXPECT_STATUS(catalog_->AddPlacement(retagged), absl::StatusCode::kFailedPrecondition);
  catalog_.reset();

  // Reopening migrates 3 -> 4: every placement keeps its fields, generation 0.
  ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(path(), clock_));
  EXPECT_EQ(catalog_->schema_version(), kLatestSchemaVersion);
  EXPECT_OK(catalog_->CheckIntegrity());
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> all, catalog_->ListPlacementsByVersion(version_));
  ASSERT_EQ(all.size(), 2u);
  for (const Placement& p : all) {
    EXPECT_EQ(p.sentinel_generation, 0u);
    EXPECT_EQ(p.state, PlacementState::kAcked);
    EXPECT_EQ(p.groups_used, Bytes{0x05});
  }
  EXPECT_EQ(all[1].shard_id, old.shard_id);
  EXPECT_EQ(all[1].farmer, old.farmer);

  // Now a re-tag's replacement stores its sentinel generation, atomically with the manifest.
  codec::FileManifest m = manifest_;
  m.version = codec::kManifestVersionSentinelGenerations;
  m.segments[0].shards[1].generation = 1;
  m.segments[0].shards[1].sentinel_generation = 1;
  m.segments[0].shards[1].id = retagged.shard_id;
  ASSERT_OK_AND_ASSIGN(Bytes encoded, codec::EncodeFileManifest(m));
  PlacementId fresh = 0;
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, catalog_->Begin());
    ASSERT_OK(catalog_->UpdateManifest(version_, encoded));
    ASSERT_OK_AND_ASSIGN(fresh, catalog_->ReplacePlacement(placements_[1], retagged));
    ASSERT_OK(txn.Commit());
  }
  ASSERT_OK_AND_ASSIGN(Placement p, catalog_->GetPlacement(fresh));
  EXPECT_EQ(p.sentinel_generation, 1u);
  EXPECT_EQ(p.generation, 1u);
  EXPECT_TRUE(p.groups_used.empty());  // fresh sentinels: no group used
  ASSERT_OK_AND_ASSIGN(Placement replaced, catalog_->GetPlacement(placements_[1]));
  EXPECT_EQ(replaced.state, PlacementState::kRepaired);
  EXPECT_EQ(replaced.sentinel_generation, 0u);
  ASSERT_OK_AND_ASSIGN(Version v, catalog_->GetVersion(version_));
  ASSERT_OK_AND_ASSIGN(codec::FileManifest back, codec::DecodeFileManifest(v.manifest));
  EXPECT_EQ(back.segments[0].shards[1].sentinel_generation, 1u);
  ASSERT_OK_AND_ASSIGN(ShardAuditState st, catalog_->GetShardAuditState(placements_[1]));
  EXPECT_EQ(st.replaced_by, fresh);
}

TEST_F(RetagSchemaTest, AbortedReplacementLeavesNothing) {
  Populate(kLatestSchemaVersion);
  ASSERT_FALSE(HasFatalFailure());
  NewPlacement retagged;
  retagged.version = version_;
  retagged.shard_index = 0;
  retagged.generation = 1;
  retagged.sentinel_generation = 1;
  retagged.shard_id = codec::ComputeShardId(manifest_.nonce, 0, 0, 1);
  retagged.farmer.fill(9);
  retagged.state = PlacementState::kAcked;
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, catalog_->Begin());
    ASSERT_OK(catalog_->ReplacePlacement(placements_[0], retagged).status());
    // No Commit: the transaction rolls back.
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> all, catalog_->ListPlacementsByVersion(version_));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, PlacementState::kAcked);
  EXPECT_EQ(all[0].sentinel_generation, 0u);
}

}  // namespace
}  // namespace gnr::catalog
