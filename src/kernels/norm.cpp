// RMSNorm: squares in float summed in double, then one float scale (as ggml's rms_norm); the loops at the
// active kernel level (kernels/elementwise.h).
#include "kernels/norm.h"

#include "kernels/elementwise.h"

namespace trit::kernels {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  rms_norm(x, weight, out, n, eps, runtime::active_isa());
}

}  // namespace trit::kernels
