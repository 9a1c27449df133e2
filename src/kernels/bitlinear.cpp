// BitLinear reference: plain loops, int32 accumulation, one rescale per output (per group for TQ types).
#include "kernels/bitlinear.h"

#include "kernels/elementwise.h"
#include "runtime/assert.h"

namespace trit::kernels {

float quantize_activations(const float* x, int64_t n, int8_t* q) {
  // At the active kernel level (kernels/elementwise.h); the rounding and the scale are described there.
  return quantize_activations(x, n, q, nullptr, runtime::active_isa());
}

void ternary_matvec(const tensor::TernaryMatrix& w, const int8_t* q, float x_scale, float* y, int64_t row_begin,
                    int64_t row_end) {
  TRIT_ASSERT(w.group_size > 0 && w.cols % w.group_size == 0);
  const int64_t n_groups = w.groups_per_row();
  TRIT_ASSERT(0 <= row_begin && row_begin <= row_end && row_end <= w.rows);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int8_t* row = w.values.data() + r * w.cols;
    const float* scales = w.scales.data() + r * n_groups;
    float sum = 0.0f;
    for (int64_t g = 0; g < n_groups; ++g) {
      int32_t acc = 0;
      const int64_t begin = g * w.group_size;
      for (int64_t c = begin; c < begin + w.group_size; ++c) acc += static_cast<int32_t>(row[c]) * q[c];
      sum += static_cast<float>(acc) / x_scale * scales[g];
    }
    y[r] = sum;
  }
}

void float_matvec(const float* w, int64_t cols, const float* x, float* y, int64_t row_begin, int64_t row_end) {
  // 16 independent partial sums: a fixed summation order that compilers can still vectorise.
  constexpr int64_t kLanes = 16;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const float* row = w + r * cols;
    float acc[kLanes] = {};
    int64_t c = 0;
    for (; c + kLanes <= cols; c += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += row[c + j] * x[c + j];
    float sum = 0.0f;
    for (; c < cols; ++c) sum += row[c] * x[c];
    for (int64_t j = 0; j < kLanes; ++j) sum += acc[j];
    y[r] = sum;
  }
}

}  // namespace trit::kernels
