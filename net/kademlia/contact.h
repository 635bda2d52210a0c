#pragma once
// How to reach a DHT node.

#include <string>

#include "common/bytes.h"
#include "net/kademlia/node_id.h"

namespace gnr::kademlia {

// A node's address as the DHT core passes it around. The core never interprets `endpoint`
// or `curve_key`; it hands them back to the Transport.
//
// Trust: a Contact passed as `from` to Node::HandleMessage is taken as authenticated by the
// transport (the ZeroMQ layer proves the peer owns `id` via its signed contact record and
// the CurveZMQ handshake). Contacts inside FindNodeReply/FindValueReply are hearsay: the
// core uses them as lookup candidates only and adds a node to its routing table once that
// node has answered it directly.
struct Contact {
  NodeId id;
  // Where the node accepts connections, e.g. "tcp://127.0.0.1:5555". Empty for client-only
  // nodes that cannot be called back; those are never added to routing tables.
  std::string endpoint;
  // The node's CurveZMQ server public key (all zero if unknown).
  FixedBytes<32> curve_key{};

  friend bool operator==(const Contact&, const Contact&) = default;
};

}  // namespace gnr::kademlia
