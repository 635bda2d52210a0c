// Fuzz target for the decoders of fs/codec that read untrusted bytes (catalog snapshots come
// back from the network): DecodeFileManifest and OpenInlineBlob. A manifest that decodes must
// re-encode to the same bytes, and the layout math and the range reader must handle it
// without crashing (reads against an empty shard source end in DataLoss, never a crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fs/codec/decoder.h"
#include "fs/codec/inline_blob.h"
#include "fs/codec/layout.h"
#include "fs/codec/manifest.h"
#include "fs/codec/memory_shard_store.h"

namespace gnr::codec {
namespace {

int Fuzz(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  const FileKey key{};

  (void)OpenInlineBlob(key, input);

  absl::StatusOr<FileManifest> manifest = DecodeFileManifest(input);
  if (!manifest.ok()) return 0;
  absl::StatusOr<Bytes> again = EncodeFileManifest(*manifest);
  if (!again.ok() || *again != Bytes(input.begin(), input.end())) std::abort();

  // Layout math over the whole file and a range derived from the input.
  const uint64_t file_size = manifest->file_size;
  const uint64_t a = size > 0 ? data[0] * file_size / 256 : 0;
  for (const SegmentSlice& s : SplitFileRange(file_size, manifest->segment_size, {a, file_size})) {
    const SegmentManifest& seg = manifest->segments[s.segment];
    for (const ShardSlice& slice :
         SplitSegmentRange(seg.shard_length, manifest->data_shards, s.local)) {
      if (slice.data.end > seg.shard_length) std::abort();
    }
  }
  // Reading needs sentinel maps (cost ~ sentinel count): only for modest manifests.
  uint64_t sentinels = 0;
  for (const SegmentManifest& seg : manifest->segments) sentinels += seg.sentinel_count;
  if (sentinels <= 100000 && file_size > 0) {
    absl::StatusOr<std::unique_ptr<FileReader>> reader = FileReader::Create(*manifest, key);
    if (!reader.ok()) std::abort();  // a decoded manifest is valid
    MemoryShardStore empty(manifest->leaf_size, manifest->merkle_kind);
    absl::StatusOr<Bytes> got = (*reader)->Read(a == file_size ? 0 : a, 1, empty);
    if (got.ok() || got.status().code() != absl::StatusCode::kDataLoss) std::abort();
  }
  return 0;
}

}  // namespace
}  // namespace gnr::codec

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return gnr::codec::Fuzz(data, size);
}
