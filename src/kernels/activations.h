// Element-wise functions of the transformer: softmax and the gated-FFN activations.
#pragma once

#include <cstdint>

namespace trit::kernels {

// In place, numerically stable (max subtracted).
void softmax(float* x, int64_t n);

// Gated FFN: gate[i] = act(gate[i]) * up[i].
//   SiLU: x / (1 + e^-x)       (LLaMA, 1bitLLM bitnet_b1_58)
//   ReLU²: max(x, 0)^2         (BitNet-b1.58-2B-4T)
//   GELU (tanh approximation): x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
//                              (Gemma 3: HF's gelu_pytorch_tanh, ggml's gelu)
enum class FfnActivation { kSilu, kReluSqr, kGeluTanh };
float gelu_tanh(float x);
void gated_activation(float* gate, const float* up, int64_t n, FfnActivation act);

}  // namespace trit::kernels
