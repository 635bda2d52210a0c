#pragma once
// An in-memory AuditNetwork (fs/audit/audit_network.h) for tests: farmers hold stored
// shards (bytes, with their Merkle trees) and answer challenges from them, honestly or with
// one of the misbehaviours below (per farmer):
//   - kHonest:     answers from the bytes it holds (NotFound if it holds none);
//   - kSilent:     never answers (DeadlineExceeded after the timeout, immediately: no real
//                  waiting in unit tests);
//   - kDown:       Unavailable;
//   - kReplay:     answers every sentinel challenge with the first answer it ever gave
//                  for that shard (a farmer that kept old answers and dropped the data);
//   - kBlackHole:  parks the callback without answering (a network that loses the request
//                  and never times out); ReleaseParked() answers them late (honestly).
// Shards can be damaged in place (ZeroFraction, FlipBit, Lose) like a farmer's disk.
//
// Header-only; test use only. Thread-safety: all methods are thread-safe; callbacks run
// inline, never under the fake's mutex.

#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "crypto/merkle.h"
#include "fs/audit/audit_network.h"
#include "fs/codec/spor.h"

namespace gnr::fakes {

class FakeAuditNetwork final : public audit::AuditNetwork {
 public:
  enum class Behaviour { kHonest, kSilent, kDown, kReplay, kBlackHole };

  explicit FakeAuditNetwork(uint32_t leaf_size = crypto::kDefaultMerkleLeafSize,
                            crypto::MerkleHashKind kind = crypto::MerkleHashKind::kSha256)
      : leaf_size_(leaf_size), kind_(kind) {}

  void Store(const audit::FarmerId& farmer, const audit::ShardId& shard, Bytes stored) {
    absl::MutexLock lock(&mu_);
    farmers_[farmer].shards[shard] = std::move(stored);
  }
  void SetBehaviour(const audit::FarmerId& farmer, Behaviour behaviour) {
    absl::MutexLock lock(&mu_);
    farmers_[farmer].behaviour = behaviour;
  }
  void Lose(const audit::FarmerId& farmer, const audit::ShardId& shard) {
    absl::MutexLock lock(&mu_);
    farmers_[farmer].shards.erase(shard);
  }
  // Zeroes round(fraction * size) bytes at random positions (seeded).
  void ZeroFraction(const audit::FarmerId& farmer, const audit::ShardId& shard, double fraction,
                    uint64_t seed) {
    absl::MutexLock lock(&mu_);
    Bytes& b = farmers_[farmer].shards[shard];
    std::mt19937_64 rng(seed);
    uint64_t n = static_cast<uint64_t>(fraction * static_cast<double>(b.size()) + 0.5);
    for (uint64_t i = 0; i < n && !b.empty(); ++i) b[rng() % b.size()] = 0;
  }
  void FlipBit(const audit::FarmerId& farmer, const audit::ShardId& shard, uint64_t offset) {
    absl::MutexLock lock(&mu_);
    Bytes& b = farmers_[farmer].shards[shard];
    if (offset < b.size()) b[offset] ^= 1;
  }
  // Answers every parked challenge now (on this thread).
  void ReleaseParked() {
    std::vector<absl::AnyInvocable<void()>> parked;
    {
      absl::MutexLock lock(&mu_);
      parked.swap(parked_);
    }
    for (auto& p : parked) p();
  }
  uint64_t challenges() const {
    absl::MutexLock lock(&mu_);
    return challenges_;
  }

  void ChallengeSentinels(const audit::FarmerRef& farmer, const audit::ShardId& shard_id,
                          std::vector<uint64_t> offsets, absl::Duration timeout,
                          audit::SentinelAnswerCallback done) override {
    (void)timeout;
    absl::StatusOr<std::vector<crypto::Hash256>> answer;
    {
      absl::MutexLock lock(&mu_);
      ++challenges_;
      Farmer& f = farmers_[farmer.id];
      if (f.behaviour == Behaviour::kBlackHole) {
        parked_.push_back([this, id = farmer.id, shard_id, offsets,
                           done = std::move(done)]() mutable {
          absl::StatusOr<std::vector<crypto::Hash256>> late = absl::NotFoundError("no such shard");
          {
            absl::MutexLock lock(&mu_);
            auto it = farmers_[id].shards.find(shard_id);
            if (it != farmers_[id].shards.end()) {
              late = codec::AnswerSentinelChallenge(it->second, offsets);
            }
          }
          done(std::move(late));
        });
        return;
      }
      absl::Status refused = Refusal(f);
      if (!refused.ok()) {
        answer = refused;
      } else if (f.behaviour == Behaviour::kReplay && f.replies.contains(shard_id)) {
        answer = f.replies[shard_id];
      } else {
        auto it = f.shards.find(shard_id);
        if (it == f.shards.end()) {
          answer = absl::NotFoundError("no such shard");
        } else {
          answer = codec::AnswerSentinelChallenge(it->second, offsets);
          if (answer.ok()) f.replies.emplace(shard_id, *answer);
        }
      }
    }
    done(std::move(answer));
  }

  void ChallengeMerkle(const audit::FarmerRef& farmer, const audit::ShardId& shard_id,
                       uint64_t leaf_index, absl::Duration timeout,
                       audit::MerkleAnswerCallback done) override {
    (void)timeout;
    absl::StatusOr<audit::MerkleAnswer> answer;
    {
      absl::MutexLock lock(&mu_);
      ++challenges_;
      Farmer& f = farmers_[farmer.id];
      if (f.behaviour == Behaviour::kBlackHole) {
        parked_.push_back(
            [done = std::move(done)]() mutable { done(absl::UnavailableError("late")); });
        return;
      }
      absl::Status refused = Refusal(f);
      auto it = f.shards.find(shard_id);
      if (!refused.ok()) {
        answer = refused;
      } else if (it == f.shards.end()) {
        answer = absl::NotFoundError("no such shard");
      } else {
        answer = AnswerMerkle(it->second, leaf_index);
      }
    }
    done(std::move(answer));
  }

 private:
  struct Farmer {
    Behaviour behaviour = Behaviour::kHonest;
    std::map<audit::ShardId, Bytes> shards;
    std::map<audit::ShardId, std::vector<crypto::Hash256>> replies;  // first answer per shard
  };

  static absl::Status Refusal(const Farmer& f) {
    if (f.behaviour == Behaviour::kSilent) return absl::DeadlineExceededError("no answer");
    if (f.behaviour == Behaviour::kDown) return absl::UnavailableError("farmer down");
    return absl::OkStatus();
  }

  absl::StatusOr<audit::MerkleAnswer> AnswerMerkle(const Bytes& stored, uint64_t leaf) const {
    absl::StatusOr<crypto::MerkleTree> tree = crypto::MerkleTree::Build(stored, leaf_size_, kind_);
    if (!tree.ok()) return tree.status();
    absl::StatusOr<crypto::MerkleProof> proof = tree->Prove(leaf);
    if (!proof.ok()) return proof.status();
    uint64_t begin = leaf * leaf_size_;
    uint64_t end = std::min<uint64_t>(stored.size(), begin + leaf_size_);
    audit::MerkleAnswer a;
    a.leaf.assign(stored.begin() + static_cast<ptrdiff_t>(begin),
                  stored.begin() + static_cast<ptrdiff_t>(end));
    a.proof = std::move(*proof);
    return a;
  }

  const uint32_t leaf_size_;
  const crypto::MerkleHashKind kind_;
  mutable absl::Mutex mu_;
  std::map<audit::FarmerId, Farmer> farmers_ ABSL_GUARDED_BY(mu_);
  uint64_t challenges_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::AnyInvocable<void()>> parked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gnr::fakes
