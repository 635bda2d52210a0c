#pragma once
// A fresh directory under the test temp dir, removed with its contents when destroyed.

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace gnr::farmer::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "farmer") {
    std::string pattern = ::testing::TempDir() + "/gnr_" + tag + "_XXXXXX";
    if (char* made = ::mkdtemp(pattern.data())) path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace gnr::farmer::testing
