// Activation layout for the I2 kernels, the scalar reference kernel and the per-level dispatch.
#include "kernels/i2_gemm.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/i2_gemm_args.h"
#include "runtime/assert.h"

namespace trit::kernels {

void Q8Activations::prepare(int64_t n, int64_t c, runtime::IsaLevel isa) {
  n_tokens = n;
  cols = c;
  padded_cols = (c + 127) / 128 * 128;
  q.assign(static_cast<size_t>(n * padded_cols), 0);
  scale.resize(static_cast<size_t>(n));
  sum.resize(static_cast<size_t>(n));
  if (isa == runtime::IsaLevel::kAvx512) {
    q_pairs.resize(q.size());
  } else {
    q_pairs.clear();
  }
}

void Q8Activations::quantize_tokens(const float* x, int64_t t0, int64_t t1) {
  // Pair order (AVX-512): for blocks (2p, 2p+1) and bit-plane g, 32 activations of block 2p then 32
  // of block 2p+1 (elements 32g..32g+31 of each). An odd last block stays in natural order.
  const int64_t n_pairs = padded_cols / 256;
  for (int64_t t = t0; t < t1; ++t) {
    int8_t* qt = q.data() + t * padded_cols;
    // Every level quantises identically (kernels/elementwise.h): the active one is the fastest.
    scale[t] = quantize_activations(x + t * cols, cols, qt, &sum[t], runtime::active_isa());
    if (q_pairs.empty()) continue;
    int8_t* dst = q_pairs.data() + t * padded_cols;
    for (int64_t p = 0; p < n_pairs; ++p)
      for (int64_t g = 0; g < 4; ++g)
        for (int64_t half = 0; half < 2; ++half)
          std::copy_n(qt + (2 * p + half) * 128 + g * 32, 32, dst + p * 256 + g * 64 + half * 32);
    std::copy(qt + n_pairs * 256, qt + padded_cols, dst + n_pairs * 256);
  }
}

void Q8Activations::quantize(const float* x, int64_t n, int64_t c, runtime::IsaLevel isa) {
  prepare(n, c, isa);
  quantize_tokens(x, 0, n);
}

void i2_gemm_scalar(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end) {
  const int64_t n_blocks = w.padded_cols / 128;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = w.row(r);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const int8_t* q = a.q.data() + t * a.padded_cols;
      int32_t acc = 0;
      for (int64_t b = 0; b < n_blocks; ++b)
        for (int64_t j = 0; j < 128; ++j) {
          const int code = (row[b * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
          acc += code * q[b * 128 + j];
        }
      y[t * w.rows + r] = static_cast<float>(acc - a.sum[t]) / a.scale[t] * w.scale;
    }
  }
}

namespace {

I2GemmArgs make_args(const I2Matrix& w, const Q8Activations& a, const runtime::AlignedVector<int8_t>& q, float* y,
                     int64_t row_begin, int64_t row_end) {
  return {w.data,         w.rows,       w.padded_cols, w.scale, q.data(),  a.q.data(),
          a.scale.data(), a.sum.data(), a.n_tokens,    y,       row_begin, row_end};
}

}  // namespace

#if defined(__x86_64__)
void i2_gemm_avx2(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end) {
  i2_gemm_avx2_impl(make_args(w, a, a.q, y, row_begin, row_end));
}

void i2_gemm_avxvnni(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end) {
  i2_gemm_avxvnni_impl(make_args(w, a, a.q, y, row_begin, row_end));
}

void i2_gemm_avx512(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end) {
  TRIT_ASSERT(a.q_pairs.size() == a.q.size());
  i2_gemm_avx512_impl(make_args(w, a, a.q_pairs, y, row_begin, row_end));
}
#endif

#if defined(__aarch64__)
void i2_gemm_neon(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end) {
  i2_gemm_neon_impl(make_args(w, a, a.q, y, row_begin, row_end));
}
#endif

void i2_gemm(const I2Matrix& w, const Q8Activations& a, float* y, int64_t row_begin, int64_t row_end,
             runtime::IsaLevel isa) {
  TRIT_ASSERT(a.padded_cols == w.padded_cols);
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return i2_gemm_avx512(w, a, y, row_begin, row_end);
    case runtime::IsaLevel::kAvxVnni:
      return i2_gemm_avxvnni(w, a, y, row_begin, row_end);
    case runtime::IsaLevel::kAvx2:
      return i2_gemm_avx2(w, a, y, row_begin, row_end);
#endif
#if defined(__aarch64__)
    case runtime::IsaLevel::kNeon:
      return i2_gemm_neon(w, a, y, row_begin, row_end);
#endif
    default:
      return i2_gemm_scalar(w, a, y, row_begin, row_end);
  }
}

}  // namespace trit::kernels
