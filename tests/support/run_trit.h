// Running the real `trit` binary (TRIT_BINARY) as a process for end-to-end tests.
#pragma once

#include <filesystem>
#include <string>

namespace trit::testing {

struct RunResult {
  int exit_code;  // -1 when a signal ended it
  std::string out;
  std::string err;
};

// Runs `trit <args>` through the shell (the caller quotes args where needed) with `stdin_text` on stdin
// and `env` ("NAME=value ...") prefixed; stdout and stderr pass through files in `dir`.
RunResult run_trit(const std::filesystem::path& dir, const std::string& args, const std::string& stdin_text = "",
                   const std::string& env = "");

std::string read_file(const std::filesystem::path& path);

}  // namespace trit::testing
