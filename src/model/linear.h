// A linear layer as the forward pass sees it: ternary (BitLinear, int8 activations) or float weights,
// with the optional extra per-tensor scale some converters store beside the weight ("<name>.scale").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/thread_pool.h"
#include "tensor/ternary.h"

namespace trit::model {

struct Linear {
  std::string name;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  bool is_ternary = false;
  tensor::TernaryMatrix ternary;    // when is_ternary
  std::vector<float> dense;         // rows * cols floats otherwise
  float out_scale = 1.0f;           // "<name>.scale" tensor, 1 when absent
  bool round_input_to_f16 = false;  // F16 weights: inputs rounded to f16 first, as ggml's f16 mat-mul does

  // y[t][rows] = W x[t][cols] for n_tokens tokens stored contiguously; rows split across the pool.
  // Ternary weights quantise each token's activations to int8 first (kernels/bitlinear.h).
  void forward(const float* x, int64_t n_tokens, float* y, runtime::ThreadPool& pool) const;
};

}  // namespace trit::model
