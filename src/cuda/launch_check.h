// Error checks for CUDA calls and kernel launches: a failure becomes a trit::Error naming the call, the
// CUDA error and the source line (check.cpp, compiled by the host compiler).
#pragma once

#include <cuda_runtime.h>

namespace trit::cuda {

// Throws trit::Error when status is not cudaSuccess.
void check(cudaError_t status, const char* what, const char* file, int line);

}  // namespace trit::cuda

#define TRIT_CUDA_CHECK(call) ::trit::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: a bad configuration shows up here, at the launch that made it.
#define TRIT_CUDA_LAUNCHED() ::trit::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
