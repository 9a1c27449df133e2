// AdamW with decoupled weight decay (linear weights only; none on norms and the embedding), the
// learning-rate schedule (linear warm-up, then cosine decay to a floor) and global-norm clipping.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/thread_pool.h"
#include "train/train_model.h"

namespace trit::train {

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
};

// lr at step (0-based): lr * (step + 1) / warmup during warm-up, then cosine from lr down to
// lr * min_ratio at total_steps.
double learning_rate(int64_t step, int64_t total_steps, int64_t warmup, double lr, double min_ratio = 0.1);

// Scales grads so their global L2 norm is at most max_norm (max_norm <= 0: no clipping). Returns the
// norm before clipping. The sum runs in one fixed order (double), so it is the same for every thread count.
double clip_grad_norm(std::span<float> grads, double max_norm);

class AdamW {
 public:
  AdamW(const ParamLayout& layout, const AdamWOptions& options);

  // One update of params with grads at learning rate lr; counts the step (bias correction).
  void step(std::span<float> params, std::span<const float> grads, double lr, runtime::ThreadPool& pool);

  int64_t n_steps() const { return t_; }
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  void set_n_steps(int64_t t) { t_ = t; }

 private:
  AdamWOptions o_;
  std::vector<float> decay_;  // per parameter: 1 for linear weights, 0 elsewhere (as a mask)
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

}  // namespace trit::train
