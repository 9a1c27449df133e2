// BitLinear, the ternary linear layer of BitNet b1.58 (reference path):
//   1. activations quantised per token to int8 by absmax: s = 127 / max|x|, q = round(x * s) in [-128, 127]
//   2. integer dot products of q with the ternary weights (-1/0/+1), accumulated in int32
//   3. one float rescale per output: y = acc / s * weight_scale
// The rounding (half to even) and the 1e-5 floor on max|x| follow bitnet.cpp's quantize_row_i8_s.
#pragma once

#include <cstdint>
#include <span>

#include "tensor/ternary.h"

namespace trit::kernels {

// Quantises n floats to int8; returns the activation scale s (127 / max|x|).
float quantize_activations(const float* x, int64_t n, int8_t* q);

// y[r] = sum_c W[r][c] * x[c] with x given quantised (q, x_scale); W in the reference ternary form.
// Groups with their own scales (TQ1_0/TQ2_0) are accumulated in int32 per group, then rescaled.
// Computes rows [row_begin, row_end) of y.
void ternary_matvec(const tensor::TernaryMatrix& w, const int8_t* q, float x_scale, float* y, int64_t row_begin,
                    int64_t row_end);

// Float mat-vec y[r] = sum_c W[r * cols + c] * x[c] (embeddings used as the output layer, float weights).
// Computes rows [row_begin, row_end) of y.
void float_matvec(const float* w, int64_t cols, const float* x, float* y, int64_t row_begin, int64_t row_end);

}  // namespace trit::kernels
