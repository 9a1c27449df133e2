// Weight-layout exploration for decode (issue 3): the engine's 2-bit I2 layout (4 codes per byte,
// unpacked by shift + mask) against a 1.6-bit base-3 layout (5 trits per byte, TQ1_0's density) decoded
// with AVX-512 VBMI byte permutes, both feeding vpdpbusd. One token, 4 rows per tile, one thread; from
// cache (a 2560 x 2560 matrix) and streamed from DRAM (a 64 x 2560 x 2560 arena in huge pages).
// MAC/s says which layout computes faster, GB/s how close each gets to the read bandwidth; a layout
// wins decode where it is memory-bound at fewer bytes per weight. Results: bench/README.md.
// Run: build/release/bench/bench_layouts
#include <benchmark/benchmark.h>
#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 intrinsics trip -Wmaybe-uninitialized (as in the kernels' SIMD files, which the build
// compiles with the warning off).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/i2_gemm.h"
#include "runtime/cpu_features.h"
#include "runtime/huge_buffer.h"
#include "runtime/thread_pool.h"

namespace {

constexpr int64_t kCols = 2560;  // a multiple of 128 (I2) and of 320 (base-3 blocks)

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

struct Case {
  int64_t rows;
  trit::runtime::HugeBuffer i2, base3;
  trit::kernels::I2Matrix i2_view;
};

// The same random ternary matrix in both layouts.
Case make_case(int64_t rows) {
  Case c{rows,
         trit::runtime::HugeBuffer(static_cast<size_t>(trit::kernels::i2_packed_bytes(rows, kCols))),
         trit::runtime::HugeBuffer(static_cast<size_t>(rows * kCols / 5)),
         {}};
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

void set_counters(benchmark::State& state, int64_t rows, double bytes) {
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(rows * kCols) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

// range(0): rows (2560: from cache; 163840: from DRAM), range(1): threads.
void BM_LayoutI2(benchmark::State& state) {
  if (!trit::runtime::supports_isa(trit::runtime::IsaLevel::kAvx512)) {
    state.SkipWithError("needs AVX-512 VNNI");
    return;
  }
  const int64_t rows = state.range(0);
  const Case& c = shared_case(rows);
  std::vector<float> x(kCols), y(rows);
  for (int64_t i = 0; i < kCols; ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
  trit::kernels::Q8Activations a;
  a.quantize(x.data(), 1, kCols, trit::runtime::IsaLevel::kAvx512);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
          trit::kernels::i2_gemm(c.i2_view, a, y.data(), r0, r1, trit::runtime::IsaLevel::kAvx512);
        },
        16);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, rows, static_cast<double>(rows * kCols / 4));
}
BENCHMARK(BM_LayoutI2)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();

void BM_LayoutBase3Vbmi(benchmark::State& state) {
#if defined(__x86_64__)
  const auto& f = trit::runtime::cpu_features();
  if (!(f.avx512f && f.avx512bw && f.avx512vbmi && f.avx512vnni)) {
    state.SkipWithError("needs AVX-512 VBMI and VNNI");
    return;
  }
  const int64_t rows = state.range(0);
  const Case& c = shared_case(rows);
  std::vector<int8_t> x(kCols);
  for (int64_t i = 0; i < kCols; ++i) x[i] = static_cast<int8_t>(i % 17 - 8);
  std::vector<int32_t> y(rows);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
          base3_gemv(c.base3.data() + r0 * (kCols / 5), x.data(), r1 - r0, y.data() + r0);
        },
        16);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, rows, static_cast<double>(rows * kCols / 5));
#else
  state.SkipWithError("x86-64 only");
#endif
}
BENCHMARK(BM_LayoutBase3Vbmi)->ArgsProduct({{2560, 163840}, {1, 2}})->UseRealTime();

}  // namespace
