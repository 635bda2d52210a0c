#pragma once
// The DHT's messages as plain structs. net/wire maps each one 1:1 to its wire schema; the
// core never sees bytes.
//
// Every request carries a random 64-bit request id; the reply echoes it. A reply is accepted
// only if its id matches a request this node sent, to the node it came from, with the reply
// type that request expects; anything else is dropped (and logged at debug level).
//
// Limits the core enforces on what it receives (net/wire should enforce them while decoding
// too): at most k contacts per reply (extras are ignored), records no larger than
// Config::max_record_size (refused).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "net/kademlia/contact.h"
#include "net/kademlia/node_id.h"
#include "net/kademlia/record.h"

namespace gnr::kademlia {

// PING: are you alive?
struct Ping {
  friend bool operator==(const Ping&, const Ping&) = default;
};
struct Pong {
  friend bool operator==(const Pong&, const Pong&) = default;
};

// FIND_NODE: the k nodes closest to `target` that the receiver knows (never the requester).
struct FindNode {
  NodeId target;
  friend bool operator==(const FindNode&, const FindNode&) = default;
};
struct FindNodeReply {
  std::vector<Contact> closer;  // at most k, closest first
  friend bool operator==(const FindNodeReply&, const FindNodeReply&) = default;
};

// FIND_VALUE: the record stored under `key` if the receiver holds it, else like FIND_NODE.
struct FindValue {
  Key key;
  friend bool operator==(const FindValue&, const FindValue&) = default;
};
struct FindValueReply {
  std::optional<Record> record;  // set: the value; unset: `closer` instead
  std::vector<Contact> closer;
  friend bool operator==(const FindValueReply&, const FindValueReply&) = default;
};

// STORE: keep this signed record. `cached` marks a copy cached along a lookup path: the
// receiver keeps it for Config::cache_ttl only and does not replicate it.
struct Store {
  Record record;
  bool cached = false;
  friend bool operator==(const Store&, const Store&) = default;
};
// The outcome of a STORE: kOk, or the refusal code and reason (see ValidateRecord and
// RecordStore::Put for the codes).
struct StoreReply {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;

  absl::Status status() const { return absl::Status(code, message); }
  friend bool operator==(const StoreReply&, const StoreReply&) = default;
};

using MessageBody =
    std::variant<Ping, Pong, FindNode, FindNodeReply, FindValue, FindValueReply, Store, StoreReply>;

struct Message {
  uint64_t request_id = 0;
  MessageBody body;
  friend bool operator==(const Message&, const Message&) = default;
};

// True for Ping, FindNode, FindValue, Store.
inline bool IsRequest(const MessageBody& body) { return body.index() % 2 == 0; }

// "PING", "PONG", "FIND_NODE", ... for logs.
std::string_view MessageName(const MessageBody& body);
// The same by variant index (MessageBody::index()); "?" when out of range.
std::string_view MessageTypeName(size_t index);

}  // namespace gnr::kademlia
