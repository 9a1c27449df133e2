// Device helpers of the kernels: warp and block reductions, RMSNorm's scale, and the gated FFN
// activation rounded as the CPU reference rounds (explicit _rn intrinsics: no fused multiply-adds).
#pragma once

#include "cuda/kernels.h"

namespace trit::cuda {

struct Add {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// The reduction of v over the warp (a butterfly: every lane gets the result).
template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// The GEMV epilogue: each token's partial sums added over the warp; returns token `lane`'s total to lanes
// below kTokens (the register array indexed only at compile time).
template <int kTokens, typename T>
__device__ __forceinline__ T warp_token_sums(T (&acc)[kTokens], int lane) {
  T mine = 0;
#pragma unroll
  for (int t = 0; t < kTokens; ++t) {
    acc[t] = warp_reduce(acc[t], Add{});
    if (t == lane) mine = acc[t];
  }
  return mine;
}

// The reduction of v over the block (at most 32 warps); shared holds 32 T. Every thread gets the result.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T identity, T* shared) {
  v = warp_reduce(v, op);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_reduce(lane < static_cast<int>(blockDim.x >> 5) ? shared[lane] : identity, op);
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

// 1 / sqrt(mean(x^2) + eps) of x[0..cols) over the block: squares in float summed in double, as the
// CPU's rms_norm. shared holds 32 doubles.
__device__ __forceinline__ float rms_inverse(double sum_squares, int cols, float eps) {
  const float mean = static_cast<float>(sum_squares / static_cast<double>(cols));
  return __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean, eps)));
}

__device__ inline float rms_scale(const float* x, int cols, float eps, double* shared) {
  double ss = 0.0;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) ss += static_cast<double>(__fmul_rn(x[i], x[i]));
  return rms_inverse(block_reduce(ss, Add{}, 0.0, shared), cols, eps);
}

// Element i of RMSNorm(x) with the scale s from rms_scale and the gain w (null: none).
__device__ __forceinline__ float normed(const float* x, const float* w, float s, int i) {
  return w ? __fmul_rn(__fmul_rn(x[i], s), w[i]) : x[i];
}

// dst (= or, with accumulate, +=) RMSNorm(row) * w over cols, by the calling block; shared holds 32
// doubles.
__device__ inline void rms_norm_row(const float* row, int cols, const float* w, float eps, float* dst, bool accumulate,
                                    double* shared) {
  const float s = rms_scale(row, cols, eps, shared);
  for (int i = threadIdx.x; i < cols; i += blockDim.x) {
    const float v = normed(row, w, s, i);
    dst[i] = accumulate ? __fadd_rn(dst[i], v) : v;
  }
}

__device__ __forceinline__ float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

// act(g) * up, as the CPU's gated_activation.
__device__ __forceinline__ float gated(float g, float up, GluAct act) {
  float a;
  switch (act) {
    case GluAct::kReluSqr:
      a = g > 0.0f ? __fmul_rn(g, g) : 0.0f;
      break;
    case GluAct::kSilu:
      a = __fdiv_rn(g, __fadd_rn(1.0f, expf(-g)));
      break;
    default:
      a = gelu_tanh(g);
      break;
  }
  return __fmul_rn(a, up);
}

}  // namespace trit::cuda
