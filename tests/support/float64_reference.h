// The float64 building blocks of the tests' independent model re-computations (tests/model/forward_test
// and embedding_test), written from the model definition, not from the engine's code: weights decoded
// with the tensor codecs, RMSNorm, BitLinear (absmax int8 activations, then the ternary weights) and RoPE.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "tensor/codec.h"

namespace trit::testing {

using Vec = std::vector<double>;

// A tensor's values, decoded.
inline Vec decoded(const gguf::Reader& r, const std::string& name) {
  const auto f = tensor::dequantize(r.tensor(name));
  return Vec(f.begin(), f.end());
}

// x / sqrt(mean(x^2) + eps) * w.
inline Vec rms_norm_f64(const Vec& x, const Vec& w, double eps) {
  double ss = 0;
  for (double e : x) ss += e * e;
  const double s = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * w[i];
  return y;
}

// BitLinear of the 2-D tensor `name` ([cols, rows] in GGUF order): activations to int8 by absmax (round
// half to even), then W · (q / s).
inline Vec bitlinear_f64(const gguf::Reader& r, const std::string& name, const Vec& x) {
  const auto& info = r.tensor(name);
  const int64_t cols = static_cast<int64_t>(info.shape[0]), rows = static_cast<int64_t>(info.shape[1]);
  const Vec w = decoded(r, name);
  double mx = 1e-5;
  for (double e : x) mx = std::max(mx, std::fabs(e));
  const double s = 127.0 / mx;
  Vec xq(cols);
  for (int64_t c = 0; c < cols; ++c) xq[c] = std::clamp(std::nearbyint(x[c] * s), -128.0, 127.0) / s;
  Vec y(rows, 0.0);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t c = 0; c < cols; ++c) y[row] += w[row * cols + c] * xq[c];
  return y;
}

// RoPE on the head at v[off, off + head_dim): pairs (i, i + head_dim/2) when neox, else (2i, 2i + 1).
inline void rope_f64(Vec& v, int64_t off, int64_t head_dim, int64_t pos, double base, bool neox) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double th =
        static_cast<double>(pos) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    const int64_t a = off + (neox ? i : 2 * i), b = off + (neox ? i + half : 2 * i + 1);
    const double x0 = v[a], x1 = v[b];
    v[a] = x0 * std::cos(th) - x1 * std::sin(th);
    v[b] = x0 * std::sin(th) + x1 * std::cos(th);
  }
}

}  // namespace trit::testing
