// F16 and F32 mat-vec for AArch64 NEON: the reference's 4 x 16 lanes as 16 registers of 4, each a chain
// of fused multiply-adds (FMLA) in the reference's order, folded in registers in its order (0+2, 1+3,
// 0+1, then the tree 8, 4, 2, 1), so the results are bit-identical to it. The f16 weights widen exactly
// (FCVTL). Four rows at a time so that their folds share instructions and their tails overlap, as on x86.
#include <arm_neon.h>

#include "kernels/f16_gemv.h"

namespace trit::kernels {
namespace {

// Lanes [16j + 4k, 16j + 4k + 4) of the reference live in acc[4j + k]. Returns the accumulators summed as
// 0+2, 1+3, then 0+1, and the tree's steps s = 8 and s = 4: the 4 lanes left.
float32x4_t fold_accumulators(const float32x4_t (&acc)[16]) {
  float32x4_t s[4];
  for (int k = 0; k < 4; ++k) s[k] = vaddq_f32(vaddq_f32(acc[k], acc[8 + k]), vaddq_f32(acc[4 + k], acc[12 + k]));
  return vaddq_f32(vaddq_f32(s[0], s[2]), vaddq_f32(s[1], s[3]));
}

// s = 2 and s = 1 of four rows at once: lanes [row 0, 1, 2, 3].
float32x4_t fold_tree4(float32x4_t v0, float32x4_t v1, float32x4_t v2, float32x4_t v3) {
  const float32x4_t t01 =
      vaddq_f32(vcombine_f32(vget_low_f32(v0), vget_low_f32(v1)), vcombine_f32(vget_high_f32(v0), vget_high_f32(v1)));
  const float32x4_t t23 =
      vaddq_f32(vcombine_f32(vget_low_f32(v2), vget_low_f32(v3)), vcombine_f32(vget_high_f32(v2), vget_high_f32(v3)));
  return vpaddq_f32(t01, t23);
}

float fold_tree(float32x4_t v) {
  const float32x2_t s2 = vadd_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpadd_f32(s2, s2), 0);
}

float32x4_t f16_row_main(const uint16_t* row, const float* x, int64_t np) {
  float32x4_t acc[16];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (int64_t c = 0; c < np; c += 64)
    for (int v = 0; v < 16; v += 2) {
      const float16x8_t w = vreinterpretq_f16_u16(vld1q_u16(row + c + 4 * v));
      acc[v] = vfmaq_f32(acc[v], vcvt_f32_f16(vget_low_f16(w)), vld1q_f32(x + c + 4 * v));
      acc[v + 1] = vfmaq_f32(acc[v + 1], vcvt_high_f32_f16(w), vld1q_f32(x + c + 4 * v + 4));
    }
  return fold_accumulators(acc);
}

float32x4_t f32_row_main(const float* row, const float* x, int64_t np) {
  float32x4_t acc[16];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (int64_t c = 0; c < np; c += 64)
    for (int v = 0; v < 16; ++v) acc[v] = vfmaq_f32(acc[v], vld1q_f32(row + c + 4 * v), vld1q_f32(x + c + 4 * v));
  return fold_accumulators(acc);
}

}  // namespace

void f16_gemv_neon(const F16GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  int64_t r = a.row_begin;
  for (; r + 4 <= a.row_end; r += 4) {
    const uint16_t* const rows[4] = {a.w + r * ld, a.w + (r + 1) * ld, a.w + (r + 2) * ld, a.w + (r + 3) * ld};
    // Rows in ascending order, for the prefetchers (as arguments the order would be unspecified).
    const float32x4_t v0 = f16_row_main(rows[0], a.x, np), v1 = f16_row_main(rows[1], a.x, np);
    const float32x4_t v2 = f16_row_main(rows[2], a.x, np), v3 = f16_row_main(rows[3], a.x, np);
    const float32x4_t folded = fold_tree4(v0, v1, v2, v3);
    if (np == a.cols) {
      vst1q_f32(a.y + r, folded);
    } else {
      float f[4];
      vst1q_f32(f, folded);
      f16_dot_tail4(f, rows, a.x, np, a.cols, a.y + r);
    }
  }
  for (; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * ld;
    const float folded = fold_tree(f16_row_main(row, a.x, np));
    a.y[r] = np == a.cols ? folded : f16_dot_tail(folded, row, a.x, np, a.cols);
  }
}

void f32_gemv_neon(const F32GemvArgs& a) {
  const int64_t np = a.cols / 64 * 64;
  const int64_t ld = a.ld ? a.ld : a.cols;
  int64_t r = a.row_begin;
  for (; r + 4 <= a.row_end; r += 4) {
    const float* row = a.w + r * ld;
    float f[4];
    const float32x4_t v0 = f32_row_main(row, a.x, np), v1 = f32_row_main(row + ld, a.x, np);
    const float32x4_t v2 = f32_row_main(row + 2 * ld, a.x, np), v3 = f32_row_main(row + 3 * ld, a.x, np);
    vst1q_f32(f, fold_tree4(v0, v1, v2, v3));
    for (int i = 0; i < 4; ++i) a.y[r + i] = np == a.cols ? f[i] : f32_dot_tail(f[i], row + i * ld, a.x, np, a.cols);
  }
  for (; r < a.row_end; ++r) {
    const float* row = a.w + r * ld;
    const float folded = fold_tree(f32_row_main(row, a.x, np));
    a.y[r] = np == a.cols ? folded : f32_dot_tail(folded, row, a.x, np, a.cols);
  }
}

}  // namespace trit::kernels
