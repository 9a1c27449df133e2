// An inference context: the KV cache and scratch buffers of one sequence, and the forward pass that
// fills them. Prompt tokens go through as one batch; decoding feeds one token at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/model.h"
#include "runtime/thread_pool.h"

namespace trit::model {

// The KV cache's element type. F16 (llama.cpp's default) halves its memory and rounds exactly as
// ggml does: keys, values, the query before Q·K and the attention weights before P·V in half precision.
enum class KvType { kF16, kF32 };

struct ContextOptions {
  int64_t n_ctx = 0;  // 0: the model's training context, capped at 4096
  int n_threads = 0;  // 0: one per hardware thread
  KvType kv_type = KvType::kF16;
};

class Context {
 public:
  Context(const Model& model, const ContextOptions& options = {});

  // Runs `tokens` at positions n_past().. and returns the logits of the last one (n_vocab floats),
  // or of every token when all_logits (n_tokens * n_vocab). Throws trit::Error when the context is
  // full or a token id is out of range.
  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  void reset() { n_past_ = 0; }
  // Forgets everything from position n on (n <= n_past), e.g. to reuse a common prompt prefix.
  void truncate(int64_t n);
  const Model& model() const { return model_; }

 private:
  void attention(int64_t layer, int64_t n_tokens, const float* q, float* out);
  void store_kv(int64_t layer, int64_t pos, const float* k, const float* v);
  void reserve_values(int64_t n_positions);

  const Model& model_;
  int64_t n_ctx_;
  int64_t n_past_ = 0;
  runtime::ThreadPool pool_;
  // KV cache, per layer: keys (after RoPE) [n_ctx][n_embd_kv]; values [n_ctx][n_embd_kv] in f32, or
  // transposed [n_embd_kv][n_ctx] in f16 (llama.cpp's layout, one dot product per output).
  KvType kv_type_;
  // Allocated without being written, so only the pages of positions in use become resident.
  std::vector<std::unique_ptr<float[]>> k_cache_, v_cache_;
  std::vector<std::unique_ptr<uint16_t[]>> k_cache_f16_, v_cache_f16_;
  int64_t v_stride_ = 0;  // positions per row of the transposed f16 values (their capacity)
  std::vector<float> logits_;
};

}  // namespace trit::model
