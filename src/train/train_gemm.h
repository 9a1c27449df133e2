// The one matrix product training needs, C (+)= A · B over row-major floats, with A readable
// transposed (strides), split over the rows of C so every element is summed in one fixed order
// whatever the thread count: forward products, input gradients and weight gradients all use it.
#pragma once

#include <cstdint>

#include "runtime/thread_pool.h"

namespace trit::train {

// C[i][j] (+)= sum_p A(i, p) * B[p][j] with A(i, p) = a[i * a_row + p * a_col] (a_col = 1: row-major A;
// a_row = 1: A stored transposed), B[p][j] = b[p * ldb + j], C[i][j] = c[i * ldc + j].
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t a_row = 0, a_col = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;  // false: C is overwritten
};

// Rows [i0, i1) of C; the scalar reference and its AVX2 twin (called only where the CPU has AVX2 and FMA).
void gemm_rows_scalar(const GemmArgs& g, int64_t i0, int64_t i1);
void gemm_rows_avx2(const GemmArgs& g, int64_t i0, int64_t i1);

// All of C, rows in blocks of 6 over the pool, at the run-time ISA level.
void gemm(const GemmArgs& g, runtime::ThreadPool& pool);

}  // namespace trit::train
