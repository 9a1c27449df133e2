// Attention's sum of value rows for AVX2: up to 64 output elements in 8 registers over all rows at once.
// The product is kept from fusing with the add (the compiler would contract them under -mfma), so every
// element rounds as in the baseline build's loop.
#include <immintrin.h>

#include "kernels/weighted_sum.h"

namespace trit::kernels {
namespace {

// The product, opaque to the compiler so that it cannot become a fused multiply-add.
inline __m256 product(__m256 w, __m256 v) {
  __m256 p = _mm256_mul_ps(w, v);
  asm("" : "+x"(p));
  return p;
}

// Output elements [d0, d0 + 8 * kRegs).
template <int kRegs>
void block(const WeightedSumArgs& a, int64_t d0) {
  __m256 acc[kRegs];
  for (auto& v : acc) v = _mm256_setzero_ps();
  const float* row = a.rows + d0;
  for (int64_t p = 0; p < a.n; ++p, row += a.stride) {
    const __m256 w = _mm256_broadcast_ss(a.w + p);
    for (int j = 0; j < kRegs; ++j) acc[j] = _mm256_add_ps(acc[j], product(w, _mm256_loadu_ps(row + 8 * j)));
  }
  for (int j = 0; j < kRegs; ++j) _mm256_storeu_ps(a.out + d0 + 8 * j, acc[j]);
}

}  // namespace

void weighted_sum_avx2(const WeightedSumArgs& a) {
  int64_t d = 0;
  for (; d + 64 <= a.dim; d += 64) block<8>(a, d);
  for (; d + 8 <= a.dim; d += 8) block<1>(a, d);
  for (; d < a.dim; ++d) {
    float acc = 0.0f;
    for (int64_t p = 0; p < a.n; ++p) {
      float prod = a.w[p] * a.rows[p * a.stride + d];
      asm("" : "+x"(prod));
      acc += prod;
    }
    a.out[d] = acc;
  }
}

}  // namespace trit::kernels
