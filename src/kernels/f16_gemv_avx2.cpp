// F16 and F32 mat-vec for AVX2 + F16C + FMA: the reference's 16 lanes as lanes 0-7 and 8-15 in two
// registers, folded in registers in its order (0+2, 1+3, 0+1, then the tree 8, 4, 2, 1), four rows at a time.
#include <immintrin.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {
namespace {

// acc[2j] holds lanes 0-7 of the reference's accumulator j, acc[2j + 1] lanes 8-15. Returns, summed as
// 0+2, 1+3, then 0+1, and the tree's first step (lane l += lane l + 8), the 8 lanes left.
__m256 fold_accumulators(const __m256 (&acc)[8]) {
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
  return _mm256_add_ps(lo, hi);
}

// The rest of the tree (s = 4, 2, 1) for four rows at once; out[i] = row i's sum.
void fold_tree4(__m256 v0, __m256 v1, __m256 v2, __m256 v3, float* out) {
  // s = 4: 128-bit half h of t01 holds row h's lanes 0-3 + 4-7 (t23: rows 2 and 3).
  const __m256 t01 = _mm256_add_ps(_mm256_permute2f128_ps(v0, v1, 0x20), _mm256_permute2f128_ps(v0, v1, 0x31));
  const __m256 t23 = _mm256_add_ps(_mm256_permute2f128_ps(v2, v3, 0x20), _mm256_permute2f128_ps(v2, v3, 0x31));
  // s = 2: per half [row h: 0+2, 1+3, row h+2: 0+2, 1+3].
  const __m256 u = _mm256_add_ps(_mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(3, 2, 3, 2)));
  // s = 1: per half [row h, row h + 2, ...].
  const __m256 z =
      _mm256_add_ps(_mm256_shuffle_ps(u, u, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(u, u, _MM_SHUFFLE(3, 1, 3, 1)));
  _mm_storeu_ps(out, _mm_unpacklo_ps(_mm256_castps256_ps128(z), _mm256_extractf128_ps(z, 1)));
}

float fold_tree(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, _MM_SHUFFLE(1, 1, 1, 1)));
  return _mm_cvtss_f32(s1);
}

__m256 f16_row_main(const uint16_t* row, const float* x, int64_t np) {
  __m256 acc[8];
  for (auto& v : acc) v = _mm256_setzero_ps();
  for (int64_t c = 0; c < np; c += 64)
    for (int j = 0; j < 8; ++j) {
      const __m256 w = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c + 8 * j)));
      acc[j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + c + 8 * j), acc[j]);
    }
  return fold_accumulators(acc);
}

__m256 f32_row_main(const float* row, const float* x, int64_t np) {
  __m256 acc[8];
  for (auto& v : acc) v = _mm256_setzero_ps();
  for (int64_t c = 0; c < np; c += 64)
    for (int j = 0; j < 8; ++j)
      acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 8 * j), _mm256_loadu_ps(x + c + 8 * j), acc[j]);
  return fold_accumulators(acc);
}

}  // namespace

void f16_gemv_avx2(const F16GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  int64_t r = a.row_begin;
  // Four rows at a time: one fold for the four, and their tails (in double, as ggml) overlap.
  for (; r + 4 <= a.row_end; r += 4) {
    const uint16_t* const rows[4] = {a.w + r * ld, a.w + (r + 1) * ld, a.w + (r + 2) * ld, a.w + (r + 3) * ld};
    const __m256 v0 = f16_row_main(rows[0], a.x, np), v1 = f16_row_main(rows[1], a.x, np);
    const __m256 v2 = f16_row_main(rows[2], a.x, np), v3 = f16_row_main(rows[3], a.x, np);
    if (np == a.cols) {
      fold_tree4(v0, v1, v2, v3, a.y + r);
    } else {
      float folded[4];
      fold_tree4(v0, v1, v2, v3, folded);
      f16_dot_tail4(folded, rows, a.x, np, a.cols, a.y + r);
    }
  }
  for (; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * ld;
    const float folded = fold_tree(f16_row_main(row, a.x, np));
    a.y[r] = np == a.cols ? folded : f16_dot_tail(folded, row, a.x, np, a.cols);
  }
}

void f32_gemv_avx2(const F32GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  int64_t r = a.row_begin;
  for (; r + 4 <= a.row_end; r += 4) {
    const float* row = a.w + r * ld;
    float folded[4];
    // Rows in ascending order (as arguments their order would be unspecified: GCC reads the fourth
    // row first, and the hardware prefetchers, following ascending streams, halve the bandwidth).
    const auto v0 = f32_row_main(row, a.x, np);
    const auto v1 = f32_row_main(row + ld, a.x, np);
    const auto v2 = f32_row_main(row + 2 * ld, a.x, np);
    const auto v3 = f32_row_main(row + 3 * ld, a.x, np);
    fold_tree4(v0, v1, v2, v3, folded);
    for (int i = 0; i < 4; ++i)
      a.y[r + i] = np == a.cols ? folded[i] : f32_dot_tail(folded[i], row + i * ld, a.x, np, a.cols);
  }
  for (; r < a.row_end; ++r) {
    const float* row = a.w + r * ld;
    const float folded = fold_tree(f32_row_main(row, a.x, np));
    a.y[r] = np == a.cols ? folded : f32_dot_tail(folded, row, a.x, np, a.cols);
  }
}

}  // namespace trit::kernels
