// BitLinear on the GPU: int8 activations times ternary weights in the layout of kernels.h.
//   decode (<= 8 tokens): one warp per weight row, each lane a 16-byte chunk (64 weights) at a time,
//     dp4a on the 2-bit codes as they lie (sum code*q - sum q = sum w*q), every token per weight load;
//   batches: 64x64 output tiles on the int8 tensor cores (WMMA 16x16x16), weights unpacked to -1/0/+1
//     in shared memory.
// Both end with the CPU's rescale in the same operation order, so outputs match it bit for bit.
#include <mma.h>

#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/row_math.cuh"
#include "cuda/ternary_gemv.cuh"
#include "cuda/token_dispatch.h"

namespace trit::cuda {
namespace {

template <int kTokens>
__global__ void __launch_bounds__(256)
    ternary_gemv_kernel(TernaryDevice w, QuantizedRows x, float* __restrict__ y, int ld_y, bool accumulate) {
  const int row = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= w.rows) return;
  gemv_row<kTokens>(w, x, row, lane, y, ld_y, accumulate);
}

// Tensor-core tile: 64 tokens x 64 rows, k steps of 64, 4 warps of 32x32. The int8 tiles are kept as
// four 16-wide k slices so that every fragment starts 32-byte aligned (WMMA's requirement).
constexpr int kTileM = 64, kTileN = 64, kTileK = 64, kSlice = 16;
constexpr int kPadC = kTileN + 4;

__global__ void __launch_bounds__(128)
    ternary_gemm_kernel(TernaryDevice w, QuantizedRows x, int n, float* __restrict__ y, int ld_y, bool accumulate) {
  using namespace nvcuda;
  __shared__ __align__(128) signed char a_tile[kTileK / kSlice][kTileM][kSlice];  // [k slice][token][k]
  __shared__ __align__(128) signed char b_tile[kTileK / kSlice][kTileN][kSlice];  // [k slice][row][k]
  __shared__ __align__(128) int32_t c_tile[kTileM][kPadC];
  const int tid = threadIdx.x;
  const int warp = tid >> 5;
  const int tok0 = blockIdx.y * kTileM, row0 = blockIdx.x * kTileN;
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  const int chunks = w.padded_cols / kChunk;

  wmma::fragment<wmma::accumulator, 16, 16, 16, int> c[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(c[i][j], 0);

  for (int k0 = 0; k0 < w.padded_cols; k0 += kTileK) {
    // Activations: 64 tokens x 64 bytes, two 16-byte slices per thread.
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int idx = tid + i * 128;
      const int t = idx >> 2, slice = idx & 3;
      int4 v = make_int4(0, 0, 0, 0);
      if (tok0 + t < n)
        v = *reinterpret_cast<const int4*>(x.q + static_cast<int64_t>(tok0 + t) * x.padded_cols + k0 + slice * kSlice);
      *reinterpret_cast<int4*>(&a_tile[slice][t][0]) = v;
    }
    // Weights: 64 rows x one chunk; each thread unpacks two of a chunk's words (one k slice each) to
    // -1/0/+1 bytes.
    {
      const int r = tid >> 1, half = tid & 1;
      uint32_t words[2] = {0x55555555u, 0x55555555u};  // code 1: weight 0
      if (row0 + r < w.rows) {
        const uint2 v =
            reinterpret_cast<const uint2*>(w.codes)[(static_cast<int64_t>(row0 + r) * chunks + k0 / kChunk) * 2 + half];
        words[0] = v.x;
        words[1] = v.y;
      }
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        int4 out;
        out.x = static_cast<int>(__vsub4(words[i] & 0x03030303u, 0x01010101u));
        out.y = static_cast<int>(__vsub4((words[i] >> 2) & 0x03030303u, 0x01010101u));
        out.z = static_cast<int>(__vsub4((words[i] >> 4) & 0x03030303u, 0x01010101u));
        out.w = static_cast<int>(__vsub4((words[i] >> 6) & 0x03030303u, 0x01010101u));
        *reinterpret_cast<int4*>(&b_tile[half * 2 + i][r][0]) = out;
      }
    }
    __syncthreads();
#pragma unroll
    for (int s = 0; s < kTileK / kSlice; ++s) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, signed char, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, signed char, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], &a_tile[s][wm + i * 16][0], kSlice);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], &b_tile[s][wn + j * 16][0], kSlice);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(c[i][j], a[i], b[j], c[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&c_tile[wm + i * 16][wn + j * 16], c[i][j], kPadC, wmma::mem_row_major);
  __syncthreads();
  for (int idx = tid; idx < kTileM * kTileN; idx += 128) {
    const int t = idx / kTileN, r = idx % kTileN;
    const int token = tok0 + t, row = row0 + r;
    if (token < n && row < w.rows)
      store_out(y, static_cast<int64_t>(token) * ld_y + row, c_tile[t][r], x.scale[token], w.row_scale[row],
                w.row_out_scale[row], accumulate);
  }
}

}  // namespace

void ternary_gemv(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                  cudaStream_t stream) {
  const dim3 block(256);
  const dim3 grid((w.rows + 7) / 8);
  for (int t0 = 0; t0 < n; t0 += 8) {
    const int nt = n - t0 < 8 ? n - t0 : 8;
    QuantizedRows part = x;
    part.q += static_cast<int64_t>(t0) * x.padded_cols;
    part.scale += t0;
    part.sum += t0;
    float* yt = y + static_cast<int64_t>(t0) * ld_y;
    with_token_count<8>(nt, [&](auto tokens) {
      ternary_gemv_kernel<decltype(tokens)::value><<<grid, block, 0, stream>>>(w, part, yt, ld_y, accumulate);
    });
    TRIT_CUDA_LAUNCHED();
  }
}

void ternary_gemm_mma(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                      cudaStream_t stream) {
  const dim3 grid((w.rows + kTileN - 1) / kTileN, (n + kTileM - 1) / kTileM);
  ternary_gemm_kernel<<<grid, 128, 0, stream>>>(w, x, n, y, ld_y, accumulate);
  TRIT_CUDA_LAUNCHED();
}

void ternary_matmul(const TernaryDevice& w, const QuantizedRows& x, int n, float* y, int ld_y, bool accumulate,
                    cudaStream_t stream) {
  if (n <= 8)
    ternary_gemv(w, x, n, y, ld_y, accumulate, stream);
  else
    ternary_gemm_mma(w, x, n, y, ld_y, accumulate, stream);
}

}  // namespace trit::cuda
