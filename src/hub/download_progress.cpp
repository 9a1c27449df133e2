// Drawing DownloadProgress on stderr.
#include "hub/download_progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace trit::hub {

std::string format_bytes(uint64_t n) {
  const double v = static_cast<double>(n);
  if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", v / (1024.0 * 1024 * 1024));
  if (v >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", v / (1024.0 * 1024));
  if (v >= 1024.0) return fmt::format("{:.1f} KiB", v / 1024.0);
  return fmt::format("{} B", n);
}

DownloadProgress::DownloadProgress(std::string label, uint64_t total, uint64_t already_done, bool quiet)
    : label_(std::move(label)),
      total_(total),
      done_(already_done),
      start_done_(already_done),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

DownloadProgress::~DownloadProgress() {
  if (!finished_ && tty_ && !quiet_) std::fputc('\n', stderr);
}

void DownloadProgress::add(uint64_t n) {
  done_ += n;
  if (quiet_ || !tty_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void DownloadProgress::restart(uint64_t done) {
  done_ = start_done_ = done;
  start_ = std::chrono::steady_clock::now();
}

void DownloadProgress::finish() {
  if (finished_) return;
  if (!quiet_) draw(true);
  finished_ = true;
}

void DownloadProgress::draw(bool final_line) {
  constexpr int kWidth = 30;
  const uint64_t shown = std::min(done_, total_);
  const double frac = total_ ? static_cast<double>(shown) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(frac * kWidth);
  const double t_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double speed = t_s > 0.0 ? static_cast<double>(done_ - start_done_) / t_s : 0.0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::string line = fmt::format("{} [{}] {:3.0f}% {}/{} {}/s", label_, bar, frac * 100.0, format_bytes(shown),
                                 format_bytes(total_), format_bytes(static_cast<uint64_t>(speed)));
  if (final_line)
    line += fmt::format(" in {:.1f} s", t_s);
  else if (speed > 0.0 && total_ > shown)
    line += fmt::format(" {:.0f} s left", static_cast<double>(total_ - shown) / speed);
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  else if (final_line)
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace trit::hub
