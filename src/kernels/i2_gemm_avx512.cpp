// I2 x int8 kernel for AVX-512 with VNNI (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni;
// called only when the CPU has them). Each 64-byte load holds two blocks; masking gives four bit-planes
// of 64 codes (left in place, so scaled by 64, 16, 4, 1), each multiplied into int32 lanes by one
// vpdpbusd against 64 activations laid out to match (Q8Activations pair order). One accumulator per (row, token,
// bit-plane) keeps the dpbusd chains independent. An odd last block goes through the 256-bit form.
#include <immintrin.h>

#include "kernels/i2_gemm_args.h"

namespace trit::kernels {
namespace {

// How far ahead (in row tiles) the decode kernel prefetches weights: 2 measured best on the 2-core EPYC
// of bench/README.md (1: 34-36 tok/s single-thread decode of the 2B shape, 2: 38, 4: 37-39).
constexpr int64_t kPrefetchTiles = 2;

inline int32_t hsum256(__m256i s) {
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(h);
}

inline int32_t hsum512(__m512i v) {
  return hsum256(_mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}

// An odd last block (32 bytes, natural activation order) through the 256-bit form of vpdpbusd.
inline int32_t tail_block_dot(const uint8_t* block, const int8_t* q) {
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block));
  __m256i s = _mm256_setzero_si256();
  for (int g = 0; g < 4; ++g) {
    const __m256i c = _mm256_and_si256(_mm256_srli_epi16(packed, 6 - 2 * g), mask);
    s = _mm256_dpbusd_epi32(s, c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + g * 32)));
  }
  return hsum256(s);
}

// y = (sum(code * q) - sum(q)) / x_scale * w_scale for one (row, token).
inline void store(const I2GemmArgs& A, int64_t r, int64_t t, int32_t total) {
  A.y[t * A.rows + r] = static_cast<float>(total - A.x_sum[t]) / A.x_scale[t] * A.w_scale;
}

template <int NR, int NT>
void tile(const I2GemmArgs& A, int64_t r0, int64_t t0) {
  const __m512i plane[4] = {_mm512_set1_epi8(static_cast<char>(0xC0)), _mm512_set1_epi8(0x30), _mm512_set1_epi8(0x0C),
                            _mm512_set1_epi8(0x03)};
  const int64_t n_pairs = A.padded_cols / 256;
  const bool odd = (A.padded_cols / 128) % 2 != 0;
  const int8_t* q[NT];
  for (int t = 0; t < NT; ++t) q[t] = A.q + (t0 + t) * A.padded_cols;
  __m512i acc[NR][NT][4];
  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t)
      for (int g = 0; g < 4; ++g) acc[i][t][g] = _mm512_setzero_si512();

  for (int64_t p = 0; p < n_pairs; ++p) {
    __m512i qv[NT][4];
    for (int t = 0; t < NT; ++t)
      for (int g = 0; g < 4; ++g) qv[t][g] = _mm512_loadu_si512(q[t] + p * 256 + g * 64);
    for (int i = 0; i < NR; ++i) {
      const uint8_t* src = A.w + (r0 + i) * (A.padded_cols / 4) + p * 64;
      // The same spot of the next tile's rows: enough loads in flight to stream from DRAM at full rate.
      _mm_prefetch(reinterpret_cast<const char*>(src + kPrefetchTiles * NR * (A.padded_cols / 4)), _MM_HINT_T0);
      const __m512i packed = _mm512_loadu_si512(src);
      // Bit-plane g masked in place (no shift): codes scaled by 4^(3-g), undone once at the end.
      const __m512i c[4] = {_mm512_and_si512(packed, plane[0]), _mm512_and_si512(packed, plane[1]),
                            _mm512_and_si512(packed, plane[2]), _mm512_and_si512(packed, plane[3])};
      for (int t = 0; t < NT; ++t)
        for (int g = 0; g < 4; ++g) acc[i][t][g] = _mm512_dpbusd_epi32(acc[i][t][g], c[g], qv[t][g]);
    }
  }

  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t) {
      // Plane g's products are exact multiples of 4^(3-g) (at most 4 x 128 x 128 per dpbusd lane),
      // so the arithmetic shifts are exact.
      const __m512i sum512 =
          _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(acc[i][t][0], 6), _mm512_srai_epi32(acc[i][t][1], 4)),
                           _mm512_add_epi32(_mm512_srai_epi32(acc[i][t][2], 2), acc[i][t][3]));
      int32_t total = hsum512(sum512);
      const int64_t tt = t0 + t;
      if (odd) total += tail_block_dot(A.w + (r0 + i) * (A.padded_cols / 4) + n_pairs * 64, q[t] + n_pairs * 256);
      store(A, r0 + i, tt, total);
    }
}

// Prompt batches: 4 rows x 4 tokens. Bit-plane by bit-plane, each activation vector is loaded once and
// used by the 4 rows; codes are shifted down to 0..2 so one accumulator per (row, token) suffices
// (16 accumulators + 4 activations + 4 weight registers fit the 32 vector registers).
template <bool kPrefetch>
void tile_4x4(const I2GemmArgs& A, int64_t r0, int64_t t0) {
  const __m512i mask = _mm512_set1_epi8(3);
  const int64_t row_bytes = A.padded_cols / 4;
  const int64_t n_pairs = A.padded_cols / 256;
  __m512i acc[4][4];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_si512();
  for (int64_t p = 0; p < n_pairs; ++p) {
    __m512i w[4];
    for (int i = 0; i < 4; ++i) {
      const uint8_t* src = A.w + (r0 + i) * row_bytes + p * 64;
      if constexpr (kPrefetch)
        _mm_prefetch(reinterpret_cast<const char*>(src + kPrefetchTiles * 4 * row_bytes), _MM_HINT_T0);
      w[i] = _mm512_loadu_si512(src);
    }
    for (int g = 0; g < 4; ++g) {
      __m512i qv[4];
      for (int t = 0; t < 4; ++t) qv[t] = _mm512_loadu_si512(A.q + (t0 + t) * A.padded_cols + p * 256 + g * 64);
      for (int i = 0; i < 4; ++i) {
        const __m512i c = _mm512_and_si512(_mm512_srli_epi16(w[i], 6 - 2 * g), mask);
        for (int t = 0; t < 4; ++t) acc[i][t] = _mm512_dpbusd_epi32(acc[i][t], c, qv[t]);
      }
    }
  }
  const bool odd = (A.padded_cols / 128) % 2 != 0;
  for (int i = 0; i < 4; ++i)
    for (int t = 0; t < 4; ++t) {
      const int64_t tt = t0 + t;
      int32_t total = hsum512(acc[i][t]);
      if (odd)
        total += tail_block_dot(A.w + (r0 + i) * row_bytes + n_pairs * 64, A.q + tt * A.padded_cols + n_pairs * 256);
      store(A, r0 + i, tt, total);
    }
}

}  // namespace

void i2_gemm_avx512_impl(const I2GemmArgs& A) {
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
    // A small batch (a server's decode step over a few slots) streams each row tile's weights from
    // memory once: its first token quad prefetches the next tiles' rows, as the decode kernel does. With
    // many tokens the next tile comes long after and the lines would only displace activations.
    // (2B-4T shape, 2 threads: pp8 123 -> 170 t/s with the prefetch; pp128 204 -> 181 with it, so not there.)
    for (int64_t t = 0; t < n_quads; t += 4) {
      if (t == 0 && A.n_tokens <= 32)
        tile_4x4<true>(A, r, t);
      else
        tile_4x4<false>(A, r, t);
    }
    for (int64_t t = n_quads; t < A.n_tokens; ++t) tile<4, 1>(A, r, t);
  }
  for (; r < row_end; ++r) {
    int64_t t = 0;
    for (; t + 4 <= A.n_tokens; t += 4) tile<1, 4>(A, r, t);
    for (; t + 2 <= A.n_tokens; t += 2) tile<1, 2>(A, r, t);
    for (; t < A.n_tokens; ++t) tile<1, 1>(A, r, t);
  }
}

}  // namespace trit::kernels
