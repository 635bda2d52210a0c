#pragma once
// `gnr audit` (gnr-audit): shows, explains and runs SPoR audits (DESIGN.md section 4;
// fs/audit). Reads the drive's catalog in --state DIR; `--once` assembles the real network
// (tools/drive_env.h) for one audit round plus repairs.

#include "tools/command.h"

namespace gnr::tools {

Command AuditCommand();

}  // namespace gnr::tools
