// F16 and F32 mat-vec for AVX-512: the reference's 4 x 16 lanes are 4 registers, folded in registers in
// its order (0+2, 1+3, 0+1, then the 16-lane tree 8, 4, 2, 1), four rows at a time.
#include <immintrin.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {
namespace {

// One row's four accumulators summed as 0+2, 1+3, then 0+1.
__m512 fold_accumulators(const __m512 (&acc)[4]) {
  return _mm512_add_ps(_mm512_add_ps(acc[0], acc[2]), _mm512_add_ps(acc[1], acc[3]));
}

// The 16-lane tree (lane l += lane l + s for s = 8, 4, 2, 1) of four rows at once; out[i] = row i's sum.
void fold_tree4(__m512 v0, __m512 v1, __m512 v2, __m512 v3, float* out) {
  // s = 8: lanes 0-7 + 8-15; two rows per register, row pair in 256-bit halves.
  const __m512 t01 = _mm512_add_ps(_mm512_shuffle_f32x4(v0, v1, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_f32x4(v0, v1, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 t23 = _mm512_add_ps(_mm512_shuffle_f32x4(v2, v3, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_f32x4(v2, v3, _MM_SHUFFLE(3, 2, 3, 2)));
  // s = 4: lanes 0-3 + 4-7; 128-bit block i holds row i.
  const __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
  // s = 2, then s = 1, within each block.
  const __m512 w = _mm512_add_ps(u, _mm512_shuffle_ps(u, u, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 z = _mm512_add_ps(w, _mm512_shuffle_ps(w, w, _MM_SHUFFLE(1, 1, 1, 1)));
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm_storeu_ps(out, _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, z)));
}

// The tree of one row.
float fold_tree(__m512 v) {
  const __m256 s8 =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, _MM_SHUFFLE(1, 1, 1, 1)));
  return _mm_cvtss_f32(s1);
}

// The 4 x 16 lanes of one f16 row over [0, np).
// ahead: elements past `row` to prefetch in step with the reads (0: none).
__m512 f16_row_main(const uint16_t* row, const float* x, int64_t np, int64_t ahead = 0) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int64_t c = 0; c < np; c += 64) {
    if (ahead) {
      _mm_prefetch(reinterpret_cast<const char*>(row + c + ahead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(row + c + ahead + 32), _MM_HINT_T0);
    }
    for (int j = 0; j < 4; ++j) {
      const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c + 16 * j)));
      acc[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(x + c + 16 * j), acc[j]);
    }
  }
  return fold_accumulators(acc);
}

__m512 f32_row_main(const float* row, const float* x, int64_t np) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int64_t c = 0; c < np; c += 64)
    for (int j = 0; j < 4; ++j)
      acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(row + c + 16 * j), _mm512_loadu_ps(x + c + 16 * j), acc[j]);
  return fold_accumulators(acc);
}

// Transposes an 8 x 8 block: col[j] lane i = p[i] lane j.
void transpose8(const __m256 (&p)[8], __m256 (&col)[8]) {
  const __m256 a0 = _mm256_unpacklo_ps(p[0], p[1]), a1 = _mm256_unpackhi_ps(p[0], p[1]);
  const __m256 a2 = _mm256_unpacklo_ps(p[2], p[3]), a3 = _mm256_unpackhi_ps(p[2], p[3]);
  const __m256 a4 = _mm256_unpacklo_ps(p[4], p[5]), a5 = _mm256_unpackhi_ps(p[4], p[5]);
  const __m256 a6 = _mm256_unpacklo_ps(p[6], p[7]), a7 = _mm256_unpackhi_ps(p[6], p[7]);
  const __m256 b0 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 b1 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 b2 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 b3 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 b4 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 b5 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 b6 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 b7 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(3, 2, 3, 2));
  col[0] = _mm256_permute2f128_ps(b0, b4, 0x20);
  col[1] = _mm256_permute2f128_ps(b1, b5, 0x20);
  col[2] = _mm256_permute2f128_ps(b2, b6, 0x20);
  col[3] = _mm256_permute2f128_ps(b3, b7, 0x20);
  col[4] = _mm256_permute2f128_ps(b0, b4, 0x31);
  col[5] = _mm256_permute2f128_ps(b1, b5, 0x31);
  col[6] = _mm256_permute2f128_ps(b2, b6, 0x31);
  col[7] = _mm256_permute2f128_ps(b3, b7, 0x31);
}

// Eight rows' tails [np, cols) added in double to their folded sums (in y, overwritten), one column
// after another as the reference does, with row i in lane i: the products (exact f16 widening times x,
// rounded in float) eight columns at a time, an 8 x 8 transpose giving one vector per column.
void tails8(float* y, const uint16_t* row0, int64_t ld, const float* x, int64_t np, int64_t cols) {
  __m512d sum = _mm512_cvtps_pd(_mm256_loadu_ps(y));
  for (int64_t c = np; c < cols; c += 8) {
    const int64_t n = cols - c < 8 ? cols - c : 8;
    const __mmask8 m = static_cast<__mmask8>((1u << n) - 1);
    const __m256 xc = _mm256_maskz_loadu_ps(m, x + c);
    __m256 p[8], col[8];
    for (int i = 0; i < 8; ++i) p[i] = _mm256_mul_ps(_mm256_cvtph_ps(_mm_maskz_loadu_epi16(m, row0 + i * ld + c)), xc);
    transpose8(p, col);
    for (int j = 0; j < n; ++j) sum = _mm512_add_pd(sum, _mm512_cvtps_pd(col[j]));
  }
  _mm256_storeu_ps(y, _mm512_cvtpd_ps(sum));
}

}  // namespace

// The output projection streams 100+ MB per token: each row also prefetches the same spot two rows on.
// BM_DecodeOutputF16 (bench/bench_decode_stream.cpp, 2-core EPYC, 32002 x 2560): 39-40.5 GB/s one thread
// without, 43.8 with; with the row-main calls as function arguments instead (GCC ran the fourth row
// first) 16-18 GB/s.
constexpr int64_t kAhead = 2;
void f16_gemv_avx512(const F16GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  const bool tail = np < a.cols;
  // Four rows' folded sums into y.
  auto fold4 = [&](int64_t r) {
    const uint16_t* row = a.w + r * ld;
    // Rows in ascending order (as arguments their order would be unspecified: GCC reads the fourth
    // row first, and the hardware prefetchers, following ascending streams, halve the bandwidth).
    const int64_t ahead = kAhead * ld;
    const auto v0 = f16_row_main(row, a.x, np, ahead);
    const auto v1 = f16_row_main(row + ld, a.x, np, ahead);
    const auto v2 = f16_row_main(row + 2 * ld, a.x, np, ahead);
    const auto v3 = f16_row_main(row + 3 * ld, a.x, np, ahead);
    fold_tree4(v0, v1, v2, v3, a.y + r);
  };
  // Blocks of 8 and 4 rows, then single rows; each block's tails (summed one by one in double, as ggml
  // does) right after its main part, while its rows' lines are in cache (eight rows: with a row stride
  // of a power of two, as the transposed value cache has, more rows would map to one set of the L1 cache).
  int64_t r = a.row_begin;
  for (; r + 8 <= a.row_end; r += 8) {
    fold4(r);
    fold4(r + 4);
    if (tail) tails8(a.y + r, a.w + r * ld, ld, a.x, np, a.cols);
  }
  for (; r + 4 <= a.row_end; r += 4) {
    fold4(r);
    const uint16_t* const rows[4] = {a.w + r * ld, a.w + (r + 1) * ld, a.w + (r + 2) * ld, a.w + (r + 3) * ld};
    if (tail) f16_dot_tail4(a.y + r, rows, a.x, np, a.cols, a.y + r);
  }
  for (; r < a.row_end; ++r) {
    const float folded = fold_tree(f16_row_main(a.w + r * ld, a.x, np));
    a.y[r] = tail ? f16_dot_tail(folded, a.w + r * ld, a.x, np, a.cols) : folded;
  }
}

void f32_gemv_avx512(const F32GemvArgs& a) {
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
