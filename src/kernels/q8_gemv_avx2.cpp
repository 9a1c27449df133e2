// Q8_0 mat-vec for AVX2: |w| x sign(w)*x by maddubs (int16 pairs, |127 * 127 * 2| fits), madd to the
// 8 int32 lanes of 4 products, scaled and accumulated with FMA in 8 float lanes.
#include <immintrin.h>

#include <cstring>

#include "kernels/q8_gemv.h"

namespace trit::kernels {

void q8_gemv_avx2(const Q8GemvArgs& a) {
  const int64_t n_blocks = a.cols / kQ8Block;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint8_t* row = a.w + r * n_blocks * kQ8BlockBytes;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b) {
      const uint8_t* block = row + b * kQ8BlockBytes;
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q + b * kQ8Block));
      const __m256i lanes =
          _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), ones);
      const float scale = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(block[0] | block[1] << 8))) * a.d[b];
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(scale), acc);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    a.y[r] = fold8(lanes);
  }
}

}  // namespace trit::kernels
