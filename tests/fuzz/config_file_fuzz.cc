// Fuzzes the configuration file parser (tools/config.h): any bytes give a ConfigFile or an
// InvalidArgument, never a crash or an escaped exception; whatever it accepts resolves, and
// every entry it keeps is a known option with values that pass the option's checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tools/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<gnr::tools::ConfigFile> file = gnr::tools::ParseConfigFile(text, "fuzz.toml");
  if (!file.ok()) {
    if (file.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  for (const auto& [key, entry] : file->entries) {
    if (gnr::tools::FindConfigOption(key) == nullptr || entry.line < 1) std::abort();
  }
  gnr::tools::ConfigInputs inputs;
  inputs.env = {{"HOME", "/home/fuzz"}};
  inputs.file = &*file;
  absl::StatusOr<gnr::tools::Config> config = gnr::tools::ResolveConfig(inputs);
  if (!config.ok()) std::abort();  // the file's values were checked when parsed
  return 0;
}
