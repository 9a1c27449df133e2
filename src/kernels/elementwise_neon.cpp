// NEON element-wise kernels: the operations of the scalar level (elementwise.cpp) 4 floats at a time, in
// blocks of 16 (four registers); the double sums in 16 lanes as eight registers (lanes 2k, 2k + 1 in register k).
#include <arm_neon.h>

#include <cstring>

#include "kernels/elementwise_args.h"
#include "kernels/for_blocks.h"

namespace trit::kernels {

namespace {

constexpr int64_t kLanes = kElementwiseLanes;

// e^x = a * s (elementwise.cpp, exp_parts): the same operations, lane by lane.
struct ExpParts4 {
  float32x4_t a, s;
};

float32x4_t pow2(int32x4_t e) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(e, vdupq_n_s32(127)), 23)); }

ExpParts4 exp_parts(float32x4_t x) {
  using namespace exp_poly_constants;
  x = vmaxq_f32(vdupq_n_f32(kLo), x);  // NaN stays NaN
  x = vminq_f32(vdupq_n_f32(kHi), x);
  const float32x4_t n = vsubq_f32(vfmaq_f32(vdupq_n_f32(kRound), x, vdupq_n_f32(kLog2e)), vdupq_n_f32(kRound));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(kLn2Hi));  // x - n * kLn2Hi, fused
  r = vfmsq_f32(r, n, vdupq_n_f32(kLn2Lo));
  const float32x4_t z = vmulq_f32(r, r);
  float32x4_t p = vfmaq_f32(vdupq_n_f32(kC4), vdupq_n_f32(kC5), r);
  p = vfmaq_f32(vdupq_n_f32(kC3), p, r);
  p = vfmaq_f32(vdupq_n_f32(kC2), p, r);
  p = vfmaq_f32(vdupq_n_f32(kC1), p, r);
  p = vfmaq_f32(vdupq_n_f32(kC0), p, r);
  p = vaddq_f32(vfmaq_f32(r, p, z), vdupq_n_f32(1.0f));
  const int32x4_t e = vcvtq_s32_f32(n);
  const int32x4_t e1 = vshrq_n_s32(e, 1);
  return {vmulq_f32(p, pow2(e1)), pow2(vsubq_s32(e, e1))};
}

float32x4_t div_one_plus_exp(float32x4_t g, float32x4_t w) {
  const ExpParts4 e = exp_parts(w);
  return vdivq_f32(g, vfmaq_f32(vdupq_n_f32(1.0f), e.a, e.s));
}

// 16 double lanes in eight registers.
struct Lanes16 {
  float64x2_t acc[8] = {vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0),
                        vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0)};
  void add(const float32x4_t (&v)[4]) {  // v[k] holds elements 4k..4k+3 of a block
    for (int k = 0; k < 4; ++k) {
      acc[2 * k] = vaddq_f64(acc[2 * k], vcvt_f64_f32(vget_low_f32(v[k])));
      acc[2 * k + 1] = vaddq_f64(acc[2 * k + 1], vcvt_high_f64_f32(v[k]));
    }
  }
  double total() const {
    float64x2_t b[4], c[2];
    for (int k = 0; k < 4; ++k) b[k] = vaddq_f64(acc[k], acc[k + 4]);  // lane j += lane j + 8
    for (int k = 0; k < 2; ++k) c[k] = vaddq_f64(b[k], b[k + 2]);      // j += j + 4
    const float64x2_t d = vaddq_f64(c[0], c[1]);                       // j += j + 2
    return vgetq_lane_f64(d, 0) + vgetq_lane_f64(d, 1);                // j += j + 1
  }
};

double sum_squares(const float* x, int64_t n) {
  Lanes16 acc;
  for_blocks<kLanes, 1>(n, {x}, nullptr, 0.0f, [&](const float* const* p, float*) {
    float32x4_t v[4];
    for (int k = 0; k < 4; ++k) {
      const float32x4_t a = vld1q_f32(p[0] + 4 * k);
      v[k] = vmulq_f32(a, a);
    }
    acc.add(v);
  });
  return acc.total();
}

void scale_mul(const float* x, const float* w, float s, float* out, int64_t n) {
  const float32x4_t vs = vdupq_n_f32(s);
  if (w == nullptr) {
    for_blocks<4, 1>(n, {x}, out, 0.0f,
                     [&](const float* const* p, float* o) { vst1q_f32(o, vmulq_f32(vld1q_f32(p[0]), vs)); });
    return;
  }
  for_blocks<4, 2>(n, {x, w}, out, 0.0f, [&](const float* const* p, float* o) {
    vst1q_f32(o, vmulq_f32(vmulq_f32(vld1q_f32(p[0]), vs), vld1q_f32(p[1])));
  });
}

float abs_max(const float* x, int64_t n) {
  float32x4_t m[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
  for_blocks<kLanes, 1>(n, {x}, nullptr, 0.0f, [&](const float* const* p, float*) {
    for (int k = 0; k < 4; ++k) m[k] = vmaxnmq_f32(m[k], vabsq_f32(vld1q_f32(p[0] + 4 * k)));  // NaN ignored
  });
  return vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(m[0], m[1]), vmaxnmq_f32(m[2], m[3])));
}

int32_t quantize(const float* x, int64_t n, float s, int8_t* q) {
  const float32x4_t vs = vdupq_n_f32(s);
  int32x4_t sum = vdupq_n_s32(0);
  auto block = [&](const float* p, int8_t* dst, int64_t count) {
    int16x4_t h[4];
    for (int k = 0; k < 4; ++k) {
      float32x4_t v = vmulq_f32(vld1q_f32(p + 4 * k), vs);
      v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(-128.0f)), vdupq_n_f32(127.0f));  // NaN stays
      // Round half to even; NaN to -128 (as the x86 conversions' INT_MIN, clamped).
      const int32x4_t qi = vbslq_s32(vceqq_f32(v, v), vcvtnq_s32_f32(v), vdupq_n_s32(-128));
      sum = vaddq_s32(sum, qi);
      h[k] = vmovn_s32(qi);
    }
    const int8x16_t bytes = vcombine_s8(vmovn_s16(vcombine_s16(h[0], h[1])), vmovn_s16(vcombine_s16(h[2], h[3])));
    if (count == 16) {
      vst1q_s8(dst, bytes);
    } else {
      int8_t tmp[16];
      vst1q_s8(tmp, bytes);
      std::memcpy(dst, tmp, static_cast<size_t>(count));
    }
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) block(x + i, q + i, 16);
  if (i < n) {
    float buf[16] = {};  // zeros quantise to 0: no effect on the sum
    std::memcpy(buf, x + i, static_cast<size_t>(n - i) * sizeof(float));
    block(buf, q + i, n - i);
  }
  return vaddvq_s32(sum);
}

float max(const float* x, int64_t n) {
  const float ninf = -__builtin_inff();
  float32x4_t m[4] = {vdupq_n_f32(ninf), vdupq_n_f32(ninf), vdupq_n_f32(ninf), vdupq_n_f32(ninf)};
  for_blocks<kLanes, 1>(n, {x}, nullptr, ninf, [&](const float* const* p, float*) {
    for (int k = 0; k < 4; ++k) m[k] = vmaxq_f32(m[k], vld1q_f32(p[0] + 4 * k));
  });
  return vmaxvq_f32(vmaxq_f32(vmaxq_f32(m[0], m[1]), vmaxq_f32(m[2], m[3])));
}

double exp_shifted(float* x, int64_t n, float shift) {
  const float32x4_t vs = vdupq_n_f32(shift);
  Lanes16 acc;
  // Padding -inf: e^-inf = 0 adds nothing to the lanes.
  for_blocks<kLanes, 1>(n, {x}, x, -__builtin_inff(), [&](const float* const* p, float* o) {
    float32x4_t e[4];
    for (int k = 0; k < 4; ++k) {
      const ExpParts4 a = exp_parts(vsubq_f32(vld1q_f32(p[0] + 4 * k), vs));
      e[k] = vmulq_f32(a.a, a.s);
      vst1q_f32(o + 4 * k, e[k]);
    }
    acc.add(e);
  });
  return acc.total();
}

void scale(float* x, int64_t n, float s) {
  const float32x4_t vs = vdupq_n_f32(s);
  for_blocks<4, 1>(n, {x}, x, 0.0f,
                   [&](const float* const* p, float* o) { vst1q_f32(o, vmulq_f32(vld1q_f32(p[0]), vs)); });
}

void silu_mul(float* g, const float* up, int64_t n) {
  for_blocks<4, 2>(n, {g, up}, g, 0.0f, [&](const float* const* p, float* o) {
    const float32x4_t x = vld1q_f32(p[0]);
    vst1q_f32(o, vmulq_f32(div_one_plus_exp(x, vnegq_f32(x)), vld1q_f32(p[1])));
  });
}

void relu_sqr_mul(float* g, const float* up, int64_t n) {
  for_blocks<4, 2>(n, {g, up}, g, 0.0f, [&](const float* const* p, float* o) {
    const float32x4_t x = vld1q_f32(p[0]);
    const uint32x4_t pos = vcgtq_f32(x, vdupq_n_f32(0.0f));
    const float32x4_t sq = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vmulq_f32(x, x)), pos));
    vst1q_f32(o, vmulq_f32(sq, vld1q_f32(p[1])));
  });
}

void gelu_tanh_mul(float* g, const float* up, int64_t n) {
  for_blocks<4, 2>(n, {g, up}, g, 0.0f, [&](const float* const* p, float* o) {
    const float32x4_t x = vld1q_f32(p[0]);
    const float32x4_t u = vfmaq_f32(vdupq_n_f32(1.0f), vmulq_f32(vdupq_n_f32(kGeluCoef), x), x);
    const float32x4_t w = vmulq_f32(vmulq_f32(vdupq_n_f32(kGeluMinus2Sqrt2OverPi), x), u);
    vst1q_f32(o, vmulq_f32(div_one_plus_exp(x, w), vld1q_f32(p[1])));
  });
}

}  // namespace

const ElementwiseOps kElementwiseNeon = {sum_squares, scale_mul, abs_max,  quantize,     max,
                                         exp_shifted, scale,     silu_mul, relu_sqr_mul, gelu_tanh_mul};

}  // namespace trit::kernels
