// The element-wise kernels: the scalar level (the reference, element by element in the lane order the SIMD
// levels use) and the per-level dispatch. Every multiply-add that the SIMD levels fuse is an explicit
// std::fma here, and no other product feeds an addition, so -ffp-contract cannot make the levels differ.
#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/elementwise_args.h"

namespace trit::kernels {

namespace {

constexpr int64_t kLanes = kElementwiseLanes;

// Lane j takes elements j, j + 16, ...; then lane j += lane j + w for w = 8, 4, 2, 1.
struct DoubleLanes {
  double lane[kLanes] = {};
  void add(int64_t i, double v) { lane[i % kLanes] += v; }
  double total() {
    for (int64_t w = kLanes / 2; w >= 1; w /= 2)
      for (int64_t j = 0; j < w; ++j) lane[j] += lane[j + w];
    return lane[0];
  }
};

float pow2(int32_t e) {  // 2^e for -126 <= e <= 127
  const uint32_t bits = static_cast<uint32_t>(e + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// e^x = a * s, s a power of two: the last step of exp_poly left to the caller, who multiplies, or fuses
// it into 1 + e^x as fma(a, s, 1) (so that no compiler contraction of a * s + 1 can differ between levels).
struct ExpParts {
  float a, s;
};

ExpParts exp_parts(float x) {
  using namespace exp_poly_constants;
  if (std::isnan(x)) return {x + x, 1.0f};
  // The comparisons as the SIMD levels' max/min (x86: the second operand when unordered).
  x = kLo > x ? kLo : x;
  x = kHi < x ? kHi : x;
  // n = round half to even(x log2e), |n| <= 150: 1.5 * 2^23 + n is a float whose last bit weighs 1.
  const float n = std::fma(x, kLog2e, kRound) - kRound;
  float r = std::fma(-n, kLn2Hi, x);
  r = std::fma(-n, kLn2Lo, r);
  const float z = r * r;
  float p = std::fma(kC5, r, kC4);
  p = std::fma(p, r, kC3);
  p = std::fma(p, r, kC2);
  p = std::fma(p, r, kC1);
  p = std::fma(p, r, kC0);
  p = std::fma(p, z, r) + 1.0f;
  // 2^n as 2^(n >> 1) * 2^(n - (n >> 1)): both factors normal for -150 <= n <= 129.
  const int32_t e = static_cast<int32_t>(n);
  const int32_t e1 = e >> 1;
  return {p * pow2(e1), pow2(e - e1)};
}

// act(g) = g / (1 + e^w), w = -g (SiLU) or -2y (GELU).
float div_one_plus_exp(float g, float w) {
  const ExpParts e = exp_parts(w);
  return g / std::fma(e.a, e.s, 1.0f);
}

double sum_squares(const float* x, int64_t n) {
  DoubleLanes acc;
  for (int64_t i = 0; i < n; ++i) acc.add(i, static_cast<double>(x[i] * x[i]));
  return acc.total();
}

void scale_mul(const float* x, const float* w, float s, float* out, int64_t n) {
  if (w == nullptr) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s;
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s * w[i];
  }
}

float abs_max(const float* x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));  // a NaN compares false: ignored
  return m;
}

int32_t quantize(const float* x, int64_t n, float s, int8_t* q) {
  int32_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    // Round half to even by adding and subtracting 1.5 * 2^23 (the SIMD levels convert with the default
    // rounding mode, also half to even). Clamped first, so no product feeds the addition (no FMA contraction).
    float v = x[i] * s;
    v = v > 127.0f ? 127.0f : v;
    v = v < -128.0f ? -128.0f : v;
    const float r = (v + 12582912.0f) - 12582912.0f;
    const int32_t qi = r >= -128.0f ? static_cast<int32_t>(r) : -128;  // NaN -> -128
    q[i] = static_cast<int8_t>(qi);
    sum += qi;
  }
  return sum;
}

float max(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

double exp_shifted(float* x, int64_t n, float shift) {
  DoubleLanes acc;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = exp_poly(x[i] - shift);
    acc.add(i, static_cast<double>(x[i]));
  }
  return acc.total();
}

void scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void silu_mul(float* g, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = div_one_plus_exp(g[i], -g[i]) * up[i];
}

void relu_sqr_mul(float* g, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = (g[i] > 0.0f ? g[i] * g[i] : 0.0f) * up[i];
}

void gelu_tanh_mul(float* g, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = gelu_tanh(g[i]) * up[i];
}

const ElementwiseOps& ops(runtime::IsaLevel isa) {
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return kElementwiseAvx512;
    case runtime::IsaLevel::kAvxVnni:  // AVX-VNNI adds only the integer dot product: the AVX2 kernel
    case runtime::IsaLevel::kAvx2:
      return kElementwiseAvx2;
#endif
#if defined(__aarch64__)
    case runtime::IsaLevel::kNeon:
      return kElementwiseNeon;
#endif
    default:
      return kElementwiseScalar;
  }
}

}  // namespace

const ElementwiseOps kElementwiseScalar = {sum_squares, scale_mul, abs_max,  quantize,     max,
                                           exp_shifted, scale,     silu_mul, relu_sqr_mul, gelu_tanh_mul};

float exp_poly(float x) {
  const ExpParts e = exp_parts(x);
  return e.a * e.s;
}

float gelu_tanh(float x) {
  // -2y = -2 sqrt(2/pi) x (1 + 0.044715 x^2)
  return div_one_plus_exp(x, kGeluMinus2Sqrt2OverPi * x * std::fma(kGeluCoef * x, x, 1.0f));
}

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps, runtime::IsaLevel isa) {
  const ElementwiseOps& o = ops(isa);
  const float mean = static_cast<float>(o.sum_squares(x, n) / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  o.scale_mul(x, weight, scale, out, n);
}

float quantize_activations(const float* x, int64_t n, int8_t* q, int32_t* q_sum, runtime::IsaLevel isa) {
  const ElementwiseOps& o = ops(isa);
  // The division in double, then rounded to float: bitnet.cpp's quantize_row_i8_s does exactly this.
  const float scale = static_cast<float>(127.0 / std::max(static_cast<double>(o.abs_max(x, n)), 1e-5));
  const int32_t sum = o.quantize(x, n, scale, q);
  if (q_sum != nullptr) *q_sum = sum;
  return scale;
}

void softmax(float* x, int64_t n, runtime::IsaLevel isa) {
  const ElementwiseOps& o = ops(isa);
  const float max_v = o.max(x, n);
  const float inv = static_cast<float>(1.0 / o.exp_shifted(x, n, max_v));
  o.scale(x, n, inv);
}

void gated_activation(float* gate, const float* up, int64_t n, FfnActivation act, runtime::IsaLevel isa) {
  const ElementwiseOps& o = ops(isa);
  switch (act) {
    case FfnActivation::kSilu:
      return o.silu_mul(gate, up, n);
    case FfnActivation::kReluSqr:
      return o.relu_sqr_mul(gate, up, n);
    case FfnActivation::kGeluTanh:
      return o.gelu_tanh_mul(gate, up, n);
  }
}

}  // namespace trit::kernels
