#include "fs/remote/market_chain.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"

namespace gnr::remote {

MarketChain::MarketChain(const chain::StorageMarket& market, std::string rpc_url)
    : market_(market), rpc_url_(std::move(rpc_url)) {}

volume::BucketInfo ToVolumeBucket(const chain::BucketInfo& bucket) {
  volume::BucketInfo info;
  info.size_bytes = bucket.size_gb << 30;
  info.start = absl::FromUnixSeconds(static_cast<int64_t>(bucket.start));
  info.end = absl::FromUnixSeconds(static_cast<int64_t>(bucket.end));
  info.backup_count = bucket.backup;
  return info;
}

absl::StatusOr<chain::BucketInfo> MarketChain::Bucket(ByteView bucket_id) {
  if (bucket_id.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("a StorageMarket bucket id is 32 bytes, got ", bucket_id.size()));
  }
  chain::BucketId id{};
  std::copy(bucket_id.begin(), bucket_id.end(), id.begin());
  absl::StatusOr<chain::BucketInfo> bucket = market_.Bucket(id);
  if (!bucket.ok()) {
    const absl::Status& s = bucket.status();
    if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
      return absl::UnavailableError(absl::StrCat("cannot read bucket ", HexEncode0x(bucket_id),
                                                 " from the chain at ", rpc_url_, ": ",
                                                 s.message()));
    }
    return s;
  }
  if (!bucket->exists()) {
    return absl::NotFoundError(
        absl::StrCat("bucket ", HexEncode0x(bucket_id), " does not exist on the StorageMarket at ",
                     HexEncode0x(market_.address()), " (buy one with `gnr market buy-space`)"));
  }
  return *bucket;
}

absl::StatusOr<volume::BucketInfo> MarketChain::GetBucket(ByteView bucket_id) {
  absl::StatusOr<chain::BucketInfo> bucket = Bucket(bucket_id);
  if (!bucket.ok()) return bucket.status();
  return ToVolumeBucket(*bucket);
}

}  // namespace gnr::remote
