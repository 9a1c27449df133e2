// An inference context for one sequence: a KV cache and the backend (CPU or GPU) whose forward pass
// fills it. Prompt tokens go through as one batch; decoding feeds one token at a time. (A server with
// several sequences uses a Backend and one KvCache per slot directly.)
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace trit::model {

struct ContextOptions {
  int64_t n_ctx = 0;  // 0: the model's training context, capped at 4096
  int n_threads = 0;  // 0: one per physical core
  KvType kv_type = KvType::kF16;
};

// The context size options ask for: n_ctx, or the model's training context capped at 4096.
int64_t resolve_n_ctx(const Model& model, int64_t n_ctx);

class Context {
 public:
  // On the CPU (Forward with options.n_threads).
  Context(const Model& model, const ContextOptions& options = {});
  // On the given backend (device/backend_factory.h makes one for a device name).
  Context(std::unique_ptr<Backend> backend, const ContextOptions& options = {});

  // Runs `tokens` at positions n_past().. and returns the logits of the last one (n_vocab floats),
  // or of every token when all_logits (n_tokens * n_vocab). Throws trit::Error when the context is
  // full or a token id is out of range.
  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);
  // eval's logits of the last token cut to the k highest (Backend::eval_top_k: on a GPU, cut there).
  TopLogits eval_top_k(std::span<const int32_t> tokens, int k);

  int64_t n_past() const { return cache_.n_past(); }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  void reset() { cache_.reset(); }
  // Forgets everything from position n on (n <= n_past), e.g. to reuse a common prompt prefix.
  void truncate(int64_t n) { cache_.truncate(n); }
  const Model& model() const { return backend_->model(); }
  Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<Backend> backend_;
  KvCache cache_;
};

}  // namespace trit::model
