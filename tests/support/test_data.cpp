// Locating the shared real-world test data (../shared/data).
#include "support/test_data.h"

#include <cstdlib>
#include <random>

namespace trit::testing {

std::filesystem::path shared_data_dir() {
  std::filesystem::path dir = TRIT_SHARED_DATA;
  if (const char* env = std::getenv("TRIT_SHARED_DATA"); env && *env) dir = env;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir / "tokenizers", ec)) return {};
  return dir;
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto dir = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(dir)) return dir;
  }
  throw std::runtime_error("could not create a temporary directory");
}

}  // namespace trit::testing
