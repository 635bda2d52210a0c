#pragma once
// `gnr market stake | buy-space | buy-traffic | bind-node | unbind-node | unstake |
// supplement | status | deploy`: the special transactions of DESIGN.md section 6, sent to
// the StorageMarket contract (chain-client/storage_market.h) from the wallet
// (tools/wallet_command.h).

#include "tools/command.h"

namespace gnr::tools {

// The `market` entry of AllCommands().
Command MarketCommand();

}  // namespace gnr::tools
