// The reference order of the F16 mat-vec, and the dispatch.
#include "kernels/f16_gemv.h"

#include <cmath>
#include <vector>

#include "tensor/codec.h"

namespace trit::kernels {

namespace {

// f16 -> f32 for all 65536 bit patterns: the tails below convert one value at a time.
const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = tensor::f16_to_f32(static_cast<uint16_t>(i));
    return t;
  }();
  return table.data();
}

// ggml's GGML_F32x16_REDUCE: accumulators 0+2 and 1+3, then 0+1, then the 16 lanes as a tree.
float fold_4x16(float (&acc)[4][16]) {
  for (int l = 0; l < 16; ++l) {
    acc[0][l] += acc[2][l];
    acc[1][l] += acc[3][l];
  }
  for (int l = 0; l < 16; ++l) acc[0][l] += acc[1][l];
  for (int s = 8; s >= 1; s /= 2)
    for (int l = 0; l < s; ++l) acc[0][l] += acc[0][l + s];
  return acc[0][0];
}

}  // namespace

void f16_dot_tail4(const float* folded, const uint16_t* const (&rows)[4], const float* x, int64_t np, int64_t cols,
                   float* y) {
  static const float* const table = f16_table();
  double sum[4];
  for (int i = 0; i < 4; ++i) sum[i] = folded[i];
  // The four tails interleaved: each row's sum keeps its own order, the chains overlap in time.
  for (int64_t c = np; c < cols; ++c)
    for (int i = 0; i < 4; ++i) sum[i] += static_cast<double>(table[rows[i][c]] * x[c]);
  for (int i = 0; i < 4; ++i) y[i] = static_cast<float>(sum[i]);
}

float f16_dot_tail(float folded, const uint16_t* row, const float* x, int64_t np, int64_t cols) {
  static const float* const table = f16_table();
  double sum = folded;
  for (int64_t c = np; c < cols; ++c) sum += static_cast<double>(table[row[c]] * x[c]);
  return static_cast<float>(sum);
}

void f16_gemv_scalar(const F16GemvArgs& a) {
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint16_t* row = a.w + r * (a.ld ? a.ld : a.cols);
    const int64_t np = a.cols / 64 * 64;
    float acc[4][16] = {};
    for (int64_t c = 0; c < np; c += 64)
      for (int j = 0; j < 4; ++j)
        for (int l = 0; l < 16; ++l)
          acc[j][l] = std::fma(tensor::f16_to_f32(row[c + 16 * j + l]), a.x[c + 16 * j + l], acc[j][l]);
    a.y[r] = f16_dot_tail(fold_4x16(acc), row, a.x, np, a.cols);
  }
}

float f32_dot_tail(float folded, const float* row, const float* x, int64_t np, int64_t cols) {
  double sum = folded;
  for (int64_t c = np; c < cols; ++c) sum += static_cast<double>(row[c] * x[c]);
  return static_cast<float>(sum);
}

void f32_gemv_scalar(const F32GemvArgs& a) {
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const float* row = a.w + r * (a.ld ? a.ld : a.cols);
    const int64_t np = a.cols / 64 * 64;
    float acc[4][16] = {};
    for (int64_t c = 0; c < np; c += 64)
      for (int j = 0; j < 4; ++j)
        for (int l = 0; l < 16; ++l) acc[j][l] = std::fma(row[c + 16 * j + l], a.x[c + 16 * j + l], acc[j][l]);
    a.y[r] = f32_dot_tail(fold_4x16(acc), row, a.x, np, a.cols);
  }
}

void f32_gemv(const F32GemvArgs& args, runtime::IsaLevel isa) {
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return f32_gemv_avx512(args);
    case runtime::IsaLevel::kAvxVnni:  // AVX-VNNI adds only the integer dot product: the AVX2 kernel
    case runtime::IsaLevel::kAvx2:
      return f32_gemv_avx2(args);
#endif
#if defined(__aarch64__)
    case runtime::IsaLevel::kNeon:
      return f32_gemv_neon(args);
#endif
    default:
      return f32_gemv_scalar(args);
  }
}

void f16_gemv(const F16GemvArgs& args, runtime::IsaLevel isa) {
  switch (isa) {
#if defined(__x86_64__)
    case runtime::IsaLevel::kAvx512:
      return f16_gemv_avx512(args);
    case runtime::IsaLevel::kAvxVnni:  // AVX-VNNI adds only the integer dot product: the AVX2 kernel
    case runtime::IsaLevel::kAvx2:
      return f16_gemv_avx2(args);
#endif
#if defined(__aarch64__)
    case runtime::IsaLevel::kNeon:
      return f16_gemv_neon(args);
#endif
    default:
      return f16_gemv_scalar(args);
  }
}

}  // namespace trit::kernels
