// The per-(row, head) work of rope_store and attention (attention.cu), shared with the persistent decode
// kernel (decode_step.cu). Both take any block size; every thread of the block calls them.
#pragma once

#include <cuda_fp16.h>

#include <cfloat>

#include "cuda/kernels.h"
#include "cuda/row_math.cuh"

namespace trit::cuda {

// The dynamic shared memory attend_head uses: the query and the scores.
inline size_t attention_shared_bytes(int head_dim, int max_keys) {
  return static_cast<size_t>(head_dim + max_keys) * sizeof(float);
}

__device__ __forceinline__ float load_kv(const void* base, int64_t i, bool f16) {
  return f16 ? __half2float(static_cast<const __half*>(base)[i]) : static_cast<const float*>(base)[i];
}

// Head h (Q heads, then K, then V) of row r of a.qkv, by the calling block: Q heads rotated in place (attention
// reads them there), K heads rotated and stored in the cache, V heads stored. Q and K heads are first
// RMS-normed in place where the model has per-head norms (then a barrier, as RoPE pairs elements of
// different threads); otherwise every element is one thread's.
__device__ inline void rope_store_head(const RopeStoreArgs& a, int r, int h, double* shared_d) {
  const RowDesc row = a.rows[r];
  float* head = a.qkv + static_cast<int64_t>(r) * a.ld + static_cast<int64_t>(h) * a.head_dim;
  const int kv_dim = a.n_head_kv * a.head_dim;
  const bool is_q = h < a.n_head, is_v = h >= a.n_head + a.n_head_kv;
  const float* norm_w = is_q ? a.q_norm : is_v ? nullptr : a.k_norm;
  if (norm_w) {  // the same for the whole block, so every thread reaches the barriers
    const float s = rms_scale(head, a.head_dim, a.norm_eps, shared_d);  // every read of head done
    for (int i = threadIdx.x; i < a.head_dim; i += blockDim.x) head[i] = normed(head, norm_w, s, i);
    __syncthreads();  // RoPE pairs elements of different threads
  }
  const int64_t at = a.layer * row.layer_stride + static_cast<int64_t>(row.pos) * kv_dim +
                     static_cast<int64_t>(is_q   ? 0
                                          : is_v ? h - a.n_head - a.n_head_kv
                                                 : h - a.n_head) *
                         a.head_dim;
  void* cache = is_v ? row.v : row.k;
  auto store = [&](int i, float value) {
    if (a.f16_cache)
      static_cast<__half*>(cache)[at + i] = __float2half_rn(value);
    else
      static_cast<float*>(cache)[at + i] = value;
  };
  const int half = a.n_rot / 2;
  if (!is_v) {
    const float* cs = a.cos_table + static_cast<int64_t>(row.pos) * half;
    const float* sn = a.sin_table + static_cast<int64_t>(row.pos) * half;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
      const int i0 = a.neox ? i : 2 * i, i1 = a.neox ? i + half : 2 * i + 1;
      const float x0 = head[i0], x1 = head[i1];
      const float y0 = __fsub_rn(__fmul_rn(x0, cs[i]), __fmul_rn(x1, sn[i]));
      const float y1 = __fadd_rn(__fmul_rn(x0, sn[i]), __fmul_rn(x1, cs[i]));
      if (is_q) {
        head[i0] = y0;
        head[i1] = y1;
      } else {
        store(i0, y0);
        store(i1, y1);
      }
    }
  }
  if (is_q) return;
  // Dimensions RoPE leaves alone (all of a V head).
  for (int i = (is_v ? 0 : a.n_rot) + threadIdx.x; i < a.head_dim; i += blockDim.x) store(i, head[i]);
}

// Causal attention of query head h of row r over the row's cache positions 0..pos, by the calling block:
// scores in `shared` (head_dim + max_keys floats), softmax in float, P·V with every thread on its own
// output dimensions; red holds a float per warp of the block.
__device__ inline void attend_head(const AttentionArgs& a, int r, int h, float* shared, float* red) {
  float* qs = shared;                   // head_dim
  float* scores = shared + a.head_dim;  // max_keys
  const RowDesc row = a.rows[r];
  const int n_keys = row.pos + 1;
  const int kv_dim = a.n_head_kv * a.head_dim;
  const int kv_head = h / (a.n_head / a.n_head_kv);
  const int64_t base = a.layer * row.layer_stride + kv_head * a.head_dim;
  const float* q = a.qkv + static_cast<int64_t>(r) * a.ld + h * a.head_dim;
  for (int i = threadIdx.x; i < a.head_dim; i += blockDim.x)
    qs[i] = a.f16_cache ? __half2float(__float2half_rn(q[i])) : q[i];
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, n_warps = blockDim.x >> 5;
  for (int p = warp; p < n_keys; p += n_warps) {
    float dot = 0.0f;
    for (int i = lane; i < a.head_dim; i += 32)
      dot += qs[i] * load_kv(row.k, base + static_cast<int64_t>(p) * kv_dim + i, a.f16_cache);
    dot = warp_reduce(dot, Add{});
    if (lane == 0) {
      float s = dot * a.scale;
      if (a.window > 0 && p < n_keys - a.window) s = -INFINITY;
      scores[p] = s;
    }
  }
  __syncthreads();
  float m = -FLT_MAX;
  for (int p = threadIdx.x; p < n_keys; p += blockDim.x) m = fmaxf(m, scores[p]);
  m = warp_reduce(m, Max{});
  if (lane == 0) red[warp] = m;
  __syncthreads();
  m = red[0];
  for (int w = 1; w < n_warps; ++w) m = fmaxf(m, red[w]);
  __syncthreads();
  float sum = 0.0f;
  for (int p = threadIdx.x; p < n_keys; p += blockDim.x) {
    const float e = expf(scores[p] - m);
    scores[p] = e;
    sum += e;
  }
  sum = warp_reduce(sum, Add{});
  if (lane == 0) red[warp] = sum;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < n_warps; ++w) total += red[w];
  const float inv = static_cast<float>(1.0 / total);
  const bool round_p = a.f16_cache && row.decode;
  for (int p = threadIdx.x; p < n_keys; p += blockDim.x) {
    const float pr = scores[p] * inv;
    scores[p] = round_p ? __half2float(__float2half_rn(pr)) : pr;
  }
  __syncthreads();
  float* out = a.out + static_cast<int64_t>(r) * a.ld_out + h * a.head_dim;
  for (int i = threadIdx.x; i < a.head_dim; i += blockDim.x) {
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int p = 0;
    for (; p + 4 <= n_keys; p += 4)
#pragma unroll
      for (int u = 0; u < 4; ++u)
        acc[u] += scores[p + u] * load_kv(row.v, base + static_cast<int64_t>(p + u) * kv_dim + i, a.f16_cache);
    for (; p < n_keys; ++p)
      acc[0] += scores[p] * load_kv(row.v, base + static_cast<int64_t>(p) * kv_dim + i, a.f16_cache);
    out[i] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
}

}  // namespace trit::cuda
