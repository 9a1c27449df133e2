// I2 x int8 kernel for AVX2 (compiled with -mavx2 -mfma -mf16c; called only when the CPU has them).
// Per 32-byte block: 2-bit codes unpacked by shift + mask, u8 x s8 products by maddubs into int16
// lanes (at most 4 x 2 x 2 x 128 = 2048 per block), widened to int32 every 16 blocks (< 32768).
#include <immintrin.h>

#include "kernels/i2_gemm_args.h"
#include "kernels/i2_gemm_x86_store.h"

namespace trit::kernels {
namespace {

// One row against NT tokens starting at t0.
template <int NT>
void row_tokens(const I2GemmArgs& A, int64_t r, int64_t t0) {
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t n_blocks = A.padded_cols / 128;
  const uint8_t* row = (A.w + r * (A.padded_cols / 4));
  const int8_t* q[NT];
  for (int t = 0; t < NT; ++t) q[t] = A.q + (t0 + t) * A.padded_cols;
  __m256i acc32[NT];
  for (int t = 0; t < NT; ++t) acc32[t] = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < n_blocks; b0 += 16) {
    const int64_t b1 = b0 + 16 < n_blocks ? b0 + 16 : n_blocks;
    __m256i acc16[NT];
    for (int t = 0; t < NT; ++t) acc16[t] = _mm256_setzero_si256();
    for (int64_t b = b0; b < b1; ++b) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + b * 32));
      const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(packed, 6), mask);
      const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
      const __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(packed, 2), mask);
      const __m256i c3 = _mm256_and_si256(packed, mask);
      for (int t = 0; t < NT; ++t) {
        const int8_t* qb = q[t] + b * 128;
        const __m256i p0 = _mm256_maddubs_epi16(c0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb)));
        const __m256i p1 = _mm256_maddubs_epi16(c1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 32)));
        const __m256i p2 = _mm256_maddubs_epi16(c2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 64)));
        const __m256i p3 = _mm256_maddubs_epi16(c3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 96)));
        acc16[t] = _mm256_add_epi16(acc16[t], _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3)));
      }
    }
    for (int t = 0; t < NT; ++t) acc32[t] = _mm256_add_epi32(acc32[t], _mm256_madd_epi16(acc16[t], ones));
  }
  for (int t = 0; t < NT; ++t) {
    const int64_t tt = t0 + t;
    store(A, r, tt, hsum256(acc32[t]));
  }
}

}  // namespace

void i2_gemm_avx2_impl(const I2GemmArgs& A) {
  const int64_t row_begin = A.row_begin, row_end = A.row_end;
  for (int64_t r = row_begin; r < row_end; ++r) {
    int64_t t = 0;
    for (; t + 4 <= A.n_tokens; t += 4) row_tokens<4>(A, r, t);
    for (; t < A.n_tokens; ++t) row_tokens<1>(A, r, t);
  }
}

}  // namespace trit::kernels
