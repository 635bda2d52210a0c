#include "net/kademlia/node_id.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::kademlia {
namespace {

NodeId Id(std::string_view hex) { return NodeId::FromHex(hex).value(); }

TEST(NodeId, HexRoundTripAndErrors) {
  NodeId id = Id("00112233445566778899aabbccddeeff00112233");
  EXPECT_EQ(id.ToHex(), "00112233445566778899aabbccddeeff00112233");
  EXPECT_EQ(id.ShortHex(), "00112233");
  EXPECT_STATUS(NodeId::FromHex("0011"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(NodeId::FromHex("zz112233445566778899aabbccddeeff00112233"),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(NodeId::FromBytes(Bytes(19)), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(NodeId same, NodeId::FromBytes(id.view()));
  EXPECT_EQ(same, id);
}

TEST(NodeId, XorDistanceAndCommonPrefix) {
  NodeId a = Id("8000000000000000000000000000000000000000");
  NodeId b = Id("c000000000000000000000000000000000000000");
  NodeId zero;
  EXPECT_EQ((a ^ b), Id("4000000000000000000000000000000000000000"));
  EXPECT_EQ(a.CommonPrefixLength(b), 1u);
  EXPECT_EQ(a.CommonPrefixLength(zero), 0u);
  EXPECT_EQ(a.CommonPrefixLength(a), 160u);
  EXPECT_EQ(zero.CommonPrefixLength(Id("0000000000000000000000000000000000000001")), 159u);
  EXPECT_TRUE(zero.IsZero());
  EXPECT_TRUE(a.Bit(0));
  EXPECT_FALSE(a.Bit(1));
}

TEST(NodeId, CloserToIsXorOrder) {
  NodeId target = Id("0000000000000000000000000000000000000000");
  NodeId near = Id("0000000000000000000000000000000000000003");
  NodeId far = Id("0100000000000000000000000000000000000000");
  EXPECT_TRUE(CloserTo(target, near, far));
  EXPECT_FALSE(CloserTo(target, far, near));
  EXPECT_FALSE(CloserTo(target, near, near));
  // XOR, not numeric: relative to 0x0f.., 0x0e.. (distance 1) beats 0x10.. (distance 0x1f).
  NodeId t2 = Id("0f00000000000000000000000000000000000000");
  EXPECT_TRUE(CloserTo(t2, Id("0e00000000000000000000000000000000000000"),
                       Id("1000000000000000000000000000000000000000")));
  std::vector<NodeId> ids = {far, near, target};
  std::sort(ids.begin(), ids.end(), DistanceLess(target));
  EXPECT_EQ(ids, (std::vector<NodeId>{target, near, far}));
}

TEST(NodeId, RandomIdsInABucketRange) {
  crypto::DeterministicRandom rng(7);
  NodeId base = NodeId::Random(rng);
  for (size_t prefix : {0u, 1u, 7u, 8u, 9u, 100u, 159u}) {
    for (int i = 0; i < 20; ++i) {
      NodeId exact = NodeId::RandomWithCommonPrefix(base, prefix, rng);
      EXPECT_EQ(base.CommonPrefixLength(exact), prefix);
      NodeId at_least = NodeId::RandomWithPrefix(base, prefix, rng);
      EXPECT_GE(base.CommonPrefixLength(at_least), prefix);
    }
  }
  EXPECT_EQ(NodeId::RandomWithCommonPrefix(base, 160, rng), base);
}

TEST(NodeId, HashableAndDistinct) {
  crypto::DeterministicRandom rng(1);
  absl::flat_hash_set<NodeId> set;
  for (int i = 0; i < 1000; ++i) set.insert(NodeId::Random(rng));
  EXPECT_EQ(set.size(), 1000u);
}

TEST(NodeId, HashToKeyIsTruncatedSha256) {
  // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c ...
  EXPECT_EQ(HashToKey({AsBytes("a"), AsBytes("bc")}).ToHex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a3");
}

}  // namespace
}  // namespace gnr::kademlia
