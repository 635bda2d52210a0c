#include "net/kademlia/secp256k1_authenticator.h"

#include "absl/strings/str_cat.h"

namespace gnr::kademlia {

absl::StatusOr<PublicKeyBytes> Secp256k1Authenticator::RecoverSigner(const crypto::Hash256& digest,
                                                                     ByteView signature) const {
  absl::StatusOr<crypto::RecoverableSignature> sig =
      crypto::RecoverableSignature::FromBytes(signature);
  if (!sig.ok()) return sig.status();
  absl::StatusOr<crypto::PublicKey> key = crypto::RecoverPublicKey(digest, *sig);
  if (!key.ok()) return key.status();
  if (!crypto::VerifySignature(*key, digest, *sig)) {
    return absl::UnauthenticatedError("signature does not verify (high s?)");
  }
  return key->Compressed();
}

absl::Status SignRecord(const crypto::PrivateKey& key, Record& record) {
  absl::StatusOr<crypto::Hash256> digest = RecordDigest(record);
  if (!digest.ok()) return digest.status();
  FixedBytes<65> sig = key.Sign(*digest).ToBytes();
  record.signature.assign(sig.begin(), sig.end());
  return absl::OkStatus();
}

}  // namespace gnr::kademlia
