#include "fs/audit/shard_audit_network.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "net/shard/contact_hint.h"

namespace gnr::audit {
namespace {

absl::Status Unreachable(const FarmerId& farmer, const absl::Status& why) {
  return absl::UnavailableError(
      absl::StrCat("cannot resolve farmer ", HexEncode(ByteView(farmer)), ": ", why.message()));
}

template <typename T>
absl::StatusOr<T> LateIsMissed(absl::StatusOr<T> answer, absl::Duration took,
                               absl::Duration timeout) {
  if (took > timeout && answer.ok()) {
    return absl::DeadlineExceededError(absl::StrCat("answered after ", absl::FormatDuration(took),
                                                    ", deadline ", absl::FormatDuration(timeout)));
  }
  return answer;
}

}  // namespace

void ShardAuditNetwork::WithContact(const FarmerRef& farmer, ContactCallback then) {
  const kademlia::NodeId id(farmer.id);
  host_.Resolve(id, [id, hint = farmer.hint,
                     then = std::move(then)](absl::StatusOr<kademlia::Contact> contact) mutable {
    // The farmer's signed DHT record is the authority (it follows a farmer that moved); when
    // the DHT has none to give, the address the shard was stored at is the next best.
    if (!contact.ok() && !hint.empty()) {
      absl::StatusOr<kademlia::Contact> hinted = shard::ParseContactHint(id, hint);
      if (hinted.ok()) {
        then(*std::move(hinted));
        return;
      }
    }
    then(std::move(contact));
  });
}

void ShardAuditNetwork::ChallengeSentinels(const FarmerRef& farmer, const ShardId& shard_id,
                                           std::vector<uint64_t> offsets, absl::Duration timeout,
                                           SentinelAnswerCallback done) {
  const absl::Time start = clock_.Now();
  auto cb = std::make_shared<SentinelAnswerCallback>(std::move(done));
  WithContact(farmer, [this, farmer_id = farmer.id, shard_id, offsets = std::move(offsets), timeout,
                       start, cb](absl::StatusOr<kademlia::Contact> contact) mutable {
    if (!contact.ok()) {
      (*cb)(Unreachable(farmer_id, contact.status()));
      return;
    }
    client_.ChallengeSentinels(
        *contact, shard_id, std::move(offsets),
        [this, timeout, start, cb](absl::StatusOr<std::vector<crypto::Hash256>> answer) {
          (*cb)(LateIsMissed(std::move(answer), clock_.Now() - start, timeout));
        });
  });
}

void ShardAuditNetwork::ChallengeMerkle(const FarmerRef& farmer, const ShardId& shard_id,
                                        uint64_t leaf_index, absl::Duration timeout,
                                        MerkleAnswerCallback done) {
  const absl::Time start = clock_.Now();
  auto cb = std::make_shared<MerkleAnswerCallback>(std::move(done));
  WithContact(farmer, [this, farmer_id = farmer.id, shard_id, leaf_index, timeout, start,
                       cb](absl::StatusOr<kademlia::Contact> contact) {
    if (!contact.ok()) {
      (*cb)(Unreachable(farmer_id, contact.status()));
      return;
    }
    client_.ChallengeMerkle(
        *contact, shard_id, leaf_index,
        [this, timeout, start, cb](absl::StatusOr<shard::MerkleChallengeResult> answer) {
          absl::StatusOr<MerkleAnswer> out;
          if (answer.ok()) {
            out = MerkleAnswer{std::move(answer->leaf), std::move(answer->proof)};
          } else {
            out = answer.status();
          }
          (*cb)(LateIsMissed(std::move(out), clock_.Now() - start, timeout));
        });
  });
}

}  // namespace gnr::audit
