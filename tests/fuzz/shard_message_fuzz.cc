// Fuzzes the shard-protocol decoder (untrusted request headers at farmers, reply headers at
// clients): it must never crash, and anything it accepts must re-encode and decode to the
// same value.
#include <cstddef>
#include <cstdint>

#include "net/wire/shard_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gnr;
  const ByteView in(data, size);
  auto check = [](ByteView bytes) {
    absl::StatusOr<wire::ShardMessage> m = wire::DecodeShardMessage(bytes);
    if (!m.ok()) return;
    absl::StatusOr<Bytes> again = wire::EncodeShardMessage(*m);
    if (!again.ok()) __builtin_trap();
    absl::StatusOr<wire::ShardMessage> back = wire::DecodeShardMessage(*again);
    if (!back.ok() || *back != *m) __builtin_trap();
    (void)wire::ShardMessageName(*m);
  };
  check(in);
  Bytes framed = {2, 1};
  Append(framed, in);
  check(framed);
  return 0;
}
