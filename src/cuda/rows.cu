// Row-wise kernels of the forward pass: RMSNorm (and for the FFN the gated activation) fused with the
// int8 activation quantisation, plain RMSNorm (the output rows' final norm, the embedding models' chained
// norms, Gemma's post-norms added to the residual) and argmax. One block per row; float math rounded as the
// CPU reference rounds it (explicit _rn intrinsics where the compiler could fuse a multiply-add).
#include <cfloat>

#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/quantize_row.cuh"
#include "cuda/row_math.cuh"

namespace trit::cuda {
namespace {

constexpr int kThreads = 256;

// One row per block (quantize_row.cuh). The block is as small as holds the row (a 2560-wide row: 160
// threads), so that a decode step's single-block launches issue no idle warps and their barriers wait
// for few.
constexpr int kQuantThreads = 1024;

int quant_threads(int padded_cols) {
  const int warps = (padded_cols + kQuantPer * 32 - 1) / (kQuantPer * 32);
  return warps * 32;
}

__global__ void __launch_bounds__(kQuantThreads)
    quantize_rows_kernel(QuantInput in, const float* __restrict__ norm_w, float eps, QuantizedRows out,
                         float* __restrict__ normed_out, int ld_normed) {
  __shared__ QuantScratch sh;
  quantize_row(in, blockIdx.x, norm_w, eps, out, normed_out, ld_normed, sh);
}

// out row i (= or +=) RMSNorm(x row row_index[i], or row i without an index) by w.
__global__ void __launch_bounds__(kThreads)
    rms_norm_kernel(const float* __restrict__ x, int ld_x, const int32_t* __restrict__ row_index, int cols,
                    const float* __restrict__ w, float eps, float* __restrict__ out, int ld_out, bool accumulate) {
  __shared__ double shared_d[32];
  const int64_t r = row_index ? row_index[blockIdx.x] : blockIdx.x;
  rms_norm_row(x + r * ld_x, cols, w, eps, out + static_cast<int64_t>(blockIdx.x) * ld_out, accumulate, shared_d);
}

__global__ void __launch_bounds__(kThreads)
    argmax_kernel(const float* __restrict__ logits, int cols, int32_t* __restrict__ ids) {
  __shared__ float best_v[kThreads];
  __shared__ int32_t best_i[kThreads];
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * cols;
  float v = -FLT_MAX;
  int32_t index = 0x7fffffff;
  for (int i = threadIdx.x; i < cols; i += blockDim.x)
    if (row[i] > v) {  // strictly greater: the first index of the maximum within the thread's stride
      v = row[i];
      index = i;
    }
  best_v[threadIdx.x] = v;
  best_i[threadIdx.x] = index;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      const float ov = best_v[threadIdx.x + stride];
      const int32_t oi = best_i[threadIdx.x + stride];
      if (ov > best_v[threadIdx.x] || (ov == best_v[threadIdx.x] && oi < best_i[threadIdx.x])) {
        best_v[threadIdx.x] = ov;
        best_i[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) ids[blockIdx.x] = best_i[0] == 0x7fffffff ? 0 : best_i[0];
}

__global__ void copy_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    dst[i] = __ldcs(src + i);
}

}  // namespace

void quantize_rows(const float* x, int ld_x, int cols, int n, const float* norm_w, float eps, QuantizedRows out,
                   float* normed, int ld_normed, cudaStream_t stream) {
  if (n == 0) return;
  if (out.padded_cols > kQuantThreads * kQuantPer)
    check(cudaErrorInvalidValue, "quantize_rows: row too wide", __FILE__, __LINE__);
  quantize_rows_kernel<<<n, quant_threads(out.padded_cols), 0, stream>>>({x, ld_x, cols, false, GluAct::kSilu}, norm_w,
                                                                         eps, out, normed, ld_normed);
  TRIT_CUDA_LAUNCHED();
}

void glu_quantize_rows(const float* gate_up, int ld_in, int n_ff, int n, GluAct act, const float* norm_w, float eps,
                       QuantizedRows out, float* normed, int ld_normed, cudaStream_t stream) {
  if (n == 0) return;
  if (out.padded_cols > kQuantThreads * kQuantPer)
    check(cudaErrorInvalidValue, "glu_quantize_rows: row too wide", __FILE__, __LINE__);
  quantize_rows_kernel<<<n, quant_threads(out.padded_cols), 0, stream>>>({gate_up, ld_in, n_ff, true, act}, norm_w, eps,
                                                                         out, normed, ld_normed);
  TRIT_CUDA_LAUNCHED();
}

void gather_rms_norm(const float* x, int ld_x, const int32_t* row_index, int n, int cols, const float* w, float eps,
                     float* out, cudaStream_t stream) {
  if (n == 0) return;
  rms_norm_kernel<<<n, kThreads, 0, stream>>>(x, ld_x, row_index, cols, w, eps, out, cols, false);
  TRIT_CUDA_LAUNCHED();
}

void rms_norm_rows(const float* x, int ld_x, int cols, int n, const float* w, float eps, float* out, int ld_out,
                   bool accumulate, cudaStream_t stream) {
  if (n == 0) return;
  rms_norm_kernel<<<n, kThreads, 0, stream>>>(x, ld_x, nullptr, cols, w, eps, out, ld_out, accumulate);
  TRIT_CUDA_LAUNCHED();
}

void argmax_rows(const float* logits, int n, int cols, int32_t* ids, cudaStream_t stream) {
  if (n == 0) return;
  argmax_kernel<<<n, kThreads, 0, stream>>>(logits, cols, ids);
  TRIT_CUDA_LAUNCHED();
}

void copy_bytes(const void* src, void* dst, size_t bytes, cudaStream_t stream) {
  const size_t n = bytes / sizeof(uint4);
  copy_kernel<<<132 * 8, 512, 0, stream>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst), n);
  TRIT_CUDA_LAUNCHED();
}

}  // namespace trit::cuda
