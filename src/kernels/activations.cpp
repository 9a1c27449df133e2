// Softmax and FFN activations at the active kernel level (kernels/elementwise.h; gelu_tanh and the
// scalar loops are in elementwise.cpp).
#include "kernels/activations.h"

#include "kernels/elementwise.h"

namespace trit::kernels {

void softmax(float* x, int64_t n) { softmax(x, n, runtime::active_isa()); }

void gated_activation(float* gate, const float* up, int64_t n, FfnActivation act) {
  gated_activation(gate, up, n, act, runtime::active_isa());
}

}  // namespace trit::kernels
