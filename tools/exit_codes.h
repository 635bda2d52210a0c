#pragma once
// Exit codes of every gnr command, from sysexits(3), documented in gnr(1).

namespace gnr::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;       // the operation failed; the message says why
inline constexpr int kExitUsage = 64;        // EX_USAGE: bad flags or arguments
inline constexpr int kExitDataErr = 65;      // EX_DATAERR: input data was malformed
inline constexpr int kExitNoInput = 66;      // EX_NOINPUT: an input file does not exist
inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: chain/farmers unreachable
inline constexpr int kExitSoftware = 70;     // EX_SOFTWARE: internal error (a bug)
inline constexpr int kExitCantCreate = 73;   // EX_CANTCREAT: cannot create an output file
inline constexpr int kExitIoErr = 74;        // EX_IOERR: local I/O error
inline constexpr int kExitTempFail = 75;     // EX_TEMPFAIL: try again later
inline constexpr int kExitNoPerm = 77;       // EX_NOPERM: permission denied
inline constexpr int kExitConfig = 78;       // EX_CONFIG: bad configuration

}  // namespace gnr::tools
