// The reference kernels against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/activations.h"
#include "kernels/bitlinear.h"
#include "kernels/norm.h"
#include "kernels/rope.h"

namespace trit::kernels {
namespace {

TEST(QuantizeActivations, AbsmaxScaleAndRoundHalfToEven) {
  // max|x| = 2 -> s = 63.5; 2 * 63.5 = 127, -1 * 63.5 = -63.5 -> -64 (even), 0.5*63.5 = 31.75 -> 32.
  const float x[] = {2.0f, -1.0f, 0.5f, 0.0f, -2.0f};
  int8_t q[5];
  const float s = quantize_activations(x, 5, q);
  EXPECT_FLOAT_EQ(s, 63.5f);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -64);
  EXPECT_EQ(q[2], 32);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[4], -127);
}

TEST(QuantizeActivations, AllZeroRowUsesTheFloor) {
  const float x[4] = {};
  int8_t q[4];
  EXPECT_FLOAT_EQ(quantize_activations(x, 4, q), 127.0f / 1e-5f);
  for (int8_t v : q) EXPECT_EQ(v, 0);
}

TEST(TernaryMatvec, IntegerDotThenOneRescale) {
  tensor::TernaryMatrix w{2, 4, 4, {1, -1, 0, 1, 0, 0, -1, -1}, {0.5f, 0.5f}};
  const int8_t q[] = {10, 20, 30, 40};
  float y[2];
  ternary_matvec(w, q, 2.0f, y, 0, 2);
  EXPECT_FLOAT_EQ(y[0], (10 - 20 + 40) / 2.0f * 0.5f);
  EXPECT_FLOAT_EQ(y[1], (-30 - 40) / 2.0f * 0.5f);
}

TEST(TernaryMatvec, GroupScalesApplyPerGroup) {
  tensor::TernaryMatrix w{1, 4, 2, {1, 1, 1, 1}, {1.0f, 3.0f}};
  const int8_t q[] = {1, 2, 3, 4};
  float y;
  ternary_matvec(w, q, 1.0f, &y, 0, 1);
  EXPECT_FLOAT_EQ(y, 3.0f * 1.0f + 7.0f * 3.0f);
}

TEST(FloatMatvec, MatchesNaiveSumOnOddSizes) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  for (int64_t cols : {1, 15, 16, 17, 100}) {
    std::vector<float> w(3 * cols), x(cols), y(3);
    for (auto& v : w) v = d(rng);
    for (auto& v : x) v = d(rng);
    float_matvec(w.data(), cols, x.data(), y.data(), 0, 3);
    for (int r = 0; r < 3; ++r) {
      double ref = 0;
      for (int64_t c = 0; c < cols; ++c) ref += double(w[r * cols + c]) * x[c];
      EXPECT_NEAR(y[r], ref, 1e-4 * (1 + std::fabs(ref)));
    }
  }
}

TEST(RmsNorm, HandComputed) {
  const float x[] = {3.0f, 4.0f};
  const float w[] = {1.0f, 2.0f};
  float y[2];
  rms_norm(x, w, y, 2, 0.0f);  // rms = sqrt(12.5)
  EXPECT_FLOAT_EQ(y[0], 3.0f / std::sqrt(12.5f));
  EXPECT_FLOAT_EQ(y[1], 8.0f / std::sqrt(12.5f));
}

TEST(Rope, NormPairsNeighboursNeoxPairsHalves) {
  RopeParams p{.n_rot = 4, .freq_base = 10000.0f, .freq_scale = 1.0f, .style = RopeStyle::kNorm};
  float a[] = {1, 0, 1, 0};
  rope(a, 1, p);  // pair 0 angle 1 rad, pair 1 angle 10000^-0.5 = 0.01 rad
  EXPECT_NEAR(a[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(a[1], std::sin(1.0), 1e-6);
  EXPECT_NEAR(a[2], std::cos(0.01), 1e-6);
  EXPECT_NEAR(a[3], std::sin(0.01), 1e-6);
  p.style = RopeStyle::kNeox;
  float b[] = {1, 1, 0, 0};
  rope(b, 1, p);  // pairs (0,2) angle 1, (1,3) angle 0.01
  EXPECT_NEAR(b[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(b[2], std::sin(1.0), 1e-6);
  EXPECT_NEAR(b[1], std::cos(0.01), 1e-6);
  EXPECT_NEAR(b[3], std::sin(0.01), 1e-6);
  float c[] = {1, 2, 3, 4};
  rope(c, 0, p);  // position 0: identity
  EXPECT_FLOAT_EQ(c[3], 4.0f);
}

TEST(Activations, SoftmaxAndGates) {
  float x[] = {0.0f, std::log(3.0f)};
  softmax(x, 2);
  EXPECT_FLOAT_EQ(x[0], 0.25f);
  EXPECT_FLOAT_EQ(x[1], 0.75f);
  float g[] = {-2.0f, 3.0f};
  const float up[] = {5.0f, 2.0f};
  gated_activation(g, up, 2, FfnActivation::kReluSqr);
  EXPECT_FLOAT_EQ(g[0], 0.0f);
  EXPECT_FLOAT_EQ(g[1], 18.0f);
  float s[] = {1.0f};
  const float one[] = {1.0f};
  gated_activation(s, one, 1, FfnActivation::kSilu);
  EXPECT_NEAR(s[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-7);
}

}  // namespace
}  // namespace trit::kernels
