// fuse_e2e_network_test's backend: the real Volume on the real loopback network (anvil + 6
// farmer daemons), started once for the whole binary and stopped after the last test.

#include "gtest/gtest.h"
#include "tests/e2e/backends.h"

namespace gnr::e2e {
namespace {

class SharedNetworkEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { StopSharedNetwork(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedNetworkEnvironment());

}  // namespace

std::vector<Backend> BackendsUnderTest() { return {Backend::kNetwork}; }

}  // namespace gnr::e2e
