#pragma once
// Test fixture pieces shared by the fs/audit tests: a small file encoded with the codec, its
// shards spread over six farmers, and a catalog that knows the committed version.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "crypto/random.h"
#include "fs/audit/types.h"
#include "fs/catalog/catalog.h"
#include "fs/codec/encoder.h"
#include "fs/codec/keys.h"
#include "fs/codec/manifest.h"
#include "fs/volume/shard_network.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::audit::testing {

inline codec::CodecParams SmallParams() {
  codec::CodecParams p;
  p.segment_size = 64 * 1024;
  p.leaf_size = 4096;
  p.data_shards = 4;
  p.parity_shards = 2;
  return p;
}

// A file encoded in memory: plaintext, key, manifest and every stored shard.
struct EncodedFile {
  Bytes plaintext;
  codec::FileKey key{};
  codec::FileManifest manifest;
  std::vector<std::vector<Bytes>> shards;  // [segment][shard index]
};

// With `bucket_key`, the file key is DeriveFileKey(bucket key, nonce) as a drive derives it
// (so `gnr audit --explain` can recompute it); otherwise random.
inline EncodedFile EncodeFile(size_t size, uint64_t seed,
                              const codec::CodecParams& params = SmallParams(),
                              std::optional<codec::BucketKey> bucket_key = std::nullopt) {
  EncodedFile f;
  std::mt19937_64 rng(seed);
  f.plaintext.resize(size);
  for (uint8_t& b : f.plaintext) b = static_cast<uint8_t>(rng());
  crypto::DeterministicRandom r(seed);
  f.key = r.Generate<32>();
  const codec::FileNonce nonce = r.Generate<32>();
  if (bucket_key) f.key = codec::DeriveFileKey(*bucket_key, nonce);
  codec::MemoryFileSource source(f.plaintext);
  absl::StatusOr<codec::FileEncoder> enc = codec::FileEncoder::Create(params, f.key, nonce, size);
  EXPECT_TRUE(enc.ok()) << enc.status();
  while (!enc->done()) {
    codec::EncodedSegment seg;
    EXPECT_TRUE(enc->Next(source, seg).ok());
    f.shards.push_back(std::move(seg.shards));
  }
  absl::StatusOr<codec::FileManifest> m = enc->Finish();
  EXPECT_TRUE(m.ok()) << m.status();
  f.manifest = std::move(*m);
  return f;
}

class TempDir {
 public:
  TempDir() {
    std::string base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : ::testing::TempDir();
    std::string pattern = base + "/gnr_audit_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Records `file` in `catalog` as a committed version with every shard acked on
// farmers[(segment + index) % farmers.size()]. Returns the version id.
inline catalog::VersionId AddCommittedFile(catalog::Catalog& catalog, Clock& clock,
                                           const EncodedFile& file,
                                           const std::vector<FarmerId>& farmers,
                                           const std::string& name = "file",
                                           const std::vector<std::string>& hints = {}) {
  Bytes bucket = {'b', 'k'};
  catalog::Bucket b;
  b.id = bucket;
  b.size_bytes = uint64_t{1} << 40;
  b.start = clock.Now();
  b.expiry = clock.Now() + absl::Hours(24 * 30);
  EXPECT_TRUE(catalog.PutBucket(b).ok());
  catalog::NodeSpec spec;
  absl::StatusOr<catalog::Attr> node = catalog.CreateNode(catalog::kRootIno, name, spec);
  EXPECT_TRUE(node.ok()) << node.status();
  catalog::NewVersion v;
  v.ino = node->ino;
  v.size = file.plaintext.size();
  v.nonce = file.manifest.nonce;
  v.bucket_id = bucket;
  v.manifest = *codec::EncodeFileManifest(file.manifest);
  absl::StatusOr<catalog::VersionId> id = catalog.AddVersion(v);
  EXPECT_TRUE(id.ok()) << id.status();
  for (uint64_t s = 0; s < file.manifest.segments.size(); ++s) {
    for (uint32_t i = 0; i < file.manifest.total_shards(); ++i) {
      const codec::ShardManifest& sm = file.manifest.segments[s].shards[i];
      catalog::NewPlacement p;
      p.version = *id;
      p.segment = s;
      p.shard_index = i;
      p.generation = sm.generation;
      p.shard_id = sm.id;
      p.farmer = farmers[(s + i) % farmers.size()];
      p.farmer_hint = hints.empty() ? "fake://" + std::to_string((s + i) % farmers.size())
                                    : hints[(s + i) % hints.size()];
      p.merkle_root = sm.merkle_root;
      p.stored_length = sm.stored_length;
      p.state = catalog::PlacementState::kAcked;
      EXPECT_TRUE(catalog.AddPlacement(p).ok());
    }
  }
  EXPECT_TRUE(catalog.CommitVersion(*id).ok());
  return *id;
}

// Stores every shard of `file` through `network` where AddCommittedFile placed it: shard i
// of segment s on contacts[(s + i) % contacts.size()]. Blocks until each put answered.
inline void PutShards(volume::ShardNetwork& network,
                      const std::vector<volume::FarmerContact>& contacts, const EncodedFile& file) {
  for (uint64_t s = 0; s < file.manifest.segments.size(); ++s) {
    for (uint32_t i = 0; i < file.manifest.total_shards(); ++i) {
      const codec::ShardManifest& sm = file.manifest.segments[s].shards[i];
      volume::PutShardRequest put;
      put.bucket_id = {'b', 'k'};
      put.shard_id = sm.id;
      put.data = std::make_shared<const Bytes>(file.shards[s][i]);
      put.size = put.data->size();
      put.merkle_root = sm.merkle_root;
      put.leaf_size = file.manifest.leaf_size;
      absl::Notification done;
      network.PutShard(contacts[(s + i) % contacts.size()], std::move(put),
                       [&](absl::StatusOr<volume::FarmerContact> r) {
                         EXPECT_TRUE(r.ok()) << r.status();
                         done.Notify();
                       });
      done.WaitForNotification();
    }
  }
}

inline FarmerId FarmerN(uint8_t n) {
  FarmerId id;
  id.fill(n);
  return id;
}

}  // namespace gnr::audit::testing
