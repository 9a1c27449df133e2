// Locating the shared real-world test data (../shared/data) and skipping cleanly where it is absent.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace trit::testing {

// Root of ../shared/data, or an empty path when it is not there (a user's fresh clone).
// TRIT_SHARED_DATA in the environment overrides the configured location.
std::filesystem::path shared_data_dir();

// A fresh, empty directory under the system temp dir, removed by the caller or left for inspection.
std::filesystem::path make_temp_dir(const std::string& prefix);

}  // namespace trit::testing

// Skips the current test, naming what is missing, when ../shared/data is absent.
#define TRIT_REQUIRE_SHARED_DATA()                                                                    \
  do {                                                                                                \
    if (::trit::testing::shared_data_dir().empty())                                                   \
      GTEST_SKIP() << "../shared/data is absent (set TRIT_SHARED_DATA to its path); skipping a test " \
                      "that needs the real tokenizer and model files";                                \
  } while (0)
