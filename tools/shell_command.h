#pragma once
// The shell tools (DESIGN.md section 8, issue #8): `gnr ls`, `gnr put`, `gnr get` and
// `gnr rm`, also installed as gnr-ls, gnr-put, gnr-get and gnr-rm.
//
// Which drive: --mount DIR, --state DIR (default: drive.state of the configuration), or
// --devnet [STATE] (a `gnr devnet up` devnet, read from STATE/devnet.json). When a `gnr
// mount` daemon serves that drive (tools/mount_control.h registry), put/get/rm go through
// its mount point (put = write + fsync, so it returns once committed) and never open the
// catalog for writing; ls only reads the catalog. Without a mount, put/get/rm open the
// Volume themselves on the real network (tools/drive_env.h).
//
// Output: human text by default, one JSON object with --json (also on errors:
// {"ok": false, "error": ..., "exit_code": ...}), a progress bar on stdout when it is a TTY
// (not with --quiet or --json). Exit codes per tools/exit_codes.h, listed in each --help.

#include "tools/command.h"

namespace gnr::tools {

Command LsCommand();
Command PutCommand();
Command GetCommand();
Command RmCommand();

}  // namespace gnr::tools
