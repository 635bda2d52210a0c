#pragma once
// The farmer's node key file: the secp256k1 key behind its node id (DESIGN.md section 2).
//
// Format: 64 lower-case hex digits and a newline, file mode 0600. Created on first run
// (written to a temp file, fsynced, then linked into place, so a crash never leaves a
// truncated key). The curve (transport) key is derived from it (net/node/host.h), so a
// farmer keeps its node id and curve key across restarts.

#include <string>

#include "absl/status/statusor.h"
#include "crypto/random.h"
#include "crypto/secp256k1.h"

namespace gnr::farmer {

// Loads the key at `path`; if the file does not exist, generates one from `random` and
// stores it. `*created` (optional) tells which. Errors: DataLoss for a malformed file,
// PermissionDenied if it is readable by group or others (fix with chmod 600), I/O errors.
absl::StatusOr<crypto::PrivateKey> LoadOrCreateNodeKey(const std::string& path,
                                                       crypto::Random& random,
                                                       bool* created = nullptr);

}  // namespace gnr::farmer
