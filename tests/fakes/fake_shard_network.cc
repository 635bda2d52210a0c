#include "tests/fakes/fake_shard_network.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "crypto/hash.h"

namespace gnr::fakes {
namespace {

std::string Short(const volume::FarmerId& id) { return HexEncode(ByteView(id).first(4)); }

// XOR distance of a farmer id to the first 20 bytes of a placement key, as a byte string
// (lexicographic order = numeric order).
FixedBytes<20> Distance(const volume::FarmerId& id, const crypto::Hash256& key) {
  FixedBytes<20> d;
  for (size_t i = 0; i < d.size(); ++i) d[i] = id[i] ^ key[i];
  return d;
}

}  // namespace

FakeShardNetwork::FakeShardNetwork(int farmers, uint64_t seed) {
  farmers_.resize(farmers);
  for (int i = 0; i < farmers; ++i) {
    Bytes tag = ToBytes(absl::StrCat("fake farmer ", seed, "/", i));
    crypto::Hash256 h = crypto::Sha256(tag);
    volume::FarmerContact c;
    std::copy_n(h.begin(), c.id.size(), c.id.begin());
    c.endpoint = absl::StrCat("fake://farmer-", i);
    contacts_.push_back(std::move(c));
  }
  timer_thread_ = std::thread([this] { TimerLoop(); });
}

FakeShardNetwork::~FakeShardNetwork() {
  std::multimap<absl::Time, absl::AnyInvocable<void()>> timers;
  std::vector<absl::AnyInvocable<void()>> held;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  timer_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    timers.swap(timers_);
    for (Farmer& f : farmers_) {
      for (auto& op : f.held) held.push_back(std::move(op));
      f.held.clear();
    }
  }
  // Answer whatever is still outstanding so that callers waiting on callbacks are released.
  for (auto& [t, op] : timers) op();
  for (auto& op : held) op();
}

int FakeShardNetwork::IndexOf(const volume::FarmerId& id) const {
  for (size_t i = 0; i < contacts_.size(); ++i) {
    if (contacts_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<std::vector<volume::FarmerContact>> FakeShardNetwork::ChooseFarmers(
    ByteView bucket_id, const crypto::Hash256& placement_key, size_t count,
    std::span<const volume::FarmerId> exclude) {
  (void)bucket_id;
  std::vector<std::pair<FixedBytes<20>, int>> order;
  for (size_t i = 0; i < contacts_.size(); ++i) {
    if (std::find(exclude.begin(), exclude.end(), contacts_[i].id) != exclude.end()) continue;
    order.emplace_back(Distance(contacts_[i].id, placement_key), static_cast<int>(i));
  }
  if (order.empty()) return absl::UnavailableError("fake network: no farmer left to choose");
  std::sort(order.begin(), order.end());
  std::vector<volume::FarmerContact> out;
  for (size_t i = 0; i < order.size() && out.size() < count; ++i) {
    out.push_back(contacts_[order[i].second]);
  }
  return out;
}

void FakeShardNetwork::Dispatch(int i, absl::AnyInvocable<void()> op) {
  {
    absl::MutexLock lock(&mu_);
    Farmer& f = farmers_[i];
    if (f.hold) {
      f.held.push_back(std::move(op));
      return;
    }
    if (f.delay > absl::ZeroDuration() && !stop_) {
      timers_.emplace(absl::Now() + f.delay, std::move(op));
      return;
    }
  }
  op();
}

void FakeShardNetwork::TimerLoop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    absl::Time now = absl::Now();
    if (!timers_.empty() && timers_.begin()->first <= now) {
      auto node = timers_.extract(timers_.begin());
      mu_.Unlock();
      node.mapped()();
      mu_.Lock();
      continue;
    }
    absl::Duration wait = timers_.empty() ? absl::Milliseconds(50) : timers_.begin()->first - now;
    auto changed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&changed), std::min(wait, absl::Milliseconds(50)));
  }
}

void FakeShardNetwork::PutShard(const volume::FarmerContact& farmer,
                                volume::PutShardRequest request, volume::PutShardCallback done) {
  int i = IndexOf(farmer.id);
  if (i < 0) {
    done(absl::NotFoundError(absl::StrCat("fake network: unknown farmer ", Short(farmer.id))));
    return;
  }
  bool down;
  {
    absl::MutexLock lock(&mu_);
    ++counters_.puts;
    down = farmers_[i].down;
    if (down) ++counters_.put_failures;
  }
  if (down) {
    done(absl::UnavailableError(absl::StrCat("fake farmer ", i, " is down")));
    return;
  }
  Dispatch(i, [this, i, request = std::move(request), done = std::move(done)]() mutable {
    absl::Status status;
    if (request.data == nullptr || request.data->size() != request.size) {
      status = absl::InvalidArgumentError("fake farmer: shard size mismatch");
    }
    StoredShard stored;
    if (status.ok()) {
      absl::StatusOr<crypto::MerkleTree> tree =
          crypto::MerkleTree::Build(*request.data, request.leaf_size, request.merkle_kind);
      if (!tree.ok()) {
        status = tree.status();
      } else if (tree->root() != request.merkle_root) {
        status = absl::InvalidArgumentError("fake farmer: Merkle root does not match the shard");
      } else {
        stored.bytes = *request.data;
        stored.tree = std::make_shared<const crypto::MerkleTree>(*std::move(tree));
        stored.leaf_size = request.leaf_size;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      Farmer& f = farmers_[i];
      if (status.ok() && f.down) status = absl::UnavailableError("fake farmer is down");
      if (status.ok() && f.fail_puts > 0) {
        --f.fail_puts;
        status = absl::DeadlineExceededError(absl::StrCat("fake farmer ", i, " dropped the put"));
      }
      if (status.ok()) {
        f.shards[request.shard_id] = std::move(stored);
      } else {
        ++counters_.put_failures;
      }
    }
    if (status.ok()) {
      done(contacts_[i]);
    } else {
      done(status);
    }
  });
}

void FakeShardNetwork::GetShardRange(const volume::FarmerContact& farmer, ByteView bucket_id,
                                     const codec::StoredRangeRequest& request,
                                     volume::GetRangeCallback done) {
  (void)bucket_id;
  int i = IndexOf(farmer.id);
  if (i < 0) {
    done(absl::NotFoundError("fake network: unknown farmer"));
    return;
  }
  bool down;
  {
    absl::MutexLock lock(&mu_);
    ++counters_.gets;
    down = farmers_[i].down;
    if (down) ++counters_.get_failures;
  }
  if (down) {
    done(absl::UnavailableError(absl::StrCat("fake farmer ", i, " is down")));
    return;
  }
  Dispatch(i, [this, i, request, done = std::move(done)]() mutable {
    absl::StatusOr<codec::StoredRangeReply> reply;
    {
      absl::MutexLock lock(&mu_);
      Farmer& f = farmers_[i];
      auto it = f.shards.find(request.shard_id);
      if (f.down) {
        reply = absl::UnavailableError("fake farmer is down");
      } else if (it == f.shards.end()) {
        reply = absl::NotFoundError(absl::StrCat("fake farmer ", i, ": no such shard"));
      } else if (request.leaves.empty() || request.leaves.end > it->second.tree->leaf_count()) {
        reply = absl::OutOfRangeError("fake farmer: leaves out of range");
      } else {
        const StoredShard& s = it->second;
        uint64_t begin = request.leaves.begin * s.leaf_size;
        uint64_t end = std::min<uint64_t>(request.leaves.end * s.leaf_size, s.bytes.size());
        codec::StoredRangeReply r;
        r.leaves.assign(s.bytes.begin() + begin, s.bytes.begin() + end);
        absl::StatusOr<crypto::MerkleRangeProof> proof =
            s.tree->ProveRange(request.leaves.begin, request.leaves.size());
        if (!proof.ok()) {
          reply = proof.status();
        } else {
          r.proof = *std::move(proof);
          if (f.corrupt && !r.leaves.empty()) r.leaves[r.leaves.size() / 2] ^= 0x5a;
          reply = std::move(r);
        }
      }
      if (!reply.ok()) ++counters_.get_failures;
    }
    done(std::move(reply));
  });
}

void FakeShardNetwork::DeleteShard(const volume::FarmerContact& farmer, ByteView bucket_id,
                                   const codec::ShardId& shard_id, volume::DoneCallback done) {
  (void)bucket_id;
  int i = IndexOf(farmer.id);
  if (i < 0) {
    done(absl::NotFoundError("fake network: unknown farmer"));
    return;
  }
  bool down;
  {
    absl::MutexLock lock(&mu_);
    ++counters_.deletes;
    down = farmers_[i].down;
  }
  if (down) {
    done(absl::UnavailableError(absl::StrCat("fake farmer ", i, " is down")));
    return;
  }
  Dispatch(i, [this, i, shard_id, done = std::move(done)]() mutable {
    absl::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (farmers_[i].shards.erase(shard_id) == 0) {
        status = absl::NotFoundError("fake farmer: no such shard");
      }
    }
    done(status);
  });
}

void FakeShardNetwork::ReportFarmer(const volume::FarmerId&, volume::FarmerOp, absl::Duration,
                                    const absl::Status&) {
  absl::MutexLock lock(&mu_);
  ++counters_.reports;
}

size_t FakeShardNetwork::ShardCount(int i) const {
  absl::MutexLock lock(&mu_);
  return farmers_[i].shards.size();
}

size_t FakeShardNetwork::TotalShards() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const Farmer& f : farmers_) n += f.shards.size();
  return n;
}

uint64_t FakeShardNetwork::TotalStoredBytes() const {
  absl::MutexLock lock(&mu_);
  uint64_t n = 0;
  for (const Farmer& f : farmers_) {
    for (const auto& [id, s] : f.shards) n += s.bytes.size();
  }
  return n;
}

bool FakeShardNetwork::HasShard(int i, const codec::ShardId& id) const {
  absl::MutexLock lock(&mu_);
  return farmers_[i].shards.count(id) > 0;
}

std::vector<Bytes> FakeShardNetwork::AllShardBytes() const {
  absl::MutexLock lock(&mu_);
  std::vector<Bytes> out;
  for (const Farmer& f : farmers_) {
    for (const auto& [id, s] : f.shards) out.push_back(s.bytes);
  }
  return out;
}

FakeShardNetwork::Counters FakeShardNetwork::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

size_t FakeShardNetwork::HeldCount() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const Farmer& f : farmers_) n += f.held.size();
  return n;
}

void FakeShardNetwork::SetDown(int i, bool down) {
  absl::MutexLock lock(&mu_);
  farmers_[i].down = down;
}

void FakeShardNetwork::SetHold(int i, bool hold) {
  absl::MutexLock lock(&mu_);
  farmers_[i].hold = hold;
}

void FakeShardNetwork::ReleaseHeld(int i, bool stop_holding) {
  std::vector<absl::AnyInvocable<void()>> held;
  {
    absl::MutexLock lock(&mu_);
    held.swap(farmers_[i].held);
    if (stop_holding) farmers_[i].hold = false;
  }
  for (auto& op : held) op();
}

void FakeShardNetwork::SetDelay(int i, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  farmers_[i].delay = delay;
}

void FakeShardNetwork::FailNextPuts(int i, int n) {
  absl::MutexLock lock(&mu_);
  farmers_[i].fail_puts = n;
}

void FakeShardNetwork::SetCorrupt(int i, bool corrupt) {
  absl::MutexLock lock(&mu_);
  farmers_[i].corrupt = corrupt;
}

void FakeShardNetwork::LoseShard(int i, const codec::ShardId& id) {
  absl::MutexLock lock(&mu_);
  farmers_[i].shards.erase(id);
}

void FakeShardNetwork::WipeFarmer(int i) {
  absl::MutexLock lock(&mu_);
  farmers_[i].shards.clear();
}

}  // namespace gnr::fakes
