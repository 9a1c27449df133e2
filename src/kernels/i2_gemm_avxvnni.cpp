// I2 x int8 kernel for AVX2 + AVX-VNNI (the VEX-encoded 256-bit vpdpbusd of Alder Lake and later, Zen 5;
// compiled with -mavx2 -mfma -mf16c -mavxvnni; called only when the CPU has them), in two shapes like the
// AVX-512 kernel: one token (decode), below, and batches (further down). Activations in natural order.
// Decode: a 32-byte block holds 128 weights, byte j of bit-plane g being column 32g + j, so each plane
// lines up with one 32-byte load of activations. Planes 0 and 1 are masked in place (0xC0, 0x30: codes
// scaled by 64 and 16); one 16-bit shift left by 4 brings planes 2 and 3 under the same masks, so two
// accumulators per row (scale 64: planes 0, 2; scale 16: planes 1, 3) hold all four planes and a 4-row
// tile takes 8 of the 16 ymm registers (four per-plane accumulators would need all 16 for the tile alone).
// The scales are undone exactly once at the end.
#include <immintrin.h>

#include <vector>

#include "kernels/i2_gemm_args.h"
#include "kernels/i2_gemm_x86_store.h"

namespace trit::kernels {
namespace {

// Row tiles ahead that the decode kernel prefetches, walked in address order one line per 64 bytes of
// rows consumed (one sequential stream per thread), as in the AVX-512 kernel.
constexpr int64_t kPrefetchTiles = 4;

// acc + u x (32 bytes at p), with the activations a memory operand of vpdpbusd: GCC 12 otherwise loads
// the four planes' activations once per block into registers and, short of registers, spills accumulators
// inside the loop. "{vex}" keeps the VEX encoding (CPUs with AVX-VNNI but no AVX-512 have no EVEX form).
inline __m256i dpbusd_mem(__m256i acc, __m256i u, const int8_t* p) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "m"(*reinterpret_cast<const __m256i_u*>(p)));
  return acc;
}

// Block b of NR rows from r0 into the (scale 64, scale 16) accumulators of each row.
template <int NR>
inline void decode_block(const uint8_t* w0, int64_t row_bytes, int64_t b, const int8_t* q, __m256i (&acc64)[NR],
                         __m256i (&acc16)[NR]) {
  const __m256i hi2 = _mm256_set1_epi8(static_cast<char>(0xC0));
  const __m256i mid2 = _mm256_set1_epi8(0x30);
  const int8_t* x = q + b * 128;
#pragma GCC unroll 4
  for (int i = 0; i < NR; ++i) {
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + i * row_bytes + b * 32));
    // Within each byte, the low nibble moves to the high nibble (what crosses into the next byte is masked off).
    const __m256i low = _mm256_slli_epi16(packed, 4);
    acc64[i] = dpbusd_mem(acc64[i], _mm256_and_si256(packed, hi2), x);
    acc16[i] = dpbusd_mem(acc16[i], _mm256_and_si256(packed, mid2), x + 32);
    acc64[i] = dpbusd_mem(acc64[i], _mm256_and_si256(low, hi2), x + 64);
    acc16[i] = dpbusd_mem(acc16[i], _mm256_and_si256(low, mid2), x + 96);
  }
}

// NR rows from r0 against the one token.
template <int NR>
void decode_tile(const I2GemmArgs& A, int64_t r0) {
  const int64_t row_bytes = A.padded_cols / 4;
  const int64_t n_blocks = A.padded_cols / 128;
  const uint8_t* w0 = A.w + r0 * row_bytes;
  __m256i acc64[NR], acc16[NR];
  for (int i = 0; i < NR; ++i) acc64[i] = acc16[i] = _mm256_setzero_si256();
  // The tile kPrefetchTiles ahead, prefetched in address order as this one is consumed: one line per
  // row per pair of blocks.
  const uint8_t* ahead = w0 + kPrefetchTiles * NR * row_bytes;
  int64_t b = 0;
  for (int64_t p = 0; b + 2 <= n_blocks; ++p, b += 2) {
    for (int i = 0; i < NR; ++i) _mm_prefetch(reinterpret_cast<const char*>(ahead + (p * NR + i) * 64), _MM_HINT_T0);
    decode_block<NR>(w0, row_bytes, b, A.q, acc64, acc16);
    decode_block<NR>(w0, row_bytes, b + 1, A.q, acc64, acc16);
  }
  if (b < n_blocks) decode_block<NR>(w0, row_bytes, b, A.q, acc64, acc16);
  // Each product is an exact multiple of 64 (or 16), at most 2 x 4 x 128 x 128 per lane and block, so
  // the arithmetic shifts are exact.
  __m256i sums[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  for (int i = 0; i < NR; ++i)
    sums[i] = _mm256_add_epi32(_mm256_srai_epi32(acc64[i], 6), _mm256_srai_epi32(acc16[i], 4));
  if constexpr (NR == 4) {
    store4<4>(A, r0, 0, hsum4(sums[0], sums[1], sums[2], sums[3]));
  } else {
    for (int i = 0; i < NR; ++i) store(A, r0 + i, 0, hsum256(sums[i]));
  }
}

// Batches: as in the AVX-512 kernel, a tile of up to 4 rows is first unpacked into codes 0..2, one byte
// each, in natural column order (a thread-local buffer that stays in L1/L2), then multiplied against the
// tokens with nothing but loads and vpdpbusd. The register tile is 2 rows x 6 tokens: 12 accumulators,
// 2 weight registers and one activation register (15 of the 16 ymm registers; 4 x 3 needs 17, and GCC then
// spills one accumulator to the stack every step); each group of 6 tokens runs the tile's two row pairs
// while its activations are hot.
constexpr int kBatchRows = 4;
constexpr int kBatchTokens = 6;
// Row tiles ahead that a small batch prefetches (each row's own stream: unpacking walks one row at a time).
constexpr int64_t kBatchPrefetchTiles = 8;

// Codes of rows [r0, r0 + n_rows) into dst (padded_cols bytes per row).
void unpack_rows(const I2GemmArgs& A, int64_t r0, int n_rows, uint8_t* dst, bool prefetch) {
  const __m256i mask = _mm256_set1_epi8(3);
  const int64_t row_bytes = A.padded_cols / 4;
  const int64_t n_blocks = A.padded_cols / 128;
  for (int i = 0; i < n_rows; ++i) {
    const uint8_t* src = A.w + (r0 + i) * row_bytes;
    uint8_t* out = dst + i * A.padded_cols;
    for (int64_t b = 0; b < n_blocks; ++b) {
      if (prefetch && b % 2 == 0)
        _mm_prefetch(reinterpret_cast<const char*>(src + b * 32 + kBatchPrefetchTiles * kBatchRows * row_bytes),
                     _MM_HINT_T0);
      // Plane g of the block holds columns b*128 + g*32 + j in byte j.
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + b * 32));
      for (int g = 0; g < 4; ++g) {
        const __m256i c = _mm256_and_si256(_mm256_srli_epi16(packed, 6 - 2 * g), mask);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * 128 + g * 32), c);
      }
    }
  }
}

// R (1 or 2) unpacked rows (codes, natural order) x NT tokens from t0.
template <int R, int NT>
void batch_tile(const I2GemmArgs& A, const uint8_t* codes, int64_t r0, int64_t t0) {
  __m256i acc[R][NT];
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm256_setzero_si256();
  const int8_t* q = A.q_natural + t0 * A.padded_cols;
  for (int64_t k = 0; k < A.padded_cols; k += 32) {
    __m256i w[R];
    for (int i = 0; i < R; ++i)
      w[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + i * A.padded_cols + k));
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + t * A.padded_cols + k));
      for (int i = 0; i < R; ++i) acc[i][t] = _mm256_dpbusd_avx_epi32(acc[i][t], w[i], x);
    }
  }
  const __m256i zero = _mm256_setzero_si256();
  for (int t = 0; t < NT; ++t) store4<R>(A, r0, t0 + t, hsum4(acc[0][t], R == 2 ? acc[R - 1][t] : zero, zero, zero));
}

// The full 2 x 6 tile with named accumulators (as in the AVX-512 kernel, GCC keeps an array of them in
// registers only partly).
#define TRIT_ACC2(t) __m256i a0##t = _mm256_setzero_si256(), a1##t = _mm256_setzero_si256()
#define TRIT_STEP2(t)                                                                       \
  do {                                                                                      \
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + (t)*ld + k)); \
    a0##t = _mm256_dpbusd_avx_epi32(a0##t, w0, x);                                          \
    a1##t = _mm256_dpbusd_avx_epi32(a1##t, w1, x);                                          \
  } while (0)
#define TRIT_SPILL2(t) done[2 * (t)] = a0##t, done[2 * (t) + 1] = a1##t

void tile_2x6(const I2GemmArgs& A, const uint8_t* codes, int64_t r0, int64_t t0) {
  TRIT_ACC2(0);
  TRIT_ACC2(1);
  TRIT_ACC2(2);
  TRIT_ACC2(3);
  TRIT_ACC2(4);
  TRIT_ACC2(5);
  const int8_t* q = A.q_natural + t0 * A.padded_cols;
  const int64_t ld = A.padded_cols;
  for (int64_t k = 0; k < ld; k += 32) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + k));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + ld + k));
    TRIT_STEP2(0);
    TRIT_STEP2(1);
    TRIT_STEP2(2);
    TRIT_STEP2(3);
    TRIT_STEP2(4);
    TRIT_STEP2(5);
  }
  // Reduced from memory (the empty asm keeps GCC from forwarding the stores into the loop's registers).
  __m256i done[12];
  TRIT_SPILL2(0);
  TRIT_SPILL2(1);
  TRIT_SPILL2(2);
  TRIT_SPILL2(3);
  TRIT_SPILL2(4);
  TRIT_SPILL2(5);
  asm volatile("" ::: "memory");
  const __m256i zero = _mm256_setzero_si256();
  for (int t = 0; t < 6; ++t) store4<2>(A, r0, t0 + t, hsum4(done[2 * t], done[2 * t + 1], zero, zero));
}
#undef TRIT_ACC2
#undef TRIT_STEP2
#undef TRIT_SPILL2

// NT tokens from t0 against one or two unpacked rows.
template <int R>
void token_tail(const I2GemmArgs& A, const uint8_t* codes, int64_t r0, int64_t t0, int64_t nt) {
  switch (nt) {
    case 5:
      return batch_tile<R, 5>(A, codes, r0, t0);
    case 4:
      return batch_tile<R, 4>(A, codes, r0, t0);
    case 3:
      return batch_tile<R, 3>(A, codes, r0, t0);
    case 2:
      return batch_tile<R, 2>(A, codes, r0, t0);
    case 1:
      return batch_tile<R, 1>(A, codes, r0, t0);
    default:
      return;
  }
}

// n_rows (1..4) unpacked rows from r0 against every token: row pairs, then a single row.
void batch_rows(const I2GemmArgs& A, const uint8_t* codes, int64_t r0, int n_rows) {
  const int64_t ld = A.padded_cols;
  int64_t t = 0;
  for (; t + kBatchTokens <= A.n_tokens; t += kBatchTokens) {
    int i = 0;
    for (; i + 2 <= n_rows; i += 2) tile_2x6(A, codes + i * ld, r0 + i, t);
    if (i < n_rows) batch_tile<1, kBatchTokens>(A, codes + i * ld, r0 + i, t);
  }
  int i = 0;
  for (; i + 2 <= n_rows; i += 2) token_tail<2>(A, codes + i * ld, r0 + i, t, A.n_tokens - t);
  if (i < n_rows) token_tail<1>(A, codes + i * ld, r0 + i, t, A.n_tokens - t);
}

void batch_gemm(const I2GemmArgs& A) {
  struct alignas(64) Line {
    uint8_t bytes[64];
  };
  thread_local std::vector<Line> buffer;
  const size_t need = static_cast<size_t>(kBatchRows * A.padded_cols / 64);
  if (buffer.size() < need) buffer.resize(need);
  auto* codes = reinterpret_cast<uint8_t*>(buffer.data());
  // A small batch is bound by streaming the weights: prefetch them. With many tokens the next tile comes
  // long after and the lines would only displace activations.
  const bool prefetch = A.n_tokens <= 32;
  for (int64_t r = A.row_begin; r < A.row_end; r += kBatchRows) {
    const int n_rows = static_cast<int>(A.row_end - r < kBatchRows ? A.row_end - r : kBatchRows);
    unpack_rows(A, r, n_rows, codes, prefetch && n_rows == kBatchRows);
    batch_rows(A, codes, r, n_rows);
  }
}

}  // namespace

void i2_gemm_avxvnni_impl(const I2GemmArgs& A) {
  if (A.n_tokens > 1) return batch_gemm(A);
  int64_t r = A.row_begin;
  for (; r + 4 <= A.row_end; r += 4) decode_tile<4>(A, r);
  if (A.row_end - r == 3) decode_tile<3>(A, r);
  if (A.row_end - r == 2) decode_tile<2>(A, r);
  if (A.row_end - r == 1) decode_tile<1>(A, r);
}

}  // namespace trit::kernels
