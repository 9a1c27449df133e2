// AVX2 + FMA twin of gemm_rows_scalar: 6 rows of C by 16 columns held in registers while p runs.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "train/train_gemm.h"

namespace trit::train {
namespace {

template <int R>
void block(const GemmArgs& g, int64_t i) {
  const float* arow[6];
  for (int r = 0; r < R; ++r) arow[r] = g.a + (i + r) * g.a_row;
  int64_t j = 0;
  for (; j + 16 <= g.n; j += 16) {
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r) {
      float* c = g.c + (i + r) * g.ldc + j;
      acc[r][0] = g.accumulate ? _mm256_loadu_ps(c) : _mm256_setzero_ps();
      acc[r][1] = g.accumulate ? _mm256_loadu_ps(c + 8) : _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < g.k; ++p) {
      const float* b = g.b + p * g.ldb + j;
      const __m256 b0 = _mm256_loadu_ps(b);
      const __m256 b1 = _mm256_loadu_ps(b + 8);
      for (int r = 0; r < R; ++r) {
        const __m256 a = _mm256_broadcast_ss(arow[r] + p * g.a_col);
        acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      float* c = g.c + (i + r) * g.ldc + j;
      _mm256_storeu_ps(c, acc[r][0]);
      _mm256_storeu_ps(c + 8, acc[r][1]);
    }
  }
  for (; j < g.n; ++j) {  // the last columns, one at a time, in the same order over p
    for (int r = 0; r < R; ++r) {
      float* c = g.c + (i + r) * g.ldc + j;
      float sum = g.accumulate ? *c : 0.0f;
      for (int64_t p = 0; p < g.k; ++p) sum = std::fma(arow[r][p * g.a_col], g.b[p * g.ldb + j], sum);
      *c = sum;
    }
  }
}

}  // namespace

void gemm_rows_avx2(const GemmArgs& g, int64_t i0, int64_t i1) {
  int64_t i = i0;
  for (; i + 6 <= i1; i += 6) block<6>(g, i);
  switch (i1 - i) {
    case 5:
      block<5>(g, i);
      break;
    case 4:
      block<4>(g, i);
      break;
    case 3:
      block<3>(g, i);
      break;
    case 2:
      block<2>(g, i);
      break;
    case 1:
      block<1>(g, i);
      break;
    default:
      break;
  }
}

}  // namespace trit::train
