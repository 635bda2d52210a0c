#pragma once
// A Transport that only records what the Node sends, for tests that script the other side.

#include <utility>
#include <vector>

#include "net/kademlia/transport.h"

namespace gnr::kademlia::testing {

class RecordingTransport final : public Transport {
 public:
  struct Sent {
    Contact to;
    Message msg;
  };

  void Send(const Contact& to, Message msg) override { sent_.push_back({to, std::move(msg)}); }

  // Returns and forgets everything sent so far.
  std::vector<Sent> Take() { return std::exchange(sent_, {}); }
  const std::vector<Sent>& sent() const { return sent_; }

 private:
  std::vector<Sent> sent_;
};

}  // namespace gnr::kademlia::testing
