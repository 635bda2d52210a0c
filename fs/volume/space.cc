#include "fs/volume/space.h"

#include "fs/codec/inline_blob.h"
#include "fs/codec/layout.h"

namespace gnr::volume {

uint64_t StoredBytesFor(const codec::CodecParams& params, uint64_t size) {
  if (StoreInline(params, size)) return size + codec::kInlineBlobOverhead;
  const uint64_t k = static_cast<uint64_t>(params.data_shards);
  const uint64_t n = static_cast<uint64_t>(params.total_shards());
  const uint64_t segments = codec::SegmentCount(size, params.segment_size);
  uint64_t total = 0;
  // All segments but the last have the same length: compute it once.
  if (segments > 1) {
    const uint64_t stored =
        codec::StoredShardLength(params, codec::ShardLength(params.segment_size, k));
    total += (segments - 1) * stored * n;
  }
  if (segments > 0) {
    uint64_t last = codec::SegmentPlaintextLength(size, params.segment_size, segments - 1);
    total += codec::StoredShardLength(params, codec::ShardLength(last, k)) * n;
  }
  return total;
}

uint64_t StoredBytesOf(const codec::FileManifest& manifest) {
  uint64_t total = 0;
  for (const codec::SegmentManifest& s : manifest.segments) {
    for (const codec::ShardManifest& sh : s.shards) total += sh.stored_length;
  }
  return total;
}

uint64_t PlaintextEquivalent(const codec::CodecParams& params, uint64_t stored) {
  const unsigned __int128 v = static_cast<unsigned __int128>(stored) * params.data_shards;
  return static_cast<uint64_t>(v / params.total_shards());
}

}  // namespace gnr::volume
