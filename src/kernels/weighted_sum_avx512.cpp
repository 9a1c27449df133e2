// Attention's sum of value rows for AVX-512: up to 128 output elements in 8 registers over all rows at
// once. The product is kept from fusing with the add, so every element rounds as in the baseline build.
#include <immintrin.h>

#include "kernels/weighted_sum.h"

namespace trit::kernels {
namespace {

// The product, opaque to the compiler so that it cannot become a fused multiply-add.
inline __m512 product(__m512 w, __m512 v) {
  __m512 p = _mm512_mul_ps(w, v);
  asm("" : "+v"(p));
  return p;
}

// Output elements [d0, d0 + 16 * kRegs); the last register masked to `tail` lanes when tail < 16.
template <int kRegs>
void block(const WeightedSumArgs& a, int64_t d0, __mmask16 tail) {
  __m512 acc[kRegs];
  for (auto& v : acc) v = _mm512_setzero_ps();
  const float* row = a.rows + d0;
  for (int64_t p = 0; p < a.n; ++p, row += a.stride) {
    const __m512 w = _mm512_set1_ps(a.w[p]);
    for (int j = 0; j + 1 < kRegs; ++j) acc[j] = _mm512_add_ps(acc[j], product(w, _mm512_loadu_ps(row + 16 * j)));
    const __m512 last = _mm512_maskz_loadu_ps(tail, row + 16 * (kRegs - 1));
    acc[kRegs - 1] = _mm512_add_ps(acc[kRegs - 1], product(w, last));
  }
  for (int j = 0; j + 1 < kRegs; ++j) _mm512_storeu_ps(a.out + d0 + 16 * j, acc[j]);
  _mm512_mask_storeu_ps(a.out + d0 + 16 * (kRegs - 1), tail, acc[kRegs - 1]);
}

}  // namespace

void weighted_sum_avx512(const WeightedSumArgs& a) {
  int64_t d = 0;
  for (; d + 128 <= a.dim; d += 128) block<8>(a, d, 0xffff);
  for (; d + 64 <= a.dim; d += 64) block<4>(a, d, 0xffff);
  for (; d < a.dim; d += 16) {
    const int64_t left = a.dim - d;
    block<1>(a, d, left >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << left) - 1));
  }
}

}  // namespace trit::kernels
