// The k highest logits of each row on the GPU (sampling's top-k, so that only k logits travel to the
// host): every logit becomes a 64-bit key (the float's bits made orderable, then the complement of its
// id: higher logit first, equal logits with the lower id first, the CPU sampler's order); each block
// sorts a segment of 2048 keys (bitonic, in shared memory) and keeps its first k; passes repeat over the
// survivors until one segment is left.
#include <cstdint>

#include "cuda/kernels.h"
#include "cuda/launch_check.h"

namespace trit::cuda {
namespace {

constexpr int kSegment = 2048;
constexpr int kThreads = kSegment / 2;  // one compare-exchange per thread and stage

__device__ __forceinline__ uint64_t key_of(float v, int32_t id) {
  uint32_t bits = __float_as_uint(v == 0.0f ? 0.0f : v);  // -0 sorts as +0, as the CPU compares them
  bits = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
  if (v != v) bits = 0;  // NaN below everything
  return (static_cast<uint64_t>(bits) << 32) | (0xffffffffu - static_cast<uint32_t>(id));
}

__device__ __forceinline__ float logit_of(uint64_t key) {
  uint32_t bits = static_cast<uint32_t>(key >> 32);
  bits = (bits & 0x80000000u) ? bits & 0x7fffffffu : ~bits;
  return __uint_as_float(bits);
}

__device__ __forceinline__ int32_t id_of(uint64_t key) {
  return static_cast<int32_t>(0xffffffffu - static_cast<uint32_t>(key));
}

// Block (segment s, row r): the segment's keys (from logits, or the previous pass's survivors in
// in_keys) sorted in descending order; the first k_pad go to out_keys [r][s][k_pad], or, on the last
// pass, the first k as logits and ids [r][k].
__global__ void __launch_bounds__(kThreads)
    top_k_pass_kernel(const float* __restrict__ logits, const uint64_t* __restrict__ in_keys, int64_t len, int k_pad,
                      uint64_t* __restrict__ out_keys, int k, float* __restrict__ out_logits,
                      int32_t* __restrict__ out_ids) {
  __shared__ uint64_t keys[kSegment];
  const int64_t row = blockIdx.y, seg = blockIdx.x;
  const int64_t begin = seg * kSegment;
  for (int i = threadIdx.x; i < kSegment; i += kThreads) {
    const int64_t at = begin + i;
    uint64_t key = 0;  // padding: below every real key
    if (at < len) key = logits ? key_of(logits[row * len + at], static_cast<int32_t>(at)) : in_keys[row * len + at];
    keys[i] = key;
  }
  for (int size = 2; size <= kSegment; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      const int t = threadIdx.x;
      const int i = 2 * t - (t & (stride - 1));
      const int j = i + stride;
      const bool descending = (i & size) == 0;
      const uint64_t a = keys[i], b = keys[j];
      if ((a < b) == descending) {
        keys[i] = b;
        keys[j] = a;
      }
    }
  }
  __syncthreads();
  if (out_logits) {
    for (int i = threadIdx.x; i < k; i += kThreads) {
      out_logits[row * k + i] = logit_of(keys[i]);
      out_ids[row * k + i] = id_of(keys[i]);
    }
  } else {
    const int64_t segments = gridDim.x;
    for (int i = threadIdx.x; i < k_pad; i += kThreads) out_keys[(row * segments + seg) * k_pad + i] = keys[i];
  }
}

int64_t segments_of(int64_t len) { return (len + kSegment - 1) / kSegment; }

int pad_k(int k) {
  int p = 1;
  while (p < k) p <<= 1;
  return p;
}

}  // namespace

size_t top_k_scratch_bytes(int n, int cols, int k) {
  return static_cast<size_t>(2 * n * segments_of(cols) * pad_k(k)) * sizeof(uint64_t);
}

void top_k_rows(const float* logits, int n, int cols, int k, void* scratch, float* out_logits, int32_t* out_ids,
                cudaStream_t stream) {
  if (n == 0) return;
  if (k < 1 || k > kMaxTopK || k > cols) check(cudaErrorInvalidValue, "top_k_rows: k out of range", __FILE__, __LINE__);
  const int k_pad = pad_k(k);
  uint64_t* buffers[2] = {static_cast<uint64_t*>(scratch),
                          static_cast<uint64_t*>(scratch) + static_cast<int64_t>(n) * segments_of(cols) * k_pad};
  const uint64_t* in = nullptr;
  int64_t len = cols;
  for (int pass = 0;; ++pass) {
    const int64_t segments = segments_of(len);
    const bool last = segments == 1;
    uint64_t* out = buffers[pass & 1];
    const dim3 grid(static_cast<unsigned>(segments), static_cast<unsigned>(n));
    top_k_pass_kernel<<<grid, kThreads, 0, stream>>>(pass == 0 ? logits : nullptr, in, len, k_pad, out, k,
                                                     last ? out_logits : nullptr, last ? out_ids : nullptr);
    TRIT_CUDA_LAUNCHED();
    if (last) return;
    in = out;
    len = segments * k_pad;
  }
}

}  // namespace trit::cuda
