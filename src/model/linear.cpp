// Linear::forward for each weight form, and the shared-input group.
#include "model/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/bitlinear.h"
#include "kernels/f16_gemv.h"
#include "kernels/i2_gemm.h"
#include "kernels/q8_gemv.h"
#include "runtime/assert.h"
#include "tensor/codec.h"

namespace trit::model {
namespace {

// Reused between calls so the hot loop does not allocate once warm (the main thread quantises;
// workers only read).
thread_local kernels::Q8Activations t_activations;
thread_local std::vector<float> t_rounded;
thread_local std::vector<kernels::Q8_0Activations> t_q8;

constexpr int64_t kRowGrain = 16;
// Rows of a float or Q8_0 matrix whose bytes stay in cache while every token of a batch reads them
// (32 rows of a 2560-wide F16 matrix: 160 KiB, within L2), so a batch reads the matrix from memory
// once, not once per token: the output projection of a server's decode step over many slots.
constexpr int64_t kRowBlock = 32;

// Calls fn(r0, r1, t) for every token t over [row_begin, row_end), in blocks of kRowBlock rows.
template <typename Fn>
void row_blocks_by_token(int64_t row_begin, int64_t row_end, int64_t n_tokens, Fn&& fn) {
  if (n_tokens == 1) return fn(row_begin, row_end, 0);  // one pass: nothing to keep in cache
  for (int64_t b = row_begin; b < row_end; b += kRowBlock)
    for (int64_t t = 0; t < n_tokens; ++t) fn(b, std::min(b + kRowBlock, row_end), t);
}

}  // namespace

int64_t Linear::weight_bytes() const {
  switch (kind) {
    case Kind::kI2:
      return rows * i2.row_bytes();
    case Kind::kTernaryRef:
      return rows * cols / 4;
    case Kind::kF16:
      return rows * cols * 2;
    case Kind::kQ8:
      return rows * cols / 32 * 34;
    case Kind::kF32:
      return rows * cols * 4;
  }
  return 0;
}

void Linear::forward(const float* x, int64_t n_tokens, float* y, runtime::ThreadPool& pool) const {
  const runtime::IsaLevel isa = runtime::active_isa();
  switch (kind) {
    case Kind::kI2: {
      forward_shared_input({{this, y}}, x, n_tokens, pool);
      return;
    }
    case Kind::kTernaryRef: {
      std::vector<int8_t> q(static_cast<size_t>(n_tokens * cols));
      std::vector<float> x_scales(static_cast<size_t>(n_tokens));
      for (int64_t t = 0; t < n_tokens; ++t)
        x_scales[t] = kernels::quantize_activations(x + t * cols, cols, q.data() + t * cols);
      pool.parallel_for(
          rows,
          [&](int64_t r0, int64_t r1) {
            for (int64_t t = 0; t < n_tokens; ++t)
              kernels::ternary_matvec(ternary, q.data() + t * cols, x_scales[t], y + t * rows, r0, r1);
          },
          kRowGrain);
      break;
    }
    case Kind::kF16: {
      t_rounded.resize(static_cast<size_t>(n_tokens * cols));
      for (int64_t i = 0; i < n_tokens * cols; ++i) t_rounded[i] = tensor::f16_to_f32(tensor::f32_to_f16(x[i]));
      const float* xr = t_rounded.data();
      pool.parallel_for(
          rows,
          [&](int64_t r0, int64_t r1) {
            row_blocks_by_token(r0, r1, n_tokens, [&](int64_t b0, int64_t b1, int64_t t) {
              kernels::f16_gemv({f16, cols, xr + t * cols, y + t * rows, b0, b1}, isa);
            });
          },
          64);
      break;
    }
    case Kind::kQ8: {
      std::vector<kernels::Q8_0Activations>& a = t_q8;  // the main thread's (workers only read it)
      if (a.size() < static_cast<size_t>(n_tokens)) a.resize(static_cast<size_t>(n_tokens));
      for (int64_t t = 0; t < n_tokens; ++t) a[t].quantize(x + t * cols, cols);
      pool.parallel_for(
          rows,
          [&](int64_t r0, int64_t r1) {
            row_blocks_by_token(r0, r1, n_tokens, [&](int64_t b0, int64_t b1, int64_t t) {
              kernels::q8_gemv({q8, cols, a[t].q.data(), a[t].d.data(), y + t * rows, b0, b1}, isa);
            });
          },
          64);
      break;
    }
    case Kind::kF32: {
      pool.parallel_for(
          rows,
          [&](int64_t r0, int64_t r1) {
            row_blocks_by_token(r0, r1, n_tokens, [&](int64_t b0, int64_t b1, int64_t t) {
              kernels::float_matvec(f32, cols, x + t * cols, y + t * rows, b0, b1);
            });
          },
          kRowGrain);
      break;
    }
  }
  if (out_scale != 1.0f)
    for (int64_t i = 0; i < n_tokens * rows; ++i) y[i] *= out_scale;
}

void forward_shared_input(const std::vector<std::pair<const Linear*, float*>>& layers, const float* x, int64_t n_tokens,
                          runtime::ThreadPool& pool) {
  bool all_i2 = true;
  for (const auto& [l, y] : layers) all_i2 = all_i2 && l->kind == Linear::Kind::kI2 && l->cols == layers[0].first->cols;
  if (!all_i2) {
    for (const auto& [l, y] : layers) l->forward(x, n_tokens, y, pool);
    return;
  }
  const runtime::IsaLevel isa = runtime::active_isa();
  kernels::Q8Activations& a = t_activations;
  a.prepare(n_tokens, layers[0].first->cols, isa);
  if (n_tokens > 1) {
    pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1) { a.quantize_tokens(x, t0, t1); });
  } else {
    a.quantize_tokens(x, 0, 1);
  }
  int64_t total_rows = 0;
  for (const auto& [l, y] : layers) total_rows += l->rows;
  pool.parallel_for(
      total_rows,
      [&](int64_t r0, int64_t r1) {
        int64_t base = 0;
        for (const auto& [l, y] : layers) {
          const int64_t begin = std::max(r0, base) - base, end = std::min(r1, base + l->rows) - base;
          if (begin < end) kernels::i2_gemm(l->i2, a, y, begin, end, isa);
          base += l->rows;
        }
      },
      kRowGrain);
  for (const auto& [l, y] : layers)
    if (l->out_scale != 1.0f)
      for (int64_t i = 0; i < n_tokens * l->rows; ++i) y[i] *= l->out_scale;
}

}  // namespace trit::model
