// Half-precision weights x float vector: the output projection (often the tied F16 embedding, the
// largest tensor of a BitNet model) and attention over the f16 KV cache. Every level sums in ggml's
// AVX-512 order for ggml_vec_dot_f16 (64-element steps into 4 x 16 lanes of fused multiply-adds, the
// four folded 0+2, 1+3, 0+1, a 16-lane tree, the tail added in double), so results are bit-identical
// across levels and round as bitnet.cpp's do.
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
  int64_t ld = 0;  // row stride in elements; 0: cols
};

void f16_gemv(const F16GemvArgs& args, runtime::IsaLevel isa);
// The common ending of every level, after the SIMD kernels fold their 4 x 16 lanes in registers (in the
// reference's order): the tail [np, cols) added in double to the folded sum. Four rows at once
// (bit-identical per row; the tails' double chains interleave; folded may be y).
float f16_dot_tail(float folded, const uint16_t* row, const float* x, int64_t np, int64_t cols);
void f16_dot_tail4(const float* folded, const uint16_t* const (&rows)[4], const float* x, int64_t np, int64_t cols,
                   float* y);
void f16_gemv_scalar(const F16GemvArgs& args);

void f16_gemv_avx2(const F16GemvArgs& args);
void f16_gemv_avx512(const F16GemvArgs& args);
void f16_gemv_neon(const F16GemvArgs& args);

// The same for float weights (attention over f32 copies of the cache in a prompt batch), same order.
struct F32GemvArgs {
  const float* w;  // row r at w + r * (ld ? ld : cols)
  int64_t cols;
  const float* x;
  float* y;
  int64_t row_begin, row_end;
  int64_t ld = 0;
};
void f32_gemv(const F32GemvArgs& args, runtime::IsaLevel isa);
void f32_gemv_scalar(const F32GemvArgs& args);
void f32_gemv_avx2(const F32GemvArgs& args);
void f32_gemv_avx512(const F32GemvArgs& args);
void f32_gemv_neon(const F32GemvArgs& args);
float f32_dot_tail(float folded, const float* row, const float* x, int64_t np, int64_t cols);

}  // namespace trit::kernels
