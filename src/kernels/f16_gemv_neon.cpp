// F16 and F32 mat-vec for AArch64 NEON: the reference's 4 x 16 lanes as 16 registers of 4, each a chain
// of fused multiply-adds (FMLA) in the reference's order, so the results are bit-identical to it. The f16
// weights widen exactly (FCVTL). Four rows at a time so that their tails overlap, as on x86.
#include <arm_neon.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {
namespace {

// Lanes [16j + 4k, 16j + 4k + 4) of the reference live in acc[4j + k].
void store_lanes(const float32x4_t (&acc)[16], float (&lanes)[4][16]) {
  for (int v = 0; v < 16; ++v) vst1q_f32(&lanes[v / 4][(v % 4) * 4], acc[v]);
}

void f16_main_part(const uint16_t* row, const float* x, int64_t np, float (&lanes)[4][16]) {
  float32x4_t acc[16];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (int64_t c = 0; c < np; c += 64)
    for (int v = 0; v < 16; v += 2) {
      const float16x8_t w = vreinterpretq_f16_u16(vld1q_u16(row + c + 4 * v));
      acc[v] = vfmaq_f32(acc[v], vcvt_f32_f16(vget_low_f16(w)), vld1q_f32(x + c + 4 * v));
      acc[v + 1] = vfmaq_f32(acc[v + 1], vcvt_high_f32_f16(w), vld1q_f32(x + c + 4 * v + 4));
    }
  store_lanes(acc, lanes);
}

}  // namespace

void f16_gemv_neon(const F16GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  int64_t r = a.row_begin;
  for (; r + 4 <= a.row_end; r += 4) {
    const uint16_t* const rows[4] = {a.w + r * ld, a.w + (r + 1) * ld, a.w + (r + 2) * ld, a.w + (r + 3) * ld};
    float lanes[4][4][16];
    for (int i = 0; i < 4; ++i) f16_main_part(rows[i], a.x, np, lanes[i]);
    finish_f16_dot4(lanes, rows, a.x, np, a.cols, a.y + r, 1);
  }
  for (; r < a.row_end; ++r) {
    float lanes[4][16];
    f16_main_part(a.w + r * ld, a.x, np, lanes);
    a.y[r] = finish_f16_dot(lanes, a.w + r * ld, a.x, np, a.cols);
  }
}

void f32_gemv_neon(const F32GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const float* row = a.w + r * (a.ld ? a.ld : a.cols);
    float32x4_t acc[16];
    for (auto& v : acc) v = vdupq_n_f32(0.0f);
    for (int64_t c = 0; c < np; c += 64)
      for (int v = 0; v < 16; ++v) acc[v] = vfmaq_f32(acc[v], vld1q_f32(row + c + 4 * v), vld1q_f32(a.x + c + 4 * v));
    float lanes[4][16];
    store_lanes(acc, lanes);
    a.y[r] = finish_f32_dot(lanes, row, a.x, np, a.cols);
  }
}

}  // namespace trit::kernels
