// CUDA errors as trit::Error.
#include "cuda/launch_check.h"
#include "runtime/error.h"

namespace trit::cuda {

void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status == cudaSuccess) return;
  trit::fail("CUDA error {} ({}) in {} at {}:{}", cudaGetErrorName(status), cudaGetErrorString(status), what, file,
             line);
}

}  // namespace trit::cuda
