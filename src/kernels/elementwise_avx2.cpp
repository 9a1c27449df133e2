// AVX2 + FMA element-wise kernels: the operations of the scalar level (elementwise.cpp) 8 floats at a time;
// the double sums in 16 lanes as four registers (lanes 4k..4k+3 in register k).
#include <immintrin.h>

#include <cstring>

#include "kernels/elementwise_args.h"
#include "kernels/for_blocks.h"

namespace trit::kernels {

namespace {

constexpr int64_t kLanes = kElementwiseLanes;

// e^x = a * s (elementwise.cpp, exp_parts): the same operations, lane by lane.
struct ExpParts8 {
  __m256 a, s;
};

__m256 pow2(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

ExpParts8 exp_parts(__m256 x) {
  using namespace exp_poly_constants;
  x = _mm256_max_ps(_mm256_set1_ps(kLo), x);  // kLo > x ? kLo : x (NaN stays)
  x = _mm256_min_ps(_mm256_set1_ps(kHi), x);
  const __m256 n =
      _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), _mm256_set1_ps(kRound)), _mm256_set1_ps(kRound));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kC5), r, _mm256_set1_ps(kC4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC0));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, z, r), _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_cvttps_epi32(n);
  const __m256i e1 = _mm256_srai_epi32(e, 1);
  return {_mm256_mul_ps(p, pow2(e1)), pow2(_mm256_sub_epi32(e, e1))};
}

__m256 div_one_plus_exp(__m256 g, __m256 w) {
  const ExpParts8 e = exp_parts(w);
  return _mm256_div_ps(g, _mm256_fmadd_ps(e.a, e.s, _mm256_set1_ps(1.0f)));
}

// 16 double lanes in four registers; v0 holds elements 0..7 of a block, v1 elements 8..15.
struct Lanes16 {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  void add(__m256 v0, __m256 v1) {
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v0)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1)));
    acc[2] = _mm256_add_pd(acc[2], _mm256_cvtps_pd(_mm256_castps256_ps128(v1)));
    acc[3] = _mm256_add_pd(acc[3], _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1)));
  }
  double total() const {
    const __m256d a = _mm256_add_pd(acc[0], acc[2]);  // lane j += lane j + 8: lanes 0..3
    const __m256d b = _mm256_add_pd(acc[1], acc[3]);  // lanes 4..7
    const __m256d c = _mm256_add_pd(a, b);            // lane j += lane j + 4
    const __m128d d = _mm_add_pd(_mm256_castpd256_pd128(c), _mm256_extractf128_pd(c, 1));  // j += j + 2
    return _mm_cvtsd_f64(_mm_add_sd(d, _mm_unpackhi_pd(d, d)));                            // j += j + 1
  }
};

double sum_squares(const float* x, int64_t n) {
  Lanes16 acc;
  for_blocks<kLanes, 1>(n, {x}, nullptr, 0.0f, [&](const float* const* p, float*) {
    const __m256 v0 = _mm256_loadu_ps(p[0]), v1 = _mm256_loadu_ps(p[0] + 8);
    acc.add(_mm256_mul_ps(v0, v0), _mm256_mul_ps(v1, v1));
  });
  return acc.total();
}

void scale_mul(const float* x, const float* w, float s, float* out, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  if (w == nullptr) {
    for_blocks<8, 1>(n, {x}, out, 0.0f, [&](const float* const* p, float* o) {
      _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_loadu_ps(p[0]), vs));
    });
    return;
  }
  for_blocks<8, 2>(n, {x, w}, out, 0.0f, [&](const float* const* p, float* o) {
    _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p[0]), vs), _mm256_loadu_ps(p[1])));
  });
}

float abs_max(const float* x, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
  for_blocks<kLanes, 1>(n, {x}, nullptr, 0.0f, [&](const float* const* p, float*) {
    m0 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(p[0])), m0);  // |x| > m ? |x| : m: NaN ignored
    m1 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(p[0] + 8)), m1);
  });
  __m256 m = _mm256_max_ps(m0, m1);
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

// 8 quantised values, as int32, and their contribution to the sum.
__m256i quantize8(__m256 x, __m256 s) {
  __m256 v = _mm256_mul_ps(x, s);
  v = _mm256_max_ps(_mm256_set1_ps(-128.0f), v);  // NaN stays, then converts to INT_MIN
  v = _mm256_min_ps(_mm256_set1_ps(127.0f), v);
  return _mm256_max_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(-128));  // rounds half to even (MXCSR)
}

int32_t quantize(const float* x, int64_t n, float s, int8_t* q) {
  const __m256 vs = _mm256_set1_ps(s);
  __m256i sum = _mm256_setzero_si256();
  int64_t i = 0;
  auto block = [&](const float* p, int8_t* dst, int64_t count) {
    const __m256i a = quantize8(_mm256_loadu_ps(p), vs), b = quantize8(_mm256_loadu_ps(p + 8), vs);
    sum = _mm256_add_epi32(sum, _mm256_add_epi32(a, b));
    // packs works within 128-bit halves: [a0..3 b0..3 | a4..7 b4..7] -> a0..7 b0..7 after the permute.
    const __m256i ab = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xd8);
    const __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(ab), _mm256_extracti128_si256(ab, 1));
    if (count == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
    } else {
      int8_t tmp[16];
      _mm_storeu_si128(reinterpret_cast<__m128i*>(tmp), bytes);
      std::memcpy(dst, tmp, static_cast<size_t>(count));
    }
  };
  for (; i + 16 <= n; i += 16) block(x + i, q + i, 16);
  if (i < n) {
    float buf[16] = {};  // zeros quantise to 0: no effect on the sum
    std::memcpy(buf, x + i, static_cast<size_t>(n - i) * sizeof(float));
    block(buf, q + i, n - i);
  }
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
  return _mm_cvtsi128_si32(h);
}

float max(const float* x, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
  __m256 m0 = ninf, m1 = ninf;
  for_blocks<kLanes, 1>(n, {x}, nullptr, -__builtin_inff(), [&](const float* const* p, float*) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(p[0]), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(p[0] + 8), m1);
  });
  __m256 m = _mm256_max_ps(m0, m1);
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

double exp_shifted(float* x, int64_t n, float shift) {
  const __m256 vs = _mm256_set1_ps(shift);
  Lanes16 acc;
  // Padding -inf: e^-inf = 0 adds nothing to the lanes.
  for_blocks<kLanes, 1>(n, {x}, x, -__builtin_inff(), [&](const float* const* p, float* o) {
    const ExpParts8 a = exp_parts(_mm256_sub_ps(_mm256_loadu_ps(p[0]), vs));
    const ExpParts8 b = exp_parts(_mm256_sub_ps(_mm256_loadu_ps(p[0] + 8), vs));
    const __m256 e0 = _mm256_mul_ps(a.a, a.s), e1 = _mm256_mul_ps(b.a, b.s);
    _mm256_storeu_ps(o, e0);
    _mm256_storeu_ps(o + 8, e1);
    acc.add(e0, e1);
  });
  return acc.total();
}

void scale(float* x, int64_t n, float s) {
  const __m256 vs = _mm256_set1_ps(s);
  for_blocks<8, 1>(n, {x}, x, 0.0f, [&](const float* const* p, float* o) {
    _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_loadu_ps(p[0]), vs));
  });
}

void silu_mul(float* g, const float* up, int64_t n) {
  for_blocks<8, 2>(n, {g, up}, g, 0.0f, [&](const float* const* p, float* o) {
    const __m256 x = _mm256_loadu_ps(p[0]);
    const __m256 neg = _mm256_xor_ps(x, _mm256_set1_ps(-0.0f));
    _mm256_storeu_ps(o, _mm256_mul_ps(div_one_plus_exp(x, neg), _mm256_loadu_ps(p[1])));
  });
}

void relu_sqr_mul(float* g, const float* up, int64_t n) {
  for_blocks<8, 2>(n, {g, up}, g, 0.0f, [&](const float* const* p, float* o) {
    const __m256 x = _mm256_loadu_ps(p[0]);
    const __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
    _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_and_ps(_mm256_mul_ps(x, x), pos), _mm256_loadu_ps(p[1])));
  });
}

void gelu_tanh_mul(float* g, const float* up, int64_t n) {
  for_blocks<8, 2>(n, {g, up}, g, 0.0f, [&](const float* const* p, float* o) {
    const __m256 x = _mm256_loadu_ps(p[0]);
    const __m256 u = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(kGeluCoef), x), x, _mm256_set1_ps(1.0f));
    const __m256 w = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(kGeluMinus2Sqrt2OverPi), x), u);
    _mm256_storeu_ps(o, _mm256_mul_ps(div_one_plus_exp(x, w), _mm256_loadu_ps(p[1])));
  });
}

}  // namespace

const ElementwiseOps kElementwiseAvx2 = {sum_squares, scale_mul, abs_max,  quantize,     max,
                                         exp_shifted, scale,     silu_mul, relu_sqr_mul, gelu_tanh_mul};

}  // namespace trit::kernels
