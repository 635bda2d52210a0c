#include "fs/codec/inline_blob.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "crypto/aes.h"
#include "fs/codec/params.h"

namespace gnr::codec {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'N', 'R', 'I'};
constexpr size_t kHeaderSize = 4 + 1 + 8;

}  // namespace

absl::StatusOr<Bytes> SealInlineBlob(const FileKey& file_key, ByteView plaintext,
                                     crypto::Random& random) {
  if (plaintext.size() > kMaxInlineThreshold) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inline blobs hold at most ", kMaxInlineThreshold, " bytes, got ", plaintext.size()));
  }
  Bytes out(kHeaderSize + crypto::kGcmNonceSize);
  std::memcpy(out.data(), kMagic, 4);
  out[4] = kInlineBlobVersion;
  PutBigEndian64(plaintext.size(), MutableByteView(out).subspan(5, 8));
  random.Fill(MutableByteView(out).subspan(kHeaderSize, crypto::kGcmNonceSize));
  const FileSecrets secrets = DeriveFileSecrets(file_key);
  GNR_ASSIGN_OR_RETURN(Bytes sealed,
                       crypto::AesGcmSeal(secrets.inline_key,
                                          ByteView(out).subspan(kHeaderSize, crypto::kGcmNonceSize),
                                          plaintext, ByteView(out).first(kHeaderSize)));
  Append(out, sealed);
  return out;
}

absl::StatusOr<Bytes> OpenInlineBlob(const FileKey& file_key, ByteView blob) {
  if (blob.size() < 5 || std::memcmp(blob.data(), kMagic, 4) != 0) {
    return absl::InvalidArgumentError("not an inline blob (bad magic or truncated)");
  }
  if (blob[4] != kInlineBlobVersion) {
    return absl::UnimplementedError(absl::StrCat("unsupported inline blob version ", blob[4]));
  }
  if (blob.size() < kInlineBlobOverhead) {
    return absl::InvalidArgumentError(absl::StrCat("inline blob truncated: ", blob.size(),
                                                   " bytes, at least ", kInlineBlobOverhead,
                                                   " needed"));
  }
  const uint64_t size = GetBigEndian64(blob.subspan(5, 8));
  if (size != blob.size() - kInlineBlobOverhead) {
    return absl::InvalidArgumentError(absl::StrCat("inline blob says ", size,
                                                   " plaintext bytes but carries ",
                                                   blob.size() - kInlineBlobOverhead));
  }
  const FileSecrets secrets = DeriveFileSecrets(file_key);
  return crypto::AesGcmOpen(secrets.inline_key, blob.subspan(kHeaderSize, crypto::kGcmNonceSize),
                            blob.subspan(kHeaderSize + crypto::kGcmNonceSize),
                            blob.first(kHeaderSize));
}

}  // namespace gnr::codec
