#include "net/kademlia/record.h"

#include <string>

#include "common/hex.h"
#include "crypto/random.h"
#include "crypto/secp256k1.h"
#include "gtest/gtest.h"
#include "net/kademlia/secp256k1_authenticator.h"
#include "net/kademlia/testing/fake_authenticator.h"
#include "tests/testing/status_matchers.h"

namespace gnr::kademlia {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

class RecordTest : public ::testing::Test {
 protected:
  RecordTest()
      : rng_(42),
        key_(crypto::PrivateKey::Generate(rng_)),
        other_(crypto::PrivateKey::Generate(rng_)),
        node_id_(NodeIdOfPublicKey(key_.GetPublicKey().Compressed())) {}

  Record Contact(absl::Time t = kNow) {
    Record r;
    r.body = ContactRecord{.node_id = node_id_,
                           .curve_key = rng_.Generate<32>(),
                           .endpoints = {"tcp://127.0.0.1:5555", "tcp://[::1]:5555"},
                           .version = 1,
                           .time = t};
    return r;
  }
  Record Mutable(uint64_t seq, std::string value, absl::Time t = kNow) {
    Record r;
    r.body = MutableRecord{.public_key = key_.GetPublicKey().Compressed(),
                           .name = "catalog-backup",
                           .seq = seq,
                           .value = ToBytes(value),
                           .time = t};
    return r;
  }
  Record Signed(Record r, const crypto::PrivateKey& key) {
    EXPECT_OK(SignRecord(key, r));
    return r;
  }

  crypto::DeterministicRandom rng_;
  crypto::PrivateKey key_;
  crypto::PrivateKey other_;
  NodeId node_id_;
  Secp256k1Authenticator auth_;
  RecordLimits limits_;
};

TEST_F(RecordTest, NodeIdMatchesCrypto) {
  EXPECT_EQ(NodeIdOfPublicKey(key_.GetPublicKey().Compressed()).bytes(),
            crypto::NodeIdOf(key_.GetPublicKey()));
}

TEST_F(RecordTest, ValidSignedRecordsOfEveryKind) {
  Record contact = Signed(Contact(), key_);
  EXPECT_EQ(contact.signature.size(), kSignatureSize);
  EXPECT_OK(ValidateRecord(contact, kNow, limits_, auth_));
  EXPECT_EQ(RecordKey(contact), node_id_);

  Record capacity;
  capacity.body = CapacityRecord{node_id_, 500'000'000'000, 123'456'789, kNow};
  capacity = Signed(capacity, key_);
  EXPECT_OK(ValidateRecord(capacity, kNow, limits_, auth_));
  EXPECT_EQ(RecordKey(capacity), CapacityKey(node_id_));
  EXPECT_NE(RecordKey(capacity), node_id_);

  Record m = Signed(Mutable(1, "root=abc"), key_);
  EXPECT_OK(ValidateRecord(m, kNow, limits_, auth_));
  EXPECT_EQ(RecordKey(m), MutableKey(key_.GetPublicKey().Compressed(), "catalog-backup"));
  EXPECT_NE(RecordKey(m), MutableKey(other_.GetPublicKey().Compressed(), "catalog-backup"));
}

TEST_F(RecordTest, UnsignedRefused) {
  absl::Status s = ValidateRecord(Contact(), kNow, limits_, auth_);
  EXPECT_STATUS(s, absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("unsigned"), absl::string_view::npos) << s;
}

TEST_F(RecordTest, ForgedRefused) {
  // Signed by another key than the node's.
  absl::Status s = ValidateRecord(Signed(Contact(), other_), kNow, limits_, auth_);
  EXPECT_STATUS(s, absl::StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("forged"), absl::string_view::npos) << s;
  // Mutable record under our key signed by someone else.
  s = ValidateRecord(Signed(Mutable(1, "x"), other_), kNow, limits_, auth_);
  EXPECT_STATUS(s, absl::StatusCode::kUnauthenticated);
  // A field changed after signing.
  Record tampered = Signed(Contact(), key_);
  std::get<ContactRecord>(tampered.body).endpoints[0] = "tcp://6.6.6.6:5555";
  EXPECT_STATUS(ValidateRecord(tampered, kNow, limits_, auth_), absl::StatusCode::kUnauthenticated);
  // Garbage and truncated signatures.
  Record garbage = Contact();
  garbage.signature = Bytes(65, 0xff);
  EXPECT_STATUS(ValidateRecord(garbage, kNow, limits_, auth_), absl::StatusCode::kUnauthenticated);
  garbage.signature.resize(64);
  EXPECT_STATUS(ValidateRecord(garbage, kNow, limits_, auth_), absl::StatusCode::kUnauthenticated);
}

TEST_F(RecordTest, ExpiredAndFutureRefused) {
  Record old = Signed(Contact(kNow - absl::Hours(27)), key_);
  absl::Status s = ValidateRecord(old, kNow, limits_, auth_);
  EXPECT_STATUS(s, absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("expired"), absl::string_view::npos) << s;
  EXPECT_OK(ValidateRecord(Signed(Contact(kNow - absl::Hours(25)), key_), kNow, limits_, auth_));
  Record future = Signed(Contact(kNow + absl::Hours(1)), key_);
  s = ValidateRecord(future, kNow, limits_, auth_);
  EXPECT_STATUS(s, absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("future"), absl::string_view::npos) << s;
  EXPECT_OK(ValidateRecord(Signed(Contact(kNow + absl::Minutes(5)), key_), kNow, limits_, auth_));
}

TEST_F(RecordTest, OversizedRefused) {
  Record big = Signed(Mutable(1, std::string(3000, 'x')), key_);
  absl::Status s = ValidateRecord(big, kNow, limits_, auth_);
  EXPECT_STATUS(s, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("limit 2048"), absl::string_view::npos) << s;
  Record many = Contact();
  std::get<ContactRecord>(many.body).endpoints.assign(9, "tcp://x");
  EXPECT_STATUS(CanonicalEncoding(many), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(SignRecord(key_, many), absl::StatusCode::kInvalidArgument);
  Record long_name = Mutable(1, "v");
  std::get<MutableRecord>(long_name.body).name.assign(256, 'n');
  EXPECT_STATUS(CanonicalEncoding(long_name), absl::StatusCode::kInvalidArgument);
}

TEST_F(RecordTest, StaleOrdering) {
  Record v1 = Signed(Mutable(1, "a"), key_);
  Record v2 = Signed(Mutable(2, "b"), key_);
  EXPECT_EQ(CompareRecords(v1, v2), RecordOrder::kNewer);
  EXPECT_EQ(CompareRecords(v2, v1), RecordOrder::kStale);
  EXPECT_EQ(CompareRecords(v2, v2), RecordOrder::kSame);
  EXPECT_NE(StaleReason(v2, v1).find("seq 1 <= stored seq 2"), std::string::npos);
  // Equal seq, different value: stale (a conflicting write).
  Record v2b = Signed(Mutable(2, "c"), key_);
  EXPECT_EQ(CompareRecords(v2, v2b), RecordOrder::kStale);
  // Equal seq and value re-signed later: the owner extends its life.
  Record v2later = Signed(Mutable(2, "b", kNow + absl::Hours(24)), key_);
  EXPECT_EQ(CompareRecords(v2, v2later), RecordOrder::kNewer);
  // Contacts order by time.
  Record c1 = Signed(Contact(kNow), key_);
  Record c2 = Signed(Contact(kNow + absl::Seconds(1)), key_);
  EXPECT_EQ(CompareRecords(c1, c2), RecordOrder::kNewer);
  EXPECT_EQ(CompareRecords(c2, c1), RecordOrder::kStale);
}

TEST(RecordEncoding, CanonicalCapacityGoldenVector) {
  Record r;
  FixedBytes<20> id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i);
  r.body = CapacityRecord{NodeId(id), 0x0102030405060708, 0x1112131415161718,
                          absl::FromUnixMicros(0x0000000a0b0c0d0e)};
  ASSERT_OK_AND_ASSIGN(Bytes enc, CanonicalEncoding(r));
  EXPECT_EQ(HexEncode(enc), HexEncode(AsBytes("gnr/dht/record/v1")) + "02" +
                                "000102030405060708090a0b0c0d0e0f10111213" + "0102030405060708" +
                                "1112131415161718" + "0000000a0b0c0d0e");
}

TEST(RecordEncoding, CanonicalContactAndMutableLayout) {
  Record c;
  c.body = ContactRecord{NodeId(), FixedBytes<32>{}, {"ab", "c"}, 7, absl::FromUnixMicros(1)};
  ASSERT_OK_AND_ASSIGN(Bytes enc, CanonicalEncoding(c));
  EXPECT_EQ(HexEncode(enc), HexEncode(AsBytes("gnr/dht/record/v1")) + "01" + std::string(40, '0') +
                                std::string(64, '0') + "00000007" + "0000000000000001" + "02" +
                                "026162" + "0163");
  Record m;
  m.body = MutableRecord{PublicKeyBytes{}, "n", 5, Bytes{0xee}, absl::FromUnixMicros(2)};
  ASSERT_OK_AND_ASSIGN(Bytes menc, CanonicalEncoding(m));
  EXPECT_EQ(HexEncode(menc), HexEncode(AsBytes("gnr/dht/record/v1")) + "03" + std::string(66, '0') +
                                 "016e" + "0000000000000005" + "0000000000000002" + "00000001ee");
}

TEST(FakeAuthenticator, RunsTheSameChecks) {
  crypto::DeterministicRandom rng(1);
  testing::FakeAuthenticator auth;
  PublicKeyBytes key = testing::FakeAuthenticator::NewKey(rng);
  PublicKeyBytes other = testing::FakeAuthenticator::NewKey(rng);
  Record r;
  r.body = ContactRecord{.node_id = NodeIdOfPublicKey(key), .endpoints = {"sim:1"}, .time = kNow};
  EXPECT_STATUS(ValidateRecord(r, kNow, {}, auth), absl::StatusCode::kUnauthenticated);
  ASSERT_OK(testing::FakeAuthenticator::Sign(key, r));
  EXPECT_OK(ValidateRecord(r, kNow, {}, auth));
  ASSERT_OK(testing::FakeAuthenticator::Sign(other, r));
  EXPECT_STATUS(ValidateRecord(r, kNow, {}, auth), absl::StatusCode::kUnauthenticated);
  ASSERT_OK(testing::FakeAuthenticator::Sign(key, r));
  std::get<ContactRecord>(r.body).version = 2;
  EXPECT_STATUS(ValidateRecord(r, kNow, {}, auth), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace gnr::kademlia
