#pragma once
// Command-line flag plumbing shared by the gnr subcommands.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gnr::tools {

// Takes the value of `flag` at args[i], given as "--flag VALUE" (i then advances past the
// value) or "--flag=VALUE". False when args[i] is some other argument. When the flag is the
// last argument and has no value, returns true with `*value` empty and `*error` set to
// "--flag needs a value" (callers report it as a usage error).
bool TakeFlagValue(const std::vector<std::string>& args, size_t& i, std::string_view flag,
                   std::string* value, std::string* error);

}  // namespace gnr::tools
