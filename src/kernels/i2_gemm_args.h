// The plain arguments of the per-level I2 kernels. The SIMD files see only this header (and the
// intrinsics), so no inline function from a shared header is ever compiled with AVX-512 (or dot-product)
// flags and picked by the linker for code that runs on CPUs without them.
#pragma once

#include <cstdint>

namespace trit::kernels {

struct I2GemmArgs {
  const uint8_t* w;     // row r at w + r * row_bytes (I2 block layout, i2_matrix.h)
  int64_t rows;         // rows of y (stride of a token's outputs)
  int64_t padded_cols;  // multiple of 128
  float w_scale;
  const int8_t* q;          // token t at q + t * padded_cols (natural or pair order, per level)
  const int8_t* q_natural;  // the same in natural order (q itself at every level but AVX-512)
  const float* x_scale;     // per token
  const int32_t* x_sum;     // per token
  int64_t n_tokens;
  float* y;  // y[t * rows + r]
  int64_t row_begin, row_end;
};

void i2_gemm_avx2_impl(const I2GemmArgs& args);
void i2_gemm_avxvnni_impl(const I2GemmArgs& args);
void i2_gemm_avx512_impl(const I2GemmArgs& args);
void i2_gemm_neon_impl(const I2GemmArgs& args);

}  // namespace trit::kernels
