// Linear::forward: quantise activations once per token, then each thread takes a band of output rows
// for every token (the weights of a band are read once per batch).
#include "model/linear.h"

#include <vector>

#include "kernels/bitlinear.h"
#include "tensor/codec.h"

namespace trit::model {

void Linear::forward(const float* x, int64_t n_tokens, float* y, runtime::ThreadPool& pool) const {
  if (is_ternary) {
    std::vector<int8_t> q(static_cast<size_t>(n_tokens * cols));
    std::vector<float> x_scales(static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t)
      x_scales[t] = kernels::quantize_activations(x + t * cols, cols, q.data() + t * cols);
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t t = 0; t < n_tokens; ++t)
            kernels::ternary_matvec(ternary, q.data() + t * cols, x_scales[t], y + t * rows, r0, r1);
        },
        16);
  } else {
    std::vector<float> rounded;
    if (round_input_to_f16) {
      rounded.resize(static_cast<size_t>(n_tokens * cols));
      for (size_t i = 0; i < rounded.size(); ++i) rounded[i] = tensor::f16_to_f32(tensor::f32_to_f16(x[i]));
      x = rounded.data();
    }
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t t = 0; t < n_tokens; ++t)
            kernels::float_matvec(dense.data(), cols, x + t * cols, y + t * rows, r0, r1);
        },
        16);
  }
  if (out_scale != 1.0f)
    for (int64_t i = 0; i < n_tokens * rows; ++i) y[i] *= out_scale;
}

}  // namespace trit::model
