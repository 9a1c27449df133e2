// Q8_0 activation quantisation, the reference Q8_0 mat-vec and its dispatch.
#include "kernels/q8_gemv.h"

#include <cmath>
#include <cstring>

#include "tensor/codec.h"

namespace trit::kernels {

void Q8_0Activations::quantize(const float* x, int64_t n) {
  cols = n;
  q.resize(static_cast<size_t>(n));
  d.resize(static_cast<size_t>(n / kQ8Block));
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    float amax = 0.0f;
    for (int64_t j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(x[b * kQ8Block + j]));
    const float db = amax / 127.0f;
    const float id = db != 0.0f ? 1.0f / db : 0.0f;
    d[b] = tensor::f16_to_f32(tensor::f32_to_f16(db));  // stored as f16, as block_q8_0 does
    for (int64_t j = 0; j < kQ8Block; ++j)
      q[b * kQ8Block + j] = static_cast<int8_t>(std::round(x[b * kQ8Block + j] * id));
  }
}

float fold8(float (&acc)[8]) {
  for (int s = 4; s >= 1; s /= 2)
    for (int j = 0; j < s; ++j) acc[j] += acc[j + s];
  return acc[0];
}

void q8_gemv_scalar(const Q8GemvArgs& a) {
  const int64_t n_blocks = a.cols / kQ8Block;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint8_t* row = a.w + r * n_blocks * kQ8BlockBytes;
    float acc[8] = {};
    for (int64_t b = 0; b < n_blocks; ++b) {
      const uint8_t* block = row + b * kQ8BlockBytes;
      uint16_t d_bits;
      std::memcpy(&d_bits, block, 2);
      const float scale = tensor::f16_to_f32(d_bits) * a.d[b];
      const int8_t* qw = reinterpret_cast<const int8_t*>(block + 2);
      const int8_t* qx = a.q + b * kQ8Block;
      for (int j = 0; j < 8; ++j) {
        int32_t lane = 0;
        for (int i = 4 * j; i < 4 * j + 4; ++i) lane += qw[i] * qx[i];
        acc[j] = std::fma(static_cast<float>(lane), scale, acc[j]);
      }
    }
    a.y[r] = fold8(acc);
  }
}

void q8_gemv(const Q8GemvArgs& args, runtime::IsaLevel isa) {
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return q8_gemv_avx512(args);
    case runtime::IsaLevel::kAvxVnni:  // AVX-VNNI adds only the integer dot product: the AVX2 kernel
    case runtime::IsaLevel::kAvx2:
      return q8_gemv_avx2(args);
#endif
#if defined(__aarch64__)
    case runtime::IsaLevel::kNeon:
      return q8_gemv_neon(args);
#endif
    default:
      return q8_gemv_scalar(args);
  }
}

}  // namespace trit::kernels
