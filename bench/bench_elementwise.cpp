// The element-wise kernels (kernels/elementwise.h) at each level the CPU has: RMSNorm, activation
// quantisation, SiLU-gated FFN activation and softmax at BitNet-2B-4T widths (2560, 6912), one thread.
// Run: build/release/bench/bench_elementwise
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/elementwise.h"
#include "runtime/cpu_features.h"

namespace {

using trit::runtime::IsaLevel;

std::vector<float> random_vector(int64_t n, float sigma, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

// The level from range(0); false (and the benchmark skipped) when the CPU lacks it.
bool pick_level(benchmark::State& state, IsaLevel& level) {
  level = static_cast<IsaLevel>(state.range(0));
  if (!trit::runtime::supports_isa(level)) {
    state.SkipWithError("CPU lacks this level");
    return false;
  }
  state.SetLabel(trit::runtime::isa_name(level));
  return true;
}

void BM_RmsNorm(benchmark::State& state) {
  IsaLevel level;
  if (!pick_level(state, level)) return;
  const int64_t n = state.range(1);
  const auto x = random_vector(n, 2.0f, 1), w = random_vector(n, 1.0f, 2);
  std::vector<float> y(static_cast<size_t>(n));
  for (auto _ : state) {
    trit::kernels::rms_norm(x.data(), w.data(), y.data(), n, 1e-5f, level);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_Quantize(benchmark::State& state) {
  IsaLevel level;
  if (!pick_level(state, level)) return;
  const int64_t n = state.range(1);
  const auto x = random_vector(n, 2.0f, 3);
  std::vector<int8_t> q(static_cast<size_t>(n));
  int32_t sum = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(trit::kernels::quantize_activations(x.data(), n, q.data(), &sum, level));
    benchmark::DoNotOptimize(q.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_Silu(benchmark::State& state) {
  IsaLevel level;
  if (!pick_level(state, level)) return;
  const int64_t n = state.range(1);
  constexpr int64_t kRows = 16;  // in place: the input restored once per kRows rows, outside the timing
  const auto g = random_vector(kRows * n, 3.0f, 4), up = random_vector(n, 1.0f, 5);
  std::vector<float> y(g);
  for (auto _ : state) {
    state.PauseTiming();
    y = g;
    state.ResumeTiming();
    for (int64_t r = 0; r < kRows; ++r)
      trit::kernels::gated_activation(y.data() + r * n, up.data(), n, trit::kernels::FfnActivation::kSilu, level);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * n);
}

// In place, repeatedly: after the first pass the row holds probabilities, whose softmax is as costly.
void BM_Softmax(benchmark::State& state) {
  IsaLevel level;
  if (!pick_level(state, level)) return;
  const int64_t n = state.range(1);
  auto y = random_vector(n, 4.0f, 6);
  for (auto _ : state) {
    trit::kernels::softmax(y.data(), n, level);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void levels_and_widths(benchmark::internal::Benchmark* b) {
  for (IsaLevel l : {IsaLevel::kScalar, IsaLevel::kAvx2, IsaLevel::kAvx512, IsaLevel::kNeon})
    for (int64_t n : {2560, 6912}) b->Args({static_cast<int64_t>(l), n});
}

BENCHMARK(BM_RmsNorm)->Apply(levels_and_widths);
BENCHMARK(BM_Quantize)->Apply(levels_and_widths);
BENCHMARK(BM_Silu)->Apply(levels_and_widths);
BENCHMARK(BM_Softmax)->Apply(levels_and_widths);

}  // namespace
