// The decode GEMV's per-row work (one warp per weight row), shared by ternary_gemv (ternary_matmul.cu) and
// the persistent decode kernel (decode_step.cu); the layout is kernels.h's.
#pragma once

#include "cuda/kernels.h"
#include "cuda/row_math.cuh"

namespace trit::cuda {

constexpr int kChunk = 64;  // weights per 16-byte chunk

__device__ __forceinline__ void store_out(float* y, int64_t index, int32_t dot, float x_scale, float row_scale,
                                          float out_scale, bool accumulate) {
  // (acc - sum) / s * w_scale, then the output scale: explicit roundings, no fused multiply-adds.
  float v = __fmul_rn(__fdiv_rn(static_cast<float>(dot), x_scale), row_scale);
  v = __fmul_rn(v, out_scale);
  y[index] = accumulate ? __fadd_rn(y[index], v) : v;
}

// Row `row` of w times tokens 0..kTokens-1 of x by the calling warp (lane = its lane): each lane a 16-byte
// chunk (64 weights) at a time, two in flight, dp4a on the 2-bit codes as they lie (sum code*q - sum q =
// sum w*q), every token per weight load; the lanes below kTokens store token `lane`'s output.
template <int kTokens>
__device__ __forceinline__ void gemv_row(const TernaryDevice& w, const QuantizedRows& x, int row, int lane, float* y,
                                         int ld_y, bool accumulate) {
  const int chunks = w.padded_cols / kChunk;
  const uint4* codes = reinterpret_cast<const uint4*>(w.codes) + static_cast<int64_t>(row) * chunks;
  int32_t acc[kTokens];
#pragma unroll
  for (int t = 0; t < kTokens; ++t) acc[t] = 0;
  // Two chunks in flight per lane before their first use.
  for (int c0 = lane; c0 < chunks; c0 += 64) {
    uint4 wv[2];
    const int c1 = c0 + 32;
    wv[0] = __ldcs(codes + c0);  // streamed once: no reason to keep it in cache
    wv[1] = c1 < chunks ? __ldcs(codes + c1) : make_uint4(0x55555555u, 0x55555555u, 0x55555555u, 0x55555555u);
#pragma unroll
    for (int u = 0; u < 2; ++u) {
      const int c = u == 0 ? c0 : c1;
      if (c >= chunks) break;
      const uint32_t words[4] = {wv[u].x, wv[u].y, wv[u].z, wv[u].w};
#pragma unroll
      for (int t = 0; t < kTokens; ++t) {
        const int4* q = reinterpret_cast<const int4*>(x.q + static_cast<int64_t>(t) * x.padded_cols) + c * 4;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          const int4 a = q[k];
          acc[t] = __dp4a(static_cast<int>(words[k] & 0x03030303u), a.x, acc[t]);
          acc[t] = __dp4a(static_cast<int>((words[k] >> 2) & 0x03030303u), a.y, acc[t]);
          acc[t] = __dp4a(static_cast<int>((words[k] >> 4) & 0x03030303u), a.z, acc[t]);
          acc[t] = __dp4a(static_cast<int>((words[k] >> 6) & 0x03030303u), a.w, acc[t]);
        }
      }
    }
  }
  const int32_t dot = warp_token_sums(acc, lane);
  if (lane < kTokens) {
    store_out(y, static_cast<int64_t>(lane) * ld_y + row, dot - x.sum[lane], x.scale[lane], w.row_scale[row],
              w.row_out_scale[row], accumulate);
  }
}

}  // namespace trit::cuda
