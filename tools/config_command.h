#pragma once
// `gnr config show | path`: the effective configuration (tools/config.h) and where each
// value came from.

#include "tools/command.h"

namespace gnr::tools {

// The `config` entry of AllCommands().
Command ConfigCommand();

}  // namespace gnr::tools
