#pragma once
// NOT SECURE. A cheap deterministic stand-in for secp256k1 record signatures, for unit tests
// and the DHT simulation where thousands of records are verified per virtual second.
//
// A "public key" is any 33 bytes; the "signature" over a digest is
//   public_key[33] || SHA-256("fake sig" || public_key || digest)[32]
// (65 bytes, like the real one). Anyone can forge it; it only exercises the code paths
// (owner checks, unsigned/forged/stale refusals) without elliptic-curve cost.

#include <algorithm>

#include "absl/status/statusor.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "net/kademlia/record.h"

namespace gnr::kademlia::testing {

class FakeAuthenticator final : public RecordAuthenticator {
 public:
  absl::StatusOr<PublicKeyBytes> RecoverSigner(const crypto::Hash256& digest,
                                               ByteView signature) const override {
    if (signature.size() != kSignatureSize) {
      return absl::InvalidArgumentError("fake signature must be 65 bytes");
    }
    PublicKeyBytes key;
    std::copy(signature.begin(), signature.begin() + kPublicKeySize, key.begin());
    crypto::Hash256 mac = Mac(key, digest);
    if (!std::equal(mac.begin(), mac.end(), signature.begin() + kPublicKeySize)) {
      return absl::InvalidArgumentError("fake signature does not match");
    }
    return key;
  }

  // Signs `record` as `key`. Fails only on records over the format limits.
  static absl::Status Sign(const PublicKeyBytes& key, Record& record) {
    absl::StatusOr<crypto::Hash256> digest = RecordDigest(record);
    if (!digest.ok()) return digest.status();
    crypto::Hash256 mac = Mac(key, *digest);
    record.signature.assign(key.begin(), key.end());
    record.signature.insert(record.signature.end(), mac.begin(), mac.end());
    return absl::OkStatus();
  }

  // A random fake key whose node id is NodeIdOfPublicKey(key).
  static PublicKeyBytes NewKey(crypto::Random& rng) {
    PublicKeyBytes key = rng.Generate<kPublicKeySize>();
    key[0] = 0x02;
    return key;
  }

 private:
  static crypto::Hash256 Mac(const PublicKeyBytes& key, const crypto::Hash256& digest) {
    return crypto::Sha256({AsBytes("fake sig"), key, digest});
  }
};

}  // namespace gnr::kademlia::testing
