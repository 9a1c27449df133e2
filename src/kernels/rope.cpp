// RoPE: the reference one head at a time, and the angles computed once per token for all heads.
#include "kernels/rope.h"

#include <cmath>
#include <vector>

namespace trit::kernels {

void rope(float* head, int64_t pos, const RopeParams& p) {
  // The table version on one head, so that both round alike on every target (with FMA in the baseline,
  // as on AArch64, the compiler may contract the rotation differently in different loops).
  thread_local std::vector<float> angles;
  const int64_t half = p.n_rot / 2;
  angles.resize(static_cast<size_t>(2 * half));
  rope_angles(pos, p, angles.data(), angles.data() + half);
  rope_heads(head, 1, p.n_rot, angles.data(), angles.data() + half, p);
}

void rope_angles(int64_t pos, const RopeParams& p, float* cos, float* sin) {
  // Single precision with the angle advanced by repeated multiplication, as ggml computes it
  // (ggml_rope_cache_init), so positions rotate bit for bit as in llama.cpp and bitnet.cpp.
  const int64_t half = p.n_rot / 2;
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta_base = static_cast<float>(pos);
  for (int64_t i = 0; i < half; ++i) {
    const float factor = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float theta = p.freq_scale * (theta_base / factor);
    theta_base *= theta_scale;
    cos[i] = std::cos(theta);
    sin[i] = std::sin(theta);
  }
}

void rope_heads(float* heads, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin,
                const RopeParams& p) {
  const int64_t half = p.n_rot / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* head = heads + h * head_dim;
    if (p.style == RopeStyle::kNorm) {
      for (int64_t i = 0; i < half; ++i) {
        const float x0 = head[2 * i];
        const float x1 = head[2 * i + 1];
        head[2 * i] = x0 * cos[i] - x1 * sin[i];
        head[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
      }
    } else {
      float* lo = head;
      float* hi = head + half;
      for (int64_t i = 0; i < half; ++i) {
        const float x0 = lo[i];
        const float x1 = hi[i];
        lo[i] = x0 * cos[i] - x1 * sin[i];
        hi[i] = x0 * sin[i] + x1 * cos[i];
      }
    }
  }
}

}  // namespace trit::kernels
