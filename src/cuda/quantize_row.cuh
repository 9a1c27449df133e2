// quantize_row: one row through the norm and the int8 activation quantisation by the calling block,
// shared by quantize_rows / glu_quantize_rows (rows.cu) and the persistent decode kernel (decode_step.cu).
#pragma once

#include "cuda/kernels.h"
#include "cuda/row_math.cuh"

namespace trit::cuda {

constexpr int kQuantPer = 16;  // values per thread, in registers: up to 16384 columns with 1024 threads

struct QuantInput {
  const float* x;  // [n][ld]: the row, or gate (then up at + cols)
  int ld, cols;
  bool glu;
  GluAct act;
};

struct QuantScratch {
  double d[32];
  float f[32];
  int32_t i[32];
};

// Row r of `in` (x, or act(gate) * up for the FFN), each thread holding up to kQuantPer of its values (one
// read of the row): the optional RMSNorm by norm_w, absmax, int8 rounding into out.q's row r, and its
// scale and sum (out.scale[r], out.sum[r], written by thread 0). normed_out (optional) receives the float
// row after the norm. Every thread of the block calls it (block-wide reductions);
// out.padded_cols <= blockDim.x * kQuantPer.
__device__ inline void quantize_row(const QuantInput& in, int64_t r, const float* norm_w, float eps,
                                    const QuantizedRows& out, float* normed_out, int ld_normed, QuantScratch& sh) {
  const float* row = in.x + r * in.ld;
  float v[kQuantPer];
#pragma unroll
  for (int j = 0; j < kQuantPer; ++j) {
    const int i = threadIdx.x + j * static_cast<int>(blockDim.x);
    v[j] = 0.0f;
    if (i < in.cols) v[j] = in.glu ? gated(row[i], row[in.cols + i], in.act) : row[i];
  }
  if (norm_w) {
    // 1 / sqrt(mean(x^2) + eps): squares in float summed in double, as the CPU's rms_norm.
    double ss = 0.0;
#pragma unroll
    for (int j = 0; j < kQuantPer; ++j) ss += static_cast<double>(__fmul_rn(v[j], v[j]));
    const float s = rms_inverse(block_reduce(ss, Add{}, 0.0, sh.d), in.cols, eps);
#pragma unroll
    for (int j = 0; j < kQuantPer; ++j) {
      const int i = threadIdx.x + j * static_cast<int>(blockDim.x);
      if (i < in.cols) v[j] = __fmul_rn(__fmul_rn(v[j], s), norm_w[i]);
    }
  }
  float amax = 0.0f;
#pragma unroll
  for (int j = 0; j < kQuantPer; ++j) {
    const int i = threadIdx.x + j * static_cast<int>(blockDim.x);
    amax = fmaxf(amax, fabsf(v[j]));
    if (normed_out && i < in.cols) normed_out[r * ld_normed + i] = v[j];
  }
  amax = block_reduce(amax, Max{}, 0.0f, sh.f);
  // The division in double, then rounded to float, as bitnet.cpp's quantize_row_i8_s.
  const float scale = static_cast<float>(127.0 / fmax(static_cast<double>(amax), 1e-5));
  int8_t* q = out.q + r * out.padded_cols;
  int32_t sum = 0;
#pragma unroll
  for (int j = 0; j < kQuantPer; ++j) {
    const int i = threadIdx.x + j * static_cast<int>(blockDim.x);
    if (i < out.padded_cols) {
      // Padding (i >= cols) holds 0, which quantises to 0.
      const float c = fminf(fmaxf(__fmul_rn(v[j], scale), -128.0f), 127.0f);
      const int32_t qi = __float2int_rn(c);  // half to even
      q[i] = static_cast<int8_t>(qi);
      sum += qi;
    }
  }
  sum = block_reduce(sum, Add{}, 0, sh.i);
  if (threadIdx.x == 0) {
    out.scale[r] = scale;
    out.sum[r] = sum;
  }
}

}  // namespace trit::cuda
