// The reference kernels' speed: the baseline every fast kernel (issue 3) is measured against.
// Run: build/release/bench/bench_reference
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/bitlinear.h"

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
