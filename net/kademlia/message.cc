#include "net/kademlia/message.h"

namespace gnr::kademlia {

std::string_view MessageTypeName(size_t index) {
  static constexpr std::string_view kNames[] = {
      "PING",  "PONG",       "FIND_NODE", "FIND_NODE_REPLY", "FIND_VALUE", "FIND_VALUE_REPLY",
      "STORE", "STORE_REPLY"};
  static_assert(std::size(kNames) == std::variant_size_v<MessageBody>);
  return index < std::size(kNames) ? kNames[index] : "?";
}

std::string_view MessageName(const MessageBody& body) { return MessageTypeName(body.index()); }

}  // namespace gnr::kademlia
