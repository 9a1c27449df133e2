// F16 mat-vec for AVX-512: one register of 16 lanes, the tail by masked loads.
#include <immintrin.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {

void f16_gemv_avx512(const F16GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  int64_t r = a.row_begin;
  // Four rows at a time: their tails (summed one by one in double, as ggml does) then overlap.
  for (; r + 4 <= a.row_end; r += 4) {
    const uint16_t* const rows[4] = {a.w + r * ld, a.w + (r + 1) * ld, a.w + (r + 2) * ld, a.w + (r + 3) * ld};
    alignas(64) float lanes[4][4][16];
    for (int i = 0; i < 4; ++i) {
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t c = 0; c < np; c += 64)
        for (int j = 0; j < 4; ++j) {
          const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i] + c + 16 * j)));
          acc[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(a.x + c + 16 * j), acc[j]);
        }
      for (int j = 0; j < 4; ++j) _mm512_store_ps(lanes[i][j], acc[j]);
    }
    finish_f16_dot4(lanes, rows, a.x, np, a.cols, a.y + r, 1);
  }
  for (; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * ld;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t c = 0; c < np; c += 64)
      for (int j = 0; j < 4; ++j) {
        const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c + 16 * j)));
        acc[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(a.x + c + 16 * j), acc[j]);
      }
    alignas(64) float lanes[4][16];
    for (int j = 0; j < 4; ++j) _mm512_store_ps(lanes[j], acc[j]);
    a.y[r] = finish_f16_dot(lanes, row, a.x, np, a.cols);
  }
}

void f32_gemv_avx512(const F32GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const float* row = a.w + r * (a.ld ? a.ld : a.cols);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t c = 0; c < np; c += 64)
      for (int j = 0; j < 4; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(row + c + 16 * j), _mm512_loadu_ps(a.x + c + 16 * j), acc[j]);
    alignas(64) float lanes[4][16];
    for (int j = 0; j < 4; ++j) _mm512_store_ps(lanes[j], acc[j]);
    a.y[r] = finish_f32_dot(lanes, row, a.x, np, a.cols);
  }
}

}  // namespace trit::kernels
