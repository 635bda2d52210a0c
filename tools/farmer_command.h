#pragma once
// `gnr farmer run | status` (man page gnr-farmer(8)).

#include "tools/command.h"

namespace gnr::tools {

// The `farmer` entry of AllCommands().
Command FarmerCommand();

}  // namespace gnr::tools
