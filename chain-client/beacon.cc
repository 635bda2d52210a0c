#include "chain-client/beacon.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/status.h"

namespace gnr::chain {
namespace {

ConfirmedBlock FromHeader(const BlockHeader& h) {
  return {h.number, h.Hash(), h.parent_hash, h.timestamp};
}

}  // namespace

bool IsTransientBeaconError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

Beacon::Beacon(LightClient& light, BeaconOptions options, std::function<void(absl::Duration)> sleep)
    : light_(light), options_(std::move(options)), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](absl::Duration d) { absl::SleepFor(d); };
  anchor_ = options_.resume_after;
}

std::optional<uint64_t> Beacon::NextNumber() const {
  if (!pending_.empty()) return pending_.back().number + 1;
  if (anchor_) return anchor_->number + 1;
  return start_;
}

absl::Status Beacon::DeepReorg(uint64_t number, const Hash256& had, const Hash256& now) const {
  return absl::DataLossError(absl::StrCat(
      "the chain reorganized deeper than the confirmation depth (", options_.confirmations,
      " blocks): block ", number, " was emitted as ", HexEncode0x(had), " but ",
      light_.rpc().client().endpoint(), " now has ", HexEncode0x(now),
      "; block hashes emitted since then are void (raise the confirmation depth?)"));
}

absl::Status Beacon::Rewind() {
  while (!pending_.empty()) {
    const ConfirmedBlock& tip = pending_.back();
    absl::StatusOr<BlockHeader> now = light_.VerifiedHeader(BlockRef::Number(tip.number));
    if (now.ok() && now->Hash() == tip.hash) return absl::OkStatus();
    // NotFound: the chain is shorter now (or the node lags); either way the tip goes and is
    // fetched again later.
    if (!now.ok() && !absl::IsNotFound(now.status())) return now.status();
    if (now.ok()) ++reorged_blocks_;
    pending_.pop_back();
  }
  if (anchor_) {
    GNR_ASSIGN_OR_RETURN(BlockHeader now, light_.VerifiedHeader(BlockRef::Number(anchor_->number)));
    Hash256 hash = now.Hash();
    if (hash != anchor_->hash) return DeepReorg(anchor_->number, anchor_->hash, hash);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ConfirmedBlock>> Beacon::Tick() {
  GNR_ASSIGN_OR_RETURN(uint64_t head, light_.rpc().BlockNumber());
  if (!anchor_ && !start_) {
    start_ = options_.start_block.value_or(
        head >= options_.confirmations ? head - options_.confirmations : 0);
  }
  // A head below our tip: the chain got shorter in a reorg, or the node lags. Either way,
  // keep only what the node still has.
  if (*NextNumber() > head + 1) GNR_RETURN_IF_ERROR(Rewind());

  uint64_t next = *NextNumber();
  for (uint64_t fetched = 0; next <= head && fetched < options_.max_headers_per_tick; ++fetched) {
    absl::StatusOr<BlockHeader> header = light_.VerifiedHeader(BlockRef::Number(next));
    if (absl::IsNotFound(header.status())) break;  // announced but not served yet
    if (!header.ok()) return header.status();
    const Hash256* parent = !pending_.empty() ? &pending_.back().hash
                            : anchor_         ? &anchor_->hash
                                              : nullptr;
    if (parent != nullptr && header->parent_hash != *parent) {
      // Our tip or this header is from a branch the chain left: find the fork point.
      GNR_RETURN_IF_ERROR(Rewind());
      next = *NextNumber();
      continue;
    }
    pending_.push_back(FromHeader(*header));
    ++next;
  }
  behind_ = next <= head;

  std::vector<ConfirmedBlock> out;
  while (!pending_.empty() &&
         pending_.front().number + options_.confirmations <= pending_.back().number) {
    anchor_ = pending_.front();
    pending_.pop_front();
    out.push_back(*anchor_);
  }
  return out;
}

absl::Status Beacon::Run(const std::function<bool(const ConfirmedBlock&)>& on_block) {
  int errors = 0;
  absl::Duration backoff = options_.poll_interval;
  while (true) {
    absl::StatusOr<std::vector<ConfirmedBlock>> blocks = Tick();
    if (!blocks.ok()) {
      if (!IsTransientBeaconError(blocks.status())) return blocks.status();
      ++errors;
      if (options_.max_consecutive_errors > 0 && errors >= options_.max_consecutive_errors) {
        return Annotate(blocks.status(),
                        absl::StrCat("beacon: giving up after ", errors, " errors in a row"));
      }
      sleep_(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    errors = 0;
    backoff = options_.poll_interval;
    for (size_t i = 0; i < blocks->size(); ++i) {
      if (on_block((*blocks)[i])) continue;
      // Stopped after block i: the blocks not delivered go back to pending, so that a later
      // Tick or Run emits them and the stream stays gapless.
      anchor_ = (*blocks)[i];
      for (size_t j = blocks->size(); j > i + 1; --j) pending_.push_front((*blocks)[j - 1]);
      return absl::OkStatus();
    }
    if (!behind_) sleep_(options_.poll_interval);
  }
}

}  // namespace gnr::chain
