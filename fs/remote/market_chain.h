#pragma once
// MarketChain: the Volume's Chain (fs/volume/chain.h) read from the StorageMarket contract
// (chain-client/storage_market.h): a bucket's bought size, lifetime and backup count.
//
//   GNR_ASSIGN_OR_RETURN(chain::StorageMarket market, chain::StorageMarket::At(eth, address));
//   remote::MarketChain chain(market, rpc_url);
//   GNR_ASSIGN_OR_RETURN(volume::BucketInfo b, chain.GetBucket(bucket_id));
//
// Units: the contract's GB (2^30 bytes) become bytes; its unix seconds become absl::Time.
// Errors: InvalidArgument unless the bucket id is 32 bytes; NotFound (naming the bucket, the
// contract and `gnr market buy-space`) when the bucket does not exist; Unavailable (naming
// the RPC endpoint) when the chain cannot be reached or does not answer; other errors of
// chain-client as they come.
//
// Thread-safety: thread-safe (StorageMarket views are). Every call is one eth_call; the
// Volume caches answers (VolumeOptions::bucket_refresh). `market` must outlive this object.

#include <string>

#include "absl/status/statusor.h"
#include "chain-client/storage_market.h"
#include "fs/volume/chain.h"

namespace gnr::remote {

class MarketChain final : public volume::Chain {
 public:
  // `rpc_url` only names the endpoint in error messages.
  MarketChain(const chain::StorageMarket& market, std::string rpc_url);

  absl::StatusOr<volume::BucketInfo> GetBucket(ByteView bucket_id) override;

  // The contract's full view of a bucket (owner, used bytes ...), with GetBucket's errors.
  absl::StatusOr<chain::BucketInfo> Bucket(ByteView bucket_id);

 private:
  const chain::StorageMarket& market_;
  const std::string rpc_url_;
};

// The Volume's view of a contract bucket (size GB -> bytes, unix seconds -> time).
volume::BucketInfo ToVolumeBucket(const chain::BucketInfo& bucket);

}  // namespace gnr::remote
