#include "net/shard/contact_hint.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace gnr::shard {
namespace {

TEST(ContactHint, RoundTripsAndRejectsMalformed) {
  FarmerAddress a;
  a.id = kademlia::NodeId(FixedBytes<20>{1, 2, 3});
  a.endpoint = "tcp://127.0.0.1:4100";
  a.curve_key[0] = 0xab;
  std::string hint = EncodeContactHint(a);
  EXPECT_EQ(hint, "tcp://127.0.0.1:4100#ab" + std::string(62, '0'));
  ASSERT_OK_AND_ASSIGN(FarmerAddress back, ParseContactHint(a.id, hint));
  EXPECT_EQ(back, a);
  EXPECT_STATUS(ParseContactHint(a.id, "tcp://127.0.0.1:4100"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseContactHint(a.id, "tcp://x:1#abcd"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseContactHint(a.id, "#" + std::string(64, 'a')),
                absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS(ParseContactHint(a.id, ""), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gnr::shard
