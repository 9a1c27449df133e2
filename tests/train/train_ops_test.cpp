// Every backward function of the trainer against central finite differences in float64, one op at a
// time and then the whole model (with plain float products: the straight-through estimator of the
// BitLinear roundings has no finite-difference counterpart), plus the float product kernel.
#include "train/train_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "runtime/cpu_features.h"
#include "train/train_gemm.h"
#include "train/train_model.h"

namespace trit::train {
namespace {

std::vector<double> random_vec(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = u(rng);
  return v;
}

// Checks grad == d loss / d x[i] for every i, by central differences.
void expect_gradient(std::vector<double>& x, const std::vector<double>& grad, const std::function<double()>& loss,
                     double tol = 1e-6) {
  ASSERT_EQ(x.size(), grad.size());
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    const double fd = (up - down) / (2 * h);
    EXPECT_NEAR(grad[i], fd, tol * std::max(1.0, std::fabs(fd))) << "element " << i;
  }
}

// A fixed random projection of an op's output: loss = sum(out * c), so d loss / d out = c.
double weighted_sum(const std::vector<double>& out, const std::vector<double>& c) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += out[i] * c[i];
  return s;
}

TEST(TrainOps, LinearBackwardMatchesFiniteDifferences) {
  const int64_t n = 3, in = 5, out = 4;
  auto x = random_vec(n * in, 1), w = random_vec(out * in, 2), c = random_vec(n * out, 3);
  std::vector<double> y(n * out), dx(n * in, 0.0), dw(out * in, 0.0);
  auto loss = [&] {
    linear_forward(x.data(), w.data(), y.data(), n, in, out);
    return weighted_sum(y, c);
  };
  linear_backward(x.data(), w.data(), c.data(), dx.data(), dw.data(), n, in, out);
  expect_gradient(x, dx, loss);
  expect_gradient(w, dw, loss);
}

TEST(TrainOps, RmsNormBackwardMatchesFiniteDifferences) {
  const int64_t rows = 3, n = 7;
  auto x = random_vec(rows * n, 4), w = random_vec(n, 5, 0.5, 1.5), c = random_vec(rows * n, 6);
  std::vector<double> y(rows * n), dx(rows * n), dw(n, 0.0), r(rows);
  auto loss = [&] {
    for (int64_t t = 0; t < rows; ++t) r[t] = rms_norm_forward(x.data() + t * n, w.data(), y.data() + t * n, n, 1e-5f);
    return weighted_sum(y, c);
  };
  loss();
  for (int64_t t = 0; t < rows; ++t)
    rms_norm_backward(x.data() + t * n, w.data(), c.data() + t * n, r[t], dx.data() + t * n, n);
  rms_norm_weight_grad(x.data(), c.data(), r.data(), dw.data(), rows, n, 0, n);
  expect_gradient(x, dx, loss);
  expect_gradient(w, dw, loss);
}

TEST(TrainOps, RopeBackwardMatchesFiniteDifferences) {
  const int64_t hd = 8;
  const RopeTable table(16, hd, 10000.0f);
  auto x = random_vec(hd, 7), c = random_vec(hd, 8);
  std::vector<double> y(hd);
  for (int64_t pos : {0, 3, 15}) {
    auto loss = [&] {
      y = x;
      rope_forward(y.data(), table, pos);
      return weighted_sum(y, c);
    };
    std::vector<double> dx = c;
    rope_backward(dx.data(), table, pos);
    expect_gradient(x, dx, loss);
  }
}

TEST(TrainOps, RopeMatchesTheInferenceAngles) {
  // Position 1, pair 0 rotates by exactly 1 radian; pair i by base^(-2i/n_rot).
  const RopeTable table(2, 8, 10000.0f);
  EXPECT_FLOAT_EQ(table.cos[1 * 4 + 0], std::cos(1.0f));
  EXPECT_FLOAT_EQ(table.sin[1 * 4 + 1], std::sin(std::pow(10000.0f, -2.0f / 8.0f)));
  EXPECT_FLOAT_EQ(table.cos[0], 1.0f);
}

TEST(TrainOps, AttentionBackwardMatchesFiniteDifferences) {
  // Two query heads sharing one KV head (GQA), 5 tokens, head size 4, interleaved in rows as the model stores them.
  const int64_t n = 5, hd = 4, heads = 2, ldq = heads * hd, ldkv = hd;
  auto q = random_vec(n * ldq, 9), k = random_vec(n * ldkv, 10), v = random_vec(n * ldkv, 11),
       c = random_vec(n * ldq, 12);
  const double scale = 1.0 / std::sqrt(4.0);
  std::vector<double> out(n * ldq), probs(heads * n * n);
  auto loss = [&] {
    for (int64_t h = 0; h < heads; ++h)
      attention_forward(q.data() + h * hd, ldq, k.data(), v.data(), ldkv, out.data() + h * hd, ldq,
                        probs.data() + h * n * n, n, hd, scale);
    return weighted_sum(out, c);
  };
  loss();
  std::vector<double> dq(n * ldq), dk(n * ldkv, 0.0), dv(n * ldkv, 0.0), scratch(n);
  for (int64_t h = 0; h < heads; ++h)
    attention_backward(q.data() + h * hd, ldq, k.data(), v.data(), ldkv, probs.data() + h * n * n, c.data() + h * hd,
                       ldq, dq.data() + h * hd, dk.data(), dv.data(), n, hd, scale, scratch.data());
  expect_gradient(q, dq, loss);
  expect_gradient(k, dk, loss);
  expect_gradient(v, dv, loss);
}

TEST(TrainOps, AttentionIsCausal) {
  const int64_t n = 4, hd = 2;
  auto q = random_vec(n * hd, 13), k = random_vec(n * hd, 14), v = random_vec(n * hd, 15);
  std::vector<double> out(n * hd), probs(n * n);
  attention_forward(q.data(), hd, k.data(), v.data(), hd, out.data(), hd, probs.data(), n, hd, 1.0);
  const std::vector<double> first(out.begin(), out.begin() + hd);
  v[3 * hd] += 10.0;  // a later value cannot change an earlier output
  k[3 * hd] += 10.0;
  attention_forward(q.data(), hd, k.data(), v.data(), hd, out.data(), hd, probs.data(), n, hd, 1.0);
  EXPECT_EQ(std::vector<double>(out.begin(), out.begin() + hd), first);
  EXPECT_DOUBLE_EQ(probs[0], 1.0);
}

TEST(TrainOps, SquaredReluGluBackwardMatchesFiniteDifferences) {
  const int64_t n = 9;
  auto g = random_vec(n, 16), u = random_vec(n, 17), c = random_vec(n, 18);
  for (double& x : g)
    if (std::fabs(x) < 1e-3) x = 0.5;  // away from the kink
  std::vector<double> out(n), dg(n), du(n);
  auto loss = [&] {
    relu2_glu_forward(g.data(), u.data(), out.data(), n);
    return weighted_sum(out, c);
  };
  relu2_glu_backward(g.data(), u.data(), c.data(), dg.data(), du.data(), n);
  expect_gradient(g, dg, loss);
  expect_gradient(u, du, loss);
}

TEST(TrainOps, CrossEntropyBackwardMatchesFiniteDifferences) {
  const int64_t n = 6;
  auto logits = random_vec(n, 19, -3.0, 3.0);
  std::vector<double> d(n);
  const double l = cross_entropy(logits.data(), n, 2, d.data(), 0.5);
  double z = 0;
  for (double x : logits) z += std::exp(x);
  EXPECT_NEAR(l, std::log(z) - logits[2], 1e-12);
  expect_gradient(logits, d, [&] { return 0.5 * cross_entropy<double>(logits.data(), n, 2, nullptr, 1.0); });
}

TEST(TrainOps, SoftmaxSumsToOne) {
  std::vector<double> x = {1.0, 2.0, -1.0, 0.5};
  softmax_forward(x.data(), 4);
  EXPECT_NEAR(x[0] + x[1] + x[2] + x[3], 1.0, 1e-12);
  EXPECT_GT(x[1], x[0]);
}

ModelConfig tiny_config() {
  ModelConfig c;
  c.n_vocab = 11;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_ff = 12;
  c.n_ctx = 8;
  return c;
}

TEST(TrainModel, WholeModelBackwardMatchesFiniteDifferences) {
  const ParamLayout layout(tiny_config());
  const std::vector<float> init = init_params(layout, 3);
  std::vector<double> params(init.begin(), init.end());
  // Larger weights than the training init, so every path carries a gradient well above rounding.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 0.5);
  for (const ParamInfo& t : layout.tensors)
    for (size_t i = 0; i < t.size(); ++i) params[t.offset + i] += normal(rng);
  runtime::ThreadPool pool(1);  // thousands of tiny forward passes: no threads to wake
  Transformer<double> model(layout, pool, /*quantize=*/false);
  const std::vector<int32_t> tokens = {1, 5, 7, 2, 9, 3, 0, 4, 4, 10};
  const std::vector<int32_t> targets = {5, 7, 2, 9, 3, 6, 4, 4, 10, 1};
  auto loss = [&] { return model.forward(params, tokens, targets, 2, 5); };
  loss();
  std::vector<double> grads(layout.n_params);
  model.backward(params, grads);
  expect_gradient(params, grads, loss, 1e-5);
}

TEST(TrainModel, LayoutNamesTheGgufTensors) {
  ModelConfig c = tiny_config();
  const ParamLayout layout(c);
  EXPECT_EQ(layout[layout.token_embd].name, "token_embd.weight");
  EXPECT_EQ(layout[layout.layers[1].wk].name, "blk.1.attn_k.weight");
  EXPECT_EQ(layout[layout.layers[1].wk].rows, c.n_embd_kv());
  EXPECT_EQ(layout[layout.layers[0].down].cols, c.n_ff);
  size_t total = 0;
  for (const ParamInfo& t : layout.tensors) total += t.size();
  EXPECT_EQ(total, layout.n_params);
}

TEST(TrainGemm, EveryLevelAndLayoutMatchesPlainLoops) {
  // Sizes with remainders of the 4-row and 16-column blocks; A plain and transposed.
  const int64_t m = 7, n = 37, k = 13;
  const auto a64 = random_vec(m * k, 20), b64 = random_vec(k * n, 21), c64 = random_vec(m * n, 22);
  const std::vector<float> a(a64.begin(), a64.end()), b(b64.begin(), b64.end()), c0(c64.begin(), c64.end());
  std::vector<float> at(k * m);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) at[p * m + i] = a[i * k + p];
  runtime::ThreadPool pool(2);
  for (bool transposed : {false, true}) {
    for (bool accumulate : {false, true}) {
      std::vector<float> c = c0;
      GemmArgs g{m,
                 n,
                 k,
                 transposed ? at.data() : a.data(),
                 transposed ? 1 : k,
                 transposed ? m : 1,
                 b.data(),
                 n,
                 c.data(),
                 n,
                 accumulate};
      gemm(g, pool);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double want = accumulate ? c0[i * n + j] : 0.0;
          for (int64_t p = 0; p < k; ++p) want += static_cast<double>(a[i * k + p]) * b[p * n + j];
          EXPECT_NEAR(c[i * n + j], want, 1e-4) << i << "," << j;
        }
      std::vector<float> scalar = c0;
      g.c = scalar.data();
      gemm_rows_scalar(g, 0, m);
      for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], scalar[i], 1e-4);
    }
  }
}

}  // namespace
}  // namespace trit::train
