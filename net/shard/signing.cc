#include "net/shard/signing.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"
#include "common/strings.h"

namespace gnr::shard {
namespace {

constexpr std::string_view kPutDomain = "gnr/shard/put/v1";
constexpr std::string_view kDeleteDomain = "gnr/shard/del/v1";
static_assert(kPutDomain.size() == 16 && kDeleteDomain.size() == 16);

void PutU64(Bytes& out, uint64_t v) {
  FixedBytes<8> b;
  PutBigEndian64(v, b);
  Append(out, b);
}
void PutU32(Bytes& out, uint32_t v) {
  FixedBytes<4> b;
  PutBigEndian32(v, b);
  Append(out, b);
}

absl::Status CheckBucket(ByteView bucket_id) {
  if (bucket_id.empty() || bucket_id.size() > kMaxBucketIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("bucket id must be 1..255 bytes, got ", bucket_id.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<crypto::Hash256> PutShardDigest(const PutShardSigned& f) {
  GNR_RETURN_IF_ERROR(CheckBucket(f.bucket_id));
  Bytes m;
  m.reserve(16 + 20 + 1 + f.bucket_id.size() + 32 + 8 + 32 + 4 + 1 + 8 + kNonceSize);
  Append(m, AsBytes(kPutDomain));
  Append(m, f.farmer.view());
  m.push_back(static_cast<uint8_t>(f.bucket_id.size()));
  Append(m, f.bucket_id);
  Append(m, f.shard_id);
  PutU64(m, f.size);
  Append(m, f.merkle_root);
  PutU32(m, f.leaf_size);
  m.push_back(static_cast<uint8_t>(f.merkle_kind));
  PutU64(m, static_cast<uint64_t>(absl::ToUnixMicros(f.signed_at)));
  Append(m, f.nonce);
  return crypto::Sha256(m);
}

absl::StatusOr<crypto::Hash256> DeleteShardDigest(const DeleteShardSigned& f) {
  GNR_RETURN_IF_ERROR(CheckBucket(f.bucket_id));
  Bytes m;
  Append(m, AsBytes(kDeleteDomain));
  Append(m, f.farmer.view());
  m.push_back(static_cast<uint8_t>(f.bucket_id.size()));
  Append(m, f.bucket_id);
  Append(m, f.shard_id);
  PutU64(m, static_cast<uint64_t>(absl::ToUnixMicros(f.signed_at)));
  Append(m, f.nonce);
  return crypto::Sha256(m);
}

absl::StatusOr<PayerAddress> RecoverPayer(const crypto::Hash256& digest, ByteView signature) {
  absl::StatusOr<crypto::RecoverableSignature> sig =
      crypto::RecoverableSignature::FromBytes(signature);
  if (!sig.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed payer signature: ", sig.status().message()));
  }
  absl::StatusOr<crypto::PublicKey> key = crypto::RecoverPublicKey(digest, *sig);
  if (!key.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("invalid payer signature: ", key.status().message()));
  }
  if (!crypto::VerifySignature(*key, digest, *sig)) {
    return absl::UnauthenticatedError("invalid payer signature (high s or not verifiable)");
  }
  return crypto::EthereumAddress(*key);
}

PrivateKeySigner::PrivateKeySigner(crypto::PrivateKey key)
    : key_(std::move(key)), address_(crypto::EthereumAddress(key_.GetPublicKey())) {}

absl::StatusOr<Bytes> PrivateKeySigner::Sign(const crypto::Hash256& digest) const {
  FixedBytes<65> sig = key_.Sign(digest).ToBytes();
  return Bytes(sig.begin(), sig.end());
}

ReplayGuard::ReplayGuard(absl::Duration window, size_t max_entries)
    : window_(window), max_entries_(max_entries) {}

size_t ReplayGuard::size() const {
  absl::MutexLock lock(&mu_);
  return seen_.size();
}

void ReplayGuard::ExpireLocked(absl::Time now) {
  absl::erase_if(seen_, [now](const auto& entry) { return entry.second <= now; });
}

absl::Status ReplayGuard::Check(const PayerAddress& payer, const Nonce& nonce, absl::Time signed_at,
                                absl::Time now) {
  if (signed_at < now - window_ || signed_at > now + window_) {
    return absl::OutOfRangeError(
        absl::StrCat("request signed at ", absl::FormatTime(signed_at, absl::UTCTimeZone()),
                     " is outside the +-", absl::FormatDuration(window_), " window (now ",
                     absl::FormatTime(now, absl::UTCTimeZone()), "); check the clocks"));
  }
  FixedBytes<20 + kNonceSize> key;
  std::copy(payer.begin(), payer.end(), key.begin());
  std::copy(nonce.begin(), nonce.end(), key.begin() + 20);
  absl::MutexLock lock(&mu_);
  if (now >= next_expiry_scan_ || seen_.size() >= max_entries_) {
    ExpireLocked(now);
    next_expiry_scan_ = now + window_ / 8;
  }
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat("replayed request: nonce ", HexEncode(nonce), " of payer ",
                     crypto::EthAddressToChecksumHex(payer), " was already used"));
  }
  if (seen_.size() >= max_entries_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "replay cache full (", max_entries_, " signed requests within the window); retry later"));
  }
  // Forget the pair once its timestamp has left the window: after that the window check
  // refuses it anyway.
  seen_.emplace(key, signed_at + window_);
  return absl::OkStatus();
}

}  // namespace gnr::shard
