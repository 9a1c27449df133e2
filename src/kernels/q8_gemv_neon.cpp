// Q8_0 mat-vec for AArch64 NEON: per block two SDOTs give the reference's 8 int32 lanes of 4 products
// (lanes 0-3 from weights 0-15, 4-7 from 16-31), scaled and accumulated with fused multiply-adds in
// two registers of 4 float lanes, then folded 4, 2, 1 as every level does.
#include <arm_neon.h>

#include "kernels/q8_gemv.h"

namespace trit::kernels {

void q8_gemv_neon(const Q8GemvArgs& a) {
  const int64_t n_blocks = a.cols / kQ8Block;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint8_t* row = a.w + r * n_blocks * kQ8BlockBytes;
    float32x4_t acc_lo = vdupq_n_f32(0.0f), acc_hi = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < n_blocks; ++b) {
      const uint8_t* block = row + b * kQ8BlockBytes;
      const int8_t* qw = reinterpret_cast<const int8_t*>(block + 2);
      const int8_t* qx = a.q + b * kQ8Block;
      const int32x4_t lo = vdotq_s32(vdupq_n_s32(0), vld1q_s8(qw), vld1q_s8(qx));
      const int32x4_t hi = vdotq_s32(vdupq_n_s32(0), vld1q_s8(qw + 16), vld1q_s8(qx + 16));
      const uint16_t d_bits = static_cast<uint16_t>(block[0] | block[1] << 8);
      const float d_w = vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(d_bits))), 0);
      const float scale = d_w * a.d[b];
      acc_lo = vfmaq_n_f32(acc_lo, vcvtq_f32_s32(lo), scale);
      acc_hi = vfmaq_n_f32(acc_hi, vcvtq_f32_s32(hi), scale);
    }
    float lanes[8];
    vst1q_f32(lanes, acc_lo);
    vst1q_f32(lanes + 4, acc_hi);
    a.y[r] = fold8(lanes);
  }
}

}  // namespace trit::kernels
