// Half-precision weights x float vector, for the output projection (often the tied F16 embedding, the
// largest tensor of a BitNet model) read straight from the mapped file. Every level sums in the same
// order (16 lanes of fused multiply-adds, then a fixed tree), so results are bit-identical across levels.
#pragma once

#include <cstdint>

#include "runtime/cpu_features.h"

namespace trit::kernels {

struct F16GemvArgs {
  const uint16_t* w;  // row r at w + r * cols
  int64_t cols;
  const float* x;  // cols floats
  float* y;        // y[r]
  int64_t row_begin, row_end;
};

void f16_gemv(const F16GemvArgs& args, runtime::IsaLevel isa);
void f16_gemv_scalar(const F16GemvArgs& args);
void f16_gemv_avx2(const F16GemvArgs& args);
void f16_gemv_avx512(const F16GemvArgs& args);

}  // namespace trit::kernels
