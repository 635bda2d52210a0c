#include "net/kademlia/record_store.h"

#include <string>

#include "crypto/random.h"
#include "gtest/gtest.h"
#include "net/kademlia/testing/fake_authenticator.h"
#include "tests/testing/status_matchers.h"

namespace gnr::kademlia {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

class RecordStoreTest : public ::testing::Test {
 protected:
  RecordStoreTest() : rng_(9), owner_(testing::FakeAuthenticator::NewKey(rng_)) {}

  Record Mutable(std::string name, uint64_t seq, std::string value, absl::Time t = kT0) {
    Record r;
    r.body = MutableRecord{owner_, std::move(name), seq, ToBytes(value), t};
    EXPECT_OK(testing::FakeAuthenticator::Sign(owner_, r));
    return r;
  }

  crypto::DeterministicRandom rng_;
  PublicKeyBytes owner_;
  RecordStore store_{
      {.max_records = 3, .record_ttl = absl::Hours(26), .cache_ttl = absl::Hours(1)}};
};

TEST_F(RecordStoreTest, StoresFindsAndExpires) {
  Record r = Mutable("a", 1, "x");
  Key key = RecordKey(r);
  ASSERT_OK_AND_ASSIGN(auto res, store_.Put(key, r, false, kT0, kT0 + absl::Hours(1)));
  EXPECT_EQ(res, RecordStore::PutResult::kAdded);
  ASSERT_NE(store_.Find(key, kT0), nullptr);
  EXPECT_EQ(store_.Find(key, kT0)->record, r);
  EXPECT_EQ(store_.Find(key, kT0)->expires, kT0 + absl::Hours(26));
  EXPECT_EQ(store_.Find(key, kT0 + absl::Hours(26)), nullptr);  // expired
  EXPECT_EQ(store_.NextEvent(), kT0 + absl::Hours(1));          // first replication
  store_.TakeDue(kT0 + absl::Hours(27), absl::Hours(1));
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(RecordStoreTest, HigherSeqReplacesLowerAndEqualAreStale) {
  Record v2 = Mutable("a", 2, "two");
  Key key = RecordKey(v2);
  ASSERT_OK(store_.Put(key, v2, false, kT0, kT0 + absl::Hours(1)));
  absl::StatusOr<RecordStore::PutResult> lower =
      store_.Put(key, Mutable("a", 1, "one"), false, kT0, kT0);
  EXPECT_STATUS(lower, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lower.status().message().find("stale"), absl::string_view::npos);
  EXPECT_STATUS(store_.Put(key, Mutable("a", 2, "other"), false, kT0, kT0),
                absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(auto same, store_.Put(key, v2, false, kT0, kT0));
  EXPECT_EQ(same, RecordStore::PutResult::kSame);
  Record v3 = Mutable("a", 3, "three");
  ASSERT_OK_AND_ASSIGN(auto replaced, store_.Put(key, v3, false, kT0, kT0));
  EXPECT_EQ(replaced, RecordStore::PutResult::kReplaced);
  EXPECT_EQ(store_.Find(key, kT0)->record, v3);
}

TEST_F(RecordStoreTest, ReplicationSchedule) {
  Record r = Mutable("a", 1, "x");
  Key key = RecordKey(r);
  ASSERT_OK(store_.Put(key, r, false, kT0, kT0 + absl::Minutes(40)));
  EXPECT_TRUE(store_.TakeDue(kT0 + absl::Minutes(39), absl::Hours(1)).empty());
  std::vector<Key> due = store_.TakeDue(kT0 + absl::Minutes(40), absl::Hours(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], key);
  EXPECT_EQ(store_.NextEvent(), kT0 + absl::Minutes(100));
  // Another holder replicated it to us: postpone.
  store_.SetNextReplicate(key, kT0 + absl::Minutes(150));
  EXPECT_TRUE(store_.TakeDue(kT0 + absl::Minutes(100), absl::Hours(1)).empty());
  EXPECT_EQ(store_.TakeDue(kT0 + absl::Minutes(150), absl::Hours(1)).size(), 1u);
}

TEST_F(RecordStoreTest, CachedCopiesExpireSoonAndAreNotReplicated) {
  Record r = Mutable("a", 1, "x");
  Key key = RecordKey(r);
  ASSERT_OK(store_.Put(key, r, /*cached=*/true, kT0, kT0));
  EXPECT_EQ(store_.cached_count(), 1u);
  EXPECT_EQ(store_.Find(key, kT0)->expires, kT0 + absl::Hours(1));
  EXPECT_EQ(store_.NextEvent(), kT0 + absl::Hours(1));  // expiry only
  EXPECT_TRUE(store_.TakeDue(kT0 + absl::Minutes(59), absl::Hours(1)).empty());
  // A regular STORE of the same record makes it a stored copy.
  ASSERT_OK(store_.Put(key, r, /*cached=*/false, kT0, kT0 + absl::Minutes(30)));
  EXPECT_EQ(store_.cached_count(), 0u);
  EXPECT_FALSE(store_.Find(key, kT0)->cached);
  EXPECT_EQ(store_.Find(key, kT0)->expires, kT0 + absl::Hours(26));
  // A cached STORE never downgrades a stored copy.
  ASSERT_OK(store_.Put(key, r, /*cached=*/true, kT0, kT0));
  EXPECT_FALSE(store_.Find(key, kT0)->cached);
}

TEST_F(RecordStoreTest, FullStoreEvictsCachedFirst) {
  Record a = Mutable("a", 1, "x"), b = Mutable("b", 1, "x"), c = Mutable("c", 1, "x");
  Record d = Mutable("d", 1, "x");
  ASSERT_OK(store_.Put(RecordKey(a), a, false, kT0, kT0));
  ASSERT_OK(store_.Put(RecordKey(b), b, false, kT0, kT0));
  ASSERT_OK(store_.Put(RecordKey(c), c, true, kT0, kT0));
  // Full: another cached copy is refused, a stored record evicts the cached one.
  EXPECT_STATUS(store_.Put(RecordKey(d), d, true, kT0, kT0), absl::StatusCode::kResourceExhausted);
  ASSERT_OK(store_.Put(RecordKey(d), d, false, kT0, kT0));
  EXPECT_EQ(store_.Find(RecordKey(c), kT0), nullptr);
  EXPECT_EQ(store_.size(), 3u);
  Record e = Mutable("e", 1, "x");
  EXPECT_STATUS(store_.Put(RecordKey(e), e, false, kT0, kT0), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace gnr::kademlia
