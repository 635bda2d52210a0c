#include "chain-client/trie.h"

#include <string>

#include "chain-client/rlp.h"
#include "common/hex.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

using Entries = std::vector<std::pair<Bytes, Bytes>>;

Entries Strings(std::initializer_list<std::pair<std::string, std::string>> kv) {
  Entries out;
  for (const auto& [k, v] : kv) out.emplace_back(ToBytes(k), ToBytes(v));
  return out;
}

// Roots from ethereum/tests, TrieTests/trieanyorder.json and trietest.json.
TEST(Trie, RootsFromEthereumTests) {
  EXPECT_EQ(HexEncode(EmptyTrieRoot()),
            "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
  EXPECT_EQ(ComputeTrieRoot({}), EmptyTrieRoot());
  EXPECT_EQ(HexEncode(EmptyCodeHash()),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(Strings({{"A", std::string(50, 'a')}}))),
            "d23786fb4a010da3ce639d66d5e904a11dbc02746d1ce25029e53290cabf28ab");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(
                Strings({{"doe", "reindeer"}, {"dog", "puppy"}, {"dogglesworth", "cat"}}))),
            "8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(Strings(
                {{"do", "verb"}, {"horse", "stallion"}, {"doge", "coin"}, {"dog", "puppy"}}))),
            "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(Strings({{"foo", "bar"}, {"food", "bass"}}))),
            "17beaa1648bafa633cda809c90c04af50fc8aed3cb40d16efbddee6fdf63c4c3");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(Strings({{"be", "e"}, {"dog", "puppy"}, {"bed", "d"}}))),
            "3f67c7a47520f79faa29255d2d3c084a7a6df0453116ed7232ff10277a8be68b");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(Strings({{"test", "test"}, {"te", "testy"}}))),
            "8452568af70d8d140f58d941338542f645fcca50094b20f3c3d8c3df49337928");
  Entries hex = {{HexLiteral("0045"), HexLiteral("0123456789")},
                 {HexLiteral("4500"), HexLiteral("9876543210")}};
  EXPECT_EQ(HexEncode(ComputeTrieRoot(hex)),
            "285505fcabe84badc8aa310e2aae17eddc7d120aabec8a476902c8184b3a3503");
  // Deletions (empty values) and overwrites: "puppy" again.
  EXPECT_EQ(HexEncode(ComputeTrieRoot(Strings({{"do", "verb"},
                                               {"ether", "wookiedoo"},
                                               {"horse", "stallion"},
                                               {"shaman", "horse"},
                                               {"doge", "coin"},
                                               {"ether", ""},
                                               {"dog", "puppy"},
                                               {"shaman", ""}}))),
            "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84");
  EXPECT_EQ(HexEncode(ComputeTrieRoot(
                Strings({{"key1aa", "0123456789012345678901234567890123456789xxx"},
                         {"key1", "0123456789012345678901234567890123456789Very_Long"},
                         {"key2bb", "aval3"},
                         {"key2", "short"},
                         {"key3cc", "aval3"},
                         {"key3", "1234567890123456789012345678901"}}))),
            "cb65032e2f76c48b82b5c24b3db8f670ce73982869d38cd39a624f23d62a9e89");
}

// The proof nodes of the "dogs" trie (the same bytes go-ethereum's and py-trie's proof
// generators produce for it).
TEST(Trie, DogsProofVectors) {
  Entries dogs = Strings({{"doe", "reindeer"}, {"dog", "puppy"}, {"dogglesworth", "cat"}});
  Hash256 root = ComputeTrieRoot(dogs);
  std::vector<Bytes> doe_proof = {
      HexLiteral("e5831646f6a0db6ae1fda66890f6693f36560d36b4dca68b4d838f17016b151efe1d4c95c453"),
      HexLiteral("f83b8080808080ca20887265696e6465657280a037efd11993cb04a54048c25320e9f29c50a4"
                 "32d28afdf01598b2978ce1ca3068808080808080808080")};
  EXPECT_EQ(ComputeTrieProof(dogs, AsBytes("doe")), doe_proof);
  ASSERT_OK_AND_ASSIGN(auto doe, VerifyTrieProof(root, AsBytes("doe"), doe_proof));
  EXPECT_EQ(doe, ToBytes("reindeer"));

  std::vector<Bytes> dogg_proof = doe_proof;
  dogg_proof.push_back(
      HexLiteral("e4808080808080ce89376c6573776f72746883636174808080808080808080857075707079"));
  EXPECT_EQ(ComputeTrieProof(dogs, AsBytes("dogg")), dogg_proof);
  ASSERT_OK_AND_ASSIGN(auto dogg, VerifyTrieProof(root, AsBytes("dogg"), dogg_proof));
  EXPECT_FALSE(dogg.has_value());
  // "dog" is the branch value; "dogglesworth" an embedded leaf.
  ASSERT_OK_AND_ASSIGN(auto dog, VerifyTrieProof(root, AsBytes("dog"), dogg_proof));
  EXPECT_EQ(dog, ToBytes("puppy"));
  ASSERT_OK_AND_ASSIGN(auto cat, VerifyTrieProof(root, AsBytes("dogglesworth"), dogg_proof));
  EXPECT_EQ(cat, ToBytes("cat"));
}

TEST(Trie, BadProofsAreDataLoss) {
  Entries dogs = Strings({{"doe", "reindeer"}, {"dog", "puppy"}, {"dogglesworth", "cat"}});
  Hash256 root = ComputeTrieRoot(dogs);
  std::vector<Bytes> proof = ComputeTrieProof(dogs, AsBytes("doe"));
  EXPECT_STATUS(VerifyTrieProof(root, AsBytes("doe"), {}), absl::StatusCode::kDataLoss);
  std::vector<Bytes> junk = {ToBytes("aaa"), ToBytes("ccc")};
  EXPECT_STATUS(VerifyTrieProof(root, AsBytes("doe"), junk), absl::StatusCode::kDataLoss);
  // A tampered value inside the last node breaks its hash link.
  std::vector<Bytes> tampered = proof;
  tampered.back()[tampered.back().size() - 40] ^= 1;
  absl::StatusOr<std::optional<Bytes>> r = VerifyTrieProof(root, AsBytes("doe"), tampered);
  EXPECT_STATUS(r, absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find("node 1 does not hash"), std::string::npos);
  // Another root.
  Hash256 other = root;
  other[0] ^= 1;
  EXPECT_STATUS(VerifyTrieProof(other, AsBytes("doe"), proof), absl::StatusCode::kDataLoss);
  // A truncated proof cannot prove absence either.
  std::vector<Bytes> shortened(proof.begin(), proof.begin() + 1);
  EXPECT_STATUS(VerifyTrieProof(root, AsBytes("doe"), shortened), absl::StatusCode::kDataLoss);
  // Extra nodes are refused.
  std::vector<Bytes> extra = proof;
  extra.push_back(proof[0]);
  EXPECT_STATUS(VerifyTrieProof(root, AsBytes("doe"), extra), absl::StatusCode::kDataLoss);
}

TEST(Trie, EmptyTrieProvesAbsence) {
  ASSERT_OK_AND_ASSIGN(auto none, VerifyTrieProof(EmptyTrieRoot(), AsBytes("x"), {}));
  EXPECT_FALSE(none.has_value());
  std::vector<Bytes> proof = {HexLiteral("80")};
  ASSERT_OK_AND_ASSIGN(auto none2, VerifyTrieProof(EmptyTrieRoot(), AsBytes("x"), proof));
  EXPECT_FALSE(none2.has_value());
  EXPECT_EQ(ComputeTrieProof({}, AsBytes("x")), proof);
}

TEST(Trie, RandomTriesProveEveryKeyAndAbsentOnes) {
  crypto::DeterministicRandom rng(42);
  for (int round = 0; round < 20; ++round) {
    Entries entries;
    const int n = 1 + static_cast<int>(rng.NextU64() % 60);
    for (int i = 0; i < n; ++i) {
      Bytes key = rng.Generate(1 + rng.NextU64() % (round % 2 == 0 ? 4 : 32));
      Bytes value = rng.Generate(1 + rng.NextU64() % 40);
      entries.emplace_back(key, value);
    }
    Hash256 root = ComputeTrieRoot(entries);
    std::map<Bytes, Bytes> expected;
    for (const auto& [k, v] : entries) expected[k] = v;
    for (const auto& [k, v] : expected) {
      std::vector<Bytes> proof = ComputeTrieProof(entries, k);
      ASSERT_OK_AND_ASSIGN(auto got, VerifyTrieProof(root, k, proof));
      EXPECT_EQ(got, v);
    }
    for (int i = 0; i < 10; ++i) {
      Bytes key = rng.Generate(1 + rng.NextU64() % 5);
      std::vector<Bytes> proof = ComputeTrieProof(entries, key);
      ASSERT_OK_AND_ASSIGN(auto got, VerifyTrieProof(root, key, proof));
      auto it = expected.find(key);
      if (it == expected.end()) {
        EXPECT_FALSE(got.has_value());
      } else {
        EXPECT_EQ(got, it->second);
      }
    }
  }
}

TEST(Trie, OrderedTrieUsesRlpIndexKeys) {
  std::vector<Bytes> values = {ToBytes("zero"), ToBytes("one"), ToBytes("two")};
  Entries entries = {
      {RlpEncodeUint(0), values[0]}, {RlpEncodeUint(1), values[1]}, {RlpEncodeUint(2), values[2]}};
  EXPECT_EQ(ComputeOrderedTrieRoot(values), ComputeTrieRoot(entries));
  EXPECT_EQ(ComputeOrderedTrieRoot({}), EmptyTrieRoot());
}

TEST(Trie, AccountAndStorageProofs) {
  // A synthetic state trie with two accounts, one of which has storage.
  Hash256 slot{};
  slot[31] = 3;
  Entries storage = {{ToBytes(crypto::Keccak256(slot)), RlpEncodeUint(0x1234)}};
  Hash256 storage_root = ComputeTrieRoot(storage);
  FixedBytes<20> alice{}, bob{}, carol{};
  alice[19] = 1;
  bob[19] = 2;
  carol[19] = 3;
  Bytes alice_account = RlpListBuilder()
                            .AddUint(5)
                            .AddU256(U256(1000))
                            .AddBytes(EmptyTrieRoot())
                            .AddBytes(EmptyCodeHash())
                            .Build();
  Hash256 code_hash = crypto::Keccak256(AsBytes("code"));
  Bytes bob_account = RlpListBuilder()
                          .AddUint(1)
                          .AddU256(U256())
                          .AddBytes(storage_root)
                          .AddBytes(code_hash)
                          .Build();
  Entries state = {{ToBytes(crypto::Keccak256(alice)), alice_account},
                   {ToBytes(crypto::Keccak256(bob)), bob_account}};
  Hash256 state_root = ComputeTrieRoot(state);

  ASSERT_OK_AND_ASSIGN(
      AccountState a,
      VerifyAccountProof(state_root, alice, ComputeTrieProof(state, crypto::Keccak256(alice))));
  EXPECT_TRUE(a.exists);
  EXPECT_EQ(a.nonce, 5u);
  EXPECT_EQ(a.balance, U256(1000));
  ASSERT_OK_AND_ASSIGN(
      AccountState b,
      VerifyAccountProof(state_root, bob, ComputeTrieProof(state, crypto::Keccak256(bob))));
  EXPECT_EQ(b.storage_root, storage_root);
  EXPECT_EQ(b.code_hash, code_hash);
  ASSERT_OK_AND_ASSIGN(
      AccountState c,
      VerifyAccountProof(state_root, carol, ComputeTrieProof(state, crypto::Keccak256(carol))));
  EXPECT_FALSE(c.exists);

  ASSERT_OK_AND_ASSIGN(
      U256 v,
      VerifyStorageProof(storage_root, slot, ComputeTrieProof(storage, crypto::Keccak256(slot))));
  EXPECT_EQ(v, U256(0x1234));
  Hash256 empty_slot{};
  ASSERT_OK_AND_ASSIGN(
      U256 zero, VerifyStorageProof(storage_root, empty_slot,
                                    ComputeTrieProof(storage, crypto::Keccak256(empty_slot))));
  EXPECT_EQ(zero, U256());
  // A proof for alice does not prove anything about bob.
  EXPECT_STATUS(
      VerifyAccountProof(state_root, bob, ComputeTrieProof(state, crypto::Keccak256(alice))),
      absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gnr::chain
