// Every CUDA kernel against the CPU reference on random shapes (odd row counts, padded columns, token
// tails): the int8 quantisation and the ternary products bit for bit, float kernels to rounding.
// Skips where no GPU is visible (CI has none; run it on a GPU machine, tests/cuda/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/device_buffer.h"
#include "cuda/device_weights.h"
#include "cuda/kernels.h"
#include "cuda/require_gpu.h"
#include "cuda/shared_cases.h"
#include "cuda/token_dispatch.h"
#include "kernels/f16_gemv.h"
#include "kernels/i2_gemm.h"
#include "kernels/i2_matrix.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "model/backend.h"
#include "tensor/codec.h"

namespace trit::cuda {
namespace {

template <typename T>
DeviceBuffer upload(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T));
  b.upload(v.data(), v.size() * sizeof(T));
  return b;
}

template <typename T>
std::vector<T> download(const DeviceBuffer& b, size_t n) {
  std::vector<T> v(n);
  TRIT_CUDA_CHECK(cudaDeviceSynchronize());
  TRIT_CUDA_CHECK(cudaMemcpy(v.data(), b.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

tensor::TernaryMatrix random_ternary(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(-1, 1);
  tensor::TernaryMatrix m{rows, cols, cols, std::vector<int8_t>(rows * cols), std::vector<float>(rows, 0.0371f)};
  for (auto& v : m.values) v = static_cast<int8_t>(d(rng));
  return m;
}

// The weights in the GPU layout, uploaded.
struct GpuTernary {
  DeviceBuffer codes, scales;
  TernaryDevice t;
  GpuTernary(const kernels::I2Matrix& w, float out_scale) {
    std::vector<uint8_t> packed(static_cast<size_t>(w.rows * w.row_bytes()));
    for (int64_t r = 0; r < w.rows; ++r) repack_i2_row(w.row(r), w.padded_cols, packed.data() + r * w.row_bytes());
    std::vector<float> s(static_cast<size_t>(2 * w.rows), w.scale);
    std::fill(s.begin() + w.rows, s.end(), out_scale);
    codes = upload(packed);
    scales = upload(s);
    t = {codes.get<uint8_t>(), static_cast<int>(w.rows), static_cast<int>(w.padded_cols), scales.get<float>(),
         scales.get<float>() + w.rows};
  }
};

// Host only: every token count reaches the kernel instance of that count.
TEST(CudaKernels, TokenCountDispatchPicksTheInstanceOfEachCount) {
  for (int n = 1; n <= 8; ++n) {
    int got = 0;
    with_token_count<8>(n, [&](auto tokens) { got = decltype(tokens)::value; });
    EXPECT_EQ(got, n);
  }
}

TEST(CudaKernels, QuantizeRowsMatchesTheCpuExactly) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(5);
  for (int cols : {100, 128, 2560, 6912}) {
    const int n = 7, padded = static_cast<int>((cols + 127) / 128 * 128);
    const auto x = random_floats(static_cast<size_t>(n * cols), rng);
    kernels::Q8Activations a;
    a.quantize(x.data(), n, cols, runtime::IsaLevel::kScalar);
    DeviceBuffer dx = upload(x), q(static_cast<size_t>(n * padded)), scale(n * 4), sum(n * 4);
    quantize_rows(dx.get<float>(), cols, cols, n, nullptr, 1e-5f,
                  {q.get<int8_t>(), scale.get<float>(), sum.get<int32_t>(), padded}, nullptr, 0, nullptr);
    const auto gq = download<int8_t>(q, static_cast<size_t>(n * padded));
    const auto gs = download<float>(scale, n);
    const auto gsum = download<int32_t>(sum, n);
    for (int t = 0; t < n; ++t) {
      EXPECT_EQ(gs[t], a.scale[t]) << cols << " token " << t;
      EXPECT_EQ(gsum[t], a.sum[t]) << cols << " token " << t;
      for (int c = 0; c < padded; ++c)
        ASSERT_EQ(gq[t * padded + c], a.q[t * a.padded_cols + c]) << cols << " " << t << " " << c;
    }
  }
}

TEST(CudaKernels, RmsNormFusedWithQuantisationMatchesTheCpu) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(6);
  const int n = 5, cols = 2560, padded = 2560;
  const auto x = random_floats(static_cast<size_t>(n * cols), rng);
  const auto w = random_floats(cols, rng, 0.5f);
  DeviceBuffer dx = upload(x), dw = upload(w), q(n * padded), scale(n * 4), sum(n * 4), normed(n * cols * 4);
  quantize_rows(dx.get<float>(), cols, cols, n, dw.get<float>(), 1e-5f,
                {q.get<int8_t>(), scale.get<float>(), sum.get<int32_t>(), padded}, normed.get<float>(), cols, nullptr);
  const auto gn = download<float>(normed, static_cast<size_t>(n * cols));
  const auto gq = download<int8_t>(q, static_cast<size_t>(n * padded));
  std::vector<float> cpu(static_cast<size_t>(n * cols));
  for (int t = 0; t < n; ++t) kernels::rms_norm(x.data() + t * cols, w.data(), cpu.data() + t * cols, cols, 1e-5f);
  kernels::Q8Activations a;
  a.quantize(cpu.data(), n, cols, runtime::IsaLevel::kScalar);
  int64_t differ = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    ASSERT_NEAR(gn[i], cpu[i], 1e-6f * std::fabs(cpu[i]) + 1e-7f) << i;
    differ += gq[i] != a.q[i];
    ASSERT_LE(std::abs(gq[i] - a.q[i]), 1) << i;
  }
  // The sum of squares is added in another order: at most a rounding of the scale, rarely a q step.
  EXPECT_LE(differ, static_cast<int64_t>(cpu.size() / 1000));
}

// The plain norm (the embedding models' first of two norms) and Gemma's post-norm added to the residual.
TEST(CudaKernels, RmsNormRowsAndTheirResidualAddMatchTheCpu) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(16);
  const int n = 6, cols = 640, ld = 700;  // rows apart: only cols of each are read and written
  const auto x = random_floats(static_cast<size_t>(n * ld), rng);
  const auto w = random_floats(cols, rng, 0.5f);
  const auto residual = random_floats(static_cast<size_t>(n * cols), rng);
  DeviceBuffer dx = upload(x), dw = upload(w), out(static_cast<size_t>(n * cols) * 4), acc = upload(residual);
  rms_norm_rows(dx.get<float>(), ld, cols, n, dw.get<float>(), 1e-6f, out.get<float>(), cols, false, nullptr);
  rms_norm_rows(dx.get<float>(), ld, cols, n, dw.get<float>(), 1e-6f, acc.get<float>(), cols, true, nullptr);
  const auto got = download<float>(out, static_cast<size_t>(n * cols));
  const auto got_acc = download<float>(acc, static_cast<size_t>(n * cols));
  std::vector<float> cpu(static_cast<size_t>(n * cols));
  for (int t = 0; t < n; ++t) kernels::rms_norm(x.data() + t * ld, w.data(), cpu.data() + t * cols, cols, 1e-6f);
  for (size_t i = 0; i < cpu.size(); ++i) {
    ASSERT_NEAR(got[i], cpu[i], 1e-6f * std::fabs(cpu[i]) + 1e-7f) << i;
    const float sum = residual[i] + cpu[i];
    ASSERT_NEAR(got_acc[i], sum, 1e-6f * (std::fabs(cpu[i]) + std::fabs(sum)) + 1e-7f) << i;
  }
}

// Qwen3 / Gemma 3: each Q and K head RMS-normed by its head_dim weights, then rotated; K and V stored.
TEST(CudaKernels, RopeStoreNormsEachQAndKHeadBeforeRotating) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(17);
  for (const int hd : {64, 128, 256}) {
    const int n = 3, first_pos = 5;
    const HeadNormRopeCase c(hd, 4, 2, 16, n, rng);
    DeviceBuffer dqkv = upload(c.qkv), dcos = upload(c.cos_t), dsin = upload(c.sin_t), dqn = upload(c.q_norm),
                 dkn = upload(c.k_norm);
    const size_t cache = static_cast<size_t>(c.n_ctx * c.kv_dim());
    DeviceBuffer dk(cache * 4), dv(cache * 4);
    std::vector<RowDesc> rows;
    for (int r = 0; r < n; ++r) rows.push_back({first_pos + r, 0, static_cast<int64_t>(cache), dk.get(), dv.get()});
    DeviceBuffer drows = upload(rows);
    RopeStoreArgs args{
        dqkv.get<float>(),    c.ld(), n,    c.n_head, c.n_head_kv, hd, hd, true, dcos.get<float>(), dsin.get<float>(),
        drows.get<RowDesc>(), 0,      false};
    args.q_norm = dqn.get<float>();
    args.k_norm = dkn.get<float>();
    args.norm_eps = c.eps;
    rope_store(args, nullptr);
    const auto q = download<float>(dqkv, c.qkv.size());
    const auto k = download<float>(dk, cache), v = download<float>(dv, cache);
    for (int r = 0; r < n; ++r) c.check(r, first_pos + r, q.data(), k.data(), v.data());
  }
}

TEST(CudaKernels, TernaryGemvAndTensorCoreGemmMatchTheCpuBitForBit) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(7);
  for (int64_t rows : {1, 5, 64, 100, 2560})
    for (int64_t cols : {100, 256, 640, 2560})
      for (int n : {1, 2, 3, 8, 9, 33, 64, 130}) {
        if (rows * cols * n > 2560LL * 2560 * 33) continue;
        const auto m = random_ternary(rows, cols, rng);
        const kernels::I2Matrix w = kernels::i2_pack(m);
        const auto x = random_floats(static_cast<size_t>(n * cols), rng);
        kernels::Q8Activations a;
        a.quantize(x.data(), n, cols, runtime::IsaLevel::kScalar);
        std::vector<float> cpu(static_cast<size_t>(n * rows));
        kernels::i2_gemm_scalar(w, a, cpu.data(), 0, rows);
        GpuTernary g(w, 1.0f);
        const int padded = static_cast<int>(a.padded_cols);  // the activations' row stride
        ASSERT_GE(a.padded_cols, w.padded_cols);
        DeviceBuffer dq = upload(std::vector<int8_t>(a.q.begin(), a.q.begin() + n * padded)), ds = upload(a.scale),
                     dsum = upload(a.sum), dy(static_cast<size_t>(n * rows) * 4);
        const QuantizedRows qr{dq.get<int8_t>(), ds.get<float>(), dsum.get<int32_t>(), padded};
        for (int path = 0; path < 2; ++path) {
          TRIT_CUDA_CHECK(cudaMemset(dy.get(), 0xff, dy.bytes()));  // NaN: every output must be written
          if (path == 0)
            ternary_gemv(g.t, qr, n, dy.get<float>(), static_cast<int>(rows), false, nullptr);
          else
            ternary_gemm_mma(g.t, qr, n, dy.get<float>(), static_cast<int>(rows), false, nullptr);
          const auto gy = download<float>(dy, static_cast<size_t>(n * rows));
          for (size_t i = 0; i < cpu.size(); ++i)
            ASSERT_EQ(gy[i], cpu[i]) << (path ? "mma" : "gemv") << " rows " << rows << " cols " << cols << " n " << n
                                     << " at " << i;
        }
        // Accumulating into a residual: y + value, one rounding.
        std::vector<float> base = random_floats(static_cast<size_t>(n * rows), rng);
        dy.upload(base.data(), base.size() * 4);
        ternary_matmul(g.t, qr, n, dy.get<float>(), static_cast<int>(rows), true, nullptr);
        const auto acc = download<float>(dy, base.size());
        for (size_t i = 0; i < cpu.size(); ++i) ASSERT_EQ(acc[i], base[i] + cpu[i]) << i;
      }
}

TEST(CudaKernels, F16MatmulMatchesTheCpuToRounding) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(8);
  for (int rows : {1, 37, 1000})
    for (int cols : {64, 2560})
      for (int n : {1, 4, 11}) {
        const auto wf = random_floats(static_cast<size_t>(rows * cols), rng, 0.05f);
        std::vector<uint16_t> w(wf.size());
        for (size_t i = 0; i < wf.size(); ++i) w[i] = tensor::f32_to_f16(wf[i]);
        const auto x = random_floats(static_cast<size_t>(n * cols), rng);
        DeviceBuffer dw = upload(w), dx = upload(x), dy(static_cast<size_t>(n * rows) * 4);
        f16_matmul(dw.get<uint16_t>(), rows, cols, dx.get<float>(), cols, n, dy.get<float>(), rows, false, nullptr);
        const auto gy = download<float>(dy, static_cast<size_t>(n * rows));
        for (int t = 0; t < n; ++t) {
          std::vector<float> xr(cols), y(rows);
          for (int c = 0; c < cols; ++c) xr[c] = tensor::f16_to_f32(tensor::f32_to_f16(x[t * cols + c]));
          kernels::f16_gemv({w.data(), cols, xr.data(), y.data(), 0, rows}, runtime::IsaLevel::kScalar);
          for (int r = 0; r < rows; ++r) ASSERT_NEAR(gy[t * rows + r], y[r], 1e-4f * (1.0f + std::fabs(y[r]))) << r;
        }
      }
}

TEST(CudaKernels, ArgmaxTakesTheFirstMaximum) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(9);
  const int n = 3, cols = 50000;
  auto v = random_floats(static_cast<size_t>(n * cols), rng);
  v[0 * cols + 777] = 100.0f;
  v[1 * cols + 49999] = 100.0f;
  v[2 * cols + 10] = 100.0f;
  v[2 * cols + 20000] = 100.0f;  // a tie: the lower index wins
  DeviceBuffer dv = upload(v), ids(n * 4);
  argmax_rows(dv.get<float>(), n, cols, ids.get<int32_t>(), nullptr);
  const auto g = download<int32_t>(ids, n);
  EXPECT_EQ(g, (std::vector<int32_t>{777, 49999, 10}));
}

// Attention over an f16 cache for a prompt continuing a cached sequence (70 new rows after 37 cached
// positions, layer 1 of 2, GQA): the one-row kernel and the tensor-core flash tiles (P in two f16 parts)
// against a double reference, both to float rounding: 2^-16 of the largest value.
TEST(CudaKernels, AttentionKernelsMatchADoubleReference) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(31);
  EXPECT_FALSE(flash_attention_reserve(100));  // not a multiple of 16: the row kernel serves it
  for (const int hd : {64, 128, 256}) {
    const int n_head = 8, n_head_kv = 2, n_ctx = 200, n_layer = 2, layer = 1, n_past = 37, n = 70;
    const int kv_dim = n_head_kv * hd, ld = (n_head + 2 * n_head_kv) * hd, ld_out = n_head * hd;
    const int64_t stride = static_cast<int64_t>(n_ctx) * kv_dim;
    std::vector<uint16_t> k16(static_cast<size_t>(n_layer * stride)), v16(k16.size());
    std::vector<float> kf(k16.size()), vf(k16.size());
    const auto kr = random_floats(k16.size(), rng, 1.0f), vr = random_floats(k16.size(), rng, 1.0f);
    for (size_t i = 0; i < k16.size(); ++i) {
      k16[i] = tensor::f32_to_f16(kr[i]);
      v16[i] = tensor::f32_to_f16(vr[i]);
      kf[i] = tensor::f16_to_f32(k16[i]);
      vf[i] = tensor::f16_to_f32(v16[i]);
    }
    const auto qkv = random_floats(static_cast<size_t>(n) * ld, rng, 1.0f);
    DeviceBuffer dk = upload(k16), dv = upload(v16), dqkv = upload(qkv);
    std::vector<RowDesc> rows;
    for (int i = 0; i < n; ++i) rows.push_back({n_past + i, 0, stride, dk.get(), dv.get()});
    const std::vector<AttnTile> tiles = {{0, 32}, {32, 32}, {64, 6}};
    DeviceBuffer drows = upload(rows), dtiles = upload(tiles), dout(static_cast<size_t>(n) * ld_out * 4);
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const AttentionArgs args{dqkv.get<float>(),    ld,    n,    n_head, n_head_kv,         hd,    scale, 0,
                             drows.get<RowDesc>(), layer, true, n_ctx,  dout.get<float>(), ld_out};
    // The reference: Q rounded to f16 as both kernels (and the CPU) round it, everything else in double.
    std::vector<double> want(static_cast<size_t>(n) * ld_out);
    double v_max = 0;
    for (float v : vf) v_max = std::max(v_max, std::fabs(static_cast<double>(v)));
    for (int r = 0; r < n; ++r)
      for (int h = 0; h < n_head; ++h) {
        const int kvh = h / (n_head / n_head_kv), n_keys = n_past + r + 1;
        std::vector<double> sc(static_cast<size_t>(n_keys));
        double m = -1e300, sum = 0;
        for (int p = 0; p < n_keys; ++p) {
          double dot = 0;
          for (int d = 0; d < hd; ++d) {
            const double q = tensor::f16_to_f32(tensor::f32_to_f16(qkv[static_cast<size_t>(r) * ld + h * hd + d]));
            dot += q * kf[static_cast<size_t>(layer * stride + static_cast<int64_t>(p) * kv_dim + kvh * hd + d)];
          }
          sc[p] = dot * scale;
          m = std::max(m, sc[p]);
        }
        for (double& x : sc) sum += (x = std::exp(x - m));
        for (int d = 0; d < hd; ++d) {
          double o = 0;
          for (int p = 0; p < n_keys; ++p)
            o += sc[p] * vf[static_cast<size_t>(layer * stride + static_cast<int64_t>(p) * kv_dim + kvh * hd + d)];
          want[static_cast<size_t>(r) * ld_out + h * hd + d] = o / sum;
        }
      }
    auto worst = [&](const std::vector<float>& got) {
      double w = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(got[i] - want[i]);
        if (!(d <= w)) w = d;  // a NaN (an output never written) sticks
      }
      return w;
    };
    ASSERT_TRUE(attention_reserve(n_ctx));
    attention(args, nullptr);
    const double row_err = worst(download<float>(dout, want.size()));
    ASSERT_TRUE(flash_attention_reserve(hd)) << hd;
    TRIT_CUDA_CHECK(cudaMemset(dout.get(), 0xff, dout.bytes()));  // NaN: every output must be written
    flash_attention(args, dtiles.get<AttnTile>(), static_cast<int>(tiles.size()), nullptr);
    const double flash_err = worst(download<float>(dout, want.size()));
    const double bound = std::ldexp(v_max, -16);
    std::printf("head_dim %d: row kernel %.3e, flash %.3e (bound %.3e)\n", hd, row_err, flash_err, bound);
    EXPECT_LT(row_err, bound) << hd;
    EXPECT_LT(flash_err, bound) << hd;
  }
}

// Sampling's top-k: the host's ranking (model::top_logits) exactly, over one and several sort passes,
// with ties (ranked by id), negative zeros and every k the GPU path takes.
TEST(CudaKernels, TopKRowsRankLikeTheHost) {
  TRIT_REQUIRE_GPU();
  std::mt19937 rng(21);
  for (const int cols : {300, 2048, 5000, 128256}) {
    for (const int k : {1, 2, 40, 100, 256}) {
      if (k > cols) continue;
      const int n = 3;
      auto v = random_floats(static_cast<size_t>(n) * cols, rng);
      // Coarse values: many equal logits, so ties cross segment boundaries.
      for (size_t i = 0; i < v.size(); i += 2) v[i] = std::round(v[i] * 4.0f) / 4.0f;
      v[1] = -0.0f;
      v[5 % cols] = 0.0f;
      std::fill(v.begin() + 2 * cols, v.begin() + 2 * cols + std::min(cols, 600), 7.5f);  // row 2: a wide tie
      DeviceBuffer dv = upload(v), scratch(top_k_scratch_bytes(n, cols, k)), gl(n * k * 4), gi(n * k * 4);
      top_k_rows(dv.get<float>(), n, cols, k, scratch.get(), gl.get<float>(), gi.get<int32_t>(), nullptr);
      const auto logits = download<float>(gl, static_cast<size_t>(n) * k);
      const auto ids = download<int32_t>(gi, static_cast<size_t>(n) * k);
      for (int r = 0; r < n; ++r) {
        std::vector<float> want_l;
        std::vector<int32_t> want_i;
        model::top_logits({v.data() + static_cast<size_t>(r) * cols, static_cast<size_t>(cols)}, k, want_l, want_i);
        const std::vector<int32_t> got_i(ids.begin() + r * k, ids.begin() + (r + 1) * k);
        const std::vector<float> got_l(logits.begin() + r * k, logits.begin() + (r + 1) * k);
        EXPECT_EQ(got_i, want_i) << "cols " << cols << " k " << k << " row " << r;
        EXPECT_EQ(got_l, want_l) << "cols " << cols << " k " << k << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace trit::cuda
