#pragma once
// The production AuditNetwork: resolves a farmer id to its signed contact with node::Host
// (the DHT's verified-record cache, routing table or FIND_VALUE; failing that, the address
// the catalog's placement hint gives, "<endpoint>#<curve key>"), then sends
// CHALLENGE_SENTINELS / CHALLENGE_MERKLE with shard::ShardClient.
//
// Deadlines: the ShardClient's request_timeout bounds each request (its timeout surfaces as
// DeadlineExceeded); an answer that arrives after the per-call `timeout` is also reported
// as DeadlineExceeded, so configure the client's request_timeout >= the auditor's deadline.
// A farmer that cannot be resolved is Unavailable (unreachable), not wrong.
//
// Thread-safety: thread-safe. The client and host must outlive it; callbacks run on the
// transport's loop thread or the DHT thread (they only hand results over).

#include "absl/functional/any_invocable.h"
#include "common/clock.h"
#include "fs/audit/audit_network.h"
#include "net/node/host.h"
#include "net/shard/shard_client.h"

namespace gnr::audit {

class ShardAuditNetwork final : public AuditNetwork {
 public:
  ShardAuditNetwork(shard::ShardClient& client, node::Host& host, Clock& clock)
      : client_(client), host_(host), clock_(clock) {}

  void ChallengeSentinels(const FarmerRef& farmer, const ShardId& shard_id,
                          std::vector<uint64_t> offsets, absl::Duration timeout,
                          SentinelAnswerCallback done) override;
  void ChallengeMerkle(const FarmerRef& farmer, const ShardId& shard_id, uint64_t leaf_index,
                       absl::Duration timeout, MerkleAnswerCallback done) override;

 private:
  using ContactCallback = absl::AnyInvocable<void(absl::StatusOr<kademlia::Contact>)>;
  // Resolves the farmer through the DHT (host_.Resolve); if that fails, falls back to the
  // address in the placement's hint (shard::ParseContactHint), so a DHT that lost the record
  // does not turn an honest farmer's challenges into "unreachable".
  void WithContact(const FarmerRef& farmer, ContactCallback then);

  shard::ShardClient& client_;
  node::Host& host_;
  Clock& clock_;
};

}  // namespace gnr::audit
