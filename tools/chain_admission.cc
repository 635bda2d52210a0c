#include "tools/chain_admission.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/hex.h"

namespace gnr::tools {
namespace {

std::string When(uint64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixSeconds(static_cast<int64_t>(unix_seconds)),
                          absl::UTCTimeZone());
}

}  // namespace

ChainAdmission::ChainAdmission(const chain::StorageMarket& market, Clock& clock,
                               ChainAdmissionOptions options)
    : market_(market), clock_(clock), options_(options) {}

absl::StatusOr<chain::BucketInfo> ChainAdmission::Lookup(ByteView bucket) {
  if (bucket.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("a StorageMarket bucket id is 32 bytes, got ", bucket.size()));
  }
  chain::BucketId id{};
  std::copy(bucket.begin(), bucket.end(), id.begin());
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    if (auto it = cache_.find(id); it != cache_.end()) {
      absl::Duration ttl = it->second.bucket.ok() ? options_.cache_ttl : options_.negative_ttl;
      if (now - it->second.fetched < ttl) return it->second.bucket;
    }
  }
  absl::StatusOr<chain::BucketInfo> info = market_.Bucket(id);
  if (!info.ok()) {
    // Not cached: the next request asks the chain again.
    return absl::UnavailableError(absl::StrCat("cannot check bucket ", HexEncode0x(bucket),
                                               " on chain: ", info.status().message()));
  }
  absl::StatusOr<chain::BucketInfo> result = *info;
  if (!info->exists()) {
    result = absl::FailedPreconditionError(
        absl::StrCat("bucket ", HexEncode0x(bucket), " does not exist on the StorageMarket at ",
                     HexEncode0x(market_.address()), ": not paid for"));
  }
  absl::MutexLock lock(&mu_);
  if (cache_.size() > 100'000) cache_.clear();  // bounded memory under a flood of ids
  cache_[id] = {result, now};
  return result;
}

absl::Status ChainAdmission::CheckLive(ByteView bucket, const chain::BucketInfo& info) {
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixSeconds(clock_.Now()));
  if (now >= info.end) {
    return absl::FailedPreconditionError(
        absl::StrCat("bucket ", HexEncode0x(bucket), " expired at ", When(info.end)));
  }
  if (now + 60 < info.start) {  // a minute of clock skew
    return absl::FailedPreconditionError(
        absl::StrCat("bucket ", HexEncode0x(bucket), " starts only at ", When(info.start)));
  }
  return absl::OkStatus();
}

absl::Status ChainAdmission::AdmitPut(ByteView bucket, ByteView payer, uint64_t size) {
  absl::StatusOr<chain::BucketInfo> info = Lookup(bucket);
  if (!info.ok()) return info.status();
  if (absl::Status live = CheckLive(bucket, *info); !live.ok()) return live;
  if (!std::equal(payer.begin(), payer.end(), info->owner.begin(), info->owner.end())) {
    return absl::PermissionDeniedError(absl::StrCat("bucket ", HexEncode0x(bucket), " belongs to ",
                                                    HexEncode0x(info->owner), ", not to the payer ",
                                                    HexEncode0x(payer)));
  }
  const uint64_t capacity = info->size_gb << 30;
  if (info->used_bytes > capacity || size > capacity - info->used_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("bucket ", HexEncode0x(bucket), " is full: ", info->used_bytes, " of ",
                     capacity, " bytes used, a shard of ", size, " bytes does not fit"));
  }
  return absl::OkStatus();
}

absl::Status ChainAdmission::AdmitGet(ByteView bucket, ByteView payer, uint64_t bytes) {
  (void)payer;
  (void)bytes;
  absl::StatusOr<chain::BucketInfo> info = Lookup(bucket);
  if (!info.ok()) return info.status();
  return CheckLive(bucket, *info);
}

}  // namespace gnr::tools
