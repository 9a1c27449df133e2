// RMSNorm reference: squares in float summed in double, then one float scale (as ggml's rms_norm).
#include "kernels/norm.h"

#include <cmath>

namespace trit::kernels {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum_sq / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * (weight ? weight[i] : 1.0f);
}

}  // namespace trit::kernels
