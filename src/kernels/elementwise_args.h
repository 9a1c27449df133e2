// The loops of the element-wise kernels (kernels/elementwise.h), one table per level. The SIMD files see
// only this header (and the intrinsics), for the reason given in i2_gemm_args.h.
#pragma once

#include <cstdint>

namespace trit::kernels {

// Every level processes blocks of kElementwiseLanes floats (a zero- or -inf-padded block for the tail) and
// sums in kElementwiseLanes double lanes, lane j taking elements j, j + 16, j + 32, ...; the lanes are then
// combined in a fixed tree (lane j += lane j + w for w = 8, 4, 2, 1). The scalar level does the same
// element by element, so every level gives bit-identical results.
inline constexpr int64_t kElementwiseLanes = 16;

struct ElementwiseOps {
  // sum of double(x[i] * x[i]) (the square in float)
  double (*sum_squares)(const float* x, int64_t n);
  // out[i] = x[i] * s * w[i] (w null: x[i] * s); out may alias x
  void (*scale_mul)(const float* x, const float* w, float s, float* out, int64_t n);
  // max |x[i]| (NaNs ignored), 0 for n = 0
  float (*abs_max)(const float* x, int64_t n);
  // q[i] = round half to even(x[i] * s) clamped to [-128, 127] (NaN -> -128); returns the sum of q
  int32_t (*quantize)(const float* x, int64_t n, float s, int8_t* q);
  // max x[i], n >= 1
  float (*max)(const float* x, int64_t n);
  // x[i] = exp_poly(x[i] - shift); returns the sum of double(x[i]) (lanes and tree as above)
  double (*exp_shifted)(float* x, int64_t n, float shift);
  // x[i] *= s
  void (*scale)(float* x, int64_t n, float s);
  // g[i] = act(g[i]) * up[i]
  void (*silu_mul)(float* g, const float* up, int64_t n);
  void (*relu_sqr_mul)(float* g, const float* up, int64_t n);
  void (*gelu_tanh_mul)(float* g, const float* up, int64_t n);
};

extern const ElementwiseOps kElementwiseScalar;
extern const ElementwiseOps kElementwiseAvx2;
extern const ElementwiseOps kElementwiseAvx512;
extern const ElementwiseOps kElementwiseNeon;

// The constants of exp_poly (kernels/elementwise.h), shared by every level.
namespace exp_poly_constants {
inline constexpr float kLo = -104.0f;  // e^-104 < 2^-150: rounds to 0
inline constexpr float kHi = 89.0f;    // e^89 > FLT_MAX: inf
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: fma(x, kLog2e, kRound) - kRound = round(x log2e)
inline constexpr float kLn2Hi = 0.693147182464599609375f;  // float(ln 2)
inline constexpr float kLn2Lo = -1.904654323148236e-09f;   // ln 2 - kLn2Hi
// e^r ~ 1 + r + r^2 (c0 + c1 r + ... + c5 r^5) on |r| <= ln2 / 2 (Cephes expf's minimax coefficients)
inline constexpr float kC5 = 1.9875691500e-4f;
inline constexpr float kC4 = 1.3981999507e-3f;
inline constexpr float kC3 = 8.3334519073e-3f;
inline constexpr float kC2 = 4.1665795894e-2f;
inline constexpr float kC1 = 1.6666665459e-1f;
inline constexpr float kC0 = 5.0000001201e-1f;
}  // namespace exp_poly_constants

// GELU, tanh form, rewritten as x * sigmoid(2y): 0.5 x (1 + tanh y) = x / (1 + e^-2y), with
// y = sqrt(2/pi) (x + 0.044715 x^3); well conditioned at both ends (no 1 - 1 cancellation).
inline constexpr float kGeluCoef = 0.044715f;
inline constexpr float kGeluMinus2Sqrt2OverPi = -1.5957691216057308f;  // -2 sqrt(2/pi)

}  // namespace trit::kernels
