// Fuzzes the ABI decoders (eth_call results, logs and revert data from any RPC) and the type
// parser. They must never crash; whatever AbiDecode accepts must survive an encode/decode
// round trip unchanged.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chain-client/abi.h"

namespace {

using namespace gnr;
using namespace gnr::chain;

// The shapes the StorageMarket contract and the ABI spec examples use.
constexpr std::array<std::string_view, 12> kTypes = {
    "(uint256)",
    "(bool,address)",
    "(bytes32,uint64,uint64,uint8)",
    "(string)",
    "(bytes)",
    "(bytes20[])",
    "(uint32[],bytes10,bytes)",
    "(uint256[][],string[])",
    "((uint64,address[]),int256)",
    "(bytes3[2],int8)",
    "(string[2],(bytes,uint16)[])",
    "(address,bytes32[],uint256,bool,string)",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView in(data, size);
  (void)DecodeRevertReason(in);
  (void)AbiType::Parse(AsStringView(in));
  if (size == 0) return 0;
  absl::StatusOr<AbiType> tuple = AbiType::Parse(kTypes[data[0] % kTypes.size()]);
  if (!tuple.ok()) __builtin_trap();
  const std::vector<AbiType>& types = tuple->components();
  absl::StatusOr<std::vector<AbiValue>> values = AbiDecode(types, in.subspan(1));
  if (!values.ok()) return 0;
  for (const AbiValue& v : *values) (void)v.DebugString();
  absl::StatusOr<Bytes> again = AbiEncode(types, *values);
  if (!again.ok()) __builtin_trap();
  absl::StatusOr<std::vector<AbiValue>> back = AbiDecode(types, *again);
  if (!back.ok() || *back != *values) __builtin_trap();
  return 0;
}
