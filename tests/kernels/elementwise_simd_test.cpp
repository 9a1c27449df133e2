// The element-wise kernels (kernels/elementwise.h) at every level the CPU has: bit-identical to the scalar
// level on random data of odd sizes and tails, the scalar level close to plain double-precision formulas,
// and exp_poly's accuracy against std::exp, edge values included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/i2_gemm.h"
#include "runtime/cpu_features.h"

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

std::vector<IsaLevel> simd_levels() {
  std::vector<IsaLevel> levels;
  for (IsaLevel l : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon})
    if (runtime::supports_isa(l)) levels.push_back(l);
  return levels;
}

std::vector<int64_t> sizes() {
  std::vector<int64_t> s;
  for (int64_t n = 1; n <= 70; ++n) s.push_back(n);
  for (int64_t n : {128, 2560, 6912, 6913}) s.push_back(n);
  return s;
}

// Normal values whose magnitudes spread over several decades, as hidden states do.
std::vector<float> random_vector(int64_t n, float sigma, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::uniform_real_distribution<float> decade(-2.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(rng) * std::pow(10.0f, decade(rng));
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(ElementwiseSimd, RmsNormIsBitIdenticalAtEveryLevel) {
  std::mt19937 rng(1);
  for (IsaLevel level : simd_levels())
    for (int64_t n : sizes()) {
      const auto x = random_vector(n, 3.0f, rng), w = random_vector(n, 1.0f, rng);
      for (const float* weight : {w.data(), static_cast<const float*>(nullptr)}) {
        std::vector<float> ref(n), out(n), in_place = x;
        rms_norm(x.data(), weight, ref.data(), n, 1e-6f, IsaLevel::kScalar);
        rms_norm(x.data(), weight, out.data(), n, 1e-6f, level);
        rms_norm(in_place.data(), weight, in_place.data(), n, 1e-6f, level);
        EXPECT_TRUE(same_bits(ref, out)) << runtime::isa_name(level) << " n=" << n;
        EXPECT_TRUE(same_bits(ref, in_place)) << runtime::isa_name(level) << " n=" << n;
      }
    }
}

TEST(ElementwiseSimd, QuantizeIsBitIdenticalAtEveryLevel) {
  std::mt19937 rng(2);
  for (IsaLevel level : simd_levels())
    for (int64_t n : sizes()) {
      const auto x = random_vector(n, 2.0f, rng);
      std::vector<int8_t> q_ref(n + 1, 77), q(n + 1, 77);
      int32_t sum_ref = 0, sum = 0;
      const float s_ref = quantize_activations(x.data(), n, q_ref.data(), &sum_ref, IsaLevel::kScalar);
      const float s = quantize_activations(x.data(), n, q.data(), &sum, level);
      EXPECT_EQ(std::memcmp(&s, &s_ref, sizeof s), 0) << runtime::isa_name(level) << " n=" << n;
      EXPECT_EQ(q, q_ref) << runtime::isa_name(level) << " n=" << n;  // q[n] untouched (77) at both
      EXPECT_EQ(sum, sum_ref) << runtime::isa_name(level) << " n=" << n;
    }
}

TEST(ElementwiseSimd, SoftmaxIsBitIdenticalAtEveryLevel) {
  std::mt19937 rng(3);
  for (IsaLevel level : simd_levels())
    for (int64_t n : sizes()) {
      auto ref = random_vector(n, 8.0f, rng);
      auto out = ref;
      softmax(ref.data(), n, IsaLevel::kScalar);
      softmax(out.data(), n, level);
      EXPECT_TRUE(same_bits(ref, out)) << runtime::isa_name(level) << " n=" << n;
    }
}

TEST(ElementwiseSimd, GatedActivationsAreBitIdenticalAtEveryLevel) {
  std::mt19937 rng(4);
  for (IsaLevel level : simd_levels())
    for (FfnActivation act : {FfnActivation::kSilu, FfnActivation::kReluSqr, FfnActivation::kGeluTanh})
      for (int64_t n : sizes()) {
        auto ref = random_vector(n, 6.0f, rng);
        const auto up = random_vector(n, 1.0f, rng);
        auto out = ref;
        gated_activation(ref.data(), up.data(), n, act, IsaLevel::kScalar);
        gated_activation(out.data(), up.data(), n, act, level);
        EXPECT_TRUE(same_bits(ref, out)) << runtime::isa_name(level) << " act=" << static_cast<int>(act) << " n=" << n;
      }
}

TEST(ElementwiseSimd, ExtremeInputsAreBitIdenticalAtEveryLevel) {
  const float inf = std::numeric_limits<float>::infinity();
  // Saturating exponents, denormal results, signed zeros; NaN-free (a NaN's payload is not pinned).
  std::vector<float> g = {0.0f,  -0.0f,  1e-30f, -1e-30f, 1e-40f, 40.0f,   -40.0f, 87.0f,  -87.0f, 88.7f,  -88.7f,
                          89.0f, -89.0f, 104.0f, -104.0f, 200.0f, -200.0f, 1e20f,  -1e20f, 3e38f,  -3e38f, inf,
                          -inf,  0.5f,   -0.5f,  7.25f,   -12.5f, 1.0f,    -1.0f,  3.0f,   -3.0f};
  const std::vector<float> up(g.size(), 1.0f);
  for (IsaLevel level : simd_levels())
    for (FfnActivation act : {FfnActivation::kSilu, FfnActivation::kReluSqr, FfnActivation::kGeluTanh}) {
      auto ref = g, out = g;
      gated_activation(ref.data(), up.data(), static_cast<int64_t>(g.size()), act, IsaLevel::kScalar);
      gated_activation(out.data(), up.data(), static_cast<int64_t>(g.size()), act, level);
      EXPECT_TRUE(same_bits(ref, out)) << runtime::isa_name(level) << " act=" << static_cast<int>(act);
    }
  // Softmax over scores far apart: most weights underflow to 0 or denormals.
  std::vector<float> scores;
  for (int i = 0; i < 40; ++i) scores.push_back(-4.0f * static_cast<float>(i));
  for (IsaLevel level : simd_levels()) {
    auto ref = scores, out = scores;
    softmax(ref.data(), static_cast<int64_t>(ref.size()), IsaLevel::kScalar);
    softmax(out.data(), static_cast<int64_t>(out.size()), level);
    EXPECT_TRUE(same_bits(ref, out)) << runtime::isa_name(level);
  }
}

TEST(ElementwiseSimd, QuantizeRoundsHalfToEvenAndMapsNanToMinus128) {
  // max |x| = 127: scale 1, so x * scale = x exactly.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[] = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, -127.0f, nan, 0.0f};
  const int8_t want[] = {127, 0, 2, 2, 0, -2, -2, 3, -127, -128, 0};
  std::vector<IsaLevel> levels = simd_levels();
  levels.push_back(IsaLevel::kScalar);
  for (IsaLevel level : levels) {
    int8_t q[11];
    int32_t sum = 0;
    EXPECT_EQ(quantize_activations(x, 11, q, &sum, level), 1.0f) << runtime::isa_name(level);
    EXPECT_EQ(std::memcmp(q, want, sizeof q), 0) << runtime::isa_name(level);
    EXPECT_EQ(sum, 127 + 0 + 2 + 2 + 0 - 2 - 2 + 3 - 127 - 128) << runtime::isa_name(level);
  }
}

TEST(ElementwiseSimd, Q8ActivationsSumIsTheSumOfQAtEveryLevel) {
  std::mt19937 rng(5);
  std::vector<IsaLevel> levels = simd_levels();
  levels.push_back(IsaLevel::kScalar);
  for (IsaLevel level : levels)
    for (int64_t cols : {100, 256, 300, 2560}) {
      const auto x = random_vector(3 * cols, 2.0f, rng);
      Q8Activations a;
      a.quantize(x.data(), 3, cols, level);
      for (int64_t t = 0; t < 3; ++t) {
        int32_t s = 0;
        for (int64_t i = 0; i < cols; ++i) s += a.q[t * a.padded_cols + i];
        EXPECT_EQ(a.sum[t], s) << runtime::isa_name(level) << " cols=" << cols;
      }
    }
}

// The scalar level against plain double-precision formulas.
TEST(ElementwiseScalar, RmsNormMatchesDoubleFormula) {
  std::mt19937 rng(6);
  for (int64_t n : sizes()) {
    const auto x = random_vector(n, 3.0f, rng), w = random_vector(n, 1.0f, rng);
    std::vector<float> y(n);
    rms_norm(x.data(), w.data(), y.data(), n, 1e-5f, IsaLevel::kScalar);
    double ss = 0;
    for (float v : x) ss += double(v) * v;
    const double scale = 1.0 / std::sqrt(ss / double(n) + 1e-5);
    for (int64_t i = 0; i < n; ++i) {
      const double want = x[i] * scale * w[i];
      EXPECT_NEAR(y[i], want, 1e-6 * std::fabs(want)) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ElementwiseScalar, QuantizeMatchesRoundedProducts) {
  std::mt19937 rng(7);
  for (int64_t n : sizes()) {
    const auto x = random_vector(n, 2.0f, rng);
    std::vector<int8_t> q(n);
    int32_t sum = 0;
    const float s = quantize_activations(x.data(), n, q.data(), &sum, IsaLevel::kScalar);
    double max_abs = 0;
    for (float v : x) max_abs = std::max(max_abs, std::fabs(double(v)));
    EXPECT_EQ(s, static_cast<float>(127.0 / std::max(max_abs, 1e-5)));
    int32_t want_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i] * s;  // the product rounded to float, then to the nearest integer, ties to even
      const double r = v - std::floor(v) == 0.5 ? 2.0 * std::round(0.5 * v) : std::round(v);
      EXPECT_EQ(q[i], static_cast<int8_t>(std::clamp(r, -128.0, 127.0))) << "n=" << n << " i=" << i;
      want_sum += q[i];
    }
    EXPECT_EQ(sum, want_sum);
  }
}

TEST(ElementwiseScalar, SoftmaxMatchesDoubleFormula) {
  std::mt19937 rng(8);
  for (int64_t n : sizes()) {
    auto x = random_vector(n, 8.0f, rng);
    const auto in = x;
    softmax(x.data(), n, IsaLevel::kScalar);
    // The differences x - max rounded to float, as the kernel computes them: e^d with d from a float
    // subtraction carries d's rounding error (relative 6e-8 * |d|), which is not the kernel's to remove.
    float max_v = in[0];
    for (float v : in) max_v = std::max(max_v, v);
    double sum = 0;
    for (float v : in) sum += std::exp(double(v - max_v));
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(double(in[i] - max_v)) / sum;
      EXPECT_NEAR(x[i], want, 1.5e-6 * want + 1e-38) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ElementwiseScalar, GatedActivationsMatchDoubleFormulas) {
  std::mt19937 rng(9);
  for (int64_t n : sizes()) {
    const auto g = random_vector(n, 6.0f, rng), up = random_vector(n, 1.0f, rng);
    for (FfnActivation act : {FfnActivation::kSilu, FfnActivation::kReluSqr, FfnActivation::kGeluTanh}) {
      auto y = g;
      gated_activation(y.data(), up.data(), n, act, IsaLevel::kScalar);
      for (int64_t i = 0; i < n; ++i) {
        const double x = g[i];
        double want = 0, tol = 0;
        if (act == FfnActivation::kSilu) {
          want = x / (1.0 + std::exp(-x));
          tol = 1e-6;
        } else if (act == FfnActivation::kReluSqr) {
          want = x > 0 ? x * x : 0.0;
          tol = 2.5e-7;
        } else {
          const double y2 = 2.0 * std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
          want = x / (1.0 + std::exp(-y2));     // 0.5 x (1 + tanh(y2 / 2)) without its cancellation
          tol = 1e-6 + 2.5e-7 * std::fabs(y2);  // e^-2y from a float -2y: its rounding grows with |y|
        }
        want *= up[i];
        EXPECT_NEAR(y[i], want, tol * std::fabs(want) + 1e-36) << "act=" << static_cast<int>(act) << " x=" << x;
      }
    }
  }
}

TEST(ExpPoly, RelativeErrorBelow4e7OverTheNormalRange) {
  // Every 97th float from ln(FLT_MIN) to ln(FLT_MAX) (about 20 million values), both signs.
  double worst = 0;
  float worst_x = 0;
  auto check = [&](float x) {
    const double want = std::exp(double(x));
    const double err = std::fabs(exp_poly(x) - want) / want;
    if (err > worst) worst = err, worst_x = x;
  };
  for (uint32_t bits = 0; bits < 0x42b17218u; bits += 97) {  // 0 .. 88.72283
    float x;
    std::memcpy(&x, &bits, sizeof x);
    check(x);
    if (x < 87.33f) check(-x);
  }
  EXPECT_LT(worst, 4e-7) << "at x=" << worst_x;
}

TEST(ExpPoly, EdgeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(exp_poly(0.0f), 1.0f);
  EXPECT_EQ(exp_poly(-0.0f), 1.0f);
  EXPECT_EQ(exp_poly(1e-30f), 1.0f);
  EXPECT_EQ(exp_poly(-1e-30f), 1.0f);
  EXPECT_EQ(exp_poly(std::numeric_limits<float>::denorm_min()), 1.0f);
  // Denormal results: within one step of the denormal grid (2^-149).
  for (float x : {-88.0f, -90.0f, -95.5f, -100.0f, -103.0f})
    EXPECT_NEAR(exp_poly(x), std::exp(double(x)), 0x1p-149) << x;
  EXPECT_EQ(exp_poly(-104.0f), 0.0f);
  EXPECT_EQ(exp_poly(-200.0f), 0.0f);
  EXPECT_EQ(exp_poly(-inf), 0.0f);
  EXPECT_NEAR(exp_poly(88.7f), std::exp(double(88.7f)), 4e-7 * std::exp(double(88.7f)));
  EXPECT_NEAR(exp_poly(88.72283f), std::exp(double(88.72283f)), 4e-7 * std::exp(double(88.72283f)));
  EXPECT_EQ(exp_poly(89.0f), inf);
  EXPECT_EQ(exp_poly(1000.0f), inf);
  EXPECT_EQ(exp_poly(inf), inf);
  EXPECT_TRUE(std::isnan(exp_poly(std::numeric_limits<float>::quiet_NaN())));
  // Through the SIMD levels too: softmax of {x, 0} is {e^x, 1} / (1 + e^x).
  for (IsaLevel level : simd_levels()) {
    float s[2] = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
    softmax(s, 2, level);
    EXPECT_TRUE(std::isnan(s[0])) << runtime::isa_name(level);
  }
}

}  // namespace
}  // namespace trit::kernels
