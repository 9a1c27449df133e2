// The scalar product and the dispatcher. Each C element is accumulated over p = 0..k-1 in order.
#include "train/train_gemm.h"

#include <algorithm>

#include "runtime/cpu_features.h"

namespace trit::train {

void gemm_rows_scalar(const GemmArgs& g, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    float* c = g.c + i * g.ldc;
    if (!g.accumulate) std::fill(c, c + g.n, 0.0f);
    for (int64_t p = 0; p < g.k; ++p) {
      const float a = g.a[i * g.a_row + p * g.a_col];
      const float* b = g.b + p * g.ldb;
      for (int64_t j = 0; j < g.n; ++j) c[j] += a * b[j];
    }
  }
}

void gemm(const GemmArgs& g, runtime::ThreadPool& pool) {
  if (g.m == 0 || g.n == 0) return;
  const runtime::IsaLevel isa = runtime::active_isa();
  const bool avx2 =
      isa == runtime::IsaLevel::kAvx2 || isa == runtime::IsaLevel::kAvxVnni || isa == runtime::IsaLevel::kAvx512;
  constexpr int64_t kRows = 6;  // the AVX2 kernel's register block
  const int64_t blocks = (g.m + kRows - 1) / kRows;
  pool.parallel_for(blocks, [&](int64_t b0, int64_t b1) {
    const int64_t i0 = b0 * kRows, i1 = std::min(g.m, b1 * kRows);
#if defined(__x86_64__) || defined(_M_X64)
    if (avx2) return gemm_rows_avx2(g, i0, i1);
#endif
    gemm_rows_scalar(g, i0, i1);
  });
}

}  // namespace trit::train
