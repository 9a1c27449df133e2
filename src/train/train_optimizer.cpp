// AdamW, the schedule and clipping.
#include "train/train_optimizer.h"

#include <cmath>
#include <numbers>

#include "runtime/assert.h"

namespace trit::train {

double learning_rate(int64_t step, int64_t total_steps, int64_t warmup, double lr, double min_ratio) {
  if (warmup > 0 && step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t span = std::max<int64_t>(1, total_steps - warmup);
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return lr * (min_ratio + (1.0 - min_ratio) * cosine);
}

double clip_grad_norm(std::span<float> grads, double max_norm) {
  double sum = 0.0;
  for (float g : grads) sum += static_cast<double>(g) * g;
  const double norm = std::sqrt(sum);
  if (max_norm > 0.0 && norm > max_norm) {
    const float s = static_cast<float>(max_norm / (norm + 1e-6));
    for (float& g : grads) g *= s;
  }
  return norm;
}

AdamW::AdamW(const ParamLayout& layout, const AdamWOptions& options)
    : o_(options), decay_(layout.n_params, 0.0f), m_(layout.n_params, 0.0f), v_(layout.n_params, 0.0f) {
  for (const ParamInfo& t : layout.tensors)
    if (t.kind == ParamKind::kLinear) std::fill(decay_.begin() + t.offset, decay_.begin() + t.offset + t.size(), 1.0f);
}

void AdamW::step(std::span<float> params, std::span<const float> grads, double lr, runtime::ThreadPool& pool) {
  TRIT_ASSERT(params.size() == m_.size() && grads.size() == m_.size());
  ++t_;
  const float b1 = o_.beta1, b2 = o_.beta2;
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t_))));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t_))));
  const float lr_f = static_cast<float>(lr), wd = static_cast<float>(lr * o_.weight_decay), eps = o_.eps;
  pool.parallel_for(
      static_cast<int64_t>(params.size()),
      [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const float g = grads[i];
          m_[i] = b1 * m_[i] + (1.0f - b1) * g;
          v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
          const float update = (m_[i] * c1) / (std::sqrt(v_[i] * c2) + eps);
          params[i] -= lr_f * update + wd * decay_[i] * params[i];
        }
      },
      1024);
}

}  // namespace trit::train
