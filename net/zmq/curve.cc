#include "net/zmq/curve.h"

#include <zmq.h>

#include <cstring>

#include "absl/status/status.h"
#include "common/hex.h"

namespace gnr::net_zmq {

bool CurveSupported() { return zmq_has("curve") != 0; }

absl::StatusOr<CurveKeyPair> CurveKeyPairFromSecret(const CurveKey& secret_key) {
  if (!CurveSupported()) {
    return absl::FailedPreconditionError("libzmq was built without CURVE support");
  }
  // zmq_curve_public works on Z85 text: 32 bytes -> 40 characters (+ NUL).
  char secret_z85[41];
  char public_z85[41];
  if (zmq_z85_encode(secret_z85, secret_key.data(), secret_key.size()) == nullptr ||
      zmq_curve_public(public_z85, secret_z85) != 0) {
    return absl::InternalError(std::string("zmq_curve_public failed: ") +
                               zmq_strerror(zmq_errno()));
  }
  CurveKeyPair pair;
  pair.secret_key = secret_key;
  if (zmq_z85_decode(pair.public_key.data(), public_z85) == nullptr) {
    return absl::InternalError("zmq_z85_decode failed on a key zmq produced");
  }
  // Do not leave the secret on the stack longer than needed.
  std::memset(secret_z85, 0, sizeof(secret_z85));
  return pair;
}

absl::StatusOr<CurveKeyPair> GenerateCurveKeyPair(crypto::Random& random) {
  return CurveKeyPairFromSecret(random.Generate<32>());
}

std::string ShortKey(const CurveKey& public_key) {
  return HexEncode(ByteView(public_key.data(), 4));
}

}  // namespace gnr::net_zmq
