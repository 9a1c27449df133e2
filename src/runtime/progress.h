// Progress bars on stderr for work that takes seconds (loading, generating, converting).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace trit::runtime {

// Draws "label [#####.....] 45% 1.2/2.7 GiB 3.1 s" on stderr, redrawn at most ~10 times a second.
// When stderr is not a terminal it prints nothing until finish(), which prints one summary line
// (so logs stay readable). Quiet bars print nothing at all.
class ProgressBar {
 public:
  enum class Unit { kCount, kBytes };
  ProgressBar(std::string label, uint64_t total, Unit unit = Unit::kCount, bool quiet = false);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void set(uint64_t done);
  void add(uint64_t n) { set(done_ + n); }
  void finish();

 private:
  void draw(bool final_line);
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  Unit unit_;
  bool quiet_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace trit::runtime
