// Row conversions: the scalar reference (tensor/codec.h) and the dispatch.
#include "kernels/f16_convert.h"

#include "tensor/codec.h"

namespace trit::kernels {

void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n, runtime::IsaLevel isa) {
#if defined(__x86_64__)
  if (isa != runtime::IsaLevel::kScalar) return f16_to_f32_row_f16c(src, dst, n);
#endif
#if defined(__aarch64__)
  if (isa == runtime::IsaLevel::kNeon) return f16_to_f32_row_neon(src, dst, n);
#endif
  (void)isa;
  for (int64_t i = 0; i < n; ++i) dst[i] = tensor::f16_to_f32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n, runtime::IsaLevel isa) {
#if defined(__x86_64__)
  if (isa != runtime::IsaLevel::kScalar) return f32_to_f16_row_f16c(src, dst, n);
#endif
#if defined(__aarch64__)
  if (isa == runtime::IsaLevel::kNeon) return f32_to_f16_row_neon(src, dst, n);
#endif
  (void)isa;
  for (int64_t i = 0; i < n; ++i) dst[i] = tensor::f32_to_f16(src[i]);
}

}  // namespace trit::kernels
