// Ternary matrix x int8 activations, the hot loop of BitLinear, at every kernel level:
//   y[t][r] = (sum_c code[r][c] * q[t][c] - sum_c q[t][c]) / x_scale[t] * w.scale      (code = weight + 1)
// The integer part is exact at every level, so all levels give bit-identical results.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/i2_matrix.h"
#include "runtime/aligned_vector.h"
#include "runtime/cpu_features.h"

namespace trit::kernels {

// The activations of n_tokens tokens quantised once (per token absmax, kernels/bitlinear.h) and laid
// out for the kernels: natural order (scalar, AVX2, AVX-VNNI, NEON), and for AVX-512 also "pair order", where each
// 64-byte chunk matches one 64-byte load of weights (two blocks' worth of one bit-plane).
struct Q8Activations {
  int64_t n_tokens = 0;
  int64_t cols = 0;
  int64_t padded_cols = 0;
  runtime::AlignedVector<int8_t> q;        // [n_tokens][padded_cols], zero padded
  runtime::AlignedVector<int8_t> q_pairs;  // same values in pair order (AVX-512 only)
  std::vector<float> scale;                // per token
  std::vector<int32_t> sum;                // per token: sum of q

  void quantize(const float* x, int64_t n_tokens, int64_t cols, runtime::IsaLevel isa);
  // The same in two steps, so that tokens can be quantised in parallel: size the buffers, then
  // quantise tokens [t0, t1) (disjoint ranges may run concurrently).
  void prepare(int64_t n_tokens, int64_t cols, runtime::IsaLevel isa);
  void quantize_tokens(const float* x, int64_t t0, int64_t t1);
};

// Rows [row_begin, row_end) of y ([n_tokens][w.rows]) at the given level.
void i2_gemm(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end,
             runtime::IsaLevel isa);

// Per-level entry points (the dispatch above picks one); declared for the cross-check tests.
void i2_gemm_scalar(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end);
void i2_gemm_avx2(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end);
void i2_gemm_avxvnni(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end);
void i2_gemm_avx512(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end);
void i2_gemm_neon(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end);

}  // namespace trit::kernels
