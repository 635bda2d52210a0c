#pragma once
// Test helpers shared by the catalog tests: a fresh temporary directory per test.

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace gnr::catalog::testing {

// Creates a unique directory (on tmpfs when /dev/shm exists, so that fsync is cheap; the
// crash tests kill processes, not the machine); removes it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : ::testing::TempDir();
    std::string pattern = base + "/gnr_catalog_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace gnr::catalog::testing
