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
#include "cuda/decode_step.cuh"
#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/quantize_row.cuh"

namespace trit::cuda {
namespace {

constexpr int kThreads = 512;
static_assert(kThreads / 32 <= kDecodeMaxWarps);

// The int8 row of a stage's input and the attention scores share the dynamic shared memory.
size_t shared_bytes(int max_padded_cols, int head_dim, int max_keys) {
  return std::max(static_cast<size_t>(max_padded_cols), attention_shared_bytes(head_dim, max_keys));
}

__global__ void __launch_bounds__(kThreads, 1) decode_step_kernel(DecodeStepArgs a) {
  extern __shared__ __align__(16) unsigned char dynamic_shared[];
  __shared__ DecodeShared sh;
  decode_step_layers(a, cooperative_groups::this_grid(), dynamic_shared, sh);
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
  const int widest = std::max({padded_128(args.n_embd), padded_128(args.n_embd_q), padded_128(args.n_ff)});
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
