// F16 mat-vec for AVX-512: one register of 16 lanes, the tail by masked loads.
#include <immintrin.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {

void f16_gemv_avx512(const F16GemvArgs& a) {
  const int64_t full = a.cols / 16 * 16;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * a.cols;
    __m512 acc0 = _mm512_setzero_ps();
    for (int64_t c = 0; c < full; c += 16) {
      const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c)));
      acc0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(a.x + c), acc0);
    }
    alignas(64) float acc[16];
    _mm512_store_ps(acc, acc0);
    for (int64_t j = 0; full + j < a.cols; ++j) {
      const __m128 w = _mm_cvtph_ps(_mm_cvtsi32_si128(row[full + j]));
      acc[j] = _mm_cvtss_f32(_mm_fmadd_ss(w, _mm_set_ss(a.x[full + j]), _mm_set_ss(acc[j])));
    }
    for (int s = 8; s >= 1; s /= 2)
      for (int j = 0; j < s; ++j) acc[j] += acc[j + s];
    a.y[r] = acc[0];
  }
}

}  // namespace trit::kernels
