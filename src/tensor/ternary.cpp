// BitLinear absmean weight ternarisation (BitNet b1.58), as bitnet.cpp's converter computes it.
#include "tensor/ternary.h"

#include <algorithm>
#include <cmath>

#include "runtime/assert.h"

namespace trit::tensor {

// utils/convert-hf-to-gguf-bitnet.py (microsoft/BitNet), weight_quant:
//   s = 1 / mean(|W|).clamp(min=1e-5);  W' = (W * s).round().clamp(-1, 1) / s
// torch rounds half to even (std::nearbyint in the default rounding mode does too) and works in
// float32; the stored scale is 1/s in float32 (what max|W'| holds when I2_S is written), which can
// differ from mean(|W|) by one ulp.
TernaryMatrix ternarize_absmean(std::span<const float> w, int64_t rows, int64_t cols) {
  TRIT_ASSERT(rows >= 0 && cols > 0);
  TRIT_ASSERT(static_cast<int64_t>(w.size()) == rows * cols);
  constexpr float kEps = 1e-5f;
  double sum = 0;
  for (float x : w) sum += std::fabs(static_cast<double>(x));
  const float mean = w.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(w.size()));
  const float s = 1.0f / std::max(mean, kEps);

  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const float q = std::nearbyint(w[i] * s);
    if (std::isnan(q)) continue;  // NaN weights become 0 rather than an undefined cast
    m.values[i] = static_cast<int8_t>(std::clamp(q, -1.0f, 1.0f));
  }
  m.scales.assign(static_cast<size_t>(rows), 1.0f / s);
  return m;
}

}  // namespace trit::tensor
