// A linear layer as the forward pass sees it, in the form its file type allows:
//   kI2         ternary weights for the fast kernels (I2_S in place from the mapped file, other
//               ternary types repacked at load): BitLinear with int8 activations
//   kTernaryRef ternary weights whose 256-weight blocks have different scales (some TQ1_0/TQ2_0
//               files): the reference BitLinear, one rescale per block
//   kF16        half-precision weights read in place; inputs rounded to f16 first, as ggml does
//   kQ8         Q8_0 weights (in place, or F16/F32/Q6_K outputs quantised at load): activations
//               quantised per 32-value block as llama.cpp's q8_0 x q8_0 dot does
//   kF32        float weights (F32 in place, or BF16 decoded at load)
// plus the optional per-tensor output scale some converters store beside a weight ("<name>.scale").
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/i2_matrix.h"
#include "runtime/huge_buffer.h"
#include "runtime/thread_pool.h"
#include "tensor/ternary.h"

namespace trit::model {

struct Linear {
  enum class Kind { kI2, kTernaryRef, kF16, kQ8, kF32 };
  std::string name;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  Kind kind = Kind::kF32;
  kernels::I2Matrix i2;
  tensor::TernaryMatrix ternary;
  const uint16_t* f16 = nullptr;  // rows * cols, in the mapped file
  const uint8_t* q8 = nullptr;    // rows * cols / 32 blocks of 34 bytes
  const float* f32 = nullptr;     // rows * cols, in the mapped file or in `dense`
  std::vector<float> dense;
  runtime::HugeBuffer q8_owned;  // Q8_0 bytes quantised at load (q8 points here)
  float out_scale = 1.0f;

  // y[t][rows] = W x[t][cols] for n_tokens tokens stored contiguously; rows split across the pool.
  void forward(const float* x, int64_t n_tokens, float* y, runtime::ThreadPool& pool) const;
  // Bytes of weights read per token (for bandwidth figures).
  int64_t weight_bytes() const;
};

// Several layers that read the same input (Q, K, V; gate, up), run as one parallel job: the input is
// quantised once and the threads share one barrier. Falls back to one forward each when the layers
// are not all kI2.
void forward_shared_input(const std::vector<std::pair<const Linear*, float*>>& layers, const float* x, int64_t n_tokens,
                          runtime::ThreadPool& pool);

}  // namespace trit::model
