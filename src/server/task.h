// A generation task: what an HTTP request asks the scheduler for, and the channel the scheduler
// streams the result back on. The HTTP thread waits on it; the scheduler thread fills it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sampling/sampler.h"

namespace trit::server {

struct GenerationParams {
  sampling::SamplerParams sampler;
  int64_t n_predict = -1;  // -1: until end of generation or the context is full
  std::vector<std::string> stops;
  bool ignore_eos = false;
  int32_t n_probs = 0;       // per generated token, the top n_probs tokens with probabilities
  bool cache_prompt = true;  // reuse a slot's cached prefix of this prompt
};

struct TokenProbability {
  int32_t id;
  std::string piece;
  float prob;
};

// One generated token's text piece (possibly empty while a UTF-8 character or a possible stop string
// is held back), with the token and, if asked for, the candidates' probabilities.
struct TextPiece {
  std::string text;
  int32_t token = -1;
  std::vector<TokenProbability> probs;
};

enum class StopReason { kEos, kStopString, kLength, kCancelled };

struct TaskResult {
  StopReason reason = StopReason::kLength;
  std::string stopping_word;
  std::string content;  // the whole generated text
  std::vector<int32_t> tokens;
  int64_t n_prompt = 0;     // tokens in the prompt
  int64_t n_cached = 0;     // of which taken from the slot's cache
  int64_t n_generated = 0;  // sampled tokens (an end-of-generation token counts, as in llama.cpp)
  double prompt_ms = 0, generation_ms = 0;
  int slot = -1;
  bool truncated = false;  // stopped because the context was full
};

class Task {
 public:
  Task(uint64_t id, std::vector<int32_t> prompt, GenerationParams params)
      : id_(id), prompt_(std::move(prompt)), params_(std::move(params)) {}

  uint64_t id() const { return id_; }
  const std::vector<int32_t>& prompt() const { return prompt_; }
  const GenerationParams& params() const { return params_; }

  // HTTP side. next() waits up to `timeout` for a piece; returns nullopt when none came (then check
  // done()). cancel() asks the scheduler to drop the task (its slot is freed at the next step).
  std::optional<TextPiece> next(std::chrono::milliseconds timeout);
  bool done() const;
  // Waits for the end; the result, or throws trit::Error with the task's error message.
  TaskResult wait();
  void cancel() { cancelled_.store(true); }

  // Scheduler side.
  bool cancelled() const { return cancelled_.load(); }
  int slot() const { return slot_.load(); }  // -1 until a slot takes the task
  void set_slot(int slot) { slot_.store(slot); }
  void push(TextPiece piece);
  void finish(TaskResult result);
  void fail(std::string message);

 private:
  uint64_t id_;
  std::vector<int32_t> prompt_;
  GenerationParams params_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int> slot_{-1};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<TextPiece> pieces_;
  std::optional<TaskResult> result_;
  std::optional<std::string> error_;
};

// An embedding request: its inputs' tokens go through the scheduler's forward pass together with
// those of other embedding requests waiting at the same time.
class EmbeddingJob {
 public:
  explicit EmbeddingJob(std::vector<std::vector<int32_t>> inputs) : inputs_(std::move(inputs)) {}
  const std::vector<std::vector<int32_t>>& inputs() const { return inputs_; }
  int64_t n_tokens() const;

  // One L2-normalised vector per input; throws trit::Error with the job's error message.
  std::vector<std::vector<float>> wait();
  void finish(std::vector<std::vector<float>> vectors);
  void fail(std::string message);

 private:
  std::vector<std::vector<int32_t>> inputs_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::vector<std::vector<float>>> vectors_;
  std::optional<std::string> error_;
};

}  // namespace trit::server
