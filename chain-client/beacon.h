#pragma once
// The beacon: a stream of confirmed block hashes for the auditor, which seeds SPoR challenges
// with them (DESIGN.md sections 4 and 6).
//
// Every header is verified through the LightClient (its hash recomputed as
// keccak256(RLP(header)), so an RPC cannot make up a hash) and linked to its parent; a block
// is emitted once `confirmations` verified blocks are linked on top of it. Blocks come out in
// order, each exactly once, without gaps: block n+1 is emitted only after block n, and its
// parent hash is the hash emitted for n.
//
// Failures:
//  - RPC outages (connection refused, timeouts, a node that lags and lacks a block it just
//    announced) leave the state untouched: the next Tick resumes after the last emitted
//    block. Run() retries them with a backoff.
//  - A reorg shallower than the confirmation depth only replaces unconfirmed blocks: the
//    beacon walks back to the fork point (re-verifying each header it keeps) and follows
//    the new branch.
//  - A reorg that replaces an emitted block (deeper than the depth), or an RPC whose header
//    does not hash to its claimed hash, is DataLoss and permanent: the emitted stream can no
//    longer be trusted, and the error names the block and the endpoint.
//
// Design: Tick-driven. Tick() does one round of polling and returns the newly confirmed
// blocks; Run() loops Tick() with an injected sleep, so tests drive it without real time.
//
// Thread-safety: not thread-safe; one thread owns a Beacon. `light` must outlive it.
//
//   Beacon beacon(light, {.confirmations = 6});
//   GNR_RETURN_IF_ERROR(beacon.Run([&](const ConfirmedBlock& b) {
//     auditor.Seed(b.number, b.hash);
//     return !stopping;
//   }));

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chain-client/block_header.h"
#include "chain-client/light_client.h"

namespace gnr::chain {

// A block the beacon vouches for: its hash is keccak256(RLP(header)) of a header linked to
// the previously emitted block, with `confirmations` verified blocks on top of it.
struct ConfirmedBlock {
  uint64_t number = 0;
  Hash256 hash{};
  Hash256 parent_hash{};
  uint64_t timestamp = 0;  // unix seconds, as the header says
  friend bool operator==(const ConfirmedBlock&, const ConfirmedBlock&) = default;
};

struct BeaconOptions {
  // Verified blocks required on top of a block before it is emitted (0: emit the head).
  uint64_t confirmations = 6;
  // The first block to emit. nullopt: the newest block that is already confirmed at the
  // first Tick. Ignored when resume_after is set.
  std::optional<uint64_t> start_block = std::nullopt;
  // Continue a stream emitted earlier (e.g. by a previous run of the auditor): the next block
  // emitted is resume_after.number + 1, and it must descend from resume_after.hash.
  std::optional<ConfirmedBlock> resume_after = std::nullopt;
  // At most this many headers are fetched per Tick (catching up over several ticks).
  uint64_t max_headers_per_tick = 256;
  // Run(): time between polls, and the backoff after transient errors (doubling from
  // poll_interval up to max_backoff).
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  // Run(): give up after this many transient errors in a row (0: never).
  int max_consecutive_errors = 0;
};

class Beacon {
 public:
  // `sleep` is how Run() waits (default absl::SleepFor).
  Beacon(LightClient& light, BeaconOptions options, std::function<void(absl::Duration)> sleep = {});

  // One round: reads the head, fetches and verifies new headers (and walks back over a
  // shallow reorg), and returns the blocks that became confirmed, in order (often none).
  // Errors: transient ones (see IsTransientBeaconError) leave the state as it was; DataLoss
  // as described in the header comment; InvalidArgument for malformed RPC answers.
  absl::StatusOr<std::vector<ConfirmedBlock>> Tick();

  // Calls Tick() every poll_interval and hands each confirmed block to `on_block` until it
  // returns false (then returns OK; that block counts as delivered, later ones are kept for
  // the next Tick or Run). Transient errors are retried with backoff; a permanent
  // error is returned. Polls without sleeping while it is catching up.
  absl::Status Run(const std::function<bool(const ConfirmedBlock&)>& on_block);

  // The last block emitted (or resume_after), if any.
  const std::optional<ConfirmedBlock>& last_emitted() const { return anchor_; }
  // Verified headers above last_emitted() still waiting for confirmations.
  size_t pending() const { return pending_.size(); }
  // How many headers were dropped by shallow reorgs so far.
  uint64_t reorged_blocks() const { return reorged_blocks_; }

 private:
  // The number of the next header to fetch, or nullopt before the first Tick.
  std::optional<uint64_t> NextNumber() const;
  // Drops pending headers that are no longer on the RPC's chain; DataLoss if the anchor is
  // not either.
  absl::Status Rewind();
  absl::Status DeepReorg(uint64_t number, const Hash256& had, const Hash256& now) const;

  LightClient& light_;
  const BeaconOptions options_;
  std::function<void(absl::Duration)> sleep_;
  std::optional<ConfirmedBlock> anchor_;
  std::deque<ConfirmedBlock> pending_;  // verified, linked, ascending, above anchor_
  std::optional<uint64_t> start_;       // first block to emit, fixed at the first Tick
  bool behind_ = false;                 // the last Tick stopped before the head
  uint64_t reorged_blocks_ = 0;
};

// Whether `status` is a failure the beacon outlives by retrying: Unavailable,
// DeadlineExceeded, NotFound (a block the node announced but does not serve yet),
// ResourceExhausted, Aborted, Cancelled and Unknown (other JSON-RPC errors of the node).
// DataLoss (a lie, a deep reorg), InvalidArgument (a malformed answer), Unimplemented and
// the rest are permanent.
bool IsTransientBeaconError(const absl::Status& status);

}  // namespace gnr::chain
