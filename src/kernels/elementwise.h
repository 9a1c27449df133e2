// The element-wise kernels at an explicit level: RMSNorm, activation quantisation, softmax and the gated
// FFN activations. norm.h, bitlinear.h and activations.h call these at runtime::active_isa(); every level
// gives bit-identical results (the lane order is fixed, elementwise_args.h), so the level never changes output.
#pragma once

#include <cstdint>

#include "kernels/activations.h"
#include "runtime/cpu_features.h"

namespace trit::kernels {

// e^x in float: range reduction by ln 2, a degree-7 polynomial evaluated with FMA, scaling by 2^n in two
// steps (so that denormal results are right). Relative error below 4e-7 for results >= FLT_MIN; 0 below
// x = -104 (gradual underflow before), inf above ln(FLT_MAX), NaN for NaN. The same operations at every level.
float exp_poly(float x);

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps, runtime::IsaLevel isa);
// As quantize_activations (bitlinear.h); also writes the sum of q to *q_sum when q_sum is not null.
float quantize_activations(const float* x, int64_t n, int8_t* q, int32_t* q_sum, runtime::IsaLevel isa);
void softmax(float* x, int64_t n, runtime::IsaLevel isa);
void gated_activation(float* gate, const float* up, int64_t n, FfnActivation act, runtime::IsaLevel isa);

}  // namespace trit::kernels
