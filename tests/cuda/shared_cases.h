// What the CUDA tests share, on the GPU (cuda_*_test.cpp) and in the CPU emulations (simt_test.cpp,
// tests/cuda_emu): generated models, random values, the relative L2 distance, and the per-head-norm
// RoPE case with its expected results.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "kernels/norm.h"
#include "kernels/rope.h"
#include "model/dummy.h"
#include "model/model.h"
#include "support/test_data.h"

namespace trit::cuda {

// A generated model of `shape` (weights of type type_id: 36 i2_s) written to a temporary file and loaded.
inline std::unique_ptr<model::Model> load_dummy(const model::DummyShape& shape, uint64_t seed, uint32_t type_id = 36) {
  model::DummyOptions o;
  o.path = (testing::make_temp_dir("trit-cuda") / "m.gguf").string();
  o.shape = shape;
  o.type_id = type_id;
  o.seed = seed;
  o.show_progress = false;
  model::write_dummy_model(o);
  return model::Model::load(o.path, {.show_progress = false});
}

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float sd = 2.0f) {
  std::normal_distribution<float> normal(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

inline double rel_l2(std::span<const float> a, std::span<const float> b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

// Qwen3 / Gemma 3 heads for rope_store: n_rows rows of Q, K and V heads (hd each), per-head norm weights,
// NEOX RoPE over every dimension (base 1e6) with tables for n_ctx positions.
struct HeadNormRopeCase {
  int hd, n_head, n_head_kv, n_ctx;
  float eps = 1e-6f;
  kernels::RopeParams rope;
  std::vector<float> cos_t, sin_t, qkv, q_norm, k_norm;

  HeadNormRopeCase(int hd_, int n_head_, int n_head_kv_, int n_ctx_, int n_rows, std::mt19937& rng)
      : hd(hd_), n_head(n_head_), n_head_kv(n_head_kv_), n_ctx(n_ctx_) {
    rope.n_rot = hd;
    rope.freq_base = 1000000.0f;
    rope.style = kernels::RopeStyle::kNeox;
    cos_t.resize(static_cast<size_t>(n_ctx * hd / 2));
    sin_t.resize(cos_t.size());
    for (int p = 0; p < n_ctx; ++p) kernels::rope_angles(p, rope, cos_t.data() + p * hd / 2, sin_t.data() + p * hd / 2);
    qkv = random_floats(static_cast<size_t>(n_rows * ld()), rng);
    q_norm = random_floats(static_cast<size_t>(hd), rng, 0.5f);
    k_norm = random_floats(static_cast<size_t>(hd), rng, 0.5f);
  }
  int ld() const { return (n_head + 2 * n_head_kv) * hd; }
  int kv_dim() const { return n_head_kv * hd; }

  // Checks row r's results at position pos: the rotated Q heads (in q_out's row r, ld() apart), and the K
  // and V the row stored (in the caches' position pos, kv_dim() apart).
  void check(int r, int pos, const float* q_out, const float* k_cache, const float* v_cache) const {
    const float* in = qkv.data() + static_cast<size_t>(r) * ld();
    std::vector<float> want(in, in + ld());
    for (int h = 0; h < n_head + n_head_kv; ++h)
      kernels::rms_norm(want.data() + h * hd, (h < n_head ? q_norm : k_norm).data(), want.data() + h * hd, hd, eps);
    kernels::rope_heads(want.data(), n_head + n_head_kv, hd, cos_t.data() + pos * hd / 2, sin_t.data() + pos * hd / 2,
                        rope);
    for (int i = 0; i < n_head * hd; ++i)
      ASSERT_NEAR(q_out[static_cast<size_t>(r) * ld() + i], want[i], 2e-6f * std::fabs(want[i]) + 1e-6f)
          << "hd " << hd << " row " << r << " q " << i;
    for (int i = 0; i < kv_dim(); ++i) {
      const size_t at = static_cast<size_t>(pos) * kv_dim() + i;
      const float want_k = want[static_cast<size_t>(n_head * hd + i)];
      ASSERT_NEAR(k_cache[at], want_k, 2e-6f * std::fabs(want_k) + 1e-6f) << "hd " << hd << " row " << r << " k " << i;
      ASSERT_EQ(v_cache[at], in[(n_head + n_head_kv) * hd + i]) << "hd " << hd << " row " << r << " v " << i;
    }
  }
};

}  // namespace trit::cuda
