// Continuous batching: N slots, each with its own KV cache, share one forward pass per step. A step
// feeds every decoding slot's last token and the next chunk of every prompt being read, so a new
// request starts while others are mid-generation and each slot gets exactly the tokens it would get
// alone (model/forward.h). A finished slot keeps its cache for the next request that shares a prefix.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "model/forward.h"
#include "model/kv_cache.h"
#include "sampling/sampler.h"
#include "sampling/stop.h"
#include "server/task.h"
#include "tokenizer/tokenizer.h"

namespace trit::server {

struct SchedulerOptions {
  int n_slots = 1;
  int64_t n_ctx = 0;  // per slot; 0: the model's training context, capped at 4096
  int n_threads = 0;
  model::KvType kv_type = model::KvType::kF16;
  int64_t max_queue = 64;           // tasks waiting for a slot; more are refused
  int64_t n_batch = 512;            // prompt tokens per slot per step (a prompt is read in chunks of this size)
  int64_t max_batch_tokens = 2048;  // prompt tokens per step over all slots (decode tokens always run)
};

// Thrown by submit() when the queue is full or the scheduler is shutting down (HTTP 503).
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SlotInfo {
  int id;
  bool busy;
  uint64_t task_id;   // 0 when idle
  int64_t n_prompt;   // the current (or last) task's prompt tokens
  int64_t n_decoded;  // tokens generated so far for it
  int64_t n_cached;   // tokens in the slot's KV cache
  int64_t n_ctx;
};

struct SchedulerStats {
  int64_t prompt_tokens = 0;  // evaluated (not taken from a cache)
  int64_t cached_tokens = 0;  // prompt tokens reused from a slot's cache
  int64_t generated_tokens = 0;
  double prompt_seconds = 0, generation_seconds = 0;
  int64_t steps = 0;  // forward passes
  int64_t requests_done = 0, requests_cancelled = 0, requests_failed = 0;
  int64_t busy_slots = 0, queued = 0;
  int64_t max_step_sequences = 0;  // most sequences seen in one forward pass
  int64_t embedding_requests = 0, embedding_inputs = 0, embedding_tokens = 0;
  double embedding_seconds = 0;
};

class Scheduler {
 public:
  // Runs on the CPU (model::Forward with options.n_threads) ...
  Scheduler(const model::Model& model, const SchedulerOptions& options);
  // ... or on the given backend (a GPU: device/backend_factory.h), for the same batching.
  Scheduler(std::unique_ptr<model::Backend> backend, const SchedulerOptions& options);
  ~Scheduler();  // cancels what is running and joins the loop
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a generation. Throws trit::Error for a prompt that cannot fit a slot's context (HTTP 400)
  // and Unavailable when the queue is full or shutting down (HTTP 503).
  std::shared_ptr<Task> submit(std::vector<int32_t> prompt, GenerationParams params);

  // Queues embeddings of `inputs` (token ids, each shorter than a slot's context). Every embedding
  // request waiting when the scheduler gets to them runs in one forward pass, between decode steps.
  // Throws like submit().
  std::shared_ptr<EmbeddingJob> submit_embeddings(std::vector<std::vector<int32_t>> inputs);

  // Stops accepting; waits up to `grace` for running and queued tasks, then cancels the rest.
  void drain(std::chrono::milliseconds grace);

  int64_t n_ctx() const { return n_ctx_; }
  int n_slots() const { return static_cast<int>(slots_.size()); }
  const model::Model& model() const { return model_; }
  std::vector<SlotInfo> slots() const;
  SchedulerStats stats() const;

 private:
  struct Slot;
  void loop();
  bool assign_waiting();    // under mutex_
  void update_occupancy();  // under mutex_: busy/queued counts; wakes drain() when all is idle
  void step();
  // The k for which every slot of the batch can sample from its top k logits picked on the device (0:
  // the whole rows are needed, or the backend does not pick on the device).
  int32_t device_top_k(const std::vector<Slot*>& batch) const;
  // Samples the slot's next token from its logits, or from its top logits when `top` is given.
  void sample_and_emit(Slot& slot, std::span<const float> logits, const model::TopLogits* top);
  void finish(Slot& slot, StopReason reason);
  void run_embeddings(std::vector<std::shared_ptr<EmbeddingJob>>& jobs);

  const model::Model& model_;
  const tokenizer::Tokenizer& tok_;
  SchedulerOptions options_;
  int64_t n_ctx_;
  std::unique_ptr<model::Backend> backend_;
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<std::shared_ptr<Task>> waiting_;
  std::vector<std::shared_ptr<EmbeddingJob>> embeddings_waiting_;
  bool accepting_ = true;
  bool stopping_ = false;
  SchedulerStats stats_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace trit::server
