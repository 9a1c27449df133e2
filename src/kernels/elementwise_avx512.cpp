// AVX-512 element-wise kernels: the operations of the scalar level (elementwise.cpp) 16 floats at a time
// (one register, the tail masked); the double sums in 16 lanes as two registers.
#include <immintrin.h>

#include "kernels/elementwise_args.h"

namespace trit::kernels {

namespace {

// Runs body(i, mask) on blocks of 16 floats; the mask selects the valid ones (all but in the tail).
template <typename Body>
void for_blocks(int64_t n, Body body) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) body(i, static_cast<__mmask16>(0xffff));
  if (i < n) body(i, static_cast<__mmask16>((1u << (n - i)) - 1));
}

__m512 load(const float* p, __mmask16 m, float pad) { return _mm512_mask_loadu_ps(_mm512_set1_ps(pad), m, p); }

// e^x = a * s (elementwise.cpp, exp_parts): the same operations, lane by lane.
struct ExpParts16 {
  __m512 a, s;
};

__m512 pow2(__m512i e) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23));
}

ExpParts16 exp_parts(__m512 x) {
  using namespace exp_poly_constants;
  x = _mm512_max_ps(_mm512_set1_ps(kLo), x);  // kLo > x ? kLo : x (NaN stays)
  x = _mm512_min_ps(_mm512_set1_ps(kHi), x);
  const __m512 n =
      _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(kLog2e), _mm512_set1_ps(kRound)), _mm512_set1_ps(kRound));
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kC5), r, _mm512_set1_ps(kC4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC0));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, z, r), _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_cvttps_epi32(n);
  const __m512i e1 = _mm512_srai_epi32(e, 1);
  return {_mm512_mul_ps(p, pow2(e1)), pow2(_mm512_sub_epi32(e, e1))};
}

__m512 div_one_plus_exp(__m512 g, __m512 w) {
  const ExpParts16 e = exp_parts(w);
  return _mm512_div_ps(g, _mm512_fmadd_ps(e.a, e.s, _mm512_set1_ps(1.0f)));
}

// 16 double lanes in two registers: lanes 0..7 and 8..15.
struct Lanes16 {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  void add(__m512 v) {
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
  }
  double total() const {
    const __m512d a = _mm512_add_pd(lo, hi);                                                   // lane j += lane j + 8
    const __m256d b = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));  // j += j + 4
    const __m128d c = _mm_add_pd(_mm256_castpd256_pd128(b), _mm256_extractf128_pd(b, 1));      // j += j + 2
    return _mm_cvtsd_f64(_mm_add_sd(c, _mm_unpackhi_pd(c, c)));                                // j += j + 1
  }
};

double sum_squares(const float* x, int64_t n) {
  Lanes16 acc;
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    const __m512 v = load(x + i, m, 0.0f);
    acc.add(_mm512_mul_ps(v, v));
  });
  return acc.total();
}

void scale_mul(const float* x, const float* w, float s, float* out, int64_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  if (w == nullptr) {
    for_blocks(
        n, [&](int64_t i, __mmask16 m) { _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(load(x + i, m, 0.0f), vs)); });
    return;
  }
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(load(x + i, m, 0.0f), vs), load(w + i, m, 0.0f)));
  });
}

float abs_max(const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    acc = _mm512_max_ps(_mm512_abs_ps(load(x + i, m, 0.0f)), acc);  // |x| > m ? |x| : m: NaN ignored
  });
  return _mm512_reduce_max_ps(acc);
}

int32_t quantize(const float* x, int64_t n, float s, int8_t* q) {
  const __m512 vs = _mm512_set1_ps(s);
  __m512i sum = _mm512_setzero_si512();
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    __m512 v = _mm512_mul_ps(load(x + i, m, 0.0f), vs);  // zeros quantise to 0: no effect on the sum
    v = _mm512_max_ps(_mm512_set1_ps(-128.0f), v);       // NaN stays, then converts to INT_MIN
    v = _mm512_min_ps(_mm512_set1_ps(127.0f), v);
    const __m512i qi = _mm512_max_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(-128));  // half to even
    sum = _mm512_add_epi32(sum, qi);
    _mm_mask_storeu_epi8(q + i, m, _mm512_cvtepi32_epi8(qi));
  });
  return _mm512_reduce_add_epi32(sum);
}

float max(const float* x, int64_t n) {
  __m512 acc = _mm512_set1_ps(-__builtin_inff());
  for_blocks(n, [&](int64_t i, __mmask16 m) { acc = _mm512_max_ps(load(x + i, m, -__builtin_inff()), acc); });
  return _mm512_reduce_max_ps(acc);
}

double exp_shifted(float* x, int64_t n, float shift) {
  const __m512 vs = _mm512_set1_ps(shift);
  Lanes16 acc;
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    // Padding -inf: e^-inf = 0 adds nothing to the lanes.
    const ExpParts16 a = exp_parts(_mm512_sub_ps(load(x + i, m, -__builtin_inff()), vs));
    const __m512 e = _mm512_mul_ps(a.a, a.s);
    _mm512_mask_storeu_ps(x + i, m, e);
    acc.add(e);
  });
  return acc.total();
}

void scale(float* x, int64_t n, float s) {
  const __m512 vs = _mm512_set1_ps(s);
  for_blocks(n,
             [&](int64_t i, __mmask16 m) { _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(load(x + i, m, 0.0f), vs)); });
}

void silu_mul(float* g, const float* up, int64_t n) {
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    const __m512 x = load(g + i, m, 0.0f);
    const __m512 neg = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
    _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(div_one_plus_exp(x, neg), load(up + i, m, 0.0f)));
  });
}

void relu_sqr_mul(float* g, const float* up, int64_t n) {
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    const __m512 x = load(g + i, m, 0.0f);
    const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(_mm512_maskz_mul_ps(pos, x, x), load(up + i, m, 0.0f)));
  });
}

void gelu_tanh_mul(float* g, const float* up, int64_t n) {
  for_blocks(n, [&](int64_t i, __mmask16 m) {
    const __m512 x = load(g + i, m, 0.0f);
    const __m512 u = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(kGeluCoef), x), x, _mm512_set1_ps(1.0f));
    const __m512 w = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(kGeluMinus2Sqrt2OverPi), x), u);
    _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(div_one_plus_exp(x, w), load(up + i, m, 0.0f)));
  });
}

}  // namespace

const ElementwiseOps kElementwiseAvx512 = {sum_squares, scale_mul, abs_max,  quantize,     max,
                                           exp_shifted, scale,     silu_mul, relu_sqr_mul, gelu_tanh_mul};

}  // namespace trit::kernels
