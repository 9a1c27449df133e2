// Weight-layout exploration for decode (issue 3): one token (int8 activations) through a ternary matrix of
// 2560 columns in three layout families, from cache (2560 rows) and streamed from DRAM (163840 rows in huge
// pages), with 1 and 2 threads:
//  - I2 (the engine's, 2 bits per weight): 4 codes per byte unpacked by shift/mask into vpdpbusd (AVX-512
//    VNNI) or maddubs (AVX2) against the activations (trit::kernels::i2_gemm at each level).
//  - base-3 (1.6 bits): 5 trits per byte, decoded with AVX-512 VBMI byte permutes, then vpdpbusd.
//  - lookup tables (bitnet.cpp TL2 / T-MAC style, 1.67 bits): weights in groups of 3, each a 4-bit index
//    into 14 sign-symmetric partial sums plus a sign bit; per token every group of 3 activations gets a
//    16-entry int16 table (built once, shared by all rows, and timed), split into low/high byte tables, and
//    one vpshufb looks up the indices of 64 (AVX-512BW) or 32 (AVX2) rows at once.
// Every case is checked once against a scalar dot product of the same random matrix. MAC/s says which
// layout computes faster, GB/s how close each gets to the read bandwidth; a layout wins decode where it is
// memory-bound at fewer bytes per weight. Results: bench/README.md.
// Run: build/release/bench/bench_layouts
#include <benchmark/benchmark.h>
#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 intrinsics trip -Wmaybe-uninitialized (as in the kernels' SIMD files, which the build
// compiles with the warning off).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/i2_gemm.h"
#include "runtime/aligned_vector.h"
#include "runtime/cpu_features.h"
#include "runtime/huge_buffer.h"
#include "runtime/thread_pool.h"

namespace {

constexpr int64_t kCols = 2560;  // a multiple of 128 (I2) and of 320 (base-3 blocks)

// ---- base-3 ----

// Base-3 block: 64 bytes hold 320 weights; trit i of byte j is the code (weight + 1) of column i*64 + j,
// so each decoded trit plane meets 64 consecutive activations.
struct Base3Tables {
  alignas(64) uint8_t digit[5][256];
  Base3Tables() {
    for (int v = 0; v < 256; ++v) {
      int u = v < 243 ? v : 0;
      for (int i = 0; i < 5; ++i, u /= 3) digit[i][v] = static_cast<uint8_t>(u % 3);
    }
  }
};
const Base3Tables kBase3;

#if defined(__x86_64__)
// Rows [0, rows) of y = codes . x over base-3 rows of kCols / 5 bytes; 4 rows a tile, prefetching 2 tiles
// ahead like the engine's decode kernel. Each trit plane: two vpermi2b over the 128-entry table halves
// and a blend on the byte's top bit.
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vnni"))) void base3_gemv(const uint8_t* w, const int8_t* x,
                                                                                  int64_t rows, int32_t* y) {
  __m512i table[5][4];
  for (int i = 0; i < 5; ++i)
    for (int h = 0; h < 4; ++h) table[i][h] = _mm512_loadu_si512(kBase3.digit[i] + 64 * h);
  constexpr int64_t row_bytes = kCols / 5;
  for (int64_t r = 0; r + 4 <= rows; r += 4) {
    __m512i acc[4][2];
    for (auto& a : acc) a[0] = a[1] = _mm512_setzero_si512();
    for (int64_t b = 0; b < kCols / 320; ++b)
      for (int q = 0; q < 4; ++q) {
        const uint8_t* src = w + (r + q) * row_bytes + b * 64;
        _mm_prefetch(reinterpret_cast<const char*>(src + 8 * row_bytes), _MM_HINT_T0);
        const __m512i v = _mm512_loadu_si512(src);
        const __mmask64 high = _mm512_movepi8_mask(v);
        for (int i = 0; i < 5; ++i) {
          const __m512i lo = _mm512_permutex2var_epi8(table[i][0], v, table[i][1]);
          const __m512i hi = _mm512_permutex2var_epi8(table[i][2], v, table[i][3]);
          acc[q][i & 1] = _mm512_dpbusd_epi32(acc[q][i & 1], _mm512_mask_blend_epi8(high, lo, hi),
                                              _mm512_loadu_si512(x + b * 320 + i * 64));
        }
      }
    for (int q = 0; q < 4; ++q) y[r + q] = _mm512_reduce_add_epi32(_mm512_add_epi32(acc[q][0], acc[q][1]));
  }
}
#endif

// ---- lookup tables (TL2 style) ----
//
// A group of 3 weights (w0, w1, w2) has code c = 9(w0+1) + 3(w1+1) + (w2+1) in 0..26; negating the weights
// maps c to 26 - c, so the group is stored as magnitude index m = |c - 13| (0..13) and a sign (c < 13):
// its partial sum is +-T[m] with T[m] = the sum for code 13 + m. The 2560 columns are 854 groups (the last
// padded with zero weights), padded to kGroups = 856 so that a block of 8 groups is whole.
//
// Per token: T of group g as 16 int16 entries (14 used), stored as 16 low bytes then 16 high bytes
// (32 bytes a group). A negative group is applied as the one's complement of both bytes (~T = -T - 1, a
// bytewise XOR, so it works on the split tables); the -1s are undone by adding, per row, the count of its
// negative groups (a constant of the weights, stored with them).
//
// Row tiles of R rows (64 for AVX-512BW, 32 for AVX2), tile after tile: a header of R int16 negative
// counts, then blocks of 8 groups. A block: 4 index vectors of R bytes (byte j of vector p: m of row j for
// group 2p in the low nibble, for group 2p + 1 in the high nibble), then the signs: AVX-512, 8 masks of 64
// bits (bit j: row j of group s); AVX2, 32 bytes (bit 7 - s of byte j: row j of group s).
// Inner loop per R rows x 1 group (3 columns): 2 vpshufb (low/high table), the sign (AVX-512: 2 masked
// vpsubb; AVX2: vpaddb + vpcmpgtb + 2 vpxor), 2 vpunpck[lh]bw into int16 and 2 vpaddw, plus 1.5 ops to
// split the nibbles; int16 accumulators are widened to int32 every 64 groups (|sum| <= 64 x 385 < 32768).
constexpr int64_t kGroups = 856;
constexpr int64_t kLutBlocks = kGroups / 8;
constexpr int64_t kLutCols = kGroups * 3;  // activations zero padded to this (+ 8 bytes of slack)

constexpr int64_t lut_header_bytes(int rows) { return rows * 2 <= 64 ? 64 : rows * 2; }
constexpr int64_t lut_block_bytes(int rows) { return rows == 64 ? 4 * 64 + 8 * 8 : 4 * 32 + 32; }
constexpr int64_t lut_tile_bytes(int rows) { return lut_header_bytes(rows) + kLutBlocks * lut_block_bytes(rows); }

// Constants of the table build: entry m's weights (w0, w1 in byte pairs; w2 then 0) and 128 x their sum.
struct LutCoefficients {
  alignas(32) int8_t w01[32] = {};
  alignas(32) int8_t w2[32] = {};
  alignas(32) int16_t bias[16] = {};
  LutCoefficients() {
    for (int m = 0; m < 14; ++m) {
      const int c = 13 + m, w0 = c / 9 - 1, w1 = c / 3 % 3 - 1, w2v = c % 3 - 1;
      w01[2 * m] = static_cast<int8_t>(w0);
      w01[2 * m + 1] = static_cast<int8_t>(w1);
      w2[2 * m] = static_cast<int8_t>(w2v);
      bias[m] = static_cast<int16_t>(128 * (w0 + w1 + w2v));
    }
  }
};
const LutCoefficients kLutCoefficients;

// Packs rows (a multiple of R) of values ([rows][kCols], -1/0/+1) into dst (rows / R tiles).
void lut_pack(const std::vector<int8_t>& values, int64_t rows, int R, uint8_t* dst) {
  std::memset(dst, 0, static_cast<size_t>(rows / R * lut_tile_bytes(R)));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t j = r % R;
    uint8_t* tile = dst + r / R * lut_tile_bytes(R);
    int neg_count = 0;
    for (int64_t g = 0; g < kGroups; ++g) {
      int c = 0;
      for (int i = 0; i < 3; ++i) {
        const int64_t col = 3 * g + i;
        c = 3 * c + (col < kCols ? values[r * kCols + col] : 0) + 1;
      }
      const int m = std::abs(c - 13), neg = c < 13, s = static_cast<int>(g % 8);
      neg_count += neg;
      uint8_t* block = tile + lut_header_bytes(R) + g / 8 * lut_block_bytes(R);
      block[s / 2 * R + j] |= static_cast<uint8_t>(m << (4 * (s % 2)));
      if (R == 64) {
        block[256 + 8 * s + j / 8] |= static_cast<uint8_t>(neg << (j % 8));
      } else {
        block[128 + j] |= static_cast<uint8_t>(neg << (7 - s));
      }
    }
    const int16_t n = static_cast<int16_t>(neg_count);
    std::memcpy(tile + 2 * j, &n, 2);
  }
}

// The accumulators' row order: int32 lane e of accumulator k (even/odd words of the int16 sums of the
// vpunpcklbw and vpunpckhbw halves) holds row lut_row(k, e) of the tile.
constexpr int lut_row(int k, int e) { return e / 4 * 16 + 8 * (k / 2) + 2 * (e % 4) + k % 2; }

#if defined(__x86_64__)
// Tables for one token: x has kLutCols + 8 bytes (zero padded). Entry m of group g is
// maddubs(x0 + 128, x1 + 128 by w0, w1) + maddubs(x2 + 128 by w2) - 128 (w0 + w1 + w2), exact in int16.
__attribute__((target("avx2"))) void lut_build_tables(const int8_t* x, uint8_t* tables) {
  const __m256i w01 = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLutCoefficients.w01));
  const __m256i w2 = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLutCoefficients.w2));
  const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLutCoefficients.bias));
  const __m256i flip = _mm256_set1_epi8(-128);
  // Per 128-bit lane: the low bytes of its 8 entries, then the high bytes.
  const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12,
                                         14, 1, 3, 5, 7, 9, 11, 13, 15);
  for (int64_t g = 0; g < kGroups; ++g) {
    int16_t x01;
    std::memcpy(&x01, x + 3 * g, 2);
    const __m256i a = _mm256_xor_si256(_mm256_set1_epi16(x01), flip);
    const __m256i b = _mm256_xor_si256(_mm256_set1_epi8(x[3 * g + 2]), flip);
    __m256i t = _mm256_sub_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(a, w01), _mm256_maddubs_epi16(b, w2)), bias);
    t = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(t, split), _MM_SHUFFLE(3, 1, 2, 0));
    _mm256_store_si256(reinterpret_cast<__m256i*>(tables + 32 * g), t);
  }
}

// How far ahead (bytes) the LUT kernels prefetch their single weight stream.
constexpr int64_t kLutPrefetchBytes = 8192;

// Tiles [tile_begin, tile_end) of 64 rows: y[64 * tile + row] = sum of weight x activation.
__attribute__((target("avx512f,avx512bw"))) void lut_gemv_avx512(const uint8_t* w, const uint8_t* tables,
                                                                 int64_t tile_begin, int64_t tile_end, int32_t* y) {
  const __m512i nibble = _mm512_set1_epi8(0x0F), all_ones = _mm512_set1_epi8(-1);
  for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
    const uint8_t* tw = w + tile * lut_tile_bytes(64);
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int64_t b0 = 0; b0 < kLutBlocks; b0 += 8) {
      const int64_t b1 = std::min(b0 + 8, kLutBlocks);
      __m512i sum_lo = _mm512_setzero_si512(), sum_hi = _mm512_setzero_si512();
      for (int64_t b = b0; b < b1; ++b) {
        const uint8_t* block = tw + lut_header_bytes(64) + b * lut_block_bytes(64);
        for (int line = 0; line < 5; ++line)
          _mm_prefetch(reinterpret_cast<const char*>(block + kLutPrefetchBytes + 64 * line), _MM_HINT_T0);
        const uint8_t* tb = tables + b * 8 * 32;
        for (int p = 0; p < 4; ++p) {
          const __m512i v = _mm512_loadu_si512(block + 64 * p);
          const __m512i index[2] = {_mm512_and_si512(v, nibble), _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble)};
          for (int h = 0; h < 2; ++h) {
            const int s = 2 * p + h;
            __mmask64 neg;
            std::memcpy(&neg, block + 256 + 8 * s, 8);
            const __m512i t_lo = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(tb + 32 * s)));
            const __m512i t_hi =
                _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(tb + 32 * s + 16)));
            // all_ones - v = ~v in the negative rows.
            const __m512i lo_pos = _mm512_shuffle_epi8(t_lo, index[h]);
            const __m512i hi_pos = _mm512_shuffle_epi8(t_hi, index[h]);
            const __m512i lo = _mm512_mask_sub_epi8(lo_pos, neg, all_ones, lo_pos);
            const __m512i hi = _mm512_mask_sub_epi8(hi_pos, neg, all_ones, hi_pos);
            sum_lo = _mm512_add_epi16(sum_lo, _mm512_unpacklo_epi8(lo, hi));
            sum_hi = _mm512_add_epi16(sum_hi, _mm512_unpackhi_epi8(lo, hi));
          }
        }
      }
      acc[0] = _mm512_add_epi32(acc[0], _mm512_srai_epi32(_mm512_slli_epi32(sum_lo, 16), 16));
      acc[1] = _mm512_add_epi32(acc[1], _mm512_srai_epi32(sum_lo, 16));
      acc[2] = _mm512_add_epi32(acc[2], _mm512_srai_epi32(_mm512_slli_epi32(sum_hi, 16), 16));
      acc[3] = _mm512_add_epi32(acc[3], _mm512_srai_epi32(sum_hi, 16));
    }
    alignas(64) int32_t out[4][16];
    for (int k = 0; k < 4; ++k) _mm512_store_si512(out[k], acc[k]);
    int32_t* yt = y + tile * 64;
    for (int k = 0; k < 4; ++k)
      for (int e = 0; e < 16; ++e) {
        const int row = lut_row(k, e);
        int16_t neg_count;
        std::memcpy(&neg_count, tw + 2 * row, 2);
        yt[row] = out[k][e] + neg_count;
      }
  }
}

// The same for tiles of 32 rows with 256-bit vectors.
__attribute__((target("avx2"))) void lut_gemv_avx2(const uint8_t* w, const uint8_t* tables, int64_t tile_begin,
                                                   int64_t tile_end, int32_t* y) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
  for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
    const uint8_t* tw = w + tile * lut_tile_bytes(32);
    __m256i acc[4] = {zero, zero, zero, zero};
    for (int64_t b0 = 0; b0 < kLutBlocks; b0 += 8) {
      const int64_t b1 = std::min(b0 + 8, kLutBlocks);
      __m256i sum_lo = zero, sum_hi = zero;
      for (int64_t b = b0; b < b1; ++b) {
        const uint8_t* block = tw + lut_header_bytes(32) + b * lut_block_bytes(32);
        for (int line = 0; line < 3; ++line)
          _mm_prefetch(reinterpret_cast<const char*>(block + kLutPrefetchBytes + 64 * line), _MM_HINT_T0);
        const uint8_t* tb = tables + b * 8 * 32;
        __m256i signs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 128));
        for (int p = 0; p < 4; ++p) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 32 * p));
          const __m256i index[2] = {_mm256_and_si256(v, nibble), _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)};
          for (int h = 0; h < 2; ++h) {
            const int s = 2 * p + h;
            // Group s's sign bit sits in bit 7 of each byte once the bytes have been doubled s times.
            const __m256i neg = _mm256_cmpgt_epi8(zero, signs);
            signs = _mm256_add_epi8(signs, signs);
            const __m256i t_lo =
                _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(tb + 32 * s)));
            const __m256i t_hi =
                _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(tb + 32 * s + 16)));
            const __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(t_lo, index[h]), neg);
            const __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(t_hi, index[h]), neg);
            sum_lo = _mm256_add_epi16(sum_lo, _mm256_unpacklo_epi8(lo, hi));
            sum_hi = _mm256_add_epi16(sum_hi, _mm256_unpackhi_epi8(lo, hi));
          }
        }
      }
      acc[0] = _mm256_add_epi32(acc[0], _mm256_srai_epi32(_mm256_slli_epi32(sum_lo, 16), 16));
      acc[1] = _mm256_add_epi32(acc[1], _mm256_srai_epi32(sum_lo, 16));
      acc[2] = _mm256_add_epi32(acc[2], _mm256_srai_epi32(_mm256_slli_epi32(sum_hi, 16), 16));
      acc[3] = _mm256_add_epi32(acc[3], _mm256_srai_epi32(sum_hi, 16));
    }
    alignas(32) int32_t out[4][8];
    for (int k = 0; k < 4; ++k) _mm256_store_si256(reinterpret_cast<__m256i*>(out[k]), acc[k]);
    int32_t* yt = y + tile * 32;
    for (int k = 0; k < 4; ++k)
      for (int e = 0; e < 8; ++e) {
        const int row = lut_row(k, e);
        int16_t neg_count;
        std::memcpy(&neg_count, tw + 2 * row, 2);
        yt[row] = out[k][e] + neg_count;
      }
  }
}
#endif

// The activations of the one token every case multiplies: x = i % 17 - 8 quantised as the engine does
// (int8 in +-127), in I2's two orders, plus a zero-padded copy for the LUT table build.
struct Token {
  trit::kernels::Q8Activations a;
  trit::runtime::AlignedVector<int8_t> lut_x;
  Token() : lut_x(kLutCols + 8, 0) {
    std::vector<float> x(kCols);
    for (int64_t i = 0; i < kCols; ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
    a.quantize(x.data(), 1, kCols, trit::runtime::IsaLevel::kAvx512);
    std::copy_n(a.q.data(), kCols, lut_x.data());
  }
};
const Token& token() {
  static const Token t;
  return t;
}

struct Case {
  int64_t rows;
  trit::runtime::HugeBuffer i2, base3, lut512, lut256;
  trit::kernels::I2Matrix i2_view;
  std::vector<int32_t> dot;  // per row: sum of weight x activation, by a plain scalar loop
};

// The same random ternary matrix in every layout.
Case make_case(int64_t rows) {
  Case c{rows,
         trit::runtime::HugeBuffer(static_cast<size_t>(trit::kernels::i2_packed_bytes(rows, kCols))),
         trit::runtime::HugeBuffer(static_cast<size_t>(rows * kCols / 5)),
         trit::runtime::HugeBuffer(static_cast<size_t>(rows / 64 * lut_tile_bytes(64))),
         trit::runtime::HugeBuffer(static_cast<size_t>(rows / 32 * lut_tile_bytes(32))),
         {},
         std::vector<int32_t>(rows)};
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> d(-1, 1);
  trit::tensor::TernaryMatrix m{rows, kCols, kCols, std::vector<int8_t>(rows * kCols), std::vector<float>(rows, 1.0f)};
  for (auto& v : m.values) v = static_cast<int8_t>(d(rng));
  c.i2_view = trit::kernels::i2_pack_into(m, 1.0f, c.i2.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < kCols / 320; ++b)
      for (int j = 0; j < 64; ++j) {
        int v = 0;
        for (int i = 4; i >= 0; --i) v = v * 3 + (m.values[r * kCols + b * 320 + i * 64 + j] + 1);
        c.base3.data()[r * (kCols / 5) + b * 64 + j] = static_cast<uint8_t>(v);
      }
  lut_pack(m.values, rows, 64, c.lut512.data());
  lut_pack(m.values, rows, 32, c.lut256.data());
  const int8_t* q = token().a.q.data();
  for (int64_t r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (int64_t i = 0; i < kCols; ++i) s += m.values[r * kCols + i] * q[i];
    c.dot[r] = s;
  }
  return c;
}

// One case per size, built on first use.
const Case& shared_case(int64_t rows) {
  static std::vector<std::unique_ptr<Case>> cases;
  for (const auto& c : cases)
    if (c->rows == rows) return *c;
  cases.push_back(std::make_unique<Case>(make_case(rows)));
  return *cases.back();
}

// True when every row's integer result equals the scalar dot product plus `offset`.
bool all_rows_match(const Case& c, const std::vector<int32_t>& y, int32_t offset) {
  for (int64_t r = 0; r < c.rows; ++r)
    if (y[r] != c.dot[r] + offset) return false;
  return true;
}

void set_counters(benchmark::State& state, int64_t rows, double bytes) {
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(rows * kCols) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

// range(0): rows (2560: from cache; 163840: from DRAM), range(1): threads.
void run_i2(benchmark::State& state, trit::runtime::IsaLevel isa) {
  if (!trit::runtime::supports_isa(isa)) {
    state.SkipWithError("CPU lacks this level");
    return;
  }
  const int64_t rows = state.range(0);
  const Case& c = shared_case(rows);
  const auto& a = token().a;
  std::vector<float> y(rows);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  const auto run = [&] {
    pool.parallel_for(
        rows, [&](int64_t r0, int64_t r1) { trit::kernels::i2_gemm(c.i2_view, a, y.data(), r0, r1, isa); }, 16);
  };
  run();
  // y = (integer dot) / x_scale * w_scale (1 here), the kernel's own float operations.
  for (int64_t r = 0; r < rows; ++r)
    if (y[r] != static_cast<float>(c.dot[r]) / a.scale[0] * 1.0f) {
      state.SkipWithError("I2 result differs from the scalar dot product");
      return;
    }
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, rows, static_cast<double>(rows * kCols / 4));
}
void BM_LayoutI2(benchmark::State& state) { run_i2(state, trit::runtime::IsaLevel::kAvx512); }
BENCHMARK(BM_LayoutI2)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();
void BM_LayoutI2Avx2(benchmark::State& state) { run_i2(state, trit::runtime::IsaLevel::kAvx2); }
BENCHMARK(BM_LayoutI2Avx2)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();

void BM_LayoutBase3Vbmi(benchmark::State& state) {
#if defined(__x86_64__)
  const auto& f = trit::runtime::cpu_features();
  if (!(f.avx512f && f.avx512bw && f.avx512vbmi && f.avx512vnni)) {
    state.SkipWithError("needs AVX-512 VBMI and VNNI");
    return;
  }
  const int64_t rows = state.range(0);
  const Case& c = shared_case(rows);
  const int8_t* x = token().a.q.data();
  std::vector<int32_t> y(rows);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  const auto run = [&] {
    pool.parallel_for(
        rows, [&](int64_t r0, int64_t r1) { base3_gemv(c.base3.data() + r0 * (kCols / 5), x, r1 - r0, y.data() + r0); },
        16);
  };
  run();
  // Codes are weight + 1: the result is the dot product plus the sum of the activations.
  if (!all_rows_match(c, y, token().a.sum[0])) {
    state.SkipWithError("base-3 result differs from the scalar dot product");
    return;
  }
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, rows, static_cast<double>(rows * kCols / 5));
#else
  state.SkipWithError("x86-64 only");
#endif
}
BENCHMARK(BM_LayoutBase3Vbmi)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();

#if defined(__x86_64__)
// Each iteration builds the token's tables (once, on the calling thread) and then runs the row tiles.
void run_lut(benchmark::State& state, int R, void (*gemv)(const uint8_t*, const uint8_t*, int64_t, int64_t, int32_t*),
             const trit::runtime::HugeBuffer Case::*buffer) {
  const int64_t rows = state.range(0);
  const Case& c = shared_case(rows);
  const uint8_t* w = (c.*buffer).data();
  trit::runtime::AlignedVector<uint8_t> tables(kGroups * 32);
  std::vector<int32_t> y(rows);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  const auto run = [&] {
    lut_build_tables(token().lut_x.data(), tables.data());
    pool.parallel_for(
        rows / R, [&](int64_t t0, int64_t t1) { gemv(w, tables.data(), t0, t1, y.data()); }, 1);
  };
  run();
  if (!all_rows_match(c, y, 0)) {
    state.SkipWithError("LUT result differs from the scalar dot product");
    return;
  }
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, rows, static_cast<double>(rows / R * lut_tile_bytes(R)));
}
#endif

void BM_LayoutLutAvx512(benchmark::State& state) {
#if defined(__x86_64__)
  const auto& f = trit::runtime::cpu_features();
  if (!(f.avx512f && f.avx512bw && f.avx2)) {
    state.SkipWithError("needs AVX-512BW");
    return;
  }
  run_lut(state, 64, lut_gemv_avx512, &Case::lut512);
#else
  state.SkipWithError("x86-64 only");
#endif
}
BENCHMARK(BM_LayoutLutAvx512)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();

void BM_LayoutLutAvx2(benchmark::State& state) {
#if defined(__x86_64__)
  if (!trit::runtime::cpu_features().avx2) {
    state.SkipWithError("needs AVX2");
    return;
  }
  run_lut(state, 32, lut_gemv_avx2, &Case::lut256);
#else
  state.SkipWithError("x86-64 only");
#endif
}
BENCHMARK(BM_LayoutLutAvx2)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();

// Only the per-token table build (854 groups, 27 KB of tables), for the share it takes of the LUT cases.
void BM_LayoutLutTableBuild(benchmark::State& state) {
#if defined(__x86_64__)
  if (!trit::runtime::cpu_features().avx2) {
    state.SkipWithError("needs AVX2");
    return;
  }
  trit::runtime::AlignedVector<uint8_t> tables(kGroups * 32);
  for (auto _ : state) {
    lut_build_tables(token().lut_x.data(), tables.data());
    benchmark::DoNotOptimize(tables.data());
  }
#else
  state.SkipWithError("x86-64 only");
#endif
}
BENCHMARK(BM_LayoutLutTableBuild);

}  // namespace
