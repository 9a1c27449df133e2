// F16 mat-vec for AVX2 + F16C + FMA: lanes 0-7 and 8-15 in two registers (the reference's 16 lanes).
#include <immintrin.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {

void f16_gemv_avx2(const F16GemvArgs& a) {
  // The reference's 4 x 16 lanes as 8 registers of 8; four rows at a time so their tails overlap.
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  auto main_part = [&](const uint16_t* row, float(&lanes)[4][16]) {
    __m256 acc[8];
    for (auto& v : acc) v = _mm256_setzero_ps();
    for (int64_t c = 0; c < np; c += 64)
      for (int j = 0; j < 8; ++j) {
        const __m256 w = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c + 8 * j)));
        acc[j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(a.x + c + 8 * j), acc[j]);
      }
    for (int j = 0; j < 8; ++j) _mm256_storeu_ps(&lanes[j / 2][(j % 2) * 8], acc[j]);
  };
  int64_t r = a.row_begin;
  for (; r + 4 <= a.row_end; r += 4) {
    const uint16_t* const rows[4] = {a.w + r * ld, a.w + (r + 1) * ld, a.w + (r + 2) * ld, a.w + (r + 3) * ld};
    alignas(32) float lanes[4][4][16];
    for (int i = 0; i < 4; ++i) main_part(rows[i], lanes[i]);
    finish_f16_dot4(lanes, rows, a.x, np, a.cols, a.y + r, 1);
  }
  for (; r < a.row_end; ++r) {
    alignas(32) float lanes[4][16];
    main_part(a.w + r * ld, lanes);
    a.y[r] = finish_f16_dot(lanes, a.w + r * ld, a.x, np, a.cols);
  }
}

void f32_gemv_avx2(const F32GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const float* row = a.w + r * (a.ld ? a.ld : a.cols);
    __m256 acc[8];
    for (auto& v : acc) v = _mm256_setzero_ps();
    for (int64_t c = 0; c < np; c += 64)
      for (int j = 0; j < 8; ++j)
        acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 8 * j), _mm256_loadu_ps(a.x + c + 8 * j), acc[j]);
    alignas(32) float lanes[4][16];
    for (int j = 0; j < 8; ++j) _mm256_store_ps(&lanes[j / 2][(j % 2) * 8], acc[j]);
    a.y[r] = finish_f32_dot(lanes, row, a.x, np, a.cols);
  }
}

}  // namespace trit::kernels
