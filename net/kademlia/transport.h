#pragma once
// The Node's only way out. The ZeroMQ layer implements it for real; tests and the
// simulation implement it with in-memory queues.

#include "net/kademlia/contact.h"
#include "net/kademlia/message.h"

namespace gnr::kademlia {

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues `msg` for delivery to `to`. Best effort: loss shows up as a request timeout in
  // the Node. Must not call back into the Node synchronously (deliver later, from the event
  // loop). Called only from the thread that drives the Node.
  virtual void Send(const Contact& to, Message msg) = 0;
};

}  // namespace gnr::kademlia
