// Element-wise functions of the transformer: softmax and the gated-FFN activations.
#pragma once

#include <cstdint>

namespace trit::kernels {

// In place, numerically stable (max subtracted).
void softmax(float* x, int64_t n);

// Gated FFN: gate[i] = act(gate[i]) * up[i].
//   SiLU: x / (1 + e^-x)       (LLaMA, 1bitLLM bitnet_b1_58)
//   ReLU²: max(x, 0)^2         (BitNet-b1.58-2B-4T)
enum class FfnActivation { kSilu, kReluSqr };
void gated_activation(float* gate, const float* up, int64_t n, FfnActivation act);

}  // namespace trit::kernels
