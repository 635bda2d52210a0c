#pragma once
// The production RecordAuthenticator (secp256k1 recoverable signatures) and record signing.
//
//   crypto::PrivateKey key = ...;            // the node key
//   Record r{ContactRecord{.node_id = NodeIdOfPublicKey(key.GetPublicKey().Compressed()), ...}};
//   GNR_RETURN_IF_ERROR(SignRecord(key, r));
//   Secp256k1Authenticator auth;
//   GNR_RETURN_IF_ERROR(ValidateRecord(r, now, limits, auth));

#include "absl/status/status.h"
#include "crypto/secp256k1.h"
#include "net/kademlia/record.h"

namespace gnr::kademlia {

// Recovers the signer with libsecp256k1 (through crypto/). Rejects malformed signatures and
// high-s signatures (malleability). Stateless and thread-safe.
class Secp256k1Authenticator final : public RecordAuthenticator {
 public:
  absl::StatusOr<PublicKeyBytes> RecoverSigner(const crypto::Hash256& digest,
                                               ByteView signature) const override;
};

// Sets record.signature to `key`'s signature over RecordDigest(record). InvalidArgument if
// the record exceeds the format limits. Does not check that `key` owns the record.
absl::Status SignRecord(const crypto::PrivateKey& key, Record& record);

}  // namespace gnr::kademlia
