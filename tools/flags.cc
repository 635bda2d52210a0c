#include "tools/flags.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace gnr::tools {

bool TakeFlagValue(const std::vector<std::string>& args, size_t& i, std::string_view flag,
                   std::string* value, std::string* error) {
  const std::string& a = args[i];
  if (a == flag) {
    if (i + 1 >= args.size()) {
      value->clear();
      *error = absl::StrCat(AbslView(flag), " needs a value");
      return true;
    }
    *value = args[++i];
    return true;
  }
  if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=') {
    *value = a.substr(flag.size() + 1);
    return true;
  }
  return false;
}

}  // namespace gnr::tools
