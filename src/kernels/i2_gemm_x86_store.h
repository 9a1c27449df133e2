// The end of every x86 I2 kernel: int32 lanes summed per (row, token) and turned into outputs,
// (sum - x_sum) / x_scale * w_scale in the scalar reference's IEEE order. AVX2 intrinsics only, in an
// unnamed namespace so that each SIMD file compiles its own copy with its own flags (see i2_gemm_args.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/i2_gemm_args.h"

namespace trit::kernels {
namespace {

// The sum of 8 int32 lanes.
inline int32_t hsum256(__m256i s) {
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(h);
}

// The four sums of a, b, c, d (8 int32 lanes each) in one 128-bit vector.
inline __m128i hsum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// y of one (row, token) from its integer dot product.
inline void store(const I2GemmArgs& A, int64_t r, int64_t t, int32_t total) {
  A.y[t * A.rows + r] = static_cast<float>(total - A.x_sum[t]) / A.x_scale[t] * A.w_scale;
}

// y for rows [r0, r0 + R) and token tt from the four-lane sums of those rows: the same IEEE operations
// in the same order as store().
template <int R>
inline void store4(const I2GemmArgs& A, int64_t r0, int64_t tt, __m128i sums) {
  __m128 v = _mm_cvtepi32_ps(_mm_sub_epi32(sums, _mm_set1_epi32(A.x_sum[tt])));
  v = _mm_mul_ps(_mm_div_ps(v, _mm_set1_ps(A.x_scale[tt])), _mm_set1_ps(A.w_scale));
  float* y = A.y + tt * A.rows + r0;
  if constexpr (R == 4) {
    _mm_storeu_ps(y, v);
  } else {
    alignas(16) float out[4];
    _mm_store_ps(out, v);
    for (int i = 0; i < R; ++i) y[i] = out[i];
  }
}

}  // namespace
}  // namespace trit::kernels
