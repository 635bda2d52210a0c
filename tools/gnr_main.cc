// The `gnr` multi-call binary. Everything lives in tools/command.cc; this file only enters it.
#include "common/large_buffers.h"
#include "tools/command.h"

int main(int argc, char** argv) {
  gnr::KeepLargeBuffersMapped();
  return gnr::tools::Main(argc, argv);
}
