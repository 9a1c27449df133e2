// The persistent decode step (kernels.h: decode_step): every layer of one sequence's new token in one
// cooperative launch, one block of 512 threads per SM. A layer is six stages separated by grid-wide
// barriers:
//   1. attention input: every block RMS-norms and quantises x itself (one 2-16 KiB row from L2, no
//      barrier for it), then its warps take their rows of the fused Q/K/V matrix;
//   2. RoPE and the cache store, a block per head;           3. attention, a block per query head;
//   4. the output projection: each block quantises the attention rows (with the sub-norm), its warps
//      add their rows of Wo into x;
//   5. the FFN input: quantise x with ffn_norm, rows of the fused gate/up matrix;
//   6. the gated activation with its sub-norm quantised by each block, rows of Wdown added into x.
// While a block waits at a barrier it prefetches its rows of a coming matrix into L2 (the barrier is
// split into arrive and wait), so the weights stream while the stages synchronise. Every stage is the
// per-kernel path's own device code (quantize_row.cuh, ternary_gemv.cuh, attention.cuh): the numbers
// differ from that path only where a block of another size sums in another order (the RMSNorm's
// double sum, the softmax's sum).
#include <cooperative_groups.h>

#include <algorithm>

#include "cuda/attention.cuh"
#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/quantize_row.cuh"
#include "cuda/ternary_gemv.cuh"

namespace trit::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;

__host__ __device__ inline int padded(int cols) { return (cols + 127) / 128 * 128; }

// The int8 row of a stage's input and the attention scores share the dynamic shared memory.
size_t shared_bytes(int max_padded_cols, int head_dim, int max_keys) {
  return std::max(static_cast<size_t>(max_padded_cols), attention_shared_bytes(head_dim, max_keys));
}

// This warp's rows of w (row = warp, warp + n_warps, ...) into L2, a 128-byte line per lane.
__device__ __forceinline__ void prefetch_rows(const TernaryDevice& w, int warp, int n_warps, int lane) {
  const int64_t row_bytes = w.padded_cols / 4;
  for (int row = warp; row < w.rows; row += n_warps) {
    const char* base = reinterpret_cast<const char*>(w.codes) + static_cast<int64_t>(row) * row_bytes;
    for (int64_t off = static_cast<int64_t>(lane) * 128; off < row_bytes; off += 32 * 128)
      asm volatile("prefetch.global.L2 [%0];" ::"l"(base + off));
  }
}

__global__ void __launch_bounds__(kThreads, 1) decode_step_kernel(DecodeStepArgs a) {
  extern __shared__ __align__(16) unsigned char dynamic_shared[];
  __shared__ QuantScratch scratch;
  __shared__ float red[kWarps];
  __shared__ float x_scale;
  __shared__ int32_t x_sum;
  const cg::grid_group grid = cg::this_grid();
  const int lane = threadIdx.x & 31;
  const int warp = static_cast<int>(blockIdx.x) * kWarps + static_cast<int>(threadIdx.x >> 5);
  const int n_warps = static_cast<int>(gridDim.x) * kWarps;
  int8_t* x_q = reinterpret_cast<int8_t*>(dynamic_shared);
  float* attention_shared = reinterpret_cast<float*>(dynamic_shared);

  // The stage's input row (x, the attention output, or gate/up through the activation) normed and
  // quantised into shared memory by this block.
  auto quantize = [&](const QuantInput& in, const float* norm_w) {
    const QuantizedRows out{x_q, &x_scale, &x_sum, padded(in.cols)};
    quantize_row(in, 0, norm_w, a.eps, out, nullptr, 0, scratch);
    __syncthreads();  // thread 0 wrote the scale and the sum after the last reduction
    return out;
  };
  // This warp's rows of w times the quantised row.
  auto gemv = [&](const TernaryDevice& w, const QuantizedRows& xq, float* y, bool accumulate) {
    for (int row = warp; row < w.rows; row += n_warps) gemv_row<1>(w, xq, row, lane, y, 0, accumulate);
  };
  // A grid-wide barrier, with this warp's rows of `next` (if any) prefetched while it waits.
  auto barrier = [&](const TernaryDevice* next) {
    auto token = grid.barrier_arrive();
    if (next) prefetch_rows(*next, warp, n_warps, lane);
    grid.barrier_wait(std::move(token));
  };

  if (a.n_layer > 0) prefetch_rows(a.layers[0].qkv, warp, n_warps, lane);
  for (int l = 0; l < a.n_layer; ++l) {
    const DecodeLayer& L = a.layers[l];
    // 1. Q/K/V.
    gemv(L.qkv, quantize({a.x, a.n_embd, a.n_embd, false, a.act}, L.attn_norm), a.qkv, false);
    barrier(&L.wo);
    // 2. RoPE, K and V into the cache.
    RopeStoreArgs rope = a.rope;
    rope.layer = l;
    for (int h = blockIdx.x; h < rope.n_head + 2 * rope.n_head_kv; h += gridDim.x)
      rope_store_head(rope, 0, h, scratch.d);
    barrier(&L.gate_up);
    // 3. Attention.
    AttentionArgs attention = a.attention;
    attention.layer = l;
    for (int h = blockIdx.x; h < attention.n_head; h += gridDim.x) {
      attend_head(attention, 0, h, attention_shared, red);
      __syncthreads();  // the scores are rewritten by the next head
    }
    barrier(&L.down);
    // 4. The output projection into the residual.
    gemv(L.wo, quantize({a.att, a.n_embd_q, a.n_embd_q, false, a.act}, L.attn_sub_norm), a.x, true);
    barrier(nullptr);
    // 5. Gate and up.
    gemv(L.gate_up, quantize({a.x, a.n_embd, a.n_embd, false, a.act}, L.ffn_norm), a.gate_up, false);
    barrier(l + 1 < a.n_layer ? &a.layers[l + 1].qkv : nullptr);
    // 6. act(gate) * up, the sub-norm, down into the residual.
    gemv(L.down, quantize({a.gate_up, 2 * a.n_ff, a.n_ff, true, a.act}, L.ffn_sub_norm), a.x, true);
    barrier(nullptr);
  }
}

}  // namespace

int decode_step_reserve(int max_padded_cols, int head_dim, int max_keys) {
  int device = 0, cooperative = 0, limit = 0, sms = 0;
  TRIT_CUDA_CHECK(cudaGetDevice(&device));
  TRIT_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  TRIT_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  TRIT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const size_t bytes = shared_bytes(max_padded_cols, head_dim, max_keys);
  if (!cooperative || max_padded_cols > kThreads * kQuantPer || bytes > static_cast<size_t>(limit)) return 0;
  TRIT_CUDA_CHECK(
      cudaFuncSetAttribute(decode_step_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  int per_sm = 0;
  TRIT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, decode_step_kernel, kThreads, bytes));
  return sms * per_sm;
}

void decode_step(const DecodeStepArgs& args, int blocks, cudaStream_t stream) {
  const int widest = std::max({padded(args.n_embd), padded(args.n_embd_q), padded(args.n_ff)});
  // Every block must be resident at once for the grid barriers: a cooperative launch guarantees it (and
  // fails rather than deadlocks otherwise). The attribute form is also valid inside a captured graph.
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(blocks));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shared_bytes(widest, args.attention.head_dim, args.attention.max_keys);
  config.stream = stream;
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeCooperative;
  attribute.val.cooperative = 1;
  config.attrs = &attribute;
  config.numAttrs = 1;
  TRIT_CUDA_CHECK(cudaLaunchKernelEx(&config, decode_step_kernel, args));
}

}  // namespace trit::cuda
