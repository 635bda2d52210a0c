// Schema version 3: the auditor's per-shard state and atomic placement replacement.

#include "fs/catalog/catalog.h"
#include "fs/catalog/catalog_test_util.h"
#include "fs/codec/layout.h"
#include "fs/codec/manifest.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::catalog {
namespace {

class AuditStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(dir_.File("catalog.db"), clock_));
    ASSERT_OK_AND_ASSIGN(testing::TwoShardFile file, testing::AddTwoShardFile(*catalog_, clock_));
    version_ = file.version;
    placements_[0] = file.placements[0];
    placements_[1] = file.placements[1];
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> catalog_;
  VersionId version_ = 0;
  PlacementId placements_[2] = {};
};

TEST_F(AuditStateTest, DefaultsThenStoredValues) {
  EXPECT_EQ(catalog_->schema_version(), kLatestSchemaVersion);
  ASSERT_OK_AND_ASSIGN(ShardAuditState s, catalog_->GetShardAuditState(placements_[0]));
  EXPECT_EQ(s.placement, placements_[0]);
  EXPECT_EQ(s.suspicion, 0u);
  EXPECT_FALSE(s.last_audit_block.has_value());
  s.suspicion = 2;
  s.last_audit_block = 77;
  s.retag_needed = true;
  s.bad_reason = "why";
  ASSERT_OK(catalog_->SetShardAuditState(s));
  ASSERT_OK_AND_ASSIGN(ShardAuditState back, catalog_->GetShardAuditState(placements_[0]));
  EXPECT_EQ(back.suspicion, 2u);
  EXPECT_EQ(back.last_audit_block, 77u);
  EXPECT_TRUE(back.retag_needed);
  EXPECT_EQ(back.bad_reason, "why");
  ASSERT_OK_AND_ASSIGN(std::vector<ShardAuditState> all, catalog_->ListShardAuditStates());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].placement, placements_[0]);
  EXPECT_STATUS(catalog_->GetShardAuditState(999), absl::StatusCode::kNotFound);
  ShardAuditState missing;
  missing.placement = 999;
  EXPECT_STATUS(catalog_->SetShardAuditState(missing), absl::StatusCode::kNotFound);
}

TEST_F(AuditStateTest, ReplacePlacementIsAtomicAndLinked) {
  ASSERT_OK(catalog_->SetPlacementState(placements_[1], PlacementState::kBad));
  ASSERT_OK_AND_ASSIGN(Placement old, catalog_->GetPlacement(placements_[1]));
  NewPlacement np;
  np.version = version_;
  np.shard_index = 1;
  np.generation = 1;
  np.shard_id.fill(9);
  np.farmer.fill(7);
  np.state = PlacementState::kAcked;
  np.groups_used = {0x05};
  ASSERT_OK_AND_ASSIGN(PlacementId id, catalog_->ReplacePlacement(placements_[1], np));
  ASSERT_OK_AND_ASSIGN(Placement now_old, catalog_->GetPlacement(placements_[1]));
  EXPECT_EQ(now_old.state, PlacementState::kRepaired);
  ASSERT_OK_AND_ASSIGN(Placement fresh, catalog_->GetPlacement(id));
  EXPECT_EQ(fresh.state, PlacementState::kAcked);
  EXPECT_EQ(fresh.groups_used, Bytes{0x05});
  EXPECT_EQ(fresh.generation, 1u);
  ASSERT_OK_AND_ASSIGN(ShardAuditState s, catalog_->GetShardAuditState(placements_[1]));
  EXPECT_EQ(s.replaced_by, id);
  // Twice: refused. Another position: refused, nothing changed.
  EXPECT_STATUS(catalog_->ReplacePlacement(placements_[1], np),
                absl::StatusCode::kFailedPrecondition);
  np.shard_index = 0;
  EXPECT_STATUS(catalog_->ReplacePlacement(id, np), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(std::vector<Placement> all, catalog_->ListPlacementsByVersion(version_));
  EXPECT_EQ(all.size(), 3u);
}

TEST_F(AuditStateTest, OlderSchemaRefusesAuditState) {
  catalog_.reset();
  Catalog::Options v2;
  v2.schema_version = 2;
  testing::TempDir other;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> c, Catalog::Open(other.File("c.db"), clock_, v2));
  EXPECT_STATUS(c->GetShardAuditState(1), absl::StatusCode::kFailedPrecondition);
  EXPECT_STATUS(c->ListShardAuditStates(), absl::StatusCode::kFailedPrecondition);
  c.reset();
  // Reopening at the latest version migrates 2 -> 3 -> ... -> latest.
  ASSERT_OK_AND_ASSIGN(c, Catalog::Open(other.File("c.db"), clock_));
  EXPECT_EQ(c->schema_version(), kLatestSchemaVersion);
  EXPECT_OK(c->ListShardAuditStates().status());
}

}  // namespace
}  // namespace gnr::catalog
