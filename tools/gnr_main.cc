// The `gnr` multi-call binary. Everything lives in tools/command.cc; this file only enters it.
#include "tools/command.h"

int main(int argc, char** argv) { return gnr::tools::Main(argc, argv); }
