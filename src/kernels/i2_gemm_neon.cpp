// I2 x int8 kernel for AArch64 NEON with the dot product (compiled with -march=armv8.2-a+dotprod; called only
// when the CPU has it). Per 128-weight block (32 bytes, two 16-byte halves) each bit-plane is unpacked by
// shift + mask to codes 0..2 and multiplied by SDOT (vdotq_s32) against 16 activations in natural order:
// 4 products per int32 lane (at most 4 x 2 x 128 per SDOT, so int32 never overflows); sum(q) is
// subtracted once at the end, as in every level.
#include <arm_neon.h>

#include "kernels/i2_gemm_args.h"

namespace trit::kernels {
namespace {

// How far ahead (in row tiles) the decode kernel prefetches weights. Not tuned: there is no ARM machine
// to measure on (qemu only runs the code, docs/architecture.md).
constexpr int64_t kPrefetchTiles = 2;

// y = (sum(code * q) - sum(q)) / x_scale * w_scale for one (row, token).
inline void store(const I2GemmArgs& A, int64_t r, int64_t t, int32_t total) {
  A.y[t * A.rows + r] = static_cast<float>(total - A.x_sum[t]) / A.x_scale[t] * A.w_scale;
}

// Bit-plane G of 16 packed bytes: the codes (0..2) of weights 32G + p of the block, as int8.
template <int G>
inline int8x16_t plane(uint8x16_t packed) {
  if constexpr (G == 0) {
    return vreinterpretq_s8_u8(vshrq_n_u8(packed, 6));
  } else if constexpr (G == 3) {
    return vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(3)));
  } else {
    return vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(packed, 6 - 2 * G), vdupq_n_u8(3)));
  }
}

// NR rows x NT tokens. NA accumulators per (row, token) keep the SDOT chains independent; decode (one
// token) uses two, the 4 x 4 prompt tile one (16 accumulators + 8 weight + 4 activation registers of 32).
template <int NR, int NT>
void tile(const I2GemmArgs& A, int64_t r0, int64_t t0) {
  constexpr int NA = NT == 1 ? 2 : 1;
  const int64_t row_bytes = A.padded_cols / 4;
  const int64_t n_blocks = A.padded_cols / 128;
  const int8_t* q[NT];
  for (int t = 0; t < NT; ++t) q[t] = A.q + (t0 + t) * A.padded_cols;
  int32x4_t acc[NR][NT][NA];
  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t)
      for (int k = 0; k < NA; ++k) acc[i][t][k] = vdupq_n_s32(0);

  auto accumulate = [&]<int G>(const uint8x16_t(&w)[NR][2], int64_t b) {
    for (int h = 0; h < 2; ++h) {
      int8x16_t qv[NT];
      for (int t = 0; t < NT; ++t) qv[t] = vld1q_s8(q[t] + b * 128 + 32 * G + 16 * h);
      for (int i = 0; i < NR; ++i) {
        const int8x16_t c = plane<G>(w[i][h]);
        for (int t = 0; t < NT; ++t) acc[i][t][h % NA] = vdotq_s32(acc[i][t][h % NA], c, qv[t]);
      }
    }
  };

  for (int64_t b = 0; b < n_blocks; ++b) {
    uint8x16_t w[NR][2];
    for (int i = 0; i < NR; ++i) {
      const uint8_t* src = A.w + (r0 + i) * row_bytes + b * 32;
      if constexpr (NT == 1) __builtin_prefetch(src + kPrefetchTiles * NR * row_bytes);
      w[i][0] = vld1q_u8(src);
      w[i][1] = vld1q_u8(src + 16);
    }
    accumulate.template operator()<0>(w, b);
    accumulate.template operator()<1>(w, b);
    accumulate.template operator()<2>(w, b);
    accumulate.template operator()<3>(w, b);
  }

  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t) {
      int32x4_t s = acc[i][t][0];
      for (int k = 1; k < NA; ++k) s = vaddq_s32(s, acc[i][t][k]);
      store(A, r0 + i, t0 + t, vaddvq_s32(s));
    }
}

}  // namespace

void i2_gemm_neon_impl(const I2GemmArgs& A) {
  const int64_t row_begin = A.row_begin, row_end = A.row_end;
  if (A.n_tokens == 1) {
    int64_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) tile<4, 1>(A, r, 0);
    for (; r < row_end; ++r) tile<1, 1>(A, r, 0);
    return;
  }
  const int64_t n_quads = A.n_tokens / 4 * 4;
  int64_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) {
    for (int64_t t = 0; t < n_quads; t += 4) tile<4, 4>(A, r, t);
    for (int64_t t = n_quads; t < A.n_tokens; ++t) tile<4, 1>(A, r, t);
  }
  for (; r < row_end; ++r) {
    int64_t t = 0;
    for (; t + 4 <= A.n_tokens; t += 4) tile<1, 4>(A, r, t);
    for (; t < A.n_tokens; ++t) tile<1, 1>(A, r, t);
  }
}

}  // namespace trit::kernels
