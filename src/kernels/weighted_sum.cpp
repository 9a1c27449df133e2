// The reference order of attention's sum of value rows, and the dispatch.
#include "kernels/weighted_sum.h"

#include <algorithm>

namespace trit::kernels {

void weighted_sum_scalar(const WeightedSumArgs& a) {
  std::fill(a.out, a.out + a.dim, 0.0f);
  for (int64_t p = 0; p < a.n; ++p) {
    const float w = a.w[p];
    const float* row = a.rows + p * a.stride;
    for (int64_t d = 0; d < a.dim; ++d) a.out[d] += w * row[d];
  }
}

void weighted_sum(const WeightedSumArgs& args, runtime::IsaLevel isa) {
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return weighted_sum_avx512(args);
    case runtime::IsaLevel::kAvxVnni:  // AVX-VNNI adds only the integer dot product: the AVX2 kernel
    case runtime::IsaLevel::kAvx2:
      return weighted_sum_avx2(args);
#endif
    default:
      return weighted_sum_scalar(args);
  }
}

}  // namespace trit::kernels
