#pragma once
// Inline small files: a file below the inline threshold (CodecParams::inline_threshold,
// default 4 KiB) is not sharded; its bytes are sealed with AES-256-GCM into a blob that the
// catalog keeps (docs/formats.md, "Inline blob"):
//
//   "GNRI" | version u8 (1) | be64 plaintext size | GCM nonce (12, random) |
//   ciphertext || tag (16)
//
// The key is the file's inline key (DeriveFileSecrets); the AAD is the 13-byte header
// (magic, version, size), so the version and size cannot be changed undetected.
// Thread-safe, pure (apart from the injected Random).

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "crypto/random.h"
#include "fs/codec/keys.h"

namespace gnr::codec {

inline constexpr uint8_t kInlineBlobVersion = 1;
inline constexpr size_t kInlineBlobOverhead = 4 + 1 + 8 + 12 + 16;  // 41 bytes

// Seals `plaintext` (at most kMaxInlineThreshold bytes; InvalidArgument otherwise) with a
// fresh random nonce from `random`.
absl::StatusOr<Bytes> SealInlineBlob(const FileKey& file_key, ByteView plaintext,
                                     crypto::Random& random);

// Opens an untrusted blob. InvalidArgument on a bad magic, truncation or a size field that
// disagrees with the blob length; Unimplemented on an unknown version; DataLoss if
// authentication fails (wrong key, modified blob).
absl::StatusOr<Bytes> OpenInlineBlob(const FileKey& file_key, ByteView blob);

}  // namespace gnr::codec
