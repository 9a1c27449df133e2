// RMSNorm, the only normalisation BitNet and LLaMA use: out = x / sqrt(mean(x^2) + eps) * weight.
#pragma once

#include <cstdint>

namespace trit::kernels {

// `weight` may be null (no learned gain). `out` may alias `x`.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

}  // namespace trit::kernels
