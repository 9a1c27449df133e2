// Attention's P·V as a sum of value rows: out[d] = sum over p, in order, of w[p] * rows[p][d]. Every
// output element is its own chain, so the levels vectorise across d and stay bit-identical to the plain
// loop (on x86 the product is rounded before the add, as the baseline build computes it; AArch64 has
// only the plain loop, which the compiler vectorises with fused multiply-adds).
#pragma once

#include <cstdint>

#include "runtime/cpu_features.h"

namespace trit::kernels {

struct WeightedSumArgs {
  const float* w;     // n weights
  int64_t n;          // rows
  const float* rows;  // row p at rows + p * stride, dim floats
  int64_t stride;
  float* out;  // dim floats, overwritten
  int64_t dim;
};

void weighted_sum(const WeightedSumArgs& args, runtime::IsaLevel isa);
void weighted_sum_scalar(const WeightedSumArgs& args);
void weighted_sum_avx2(const WeightedSumArgs& args);
void weighted_sum_avx512(const WeightedSumArgs& args);

}  // namespace trit::kernels
