// Drawing ProgressBar on stderr.
#include "runtime/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace trit::runtime {

namespace {
std::string format_amount(uint64_t n, ProgressBar::Unit unit) {
  if (unit == ProgressBar::Unit::kCount) return fmt::format("{}", n);
  const double v = static_cast<double>(n);
  if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", v / (1024.0 * 1024 * 1024));
  if (v >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", v / (1024.0 * 1024));
  if (v >= 1024.0) return fmt::format("{:.1f} KiB", v / 1024.0);
  return fmt::format("{} B", n);
}
}  // namespace

ProgressBar::ProgressBar(std::string label, uint64_t total, Unit unit, bool quiet)
    : label_(std::move(label)),
      total_(total),
      unit_(unit),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && tty_ && !quiet_) std::fputc('\n', stderr);
}

void ProgressBar::set(uint64_t done) {
  done_ = std::min(done, total_);
  if (quiet_ || !tty_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  done_ = total_;
  if (!quiet_) draw(true);
  finished_ = true;
}

void ProgressBar::draw(bool final_line) {
  constexpr int kWidth = 30;
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(frac * kWidth);
  const double t_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::string line = fmt::format("{} [{}] {:3.0f}% {}/{} {:.1f} s", label_, bar, frac * 100.0,
                                 format_amount(done_, unit_), format_amount(total_, unit_), t_s);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else if (final_line) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace trit::runtime
