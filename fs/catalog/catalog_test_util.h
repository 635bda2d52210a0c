#pragma once
// Test helpers shared by the catalog tests: a fresh temporary directory per test, and a
// small sharded file to audit or re-tag.

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/status.h"
#include "fs/catalog/catalog.h"
#include "fs/codec/manifest.h"
#include "gtest/gtest.h"

namespace gnr::catalog::testing {

// Creates a unique directory (on tmpfs when /dev/shm exists, so that fsync is cheap; the
// crash tests kill processes, not the machine); removes it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : ::testing::TempDir();
    std::string pattern = base + "/gnr_catalog_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A file of one segment of 2 shards (RS(1, 1)), both placed and acked.
struct TwoShardFile {
  codec::FileManifest manifest;
  VersionId version = 0;
  PlacementId placements[2] = {};
};

// Adds bucket {'b'} (1 MiB, a day), a file "f" under the root and a version of it with the
// two shards placed on farmers 0x01.. and 0x02.., each with `groups_used`.
inline absl::StatusOr<TwoShardFile> AddTwoShardFile(Catalog& catalog, Clock& clock,
                                                    const Bytes& groups_used = {}) {
  Bucket b;
  b.id = {'b'};
  b.size_bytes = 1 << 20;
  b.start = clock.Now();
  b.expiry = clock.Now() + absl::Hours(24);
  GNR_RETURN_IF_ERROR(catalog.PutBucket(b));
  GNR_ASSIGN_OR_RETURN(Attr f, catalog.CreateNode(kRootIno, "f", NodeSpec{}));
  TwoShardFile out;
  codec::FileManifest& m = out.manifest;
  m.file_size = 1000;
  m.nonce.fill(3);
  m.data_shards = 1;
  m.parity_shards = 1;
  m.segment_size = 4096;
  m.leaf_size = 1024;
  m.group_size = 8;
  codec::SegmentManifest seg;
  seg.plaintext_length = 1000;
  seg.shard_length = 1000;
  seg.sentinel_count = 16;
  for (uint32_t t = 0; t < 2; ++t) {
    codec::ShardManifest s;
    s.id = codec::ComputeShardId(m.nonce, 0, t, 0);
    s.stored_length = 1000 + 32 * 16;
    seg.shards.push_back(s);
  }
  m.segments.push_back(seg);
  NewVersion v;
  v.ino = f.ino;
  v.size = 1000;
  v.nonce = m.nonce;
  v.bucket_id = {'b'};
  GNR_ASSIGN_OR_RETURN(v.manifest, codec::EncodeFileManifest(m));
  GNR_ASSIGN_OR_RETURN(out.version, catalog.AddVersion(v));
  for (uint32_t t = 0; t < 2; ++t) {
    NewPlacement p;
    p.version = out.version;
    p.shard_index = t;
    p.shard_id = m.segments[0].shards[t].id;
    p.farmer.fill(static_cast<uint8_t>(t + 1));
    p.state = PlacementState::kAcked;
    p.groups_used = groups_used;
    GNR_ASSIGN_OR_RETURN(out.placements[t], catalog.AddPlacement(p));
  }
  return out;
}

}  // namespace gnr::catalog::testing
