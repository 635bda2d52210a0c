// fuse_e2e_test's backends: the reference model and the real Volume over in-memory farmers.

#include "tests/e2e/backends.h"

namespace gnr::e2e {

std::vector<Backend> BackendsUnderTest() { return {Backend::kMemory, Backend::kVolume}; }

}  // namespace gnr::e2e
