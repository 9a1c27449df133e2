// BitLinear reference: plain loops, int32 accumulation, one rescale per output (per group for TQ types).
#include "kernels/bitlinear.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/assert.h"

namespace trit::kernels {

float quantize_activations(const float* x, int64_t n, int8_t* q) {
  float max_abs = 0.0f;
  for (int64_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(x[i]));
  // The division in double, then rounded to float: bitnet.cpp's quantize_row_i8_s does exactly this.
  const float scale = static_cast<float>(127.0 / std::max(static_cast<double>(max_abs), 1e-5));
  for (int64_t i = 0; i < n; ++i) {
    // Round half to even by adding 1.5 * 2^23: the sum's low mantissa bits then hold the rounded value
    // (exact for |v| < 2^22; here |v| <= 127). ggml's nearest_int does the same; unlike a float-to-int
    // cast it has no undefined cases and vectorises.
    const float v = x[i] * scale;
    const float shifted = v + 12582912.0f;
    int32_t bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    const int32_t r = (bits & 0x007fffff) - 0x00400000;
    q[i] = static_cast<int8_t>(std::clamp(r, -128, 127));
  }
  return scale;
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
