// RoPE with the KV-cache store, and causal attention over each row's own cache: one block per (row,
// query head). Scores stay in shared memory (max_keys floats), softmax in float, P·V with every thread
// on its own output dimensions. With an f16 cache the query is rounded to f16 before Q·K, and a lone
// new token's attention weights before P·V, as the CPU path (and ggml) round them.
#include <cuda_fp16.h>

#include <cfloat>

#include "cuda/attention.cuh"
#include "cuda/kernels.h"
#include "cuda/launch_check.h"
#include "cuda/row_math.cuh"

namespace trit::cuda {
namespace {

constexpr int kThreads = 128;

// One block per (row, head) over every Q, K and V head of the row (rope_store_head).
__global__ void __launch_bounds__(kThreads) rope_store_kernel(RopeStoreArgs a) {
  __shared__ double shared_d[32];
  rope_store_head(a, blockIdx.x, blockIdx.y, shared_d);
}

// One block per (row, query head) (attend_head).
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionArgs a) {
  extern __shared__ float shared[];
  __shared__ float red[kThreads / 32];
  const int r = a.row_list ? a.row_list[blockIdx.x] : static_cast<int>(blockIdx.x);
  attend_head(a, r, blockIdx.y, shared, red);
}

}  // namespace

void rope_store(const RopeStoreArgs& args, cudaStream_t stream) {
  if (args.n == 0) return;
  const dim3 grid(args.n, args.n_head + 2 * args.n_head_kv);
  rope_store_kernel<<<grid, kThreads, 0, stream>>>(args);
  TRIT_CUDA_LAUNCHED();
}

bool attention_reserve(int max_keys) {
  int device = 0, limit = 0;
  TRIT_CUDA_CHECK(cudaGetDevice(&device));
  TRIT_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const size_t bytes = attention_shared_bytes(512, max_keys) + 64;  // head_dim up to 512, plus the reduction
  if (bytes > static_cast<size_t>(limit)) return false;
  TRIT_CUDA_CHECK(
      cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  return true;
}

void attention(const AttentionArgs& args, cudaStream_t stream) {
  if (args.n == 0) return;
  const dim3 grid(args.n, args.n_head);
  attention_kernel<<<grid, kThreads, attention_shared_bytes(args.head_dim, args.max_keys), stream>>>(args);
  TRIT_CUDA_LAUNCHED();
}

}  // namespace trit::cuda
