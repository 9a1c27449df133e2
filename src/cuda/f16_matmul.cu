// Half-precision weights times float inputs rounded to half (ggml's F16 path): the output projection
// of the tied-embedding models and any float linear layer. One warp per weight row, 16-byte loads of
// 8 weights, every token (up to 8) per weight load, float accumulation.
#include <cuda_fp16.h>

#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/row_math.cuh"
#include "cuda/token_dispatch.h"

namespace trit::cuda {
namespace {

template <int kTokens>
__global__ void __launch_bounds__(256)
    f16_gemv_kernel(const uint16_t* __restrict__ w, int rows, int cols, const float* __restrict__ x, int ld_x,
                    float* __restrict__ y, int ld_y, bool accumulate) {
  const int row = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const uint4* wr = reinterpret_cast<const uint4*>(w + static_cast<int64_t>(row) * cols);
  const int n8 = cols / 8;
  float acc[kTokens];
#pragma unroll
  for (int t = 0; t < kTokens; ++t) acc[t] = 0.0f;
#pragma unroll 4
  for (int c = lane; c < n8; c += 32) {
    const uint4 raw = __ldcs(wr + c);
    const __half2* hw = reinterpret_cast<const __half2*>(&raw);
    float wf[8];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 f = __half22float2(hw[j]);
      wf[2 * j] = f.x;
      wf[2 * j + 1] = f.y;
    }
#pragma unroll
    for (int t = 0; t < kTokens; ++t) {
      const float4* xp = reinterpret_cast<const float4*>(x + static_cast<int64_t>(t) * ld_x + c * 8);
      const float4 x0 = xp[0], x1 = xp[1];
      const float xv[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[t] += wf[j] * __half2float(__float2half_rn(xv[j]));
    }
  }
  const float v = warp_token_sums(acc, lane);
  if (lane < kTokens) {
    float* out = y + static_cast<int64_t>(lane) * ld_y + row;
    *out = accumulate ? __fadd_rn(*out, v) : v;
  }
}

}  // namespace

void f16_matmul(const uint16_t* w, int rows, int cols, const float* x, int ld_x, int n, float* y, int ld_y,
                bool accumulate, cudaStream_t stream) {
  const dim3 block(256), grid((rows + 7) / 8);
  for (int t0 = 0; t0 < n; t0 += 8) {
    const int nt = n - t0 < 8 ? n - t0 : 8;
    const float* xt = x + static_cast<int64_t>(t0) * ld_x;
    float* yt = y + static_cast<int64_t>(t0) * ld_y;
    with_token_count<8>(nt, [&](auto tokens) {
      f16_gemv_kernel<decltype(tokens)::value>
          <<<grid, block, 0, stream>>>(w, rows, cols, xt, ld_x, yt, ld_y, accumulate);
    });
    TRIT_CUDA_LAUNCHED();
  }
}

}  // namespace trit::cuda
