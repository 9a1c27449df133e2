// run_trit: the shell command, its captured output and exit status.
#include "support/run_trit.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace trit::testing {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

RunResult run_trit(const std::filesystem::path& dir, const std::string& args, const std::string& stdin_text,
                   const std::string& env) {
  const auto out = dir / "stdout", err = dir / "stderr", in = dir / "stdin";
  {
    std::ofstream f(in, std::ios::binary);
    f << stdin_text;
  }
  const std::string cmd = (env.empty() ? "" : env + " ") + std::string(TRIT_BINARY) + " " + args + " <" + in.string() +
                          " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
}

}  // namespace trit::testing
