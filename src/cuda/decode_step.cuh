// The persistent decode step's work (decode_step.cu runs it as one cooperative kernel; see there).
// Written against a Grid that offers barrier_arrive() / barrier_wait(token) (cooperative groups'
// grid_group on the GPU; tests/cuda/simt.h's emulation on the CPU), with the block's shared memory passed
// in, so that the same code runs in both.
#pragma once

#include <utility>

#include "cuda/attention.cuh"
#include "cuda/kernels.h"
#include "cuda/quantize_row.cuh"
#include "cuda/ternary_gemv.cuh"

namespace trit::cuda {

constexpr int kDecodeMaxWarps = 32;

// A block's own shared state beside the dynamic buffer (the stage's int8 row, or the attention scores).
struct DecodeShared {
  QuantScratch scratch;
  float red[kDecodeMaxWarps];
  float x_scale;
  int32_t x_sum;
};

__host__ __device__ inline int padded_128(int cols) { return (cols + 127) / 128 * 128; }

__device__ __forceinline__ void prefetch_l2(const void* p) {
#if defined(__CUDA_ARCH__)
  asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
#else
  (void)p;  // the CPU emulation has no L2 to warm
#endif
}

// This warp's rows of w (row = warp, warp + n_warps, ...) into L2, a 128-byte line per lane.
__device__ __forceinline__ void prefetch_rows(const TernaryDevice& w, int warp, int n_warps, int lane) {
  const int64_t row_bytes = w.padded_cols / 4;
  for (int row = warp; row < w.rows; row += n_warps) {
    const char* base = reinterpret_cast<const char*>(w.codes) + static_cast<int64_t>(row) * row_bytes;
    for (int64_t off = static_cast<int64_t>(lane) * 128; off < row_bytes; off += 32 * 128) prefetch_l2(base + off);
  }
}

// Every layer of one decode token, by every thread of every block of the grid (blockDim.x a multiple of
// 32, at most 1024; the widest input at most blockDim.x * kQuantPer).
template <typename Grid>
__device__ void decode_step_layers(const DecodeStepArgs& a, const Grid& grid, unsigned char* dynamic_shared,
                                   DecodeShared& sh) {
  const int lane = threadIdx.x & 31;
  const int warps_per_block = static_cast<int>(blockDim.x >> 5);
  const int warp = static_cast<int>(blockIdx.x) * warps_per_block + static_cast<int>(threadIdx.x >> 5);
  const int n_warps = static_cast<int>(gridDim.x) * warps_per_block;
  int8_t* x_q = reinterpret_cast<int8_t*>(dynamic_shared);
  float* attention_shared = reinterpret_cast<float*>(dynamic_shared);

  // The stage's input row (x, the attention output, or gate/up through the activation) normed and
  // quantised into shared memory by this block.
  auto quantize = [&](const QuantInput& in, const float* norm_w) {
    const QuantizedRows out{x_q, &sh.x_scale, &sh.x_sum, padded_128(in.cols)};
    quantize_row(in, 0, norm_w, a.eps, out, nullptr, 0, sh.scratch);
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
    for (int h = static_cast<int>(blockIdx.x); h < rope.n_head + 2 * rope.n_head_kv; h += static_cast<int>(gridDim.x))
      rope_store_head(rope, 0, h, sh.scratch.d);
    barrier(&L.gate_up);
    // 3. Attention.
    AttentionArgs attention = a.attention;
    attention.layer = l;
    for (int h = static_cast<int>(blockIdx.x); h < attention.n_head; h += static_cast<int>(gridDim.x)) {
      attend_head(attention, 0, h, attention_shared, sh.red);
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

}  // namespace trit::cuda
