// Q8_0 weights x Q8_0-quantised activations (llama.cpp's q8_0 x q8_0 dot): the fast output projection
// for Q8_0 files and for F16/Q6_K outputs repacked to Q8_0 at load. Per 32-weight block the integer
// dot runs in 8 int32 lanes of 4 products (as maddubs+madd and vpdpbusd produce them); each lane is
// scaled by d_w * d_x and summed with a fused multiply-add; the 8 lanes are folded 4, 2, 1. Every level
// follows that order, so results are bit-identical across levels.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/cpu_features.h"

namespace trit::kernels {

inline constexpr int64_t kQ8Block = 32;
inline constexpr int64_t kQ8BlockBytes = 34;  // f16 d, then 32 int8 (block_q8_0)

// Activations quantised per 32-value block: d = max|x| / 127, q = round(x / d) (llama.cpp's
// quantize_row_q8_0_ref; ties away from zero).
struct Q8_0Activations {
  int64_t cols = 0;
  std::vector<int8_t> q;
  std::vector<float> d;
  void quantize(const float* x, int64_t cols);
};

struct Q8GemvArgs {
  const uint8_t* w;  // row r at w + r * (cols / 32) * 34
  int64_t cols;      // multiple of 32
  const int8_t* q;   // cols activations
  const float* d;    // cols / 32 activation scales
  float* y;
  int64_t row_begin, row_end;
};

void q8_gemv(const Q8GemvArgs& args, runtime::IsaLevel isa);
void q8_gemv_scalar(const Q8GemvArgs& args);
void q8_gemv_avx2(const Q8GemvArgs& args);
void q8_gemv_avx512(const Q8GemvArgs& args);
void q8_gemv_neon(const Q8GemvArgs& args);
// The common ending: fold the 8 lanes (4, 2, 1).
float fold8(float (&acc)[8]);

}  // namespace trit::kernels
