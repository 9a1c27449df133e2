// F16 mat-vec for AVX2 + F16C + FMA: lanes 0-7 and 8-15 in two registers (the reference's 16 lanes).
#include <immintrin.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {

void f16_gemv_avx2(const F16GemvArgs& a) {
  const int64_t full = a.cols / 16 * 16;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * a.cols;
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int64_t c = 0; c < full; c += 16) {
      const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c)));
      const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c + 8)));
      lo = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a.x + c), lo);
      hi = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a.x + c + 8), hi);
    }
    alignas(32) float acc[16];
    _mm256_store_ps(acc, lo);
    _mm256_store_ps(acc + 8, hi);
    for (int64_t j = 0; full + j < a.cols; ++j) {
      // The tail, lane by lane, as the reference does it.
      const __m128 w = _mm_cvtph_ps(_mm_cvtsi32_si128(row[full + j]));
      acc[j] = _mm_cvtss_f32(_mm_fmadd_ss(w, _mm_set_ss(a.x[full + j]), _mm_set_ss(acc[j])));
    }
    for (int s = 8; s >= 1; s /= 2)
      for (int j = 0; j < s; ++j) acc[j] += acc[j + s];
    a.y[r] = acc[0];
  }
}

}  // namespace trit::kernels
