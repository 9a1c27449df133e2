// The reference order of the F16 mat-vec, and the dispatch.
#include "kernels/f16_gemv.h"

#include <cmath>

#include "tensor/codec.h"

namespace trit::kernels {

void f16_gemv_scalar(const F16GemvArgs& a) {
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * a.cols;
    float acc[16] = {};
    for (int64_t c = 0; c < a.cols; c += 16)
      for (int64_t j = 0; j < 16 && c + j < a.cols; ++j)
        acc[j] = std::fma(tensor::f16_to_f32(row[c + j]), a.x[c + j], acc[j]);
    for (int s = 8; s >= 1; s /= 2)
      for (int j = 0; j < s; ++j) acc[j] += acc[j + s];
    a.y[r] = acc[0];
  }
}

void f16_gemv(const F16GemvArgs& args, runtime::IsaLevel isa) {
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return f16_gemv_avx512(args);
    case runtime::IsaLevel::kAvx2:
      return f16_gemv_avx2(args);
#endif
    default:
      return f16_gemv_scalar(args);
  }
}

}  // namespace trit::kernels
