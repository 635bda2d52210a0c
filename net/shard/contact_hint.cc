#include "net/shard/contact_hint.h"

#include "absl/strings/str_cat.h"
#include "common/hex.h"
#include "common/strings.h"

namespace gnr::shard {

std::string EncodeContactHint(const FarmerAddress& address) {
  return absl::StrCat(address.endpoint, "#", HexEncode(address.curve_key));
}

absl::StatusOr<FarmerAddress> ParseContactHint(const kademlia::NodeId& id, std::string_view hint) {
  size_t hash = hint.rfind('#');
  if (hash == std::string_view::npos || hash == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("farmer hint '", AbslView(hint), "' is not <endpoint>#<64 hex curve key>"));
  }
  absl::StatusOr<FixedBytes<32>> key = HexDecodeFixed<32>(hint.substr(hash + 1));
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("farmer hint '", AbslView(hint),
                                                   "': bad curve key: ", key.status().message()));
  }
  FarmerAddress address;
  address.id = id;
  address.endpoint = std::string(hint.substr(0, hash));
  address.curve_key = *key;
  return address;
}

}  // namespace gnr::shard
