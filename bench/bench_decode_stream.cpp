// Decode-shaped streaming: one token's worth of every ternary matrix of a model shape, called in model
// order from one huge-page arena (as the engine holds weights), so the weights come from DRAM, not
// cache. Its weight_GB/s is directly comparable with the machine's read bandwidth (`trit bench
// --roofline`); the single-matrix cases of bench_reference mostly run from L3.
// Run: build/release/bench/bench_decode_stream [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/f16_gemv.h"
#include "kernels/i2_gemm.h"
#include "runtime/cpu_features.h"
#include "runtime/huge_buffer.h"
#include "runtime/thread_pool.h"
#include "tensor/codec.h"

namespace {

using trit::kernels::I2Matrix;

struct Shape {
  int64_t rows, cols;
};

// One layer of BitNet-b1.58-2B-4T (hidden 2560, FFN 6912, 5 of 20 heads for K/V), in forward order.
const std::vector<Shape> kLayer2B = {{2560, 2560}, {640, 2560},  {640, 2560}, {2560, 2560},
                                     {6912, 2560}, {6912, 2560}, {2560, 6912}};
constexpr int kLayers2B = 30;

struct Model {
  trit::runtime::HugeBuffer arena;
  std::vector<I2Matrix> matrices;
  int64_t bytes = 0;
};

Model make_model(const std::vector<Shape>& layer, int n_layers) {
  Model m;
  for (int l = 0; l < n_layers; ++l)
    for (const Shape& s : layer) m.bytes += trit::kernels::i2_packed_bytes(s.rows, s.cols);
  m.arena = trit::runtime::HugeBuffer(static_cast<size_t>(m.bytes));
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> d(-1, 1);
  uint8_t* dst = m.arena.data();
  for (int l = 0; l < n_layers; ++l)
    for (const Shape& s : layer) {
      trit::tensor::TernaryMatrix t{s.rows, s.cols, s.cols, std::vector<int8_t>(s.rows * s.cols),
                                    std::vector<float>(s.rows, 0.02f)};
      for (auto& v : t.values) v = static_cast<int8_t>(d(rng));
      m.matrices.push_back(trit::kernels::i2_pack_into(t, 0.02f, dst));
      dst += trit::kernels::i2_packed_bytes(s.rows, s.cols);
    }
  return m;
}

// range(0): kernel level, range(1): threads.
void BM_DecodeTernary2B(benchmark::State& state) {
  const auto level = static_cast<trit::runtime::IsaLevel>(state.range(0));
  if (!trit::runtime::supports_isa(level)) {
    state.SkipWithError("CPU lacks this level");
    return;
  }
  static const Model model = make_model(kLayer2B, kLayers2B);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  std::vector<float> x(6912), y(6912);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
  trit::kernels::Q8Activations a2560, a6912;
  a2560.quantize(x.data(), 1, 2560, level);
  a6912.quantize(x.data(), 1, 6912, level);
  for (auto _ : state) {
    for (const I2Matrix& w : model.matrices) {
      const auto& a = w.cols == 2560 ? a2560 : a6912;
      pool.parallel_for(
          w.rows, [&](int64_t r0, int64_t r1) { trit::kernels::i2_gemm(w, a, y.data(), r0, r1, level); }, 16);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(trit::runtime::isa_name(level));
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(model.bytes), benchmark::Counter::kIsIterationInvariantRate);
}
// Levels as ints: 1 avx2, 4 avxvnni, 2 avx512 (runtime::IsaLevel).
BENCHMARK(BM_DecodeTernary2B)->ArgsProduct({{1, 4, 2}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

// The F16 output projection of a 32002-token vocabulary at width 2560 (164 MB), one token.
void BM_DecodeOutputF16(benchmark::State& state) {
  const auto level = static_cast<trit::runtime::IsaLevel>(state.range(0));
  if (!trit::runtime::supports_isa(level)) {
    state.SkipWithError("CPU lacks this level");
    return;
  }
  constexpr int64_t rows = 32002, cols = 2560;
  static trit::runtime::HugeBuffer buffer(static_cast<size_t>(rows * cols * 2));
  auto* w = reinterpret_cast<uint16_t*>(buffer.data());
  for (int64_t i = 0; i < rows * cols; ++i) w[i] = trit::tensor::f32_to_f16(static_cast<float>(i % 13) * 0.01f);
  trit::runtime::ThreadPool pool(static_cast<int>(state.range(1)));
  std::vector<float> x(cols, 0.25f), y(rows);
  for (auto _ : state) {
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
          trit::kernels::f16_gemv({w, cols, x.data(), y.data(), r0, r1}, level);
        },
        64);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(trit::runtime::isa_name(level));
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(rows * cols * 2), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_DecodeOutputF16)->ArgsProduct({{1, 2}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
