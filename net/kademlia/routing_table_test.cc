#include "net/kademlia/routing_table.h"

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "gtest/gtest.h"

namespace gnr::kademlia {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

Contact C(const NodeId& id) { return Contact{id, "tcp://" + id.ShortHex(), {}}; }

// An id whose first byte is `first` and whose last bytes are `n` (distinct ids in a bucket).
NodeId IdWith(uint8_t first, uint32_t n) {
  FixedBytes<20> b{};
  b[0] = first;
  b[16] = static_cast<uint8_t>(n >> 24);
  b[17] = static_cast<uint8_t>(n >> 16);
  b[18] = static_cast<uint8_t>(n >> 8);
  b[19] = static_cast<uint8_t>(n);
  return NodeId(b);
}

class RoutingTableTest : public ::testing::Test {
 protected:
  static RoutingTable::Options Opts() {
    return {.k = 4, .replacement_cache_size = 2, .max_failures = 3, .ping_after = absl::Minutes(1)};
  }
  NodeId self_;  // all zero
  RoutingTable table_{self_, Opts()};
};

TEST_F(RoutingTableTest, InsertsUpdatesAndIgnores) {
  auto r = table_.Heard(C(IdWith(0x80, 1)), kT0);
  EXPECT_EQ(r.result, RoutingTable::HeardResult::kAdded);
  EXPECT_EQ(table_.Heard(C(IdWith(0x80, 1)), kT0 + absl::Seconds(1)).result,
            RoutingTable::HeardResult::kUpdated);
  EXPECT_EQ(table_.Find(IdWith(0x80, 1))->last_seen, kT0 + absl::Seconds(1));
  EXPECT_EQ(table_.Heard(C(self_), kT0).result, RoutingTable::HeardResult::kIgnored);
  EXPECT_EQ(table_.Heard(Contact{IdWith(0x40, 1), "", {}}, kT0).result,
            RoutingTable::HeardResult::kIgnored);
  EXPECT_EQ(table_.size(), 1u);
  // A changed endpoint heard directly replaces the old one.
  table_.Heard(Contact{IdWith(0x80, 1), "tcp://new", {}}, kT0 + absl::Seconds(2));
  EXPECT_EQ(table_.Find(IdWith(0x80, 1))->contact.endpoint, "tcp://new");
}

TEST_F(RoutingTableTest, SplitsOnlyTheBucketCoveringOurId) {
  // 4 far nodes (first bit 1) fill the single bucket; a near node splits it.
  for (uint32_t i = 0; i < 4; ++i) table_.Heard(C(IdWith(0x80, i)), kT0);
  EXPECT_EQ(table_.bucket_count(), 1u);
  EXPECT_EQ(table_.Heard(C(IdWith(0x01, 0)), kT0).result, RoutingTable::HeardResult::kAdded);
  EXPECT_GE(table_.bucket_count(), 2u);
  EXPECT_EQ(table_.BucketIndex(IdWith(0x80, 0)), 0u);
  EXPECT_EQ(table_.bucket_nodes(0).size(), 4u);
  // The far bucket is full and no longer splits: a fifth far node waits as a replacement.
  auto r = table_.Heard(C(IdWith(0x80, 9)), kT0);
  EXPECT_EQ(r.result, RoutingTable::HeardResult::kReplacementCached);
  EXPECT_EQ(table_.size(), 5u);
  // Many near nodes keep splitting towards our id; no bucket exceeds k.
  crypto::DeterministicRandom rng(3);
  for (int i = 0; i < 200; ++i) table_.Heard(C(NodeId::Random(rng)), kT0);
  for (size_t b = 0; b < table_.bucket_count(); ++b) {
    EXPECT_LE(table_.bucket_nodes(b).size(), 4u);
    for (const RoutingEntry& e : table_.bucket_nodes(b)) {
      EXPECT_EQ(table_.BucketIndex(e.contact.id), b);
    }
  }
}

TEST_F(RoutingTableTest, FullBucketPingsLeastRecentlySeenBeforeEvicting) {
  for (uint32_t i = 0; i < 4; ++i) table_.Heard(C(IdWith(0x80, i)), kT0 + absl::Seconds(i));
  table_.Heard(C(IdWith(0x01, 0)), kT0);  // split so the far bucket cannot split again
  absl::Time later = kT0 + absl::Minutes(5);
  auto r = table_.Heard(C(IdWith(0x80, 100)), later);
  EXPECT_EQ(r.result, RoutingTable::HeardResult::kReplacementCached);
  ASSERT_TRUE(r.ping.has_value());
  EXPECT_EQ(r.ping->id, IdWith(0x80, 0));  // least recently seen
  // While that ping is outstanding, more newcomers do not trigger more pings.
  EXPECT_FALSE(table_.Heard(C(IdWith(0x80, 101)), later).ping.has_value());
  EXPECT_EQ(table_.bucket_replacements(0).size(), 2u);

  // It answers: it stays (now most recently seen), the newcomers keep waiting.
  EXPECT_EQ(table_.Heard(C(IdWith(0x80, 0)), later).result, RoutingTable::HeardResult::kUpdated);
  EXPECT_TRUE(table_.Contains(IdWith(0x80, 0)));
  EXPECT_EQ(table_.bucket_nodes(0).back().contact.id, IdWith(0x80, 0));
  EXPECT_FALSE(table_.Contains(IdWith(0x80, 100)));

  // The next least recently seen node is pinged for the next newcomer and fails: the most
  // recent replacement takes its place.
  auto r2 = table_.Heard(C(IdWith(0x80, 102)), later);
  ASSERT_TRUE(r2.ping.has_value());
  EXPECT_EQ(r2.ping->id, IdWith(0x80, 1));
  std::optional<Contact> promoted = table_.Failed(IdWith(0x80, 1));
  ASSERT_TRUE(promoted.has_value());
  EXPECT_EQ(promoted->id, IdWith(0x80, 102));
  EXPECT_FALSE(table_.Contains(IdWith(0x80, 1)));
  EXPECT_TRUE(table_.Contains(IdWith(0x80, 102)));
  EXPECT_EQ(table_.bucket_nodes(0).size(), 4u);
}

TEST_F(RoutingTableTest, RecentlySeenNodeIsNotPinged) {
  for (uint32_t i = 0; i < 4; ++i) table_.Heard(C(IdWith(0x80, i)), kT0);
  table_.Heard(C(IdWith(0x01, 0)), kT0);
  auto r = table_.Heard(C(IdWith(0x80, 100)), kT0 + absl::Seconds(10));
  EXPECT_EQ(r.result, RoutingTable::HeardResult::kReplacementCached);
  EXPECT_FALSE(r.ping.has_value());
}

TEST_F(RoutingTableTest, FailuresWithoutReplacementRemoveAfterMaxFailures) {
  table_.Heard(C(IdWith(0x80, 1)), kT0);
  EXPECT_FALSE(table_.Failed(IdWith(0x80, 1)).has_value());
  EXPECT_EQ(table_.Find(IdWith(0x80, 1))->failures, 1);
  // Failing nodes are left out of closest-node answers.
  EXPECT_TRUE(table_.FindClosest(self_, 10).empty());
  EXPECT_EQ(table_.FindClosest(self_, 10, /*include_failing=*/true).size(), 1u);
  // Hearing from it again resets the count.
  table_.Heard(C(IdWith(0x80, 1)), kT0);
  EXPECT_EQ(table_.Find(IdWith(0x80, 1))->failures, 0);
  for (int i = 0; i < 3; ++i) table_.Failed(IdWith(0x80, 1));
  EXPECT_FALSE(table_.Contains(IdWith(0x80, 1)));
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(RoutingTableTest, NewcomerReplacesAFailingNodeInAFullBucket) {
  for (uint32_t i = 0; i < 4; ++i) table_.Heard(C(IdWith(0x80, i)), kT0);
  table_.Heard(C(IdWith(0x01, 0)), kT0);
  table_.Failed(IdWith(0x80, 2));
  EXPECT_EQ(table_.Heard(C(IdWith(0x80, 50)), kT0).result, RoutingTable::HeardResult::kAdded);
  EXPECT_FALSE(table_.Contains(IdWith(0x80, 2)));
  EXPECT_TRUE(table_.Contains(IdWith(0x80, 50)));
}

TEST(RoutingTable, ClosestKOrderingMatchesBruteForce) {
  crypto::DeterministicRandom rng(11);
  NodeId self = NodeId::Random(rng);
  RoutingTable table(
      self,
      {.k = 20, .replacement_cache_size = 8, .max_failures = 3, .ping_after = absl::Minutes(1)});
  for (int i = 0; i < 2000; ++i) table.Heard(C(NodeId::Random(rng)), kT0);
  std::vector<Contact> all = table.AllContacts();
  EXPECT_EQ(all.size(), table.size());
  EXPECT_GT(table.size(), 100u);
  for (int t = 0; t < 20; ++t) {
    NodeId target = NodeId::Random(rng);
    std::vector<Contact> got = table.FindClosest(target, 20);
    std::vector<NodeId> expected;
    for (const Contact& c : all) expected.push_back(c.id);
    std::sort(expected.begin(), expected.end(), DistanceLess(target));
    expected.resize(20);
    ASSERT_EQ(got.size(), 20u);
    for (size_t i = 0; i < 20; ++i) EXPECT_EQ(got[i].id, expected[i]) << i;
    EXPECT_EQ(table.CountCloser(target, expected[5], 100), 5u);
  }
}

TEST(RoutingTable, RefreshTargetsFallInStaleBuckets) {
  crypto::DeterministicRandom rng(5);
  NodeId self = NodeId::Random(rng);
  RoutingTable table(self, {});
  EXPECT_TRUE(table.TakeRefreshTargets(kT0, absl::Hours(1), rng).empty());  // empty table
  EXPECT_EQ(table.NextRefresh(absl::Hours(1)), absl::InfiniteFuture());
  for (int i = 0; i < 500; ++i) table.Heard(C(NodeId::Random(rng)), kT0);
  size_t buckets = table.bucket_count();
  ASSERT_GT(buckets, 2u);
  // Never looked up: every bucket is due, one target in each.
  std::vector<NodeId> targets = table.TakeRefreshTargets(kT0, absl::Hours(1), rng);
  ASSERT_EQ(targets.size(), buckets);
  for (size_t i = 0; i < buckets; ++i) EXPECT_EQ(table.BucketIndex(targets[i]), i);
  EXPECT_TRUE(table.TakeRefreshTargets(kT0 + absl::Minutes(59), absl::Hours(1), rng).empty());
  EXPECT_EQ(table.NextRefresh(absl::Hours(1)), kT0 + absl::Hours(1));
  // A lookup through bucket 0 postpones its refresh.
  table.MarkLookup(targets[0], kT0 + absl::Minutes(30));
  std::vector<NodeId> due = table.TakeRefreshTargets(kT0 + absl::Hours(1), absl::Hours(1), rng);
  EXPECT_EQ(due.size(), buckets - 1);
  table.ForgetLookups();
  EXPECT_EQ(table.TakeRefreshTargets(kT0 + absl::Hours(1), absl::Hours(1), rng).size(), buckets);
}

}  // namespace
}  // namespace gnr::kademlia
