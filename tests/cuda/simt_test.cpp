// The CUDA device code run on the CPU (simt.h), so that CI, which has no GPU, tests its logic: the int8
// quantisation and the ternary GEMV rows against the CPU kernels bit for bit, RoPE with per-head norms,
// and the persistent decode kernel's six stages over every layer of generated models against the CPU
// engine, token by token. The same code runs on the GPU in cuda_kernels_test / cuda_backend_test.
#include "cuda/simt.h"  // first: it stands in for nvcc
// (built with -Wno-unknown-pragmas: the device code's #pragma unroll)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cuda/decode_step.cuh"
#include "cuda/device_weights.h"
#include "cuda/shared_cases.h"
#include "kernels/i2_gemm.h"
#include "kernels/i2_matrix.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "model/dummy.h"
#include "model/forward.h"
#include "model/pooling.h"
#include "support/test_data.h"
#include "tensor/codec.h"

namespace trit::cuda {
namespace {

// Ternary matrices (parts fused row after row, as the upload fuses Q/K/V) in the GPU layout, in host memory.
struct HostTernary {
  std::vector<uint8_t> codes;
  std::vector<float> scales;  // row scales, then row output scales
  TernaryDevice t;
  HostTernary(const std::vector<const kernels::I2Matrix*>& parts, const std::vector<float>& out_scales) {
    const int64_t padded = parts[0]->padded_cols;
    int64_t rows = 0;
    for (const auto* p : parts) rows += p->rows;
    codes.resize(static_cast<size_t>(rows * padded / 4));
    scales.resize(static_cast<size_t>(2 * rows));
    int64_t r0 = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      for (int64_t r = 0; r < parts[i]->rows; ++r) {
        repack_i2_row(parts[i]->row(r), padded, codes.data() + (r0 + r) * (padded / 4));
        scales[static_cast<size_t>(r0 + r)] = parts[i]->scale;
        scales[static_cast<size_t>(rows + r0 + r)] = out_scales[i];
      }
      r0 += parts[i]->rows;
    }
    t = {codes.data(), static_cast<int>(rows), static_cast<int>(padded), scales.data(), scales.data() + rows};
  }
};

// The emulation itself: a read that a missing __syncthreads leaves unordered after a write shows the
// stale value in some launch (warps run ahead of others), the same read after a barrier never does, and
// barriers that not every thread reaches are reported instead of hanging.
TEST(Simt, MissingBarriersShowAndDeadlocksAreReported) {
  int stale_launches = 0;
  for (int launch = 0; launch < 8; ++launch)
    for (const bool synced : {false, true}) {
      int value = 0;
      std::vector<int> seen(128, -1);
      simt::launch(1, 128, [&] {
        __syncthreads();
        if (threadIdx.x == 0) value = 1;
        if (synced) __syncthreads();
        seen[threadIdx.x] = value;
      });
      const bool stale = std::count(seen.begin(), seen.end(), 0) > 0;
      if (synced)
        EXPECT_FALSE(stale) << "launch " << launch;
      else
        stale_launches += stale;
    }
  EXPECT_GT(stale_launches, 0);
  EXPECT_THROW(simt::launch(1, 64,
                            [] {
                              if (threadIdx.x < 32) __syncthreads();
                            }),
               std::runtime_error);
}

TEST(Simt, QuantizeRowMatchesTheCpuQuantisation) {
  std::mt19937 rng(3);
  for (const int cols : {100, 640, 2560}) {
    const int n = 3, padded = padded_128(cols);
    const auto x = random_floats(static_cast<size_t>(n * cols), rng);
    std::vector<int8_t> q(static_cast<size_t>(n * padded), 99);
    std::vector<float> scale(n);
    std::vector<int32_t> sum(n);
    std::vector<QuantScratch> scratch(n);  // a block's shared scratch
    simt::launch(n, 256, [&] {
      quantize_row({x.data(), cols, cols, false, GluAct::kSilu}, blockIdx.x, nullptr, 1e-5f,
                   {q.data(), scale.data(), sum.data(), padded}, nullptr, 0, scratch[blockIdx.x]);
    });
    kernels::Q8Activations a;
    a.quantize(x.data(), n, cols, runtime::IsaLevel::kScalar);
    for (int t = 0; t < n; ++t) {
      EXPECT_EQ(scale[t], a.scale[t]) << cols;
      EXPECT_EQ(sum[t], a.sum[t]) << cols;
      for (int c = 0; c < padded; ++c) ASSERT_EQ(q[t * padded + c], a.q[t * a.padded_cols + c]) << cols << " " << c;
    }
  }
}

TEST(Simt, GemvRowsMatchTheCpuKernelBitForBit) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> trit(-1, 1);
  for (const int64_t cols : {128, 640, 2560}) {
    const int64_t rows = 37;
    tensor::TernaryMatrix m{rows, cols, cols, std::vector<int8_t>(rows * cols), std::vector<float>(rows, 0.021f)};
    for (auto& v : m.values) v = static_cast<int8_t>(trit(rng));
    const kernels::I2Matrix w = kernels::i2_pack(m);
    const HostTernary g({&w}, {1.0f});
    const int n = 3;
    const auto x = random_floats(static_cast<size_t>(n * cols), rng);
    kernels::Q8Activations a;
    a.quantize(x.data(), n, cols, runtime::IsaLevel::kScalar);
    std::vector<float> cpu(static_cast<size_t>(n * rows));
    kernels::i2_gemm_scalar(w, a, cpu.data(), 0, rows);
    std::vector<int8_t> q(a.q.begin(), a.q.end());
    const QuantizedRows qr{q.data(), a.scale.data(), a.sum.data(), static_cast<int>(a.padded_cols)};
    std::vector<float> y(cpu.size(), NAN);
    // Two blocks of 4 warps, rows strided over the 8 warps, every token per row.
    simt::launch(2, 128, [&] {
      const int warp = static_cast<int>(blockIdx.x * 4 + threadIdx.x / 32);
      for (int row = warp; row < rows; row += 8)
        gemv_row<3>(g.t, qr, row, static_cast<int>(threadIdx.x & 31), y.data(), static_cast<int>(rows), false);
    });
    for (size_t i = 0; i < cpu.size(); ++i) ASSERT_EQ(y[i], cpu[i]) << "cols " << cols << " at " << i;
  }
}

TEST(Simt, RopeStoreNormsEachQAndKHeadBeforeRotating) {
  std::mt19937 rng(5);
  const int pos = 5;
  const HeadNormRopeCase c(128, 4, 2, 8, 1, rng);
  std::vector<float> q = c.qkv, k(static_cast<size_t>(c.n_ctx * c.kv_dim())), v(k.size());
  const RowDesc row{pos, 1, static_cast<int64_t>(k.size()), k.data(), v.data()};
  RopeStoreArgs args{q.data(),       c.ld(),         1,    c.n_head, c.n_head_kv, c.hd, c.hd, true,
                     c.cos_t.data(), c.sin_t.data(), &row, 0,        false};
  args.q_norm = c.q_norm.data();
  args.k_norm = c.k_norm.data();
  args.norm_eps = c.eps;
  const int heads = c.n_head + 2 * c.n_head_kv;
  std::vector<double> scratch(static_cast<size_t>(32 * heads));
  simt::launch(heads, 64, [&] { rope_store_head(args, 0, blockIdx.x, scratch.data() + 32 * blockIdx.x); });
  c.check(0, pos, q.data(), k.data(), v.data());
}

// Gemma's post-norm added to the residual (rms_norm_rows' row), against the CPU's RMSNorm.
TEST(Simt, RmsNormRowAddsTheNormedRowToTheResidual) {
  std::mt19937 rng(6);
  const int n = 3, cols = 640;
  const auto x = random_floats(static_cast<size_t>(n * cols), rng), w = random_floats(cols, rng, 0.5f);
  const auto residual = random_floats(x.size(), rng);
  std::vector<float> out = residual;
  std::vector<double> shared(static_cast<size_t>(32 * n));
  simt::launch(n, 96, [&] {
    rms_norm_row(x.data() + blockIdx.x * cols, cols, w.data(), 1e-6f, out.data() + blockIdx.x * cols, true,
                 shared.data() + 32 * blockIdx.x);
  });
  std::vector<float> normed(static_cast<size_t>(cols));
  for (int r = 0; r < n; ++r) {
    kernels::rms_norm(x.data() + r * cols, w.data(), normed.data(), cols, 1e-6f);
    for (int i = 0; i < cols; ++i) {
      const float want = residual[static_cast<size_t>(r * cols + i)] + normed[static_cast<size_t>(i)];
      ASSERT_NEAR(out[static_cast<size_t>(r * cols + i)], want, 1e-6f * std::fabs(want) + 1e-6f) << r << " " << i;
    }
  }
}

// The one-row attention (decode steps and short prompts) against a double reference: grouped-query heads
// over a cache of 31 positions, f16 and f32 caches (an f16 cache rounds the query, and a lone token's
// weights, to f16 as the CPU does), with and without a sliding window of 8.
TEST(Simt, AttendHeadMatchesADoubleReference) {
  std::mt19937 rng(8);
  const int hd = 64, n_head = 4, n_head_kv = 2, n_ctx = 40, pos = 30, kv_dim = n_head_kv * hd;
  const int ld = (n_head + 2 * n_head_kv) * hd;
  const auto qkv = random_floats(static_cast<size_t>(ld), rng, 1.0f);
  const auto keys = random_floats(static_cast<size_t>(n_ctx * kv_dim), rng, 1.0f);
  const auto values = random_floats(keys.size(), rng, 1.0f);
  const float scale = 0.125f;
  for (const bool f16 : {false, true})
    for (const int window : {0, 8}) {
      SCOPED_TRACE(std::string(f16 ? "f16" : "f32") + " cache, window " + std::to_string(window));
      std::vector<uint16_t> k16(keys.size()), v16(keys.size());
      std::vector<float> kf(keys), vf(values);
      for (size_t i = 0; i < keys.size() && f16; ++i) {
        k16[i] = tensor::f32_to_f16(keys[i]);
        v16[i] = tensor::f32_to_f16(values[i]);
        kf[i] = tensor::f16_to_f32(k16[i]);
        vf[i] = tensor::f16_to_f32(v16[i]);
      }
      const RowDesc row{pos, 1, static_cast<int64_t>(keys.size()), f16 ? static_cast<void*>(k16.data()) : kf.data(),
                        f16 ? static_cast<void*>(v16.data()) : vf.data()};
      std::vector<float> out(static_cast<size_t>(n_head * hd), NAN);
      const AttentionArgs args{qkv.data(), ld,   1, n_head, n_head_kv, hd,         scale,
                               window,     &row, 0, f16,    n_ctx,     out.data(), n_head * hd};
      std::vector<std::vector<float>> shared(n_head, std::vector<float>(attention_shared_bytes(hd, n_ctx) / 4));
      std::vector<float> red(static_cast<size_t>(32 * n_head));
      simt::launch(n_head, 64,
                   [&] { attend_head(args, 0, blockIdx.x, shared[blockIdx.x].data(), red.data() + 32 * blockIdx.x); });
      // Float accumulation (the GPU test's bound); with an f16 cache, plus one f16 step (2^-11 below 1) of
      // a weight that the float softmax rounds to the other side of the double one.
      double v_max = 0;
      for (float v : vf) v_max = std::max(v_max, std::fabs(static_cast<double>(v)));
      const double bound = std::ldexp(v_max, -16) + (f16 ? std::ldexp(v_max, -11) : 0.0);
      for (int h = 0; h < n_head; ++h) {
        const int kvh = h / (n_head / n_head_kv), first = window ? std::max(0, pos + 1 - window) : 0;
        std::vector<double> p(static_cast<size_t>(pos + 1), 0.0);
        double m = -1e300, sum = 0;
        for (int t = first; t <= pos; ++t) {
          double dot = 0;
          for (int d = 0; d < hd; ++d) {
            const float q = qkv[static_cast<size_t>(h * hd + d)];
            dot += (f16 ? tensor::f16_to_f32(tensor::f32_to_f16(q)) : q) *
                   kf[static_cast<size_t>(t * kv_dim + kvh * hd + d)];
          }
          p[t] = dot * scale;
          m = std::max(m, p[t]);
        }
        for (int t = first; t <= pos; ++t) sum += (p[t] = std::exp(p[t] - m));
        for (int t = first; t <= pos; ++t) {
          p[t] /= sum;
          if (f16) p[t] = tensor::f16_to_f32(tensor::f32_to_f16(static_cast<float>(p[t])));  // a lone token's weights
        }
        for (int d = 0; d < hd; ++d) {
          double want = 0;
          for (int t = first; t <= pos; ++t) want += p[t] * vf[static_cast<size_t>(t * kv_dim + kvh * hd + d)];
          ASSERT_NEAR(out[static_cast<size_t>(h * hd + d)], want, bound) << "head " << h << " dim " << d;
        }
      }
    }
}

// The persistent decode kernel's layers (3 blocks of 128 threads) one token at a time against the CPU
// engine decoding the same tokens: the final hidden state through the output norm, every token.
void check_persistent_decode(const std::string& arch, model::KvType kv) {
  SCOPED_TRACE(arch + (kv == model::KvType::kF16 ? " f16 cache" : " f32 cache"));
  // Small: every thread is a fiber.
  auto m = load_dummy({"test", arch, 128, 256, 2, 4, 2, 300, 64, 10000.0}, 42);
  const model::HParams& h = m->hparams();
  const model::Weights& w = m->weights();
  const int d = static_cast<int>(h.n_embd), hd_q = static_cast<int>(h.n_embd_q()), n_ff = static_cast<int>(h.n_ff);
  const int kv_dim = static_cast<int>(h.n_embd_kv()), ld_qkv = hd_q + 2 * kv_dim, n_ctx = 24;

  std::vector<HostTernary> mats;
  mats.reserve(4 * static_cast<size_t>(h.n_layer));
  std::vector<DecodeLayer> layers;
  for (const model::LayerWeights& lw : w.layers) {
    mats.emplace_back(std::vector<const kernels::I2Matrix*>{&lw.wq.i2, &lw.wk.i2, &lw.wv.i2},
                      std::vector<float>{lw.wq.out_scale, lw.wk.out_scale, lw.wv.out_scale});
    mats.emplace_back(std::vector<const kernels::I2Matrix*>{&lw.wo.i2}, std::vector<float>{lw.wo.out_scale});
    mats.emplace_back(std::vector<const kernels::I2Matrix*>{&lw.ffn_gate.i2, &lw.ffn_up.i2},
                      std::vector<float>{lw.ffn_gate.out_scale, lw.ffn_up.out_scale});
    mats.emplace_back(std::vector<const kernels::I2Matrix*>{&lw.ffn_down.i2},
                      std::vector<float>{lw.ffn_down.out_scale});
    auto norm = [](const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); };
    const size_t at = mats.size() - 4;
    layers.push_back({norm(lw.attn_norm), norm(lw.attn_sub_norm), norm(lw.ffn_norm), norm(lw.ffn_sub_norm), mats[at].t,
                      mats[at + 1].t, mats[at + 2].t, mats[at + 3].t});
  }
  kernels::RopeParams rope = h.rope;
  if (!w.rope_freqs.empty()) rope.freq_factors = w.rope_freqs.data();
  const int half = static_cast<int>(rope.n_rot / 2);
  std::vector<float> cos_t(static_cast<size_t>(n_ctx * half)), sin_t(cos_t.size());
  for (int p = 0; p < n_ctx; ++p) kernels::rope_angles(p, rope, cos_t.data() + p * half, sin_t.data() + p * half);

  const bool f16 = kv == model::KvType::kF16;
  const size_t cache_elems = static_cast<size_t>(h.n_layer) * n_ctx * kv_dim;
  std::vector<float> k32(f16 ? 0 : cache_elems), v32(k32.size());
  std::vector<uint16_t> k16(f16 ? cache_elems : 0), v16(k16.size());
  RowDesc row{0, 1, static_cast<int64_t>(n_ctx) * kv_dim, f16 ? static_cast<void*>(k16.data()) : k32.data(),
              f16 ? static_cast<void*>(v16.data()) : v32.data()};
  std::vector<float> x(static_cast<size_t>(d)), qkv(static_cast<size_t>(ld_qkv)), att(static_cast<size_t>(hd_q)),
      gate_up(static_cast<size_t>(2 * n_ff));
  const float scale = h.attn_scale > 0.0f ? h.attn_scale : 1.0f / std::sqrt(static_cast<float>(h.head_dim));
  const RopeStoreArgs rope_args{qkv.data(),
                                ld_qkv,
                                1,
                                static_cast<int>(h.n_head),
                                static_cast<int>(h.n_head_kv),
                                static_cast<int>(h.head_dim),
                                static_cast<int>(rope.n_rot),
                                rope.style == kernels::RopeStyle::kNeox,
                                cos_t.data(),
                                sin_t.data(),
                                &row,
                                0,
                                f16};
  const AttentionArgs attention_args{qkv.data(),
                                     ld_qkv,
                                     1,
                                     static_cast<int>(h.n_head),
                                     static_cast<int>(h.n_head_kv),
                                     static_cast<int>(h.head_dim),
                                     scale,
                                     0,
                                     &row,
                                     0,
                                     f16,
                                     n_ctx,
                                     att.data(),
                                     hd_q};
  const DecodeStepArgs args{
      layers.data(), static_cast<int>(h.n_layer), x.data(),  qkv.data(),    att.data(), gate_up.data(), d, hd_q, n_ff,
      h.rms_eps,     glu_act(h.ffn_act),          rope_args, attention_args};

  const int blocks = 3, threads = 128;
  const size_t dynamic_bytes =
      std::max(static_cast<size_t>(padded_128(std::max({d, hd_q, n_ff}))), attention_shared_bytes(h.head_dim, n_ctx));
  std::vector<std::vector<float>> dynamic(blocks, std::vector<float>(dynamic_bytes / 4 + 4));
  std::vector<DecodeShared> shared(blocks);

  model::Forward cpu(*m, 1), cpu32(*m, 1);
  model::KvCache cache(h, n_ctx, kv), cache32(h, n_ctx, model::KvType::kF32);
  double worst = 0;
  for (int t = 0; t < 8; ++t) {
    const int32_t token = (t * 389 + 7) % static_cast<int32_t>(h.n_vocab);
    row.pos = t;
    w.token_embd.row(token, x.data());
    simt::launch(blocks, threads, [&] {
      decode_step_layers(args, simt::GridBarrier{}, reinterpret_cast<unsigned char*>(dynamic[blockIdx.x].data()),
                         shared[blockIdx.x]);
    });
    std::vector<float> got(static_cast<size_t>(d));
    model::pool_embedding(h, w.output_norm, x.data(), 1, false, got.data());
    const model::SequenceInput in{&cache, {&token, 1}}, in32{&cache32, {&token, 1}};
    const auto want_span = cpu.embed({&in, 1}, false)[0];
    const std::vector<float> want(want_span.begin(), want_span.end());
    const auto want32 = cpu32.embed({&in32, 1}, false)[0];
    // Float summation orders and the CPU's polynomial exp differ; an f16 cache adds the CPU's own f16
    // scale (how far its state moves between an f16 and an f32 cache), as the GPU tests bound it.
    const double bound = f16 ? std::max(1e-4, rel_l2(want, want32)) : 1e-4;
    const double err = rel_l2(got, want);
    worst = std::max(worst, err);
    ASSERT_LT(err, bound) << "token " << t;
  }
  std::printf("persistent decode (emulated) vs CPU: at most %.3e\n", worst);
}

TEST(Simt, PersistentDecodeMatchesTheCpuEngine) {
  check_persistent_decode("bitnet-b1.58", model::KvType::kF32);  // ReLU², sub-norms, GQA
  check_persistent_decode("bitnet-b1.58", model::KvType::kF16);
  check_persistent_decode("llama", model::KvType::kF32);  // SiLU, no sub-norms, interleaved RoPE
}

}  // namespace
}  // namespace trit::cuda
