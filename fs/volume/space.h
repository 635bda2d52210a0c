#pragma once
// Space accounting (see volume.h, "Space accounting"): what a version costs in the bucket.
// Pure functions, thread-safe.

#include <cstdint>

#include "fs/codec/manifest.h"
#include "fs/codec/params.h"

namespace gnr::volume {

// True when a version of `size` bytes is stored inline: below the inline threshold, and
// always for an empty file.
inline bool StoreInline(const codec::CodecParams& params, uint64_t size) {
  return size == 0 || codec::ShouldInline(params, size);
}

// Bytes farmers store for a file of `size` bytes written with `params`: for a sharded file
// the k+m stored shards of every segment (data + sentinels, exactly as the encoder will make
// them); for an inline file the sealed blob. Requires codec::ValidateParams(params).ok().
uint64_t StoredBytesFor(const codec::CodecParams& params, uint64_t size);

// Bytes farmers store for a committed sharded version (sum of stored lengths of all shards).
uint64_t StoredBytesOf(const codec::FileManifest& manifest);

// The plaintext-equivalent of `stored` bytes under RS(k, m): stored * k / (k + m).
uint64_t PlaintextEquivalent(const codec::CodecParams& params, uint64_t stored);

}  // namespace gnr::volume
