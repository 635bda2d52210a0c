#pragma once
// Admission: the farmer's payment checks, as a seam (DESIGN.md section 7).
//
// A farmer accepts a shard only for a bucket that exists, is paid and not expired on chain,
// within its size, and serves reads only while the payer has traffic left. Those checks
// read the chain, which comes in a later issue; FarmerService asks an Admission before every
// PUT_SHARD and GET_SHARD, so the chain-backed implementation plugs in here without touching
// the store or the protocol code.
//
// Contract: return OK to admit. A refusal is returned to the client as is, so its message
// must say what is wrong ("bucket 0x12.. expired at block 1234") and its code should be
// FailedPrecondition (not paid / expired / over the bucket size / no traffic left),
// Unavailable (the chain cannot be asked right now) or PermissionDenied (the payer does not
// own the bucket). Implementations must be thread-safe (called from the shard server's
// worker threads) and may block (a chain query), but should cache.

#include <cstdint>

#include "absl/status/status.h"
#include "common/bytes.h"

namespace gnr::farmer {

class Admission {
 public:
  virtual ~Admission() = default;
  // May `payer` store `size` more bytes in `bucket`?
  virtual absl::Status AdmitPut(ByteView bucket, ByteView payer, uint64_t size) = 0;
  // May `bytes` be read from `bucket` (whose traffic `payer` pays)?
  virtual absl::Status AdmitGet(ByteView bucket, ByteView payer, uint64_t bytes) = 0;
};

// Admits everything. Used until the chain-backed Admission exists (and by devnets and tests
// without a chain): a farmer running it stores for anyone, bounded only by its capacity.
class AllowAllAdmission final : public Admission {
 public:
  absl::Status AdmitPut(ByteView, ByteView, uint64_t) override { return absl::OkStatus(); }
  absl::Status AdmitGet(ByteView, ByteView, uint64_t) override { return absl::OkStatus(); }
};

}  // namespace gnr::farmer
