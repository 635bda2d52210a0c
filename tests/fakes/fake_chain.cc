#include "tests/fakes/fake_chain.h"

#include "absl/strings/str_cat.h"
#include "common/hex.h"

namespace gnr::fakes {

void FakeChain::SetBucket(ByteView bucket_id, const volume::BucketInfo& info) {
  absl::MutexLock lock(&mu_);
  buckets_[ToBytes(bucket_id)] = info;
}

void FakeChain::SetFailure(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

int FakeChain::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

absl::StatusOr<volume::BucketInfo> FakeChain::GetBucket(ByteView bucket_id) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  if (!failure_.ok()) return failure_;
  auto it = buckets_.find(ToBytes(bucket_id));
  if (it == buckets_.end()) {
    return absl::NotFoundError(absl::StrCat("no bucket ", HexEncode(bucket_id), " on chain"));
  }
  return it->second;
}

}  // namespace gnr::fakes
