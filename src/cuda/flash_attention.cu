// Causal attention for long prompts over an f16 cache, flash style on the tensor cores: one block per
// (tile of up to 32 consecutive rows of one sequence, query head) walks the sequence's cache 32 keys at a
// time. Each tile of keys and values is read once into shared memory for all of the tile's rows; S = Q·Kᵀ
// and O += P·V are half-precision MMAs (WMMA 16x16x16) with float accumulation; the softmax is online
// (a running maximum and sum per row), so no row's scores are ever held whole and the cache is read once
// per 32 rows instead of once per row.
//
// Numbers: Q is rounded to f16 as the CPU rounds it for an f16 cache and K is f16, so the products of
// Q·K are exact (only the float summation order differs). The attention weights P go into the P·V
// product as two f16 parts, P = hi + lo with hi = f16(P), lo = f16(P - hi), in two MMAs: P to about 22
// bits, where f16 alone would keep 11, so the output stays the row kernel's to float rounding.
#include <cuda_fp16.h>
#include <mma.h>

#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/row_math.cuh"

namespace trit::cuda {
namespace {

using namespace nvcuda;

constexpr int kWarps = 4;
constexpr int kRows = kAttnTileRows;  // 32 query rows per block
constexpr int kKeys = 32;             // keys per step
constexpr int kRowsPerWarp = kRows / kWarps;

// Shared memory, each part starting 128-byte aligned (WMMA wants 32): Q, K and V as half with rows padded
// by 8 (ld a multiple of 8, rows off the same banks), the scores S and the output O as float, P's two
// half parts, and per row the running maximum, sum and this step's rescale factor.
struct Layout {
  int ld_h, ld_s, ld_p, ld_o;
  size_t q, k, v, s, p_hi, p_lo, o, m, l, c, bytes;
};

__host__ __device__ constexpr size_t align128(size_t x) { return (x + 127) / 128 * 128; }

__host__ __device__ Layout layout_for(int hd) {
  Layout L{};
  L.ld_h = hd + 8;
  L.ld_s = kKeys + 4;
  L.ld_p = kKeys + 8;
  L.ld_o = hd + 4;
  size_t at = 0;
  L.q = at, at = align128(at + sizeof(__half) * kRows * L.ld_h);
  L.k = at, at = align128(at + sizeof(__half) * kKeys * L.ld_h);
  L.v = at, at = align128(at + sizeof(__half) * kKeys * L.ld_h);
  L.s = at, at = align128(at + sizeof(float) * kRows * L.ld_s);
  L.p_hi = at, at = align128(at + sizeof(__half) * kRows * L.ld_p);
  L.p_lo = at, at = align128(at + sizeof(__half) * kRows * L.ld_p);
  L.o = at, at = align128(at + sizeof(float) * kRows * L.ld_o);
  L.m = at, at = align128(at + sizeof(float) * kRows);
  L.l = at, at = align128(at + sizeof(float) * kRows);
  L.c = at, at = align128(at + sizeof(float) * kRows);
  L.bytes = at;
  return L;
}

__global__ void __launch_bounds__(kWarps * 32) flash_attention_kernel(AttentionArgs a, const AttnTile* tiles) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int hd = a.head_dim;
  const Layout L = layout_for(hd);
  __half* qs = reinterpret_cast<__half*>(smem + L.q);
  __half* ks = reinterpret_cast<__half*>(smem + L.k);
  __half* vs = reinterpret_cast<__half*>(smem + L.v);
  float* ss = reinterpret_cast<float*>(smem + L.s);
  __half* p_hi = reinterpret_cast<__half*>(smem + L.p_hi);
  __half* p_lo = reinterpret_cast<__half*>(smem + L.p_lo);
  float* os = reinterpret_cast<float*>(smem + L.o);
  float* ms = reinterpret_cast<float*>(smem + L.m);
  float* ls = reinterpret_cast<float*>(smem + L.l);
  float* cs = reinterpret_cast<float*>(smem + L.c);

  const AttnTile tile = tiles[blockIdx.x];
  const int h = blockIdx.y;
  const RowDesc first = a.rows[tile.row0];
  const int kv_dim = a.n_head_kv * hd;
  const int kv_head = h / (a.n_head / a.n_head_kv);
  const __half* kc = static_cast<const __half*>(first.k) + a.layer * first.layer_stride + kv_head * hd;
  const __half* vc = static_cast<const __half*>(first.v) + a.layer * first.layer_stride + kv_head * hd;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

  // Q rows (zero beyond the tile), O = 0, running maximum -inf and sum 0.
  for (int i = tid; i < kRows * hd; i += blockDim.x) {
    const int r = i / hd, d = i % hd;
    const float q = r < tile.rows ? a.qkv[static_cast<int64_t>(tile.row0 + r) * a.ld + h * hd + d] : 0.0f;
    qs[r * L.ld_h + d] = __float2half_rn(q);
    os[r * L.ld_o + d] = 0.0f;
  }
  if (tid < kRows) {
    ms[tid] = -INFINITY;
    ls[tid] = 0.0f;
  }

  const int n_keys = first.pos + tile.rows;  // the tile's last row sees positions 0..first.pos + rows - 1
  const int chunks = hd / 8;                 // 16-byte pieces of a cache row
  for (int k0 = 0; k0 < n_keys; k0 += kKeys) {
    const int nk = min(kKeys, n_keys - k0);
    __syncthreads();  // the previous step's K, V and P are consumed (and Q, O stored the first time)
    for (int i = tid; i < kKeys * chunks; i += blockDim.x) {
      const int j = i / chunks, c = i % chunks;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (j < nk) {
        const int64_t at = static_cast<int64_t>(k0 + j) * kv_dim + c * 8;
        kv = *reinterpret_cast<const uint4*>(kc + at);
        vv = *reinterpret_cast<const uint4*>(vc + at);
      }
      *reinterpret_cast<uint4*>(ks + j * L.ld_h + c * 8) = kv;
      *reinterpret_cast<uint4*>(vs + j * L.ld_h + c * 8) = vv;
    }
    __syncthreads();
    // S = Q·Kᵀ: the 32x32 scores as four 16x16 tiles, one per warp.
    {
      const int r0 = (warp >> 1) * 16, j0 = (warp & 1) * 16;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int d0 = 0; d0 < hd; d0 += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> qf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> kf;  // Kᵀ: K's rows as columns
        wmma::load_matrix_sync(qf, qs + r0 * L.ld_h + d0, L.ld_h);
        wmma::load_matrix_sync(kf, ks + j0 * L.ld_h + d0, L.ld_h);
        wmma::mma_sync(acc, qf, kf, acc);
      }
      wmma::store_matrix_sync(ss + r0 * L.ld_s + j0, acc, L.ld_s, wmma::mem_row_major);
    }
    __syncthreads();
    // Online softmax, a warp per row and a lane per key: P = exp(s - m_new) split into its f16 parts, the
    // row's sum and maximum updated, the factor that rescales its O kept for the P·V step.
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr;
      const int pos = first.pos + r, key = k0 + lane;
      const bool visible = r < tile.rows && lane < nk && key <= pos && !(a.window > 0 && key <= pos - a.window);
      const float s = visible ? ss[r * L.ld_s + lane] * a.scale : -INFINITY;
      const float step_max = warp_reduce(s, Max{});
      float p = 0.0f, correction = 1.0f, m = ms[r];
      if (step_max != -INFINITY) {  // some key of this step is visible to the row
        const float m_new = fmaxf(m, step_max);
        correction = expf(m - m_new);  // 0 at the row's first visible step (m = -inf)
        p = visible ? expf(s - m_new) : 0.0f;
        m = m_new;
      }
      const __half hi = __float2half_rn(p);
      p_hi[r * L.ld_p + lane] = hi;
      p_lo[r * L.ld_p + lane] = __float2half_rn(p - __half2float(hi));
      const float sum = warp_reduce(p, Add{});
      if (lane == 0) {
        ls[r] = ls[r] * correction + sum;
        ms[r] = m;
        cs[r] = correction;
      }
    }
    __syncthreads();
    for (int i = tid; i < kRows * hd; i += blockDim.x) {
      const int r = i / hd, d = i % hd;
      os[r * L.ld_o + d] *= cs[r];
    }
    __syncthreads();
    // O += P·V: the 32 x hd output as 16x16 tiles shared out over the warps.
    const int col_tiles = hd / 16;
    for (int t = warp; t < 2 * col_tiles; t += kWarps) {
      const int r0 = (t / col_tiles) * 16, c0 = (t % col_tiles) * 16;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, os + r0 * L.ld_o + c0, L.ld_o, wmma::mem_row_major);
#pragma unroll
      for (int j0 = 0; j0 < kKeys; j0 += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> hi, lo;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> vf;
        wmma::load_matrix_sync(hi, p_hi + r0 * L.ld_p + j0, L.ld_p);
        wmma::load_matrix_sync(lo, p_lo + r0 * L.ld_p + j0, L.ld_p);
        wmma::load_matrix_sync(vf, vs + j0 * L.ld_h + c0, L.ld_h);
        wmma::mma_sync(acc, lo, vf, acc);
        wmma::mma_sync(acc, hi, vf, acc);
      }
      wmma::store_matrix_sync(os + r0 * L.ld_o + c0, acc, L.ld_o, wmma::mem_row_major);
    }
  }
  __syncthreads();
  for (int i = tid; i < tile.rows * hd; i += blockDim.x) {
    const int r = i / hd, d = i % hd;
    a.out[static_cast<int64_t>(tile.row0 + r) * a.ld_out + h * hd + d] = os[r * L.ld_o + d] / ls[r];
  }
}

}  // namespace

bool flash_attention_reserve(int head_dim) {
  if (head_dim % 16 != 0 || head_dim > kMaxFlashHeadDim) return false;
  int device = 0, limit = 0;
  TRIT_CUDA_CHECK(cudaGetDevice(&device));
  TRIT_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const size_t bytes = layout_for(head_dim).bytes;
  if (bytes > static_cast<size_t>(limit)) return false;
  TRIT_CUDA_CHECK(cudaFuncSetAttribute(flash_attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(bytes)));
  return true;
}

void flash_attention(const AttentionArgs& args, const AttnTile* tiles, int n_tiles, cudaStream_t stream) {
  if (n_tiles == 0) return;
  const dim3 grid(n_tiles, args.n_head);
  flash_attention_kernel<<<grid, kWarps * 32, layout_for(args.head_dim).bytes, stream>>>(args, tiles);
  TRIT_CUDA_LAUNCHED();
}

}  // namespace trit::cuda
