// I2 x int8 kernel for AVX-512 with VNNI (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni;
// called only when the CPU has them), in two shapes: one token (decode), below, and batches (further down).
// Decode: each 64-byte load holds two blocks; masking gives four bit-planes
// of 64 codes (left in place, so scaled by 64, 16, 4, 1), each multiplied into int32 lanes by one
// vpdpbusd against 64 activations laid out to match (Q8Activations pair order). One accumulator per (row, token,
// bit-plane) keeps the dpbusd chains independent. An odd last block goes through the 256-bit form.
#include <immintrin.h>

#include <vector>

#include "kernels/i2_gemm_args.h"
#include "kernels/i2_gemm_x86_store.h"

namespace trit::kernels {
namespace {

// How far ahead (in row tiles) the decode kernel prefetches weights. A tile's rows are contiguous, so the
// prefetches walk the tile kPrefetchTiles ahead line by line, in address order, one line per row load:
// one sequential stream per thread. Prefetching each row's own spot instead (four interleaved streams
// per thread) was 27% slower with two threads in bench_decode_stream on the 2-core EPYC of
// bench/README.md (median of 7 alternating runs: 15.0 ms against 11.0 ms per 2B-shape token) and no
// faster with one; distances 3, 4 and 8 were within noise of each other, 2 a little slower.
constexpr int64_t kPrefetchTiles = 4;

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

  // The tile kPrefetchTiles ahead, prefetched in address order as this one is consumed.
  const uint8_t* ahead = A.w + (r0 + kPrefetchTiles * NR) * (A.padded_cols / 4);
  for (int64_t p = 0; p < n_pairs; ++p) {
    __m512i qv[NT][4];
    for (int t = 0; t < NT; ++t)
      for (int g = 0; g < 4; ++g) qv[t][g] = _mm512_loadu_si512(q[t] + p * 256 + g * 64);
    for (int i = 0; i < NR; ++i) {
      const uint8_t* src = A.w + (r0 + i) * (A.padded_cols / 4) + p * 64;
      _mm_prefetch(reinterpret_cast<const char*>(ahead + (p * NR + i) * 64), _MM_HINT_T0);
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

// Batches (a prompt, or a server step over several slots): a tile of up to 4 rows is first unpacked
// into codes 0..2, one byte each, in natural column order (a thread-local buffer that stays in L1/L2),
// then multiplied against the tokens NT at a time with nothing but loads and vpdpbusd in the inner loop:
// R x NT accumulators (16 int32 lanes of one (row, token) dot product each), R weight registers and one
// activation register (24 + 4 + 1 of the 32 registers for 4 x 6). The unpacking is paid once per row
// tile, not once per token group.
constexpr int kBatchRows = 4;
constexpr int kBatchTokens = 6;
// Row tiles ahead that a small batch prefetches (each row's own stream: unpacking walks one row at a time).
constexpr int64_t kBatchPrefetchTiles = 8;

// Codes of rows [r0, r0 + n_rows) into dst (padded_cols bytes per row). A small batch streams the weights
// from memory once, so it prefetches kBatchPrefetchTiles row tiles ahead.
void unpack_rows(const I2GemmArgs& A, int64_t r0, int n_rows, uint8_t* dst, bool prefetch) {
  const __m512i mask = _mm512_set1_epi8(3);
  const int64_t row_bytes = A.padded_cols / 4;
  const int64_t n_pairs = A.padded_cols / 256;
  for (int i = 0; i < n_rows; ++i) {
    const uint8_t* src = A.w + (r0 + i) * row_bytes;
    uint8_t* out = dst + i * A.padded_cols;
    for (int64_t p = 0; p < n_pairs; ++p) {
      if (prefetch)
        _mm_prefetch(reinterpret_cast<const char*>(src + p * 64 + kBatchPrefetchTiles * kBatchRows * row_bytes),
                     _MM_HINT_T0);
      // Two 32-byte blocks; plane g of block b holds columns b*128 + g*32 + j in byte j.
      const __m512i packed = _mm512_loadu_si512(src + p * 64);
      for (int g = 0; g < 4; ++g) {
        const __m512i c = _mm512_and_si512(_mm512_srli_epi16(packed, 6 - 2 * g), mask);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + p * 256 + g * 32), _mm512_castsi512_si256(c));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + p * 256 + 128 + g * 32), _mm512_extracti64x4_epi64(c, 1));
      }
    }
    if ((A.padded_cols / 128) % 2 != 0) {  // an odd last block
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + n_pairs * 64));
      for (int g = 0; g < 4; ++g) {
        const __m256i c = _mm256_and_si256(_mm256_srli_epi16(packed, 6 - 2 * g), _mm256_set1_epi8(3));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + n_pairs * 256 + g * 32), c);
      }
    }
  }
}

// The four int32 sums of a, b, c, d (16 lanes each) in one 128-bit vector.
inline __m128i hsum4(__m512i a, __m512i b, __m512i c, __m512i d) {
  const auto fold = [](__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  };
  return hsum4(fold(a), fold(b), fold(c), fold(d));
}

// R unpacked rows (codes, natural order) x NT tokens from t0.
template <int R, int NT>
void batch_tile(const I2GemmArgs& A, const uint8_t* codes, int64_t r0, int64_t t0) {
  __m512i acc[R][NT];
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm512_setzero_si512();
  const int8_t* q = A.q_natural + t0 * A.padded_cols;
  for (int64_t k = 0; k < A.padded_cols; k += 64) {
    __m512i w[R];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) w[i] = _mm512_loadu_si512(codes + i * A.padded_cols + k);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const __m512i x = _mm512_loadu_si512(q + t * A.padded_cols + k);
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) acc[i][t] = _mm512_dpbusd_epi32(acc[i][t], w[i], x);
    }
  }
  for (int t = 0; t < NT; ++t) {
    __m512i rows[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int i = 0; i < R; ++i) rows[i] = acc[i][t];
    store4<R>(A, r0, t0 + t, hsum4(rows[0], rows[1], rows[2], rows[3]));
  }
}

// The full 4 x 6 tile. GCC keeps an array of 24 accumulators in registers only partly (it spills and
// copies them every step), so the accumulators are named variables, written out by these macros.
#define TRIT_ACC4(t)                                                                                      \
  __m512i a0##t = _mm512_setzero_si512(), a1##t = _mm512_setzero_si512(), a2##t = _mm512_setzero_si512(), \
          a3##t = _mm512_setzero_si512()
#define TRIT_STEP4(t)                                     \
  do {                                                    \
    const __m512i x = _mm512_loadu_si512(q + (t)*ld + k); \
    a0##t = _mm512_dpbusd_epi32(a0##t, w0, x);            \
    a1##t = _mm512_dpbusd_epi32(a1##t, w1, x);            \
    a2##t = _mm512_dpbusd_epi32(a2##t, w2, x);            \
    a3##t = _mm512_dpbusd_epi32(a3##t, w3, x);            \
  } while (0)
#define TRIT_SPILL4(t) \
  done[4 * (t)] = a0##t, done[4 * (t) + 1] = a1##t, done[4 * (t) + 2] = a2##t, done[4 * (t) + 3] = a3##t

void tile_4x6(const I2GemmArgs& A, const uint8_t* codes, int64_t r0, int64_t t0) {
  TRIT_ACC4(0);
  TRIT_ACC4(1);
  TRIT_ACC4(2);
  TRIT_ACC4(3);
  TRIT_ACC4(4);
  TRIT_ACC4(5);
  const int8_t* q = A.q_natural + t0 * A.padded_cols;
  const int64_t ld = A.padded_cols;
  for (int64_t k = 0; k < ld; k += 64) {
    const __m512i w0 = _mm512_loadu_si512(codes + k), w1 = _mm512_loadu_si512(codes + ld + k),
                  w2 = _mm512_loadu_si512(codes + 2 * ld + k), w3 = _mm512_loadu_si512(codes + 3 * ld + k);
    TRIT_STEP4(0);
    TRIT_STEP4(1);
    TRIT_STEP4(2);
    TRIT_STEP4(3);
    TRIT_STEP4(4);
    TRIT_STEP4(5);
  }
  // Reduced from memory: with the reduction reading the registers directly, GCC again copies and spills
  // accumulators inside the loop. The empty asm keeps it from forwarding the stores.
  __m512i done[24];
  TRIT_SPILL4(0);
  TRIT_SPILL4(1);
  TRIT_SPILL4(2);
  TRIT_SPILL4(3);
  TRIT_SPILL4(4);
  TRIT_SPILL4(5);
  asm volatile("" ::: "memory");
  for (int t = 0; t < 6; ++t)
    store4<4>(A, r0, t0 + t, hsum4(done[4 * t], done[4 * t + 1], done[4 * t + 2], done[4 * t + 3]));
}
#undef TRIT_ACC4
#undef TRIT_STEP4
#undef TRIT_SPILL4

template <int R>
void batch_rows(const I2GemmArgs& A, const uint8_t* codes, int64_t r0) {
  int64_t t = 0;
  for (; t + kBatchTokens <= A.n_tokens; t += kBatchTokens) {
    if constexpr (R == 4)
      tile_4x6(A, codes, r0, t);
    else
      batch_tile<R, kBatchTokens>(A, codes, r0, t);
  }
  switch (A.n_tokens - t) {
    case 5:
      return batch_tile<R, 5>(A, codes, r0, t);
    case 4:
      return batch_tile<R, 4>(A, codes, r0, t);
    case 3:
      return batch_tile<R, 3>(A, codes, r0, t);
    case 2:
      return batch_tile<R, 2>(A, codes, r0, t);
    case 1:
      return batch_tile<R, 1>(A, codes, r0, t);
    default:
      return;
  }
}

void batch_gemm(const I2GemmArgs& A) {
  struct alignas(64) Line {
    uint8_t bytes[64];
  };
  thread_local std::vector<Line> buffer;
  const size_t need = static_cast<size_t>(kBatchRows * A.padded_cols / 64);
  if (buffer.size() < need) buffer.resize(need);
  auto* codes = reinterpret_cast<uint8_t*>(buffer.data());
  // A small batch (a server's decode step over a few slots) is bound by streaming the weights: prefetch
  // them. With many tokens the next tile comes long after and the lines would only displace activations.
  const bool prefetch = A.n_tokens <= 32;
  int64_t r = A.row_begin;
  for (; r + kBatchRows <= A.row_end; r += kBatchRows) {
    unpack_rows(A, r, kBatchRows, codes, prefetch);
    batch_rows<kBatchRows>(A, codes, r);
  }
  const int rest = static_cast<int>(A.row_end - r);
  if (rest == 0) return;
  unpack_rows(A, r, rest, codes, false);
  if (rest == 3) batch_rows<3>(A, codes, r);
  if (rest == 2) batch_rows<2>(A, codes, r);
  if (rest == 1) batch_rows<1>(A, codes, r);
}

}  // namespace

void i2_gemm_avx512_impl(const I2GemmArgs& A) {
  if (A.n_tokens > 1) return batch_gemm(A);
  int64_t r = A.row_begin;
  for (; r + 4 <= A.row_end; r += 4) tile<4, 1>(A, r, 0);
  for (; r < A.row_end; ++r) tile<1, 1>(A, r, 0);
}

}  // namespace trit::kernels
