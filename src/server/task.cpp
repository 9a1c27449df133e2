// The task channel: a queue of text pieces and a final result, guarded by one mutex.
#include "server/task.h"

#include "runtime/error.h"

namespace trit::server {

std::optional<TextPiece> Task::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !pieces_.empty() || result_ || error_; });
  if (pieces_.empty()) return std::nullopt;
  TextPiece piece = std::move(pieces_.front());
  pieces_.pop_front();
  return piece;
}

bool Task::done() const {
  std::lock_guard lock(mutex_);
  return pieces_.empty() && (result_ || error_);
}

TaskResult Task::wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return result_ || error_; });
  if (error_) trit::fail("{}", *error_);
  return *result_;
}

void Task::push(TextPiece piece) {
  {
    std::lock_guard lock(mutex_);
    pieces_.push_back(std::move(piece));
  }
  changed_.notify_all();
}

void Task::finish(TaskResult result) {
  {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
  }
  changed_.notify_all();
}

void Task::fail(std::string message) {
  {
    std::lock_guard lock(mutex_);
    error_ = std::move(message);
  }
  changed_.notify_all();
}

int64_t EmbeddingJob::n_tokens() const {
  int64_t n = 0;
  for (const auto& in : inputs_) n += static_cast<int64_t>(in.size());
  return n;
}

std::vector<std::vector<float>> EmbeddingJob::wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return vectors_ || error_; });
  if (error_) trit::fail("{}", *error_);
  return *vectors_;
}

void EmbeddingJob::finish(std::vector<std::vector<float>> vectors) {
  {
    std::lock_guard lock(mutex_);
    vectors_ = std::move(vectors);
  }
  changed_.notify_all();
}

void EmbeddingJob::fail(std::string message) {
  {
    std::lock_guard lock(mutex_);
    error_ = std::move(message);
  }
  changed_.notify_all();
}

}  // namespace trit::server
