// RoPE reference: one head at a time.
#include "kernels/rope.h"

#include <cmath>

namespace trit::kernels {

void rope(float* head, int64_t pos, const RopeParams& p) {
  // Single precision with the angle advanced by repeated multiplication, as ggml computes it
  // (ggml_rope_cache_init), so positions rotate bit for bit as in llama.cpp and bitnet.cpp.
  const int64_t half = p.n_rot / 2;
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta_base = static_cast<float>(pos);
  for (int64_t i = 0; i < half; ++i) {
    const float factor = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float theta = p.freq_scale * (theta_base / factor);
    theta_base *= theta_scale;
    const float c = std::cos(theta);
    const float s = std::sin(theta);
    const int64_t a = p.style == RopeStyle::kNorm ? 2 * i : i;
    const int64_t b = p.style == RopeStyle::kNorm ? 2 * i + 1 : i + half;
    const float x0 = head[a];
    const float x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
  }
}

}  // namespace trit::kernels
