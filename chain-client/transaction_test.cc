#include "chain-client/transaction.h"

#include "chain-client/rlp.h"
#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::chain {
namespace {

crypto::PrivateKey Key(std::string_view hex) {
  return *crypto::PrivateKey::FromBytes(HexLiteral(hex));
}

EthAddress Addr(std::string_view hex) { return *crypto::ParseEthAddress(hex); }

// EIP-155, section "Example" (eips.ethereum.org/EIPS/eip-155).
LegacyTransaction Eip155Example() {
  LegacyTransaction tx;
  tx.nonce = 9;
  tx.gas_price = U256(20000000000ull);
  tx.gas_limit = 21000;
  tx.to = Addr("0x3535353535353535353535353535353535353535");
  tx.value = U256(1000000000000000000ull);
  tx.chain_id = 1;
  return tx;
}

constexpr std::string_view kEip155SignedTx =
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
    "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b"
    "3800ccf555c9f3dc64214b297fb1966a3b6d83";

TEST(Transaction, Eip155SigningHash) {
  // Signing data 0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3
  // a764000080018080, hashed:
  EXPECT_EQ(HexEncode(SigningHash(Eip155Example())),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
}

TEST(Transaction, Eip155SignedRawTransaction) {
  crypto::PrivateKey key = Key("4646464646464646464646464646464646464646464646464646464646464646");
  SignedTransaction signed_tx = SignTransaction(Eip155Example(), key);
  EXPECT_EQ(signed_tx.V(), U256(37));
  EXPECT_EQ(signed_tx.r.ToDecimal(),
            "18515461264373351373200002665853028612451056578545711640558177340181847433846");
  EXPECT_EQ(signed_tx.s.ToDecimal(),
            "46948507304638947509940763649030358759909902576025900602547168820602576006531");
  EXPECT_EQ(HexEncode(signed_tx.Encode()), kEip155SignedTx);
  EXPECT_EQ(signed_tx.Hash(), crypto::Keccak256(HexLiteral(kEip155SignedTx)));

  ASSERT_OK_AND_ASSIGN(SignedTransaction decoded,
                       DecodeSignedTransaction(HexLiteral(kEip155SignedTx)));
  EXPECT_EQ(decoded, signed_tx);
  ASSERT_OK_AND_ASSIGN(EthAddress sender, RecoverSender(decoded));
  EXPECT_EQ(sender, crypto::EthereumAddress(key.GetPublicKey()));
  EXPECT_EQ(crypto::EthAddressToChecksumHex(sender), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
}

TEST(Transaction, UnprotectedLegacyUsesV27Or28) {
  LegacyTransaction tx = Eip155Example();
  tx.chain_id.reset();
  crypto::PrivateKey key = Key("4646464646464646464646464646464646464646464646464646464646464646");
  SignedTransaction signed_tx = SignTransaction(tx, key);
  EXPECT_TRUE(signed_tx.V() == U256(27) || signed_tx.V() == U256(28));
  ASSERT_OK_AND_ASSIGN(SignedTransaction decoded, DecodeSignedTransaction(signed_tx.Encode()));
  EXPECT_EQ(decoded, signed_tx);
  EXPECT_EQ(*RecoverSender(decoded), crypto::EthereumAddress(key.GetPublicKey()));
}

Eip1559Transaction Sample1559() {
  Eip1559Transaction tx;
  tx.chain_id = 31337;
  tx.nonce = 3;
  tx.max_priority_fee_per_gas = U256(1000000000ull);
  tx.max_fee_per_gas = U256(30000000000ull);
  tx.gas_limit = 100000;
  tx.to = Addr("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
  tx.value = U256(12345);
  tx.data = HexLiteral("cdcd77c0");
  AccessListEntry entry;
  entry.address = Addr("0x3535353535353535353535353535353535353535");
  entry.storage_keys.push_back(Hash256{});
  tx.access_list.push_back(entry);
  return tx;
}

TEST(Transaction, Eip1559LayoutAndRoundTrip) {
  Eip1559Transaction tx = Sample1559();
  // Anvil's first dev account (well-known "test test ... junk" mnemonic).
  crypto::PrivateKey key = Key("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
  EXPECT_EQ(crypto::EthAddressToChecksumHex(crypto::EthereumAddress(key.GetPublicKey())),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  SignedTransaction signed_tx = SignTransaction(tx, key);
  Bytes raw = signed_tx.Encode();
  ASSERT_EQ(raw[0], 0x02);
  // The payload is [chainId, nonce, tip, cap, gas, to, value, data, accessList, y, r, s].
  ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(ByteView(raw).subspan(1)));
  ASSERT_OK_AND_ASSIGN(auto f, item.AsList(12));
  EXPECT_EQ(*f[0].AsUint64(), 31337u);
  EXPECT_EQ(*f[1].AsUint64(), 3u);
  EXPECT_EQ(*f[2].AsU256(), U256(1000000000ull));
  EXPECT_EQ(*f[3].AsU256(), U256(30000000000ull));
  EXPECT_EQ(*f[4].AsUint64(), 100000u);
  EXPECT_EQ(HexEncode(*f[5].AsBytes()), "70997970c51812dc3a010c7d01b50e0d17dc79c8");
  EXPECT_EQ(HexEncode(f[8].encoded()),
            "f838f7943535353535353535353535353535353535353535e1a0" + std::string(64, '0'));
  // The signing hash covers 0x02 || RLP(first nine fields).
  RlpListBuilder nine;
  for (int i = 0; i < 9; ++i) nine.AddRaw(f[i].encoded());
  Bytes preimage = nine.Build();
  preimage.insert(preimage.begin(), 0x02);
  EXPECT_EQ(SigningHash(tx), crypto::Keccak256(preimage));

  ASSERT_OK_AND_ASSIGN(SignedTransaction decoded, DecodeSignedTransaction(raw));
  EXPECT_EQ(decoded, signed_tx);
  EXPECT_EQ(decoded.V(), U256(signed_tx.y_parity));
  ASSERT_OK_AND_ASSIGN(EthAddress sender, RecoverSender(decoded));
  EXPECT_EQ(sender, crypto::EthereumAddress(key.GetPublicKey()));
  EXPECT_EQ(*TxMaxCost(tx), U256(100000) * U256(30000000000ull) + U256(12345));
}

TEST(Transaction, ContractCreationHasEmptyTo) {
  Eip1559Transaction tx = Sample1559();
  tx.to.reset();
  tx.access_list.clear();
  SignedTransaction signed_tx = SignTransaction(tx, Key(std::string(63, '0') + "1"));
  ASSERT_OK_AND_ASSIGN(SignedTransaction decoded, DecodeSignedTransaction(signed_tx.Encode()));
  EXPECT_FALSE(std::get<Eip1559Transaction>(decoded.tx).to.has_value());
}

TEST(Transaction, SmallRAndSAreStripped) {
  // Find a signature whose r or s has a leading zero byte and check the round trip: encoding
  // must strip it (the DESIGN.md pitfall) and decoding must accept the stripped form.
  crypto::PrivateKey key = Key("4646464646464646464646464646464646464646464646464646464646464646");
  LegacyTransaction tx = Eip155Example();
  bool found = false;
  for (uint64_t nonce = 0; nonce < 2000 && !found; ++nonce) {
    tx.nonce = nonce;
    SignedTransaction s = SignTransaction(tx, key);
    if (s.r.BitLength() <= 248 || s.s.BitLength() <= 248) {
      found = true;
      Bytes raw = s.Encode();
      ASSERT_OK_AND_ASSIGN(RlpItem item, RlpDecode(raw));
      const RlpItem& r_item = item.items()[7];
      const RlpItem& s_item = item.items()[8];
      EXPECT_NE((*r_item.AsBytes())[0], 0);
      EXPECT_NE((*s_item.AsBytes())[0], 0);
      ASSERT_OK_AND_ASSIGN(SignedTransaction decoded, DecodeSignedTransaction(raw));
      EXPECT_EQ(*RecoverSender(decoded), crypto::EthereumAddress(key.GetPublicKey()));
    }
  }
  EXPECT_TRUE(found);
}

TEST(Transaction, DecodeRejectsBadInput) {
  EXPECT_STATUS(DecodeSignedTransaction({}), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeSignedTransaction(HexLiteral("01c0")), absl::StatusCode::kUnimplemented);
  EXPECT_STATUS(DecodeSignedTransaction(HexLiteral("03c0")), absl::StatusCode::kUnimplemented);
  EXPECT_STATUS(DecodeSignedTransaction(HexLiteral("80")), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(DecodeSignedTransaction(HexLiteral("02c0")), absl::StatusCode::kInvalidArgument);
  Bytes raw = HexLiteral(kEip155SignedTx);
  // Trailing byte.
  Bytes trailing = raw;
  trailing.push_back(0);
  EXPECT_STATUS(DecodeSignedTransaction(trailing), absl::StatusCode::kInvalidArgument);
  // v = 30 is neither 27/28 nor EIP-155.
  Bytes bad_v = raw;
  size_t v_pos = raw.size() - 67;  // 0x25 before "a0 r(32) a0 s(32)"
  ASSERT_EQ(bad_v[v_pos], 0x25);
  bad_v[v_pos] = 30;
  EXPECT_STATUS(DecodeSignedTransaction(bad_v), absl::StatusCode::kInvalidArgument);
  // A flipped bit in the value decodes but recovers another sender.
  Bytes tampered = raw;
  tampered[30] ^= 1;
  ASSERT_OK_AND_ASSIGN(SignedTransaction t, DecodeSignedTransaction(tampered));
  absl::StatusOr<EthAddress> who = RecoverSender(t);
  if (who.ok()) {
    EXPECT_NE(crypto::EthAddressToChecksumHex(*who), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  }
}

TEST(Transaction, RecoverRejectsHighS) {
  ASSERT_OK_AND_ASSIGN(SignedTransaction t, DecodeSignedTransaction(HexLiteral(kEip155SignedTx)));
  // s' = n - s is the malleated twin; EIP-2 rejects it.
  U256 n = *U256::FromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  t.s = n - t.s;
  t.y_parity ^= 1;
  EXPECT_STATUS(RecoverSender(t), absl::StatusCode::kInvalidArgument);
  t.s = U256();
  EXPECT_STATUS(RecoverSender(t), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::chain
