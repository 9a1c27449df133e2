// Kernel launches with programmatic dependent launch (PDL, sm_90 and later): a kernel may start while
// the one before it on the stream is still running, does what does not depend on it (loading weights),
// then waits for it at wait_for_previous(). Every kernel launched through launch() calls
// wait_for_previous() before it touches anything the previous kernels write, and allow_next() to let the
// next one start early. Without PDL (older GPUs, TRIT_CUDA_PDL=0, the tests' plain launches) both are
// no-ops and the stream serialises as usual.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "cuda/launch_check.h"
#include "cuda/pdl.h"

namespace trit::cuda {

__device__ __forceinline__ void wait_for_previous() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_next() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// kernel<<<grid, block, shared, stream>>>(args...), with the PDL attribute when pdl_launches() is on.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared, cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = pdl_launches() ? 1 : 0;
  TRIT_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

}  // namespace trit::cuda
