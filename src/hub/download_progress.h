// A download's progress line on stderr: "file [#####.....] 45% 1.20/2.70 GiB 35.2 MiB/s 43 s left".
// Like runtime::ProgressBar (redrawn ~10 times a second on a terminal, one summary line otherwise), with
// the transfer speed, counted from the bytes of this run only (a resumed download starts part way).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace trit::hub {

class DownloadProgress {
 public:
  DownloadProgress(std::string label, uint64_t total, uint64_t already_done, bool quiet);
  ~DownloadProgress();
  DownloadProgress(const DownloadProgress&) = delete;
  DownloadProgress& operator=(const DownloadProgress&) = delete;

  void add(uint64_t n);
  void restart(uint64_t done);  // the server sent the whole file after all: count from `done` again
  void finish();

 private:
  void draw(bool final_line);
  std::string label_;
  uint64_t total_;
  uint64_t done_;
  uint64_t start_done_;
  bool quiet_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.20 GiB", "35.2 MiB", "512 B".
std::string format_bytes(uint64_t n);

}  // namespace trit::hub
