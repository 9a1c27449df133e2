// Softmax and FFN activations, reference versions.
#include "kernels/activations.h"

#include <algorithm>
#include <cmath>

namespace trit::kernels {

void softmax(float* x, int64_t n) {
  float max_v = x[0];
  for (int64_t i = 1; i < n; ++i) max_v = std::max(max_v, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_v);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  constexpr float kCoef = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
}

void gated_activation(float* gate, const float* up, int64_t n, FfnActivation act) {
  if (act == FfnActivation::kGeluTanh) {
    for (int64_t i = 0; i < n; ++i) gate[i] = gelu_tanh(gate[i]) * up[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float a = act == FfnActivation::kSilu ? g / (1.0f + std::exp(-g)) : (g > 0.0f ? g * g : 0.0f);
    gate[i] = a * up[i];
  }
}

}  // namespace trit::kernels
