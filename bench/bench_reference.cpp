// The reference kernels' speed: the baseline every fast kernel (issue 3) is measured against.
// Run: build/release/bench/bench_reference
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/bitlinear.h"
#include "kernels/i2_gemm.h"
#include "runtime/cpu_features.h"
#include "runtime/huge_buffer.h"

namespace {

using trit::tensor::TernaryMatrix;

TernaryMatrix random_matrix(int64_t rows, int64_t cols) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> d(-1, 1);
  TernaryMatrix m{rows, cols, cols, std::vector<int8_t>(rows * cols), std::vector<float>(rows, 0.02f)};
  for (auto& v : m.values) v = static_cast<int8_t>(d(rng));
  return m;
}

// One token through a BitNet-2B-4T-sized projection (rows x cols), single thread.
void BM_TernaryMatvec(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const auto w = random_matrix(rows, cols);
  std::vector<float> x(cols, 0.5f), y(rows);
  std::vector<int8_t> q(cols);
  for (auto _ : state) {
    const float s = trit::kernels::quantize_activations(x.data(), cols, q.data());
    trit::kernels::ternary_matvec(w, q.data(), s, y.data(), 0, rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weights/s"] =
      benchmark::Counter(static_cast<double>(rows * cols), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TernaryMatvec)->Args({2560, 2560})->Args({6912, 2560})->Args({2560, 6912});

void BM_QuantizeActivations(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> x(n, 0.25f);
  std::vector<int8_t> q(n);
  for (auto _ : state) benchmark::DoNotOptimize(trit::kernels::quantize_activations(x.data(), n, q.data()));
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_QuantizeActivations)->Arg(2560)->Arg(6912);

}  // namespace

namespace {

// The fast I2 kernel at each level the CPU has, one token (decode) and 64 tokens (prefill).
void BM_I2Gemm(benchmark::State& state) {
  const auto level = static_cast<trit::runtime::IsaLevel>(state.range(0));
  if (!trit::runtime::supports_isa(level)) {
    state.SkipWithError("CPU lacks this level");
    return;
  }
  const int64_t rows = state.range(1), cols = state.range(2), n_tokens = state.range(3);
  // Weights in huge pages, as the engine holds them (runtime/huge_buffer.h).
  trit::runtime::HugeBuffer buffer(static_cast<size_t>(trit::kernels::i2_packed_bytes(rows, cols)));
  const auto m = random_matrix(rows, cols);
  const auto w = trit::kernels::i2_pack_into(m, m.scales[0], buffer.data());
  std::vector<float> x(n_tokens * cols, 0.5f), y(n_tokens * rows);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
  trit::kernels::Q8Activations a;
  a.quantize(x.data(), n_tokens, cols, level);
  for (auto _ : state) {
    trit::kernels::i2_gemm(w, a, y.data(), 0, rows, level);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(trit::runtime::isa_name(level));
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(rows * cols / 4), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * n_tokens) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
// Levels as ints (runtime::IsaLevel): 0 scalar, 1 avx2, 4 avxvnni, 2 avx512.
BENCHMARK(BM_I2Gemm)
    ->ArgsProduct({{0, 1, 4, 2}, {6912}, {2560}, {1}})
    ->ArgsProduct({{1, 4, 2}, {6912}, {2560}, {64}})
    ->ArgsProduct({{4, 2}, {65536}, {8192}, {1}})
    ->ArgsProduct({{1, 4, 2}, {1024}, {2560}, {1}});

}  // namespace
