#pragma once
// `gnr devnet up | down | status` (DESIGN.md section 8): a complete local network on
// loopback — anvil with the StorageMarket contract, a funded wallet, N staked farmers with
// bound nodes, a bucket with traffic — and the drive mounted on it. Everything it starts is
// recorded in STATE/devnet.json (tools/devnet_state.h) and stopped by PID
// (tools/devnet_process.h); re-running `up` on the same STATE resumes the same chain,
// wallet, farmers and catalog.

#include "tools/command.h"

namespace gnr::tools {

// The `devnet` entry of AllCommands().
Command DevnetCommand();

}  // namespace gnr::tools
