#pragma once
// `gnr mount`, `gnr umount` and `gnr status` (man page gnr-mount(1)): the desktop drive.

#include "tools/command.h"

namespace gnr::tools {

// The entries of AllCommands().
Command MountCommand();
Command UmountCommand();
Command StatusCommand();

}  // namespace gnr::tools
