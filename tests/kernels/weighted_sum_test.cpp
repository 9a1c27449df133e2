// Attention's sum of value rows: every level bit-identical to the plain loop, at every width and stride.
#include "kernels/weighted_sum.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

TEST(WeightedSum, EveryLevelIsBitIdenticalToThePlainLoop) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> prob(0.0f, 1.0f);
  for (int64_t dim : {1, 7, 8, 15, 16, 40, 64, 80, 96, 128, 200, 256})
    for (int64_t n : {1, 3, 17, 130}) {
      const int64_t stride = dim + 5;
      std::vector<float> rows(static_cast<size_t>(n * stride)), w(static_cast<size_t>(n));
      for (auto& v : rows) v = normal(rng);
      for (auto& v : w) v = prob(rng);
      std::vector<float> want(static_cast<size_t>(dim), -1.0f);
      weighted_sum_scalar({w.data(), n, rows.data(), stride, want.data(), dim});
      for (int64_t d = 0; d < dim; ++d) {
        double ref = 0;
        for (int64_t p = 0; p < n; ++p) ref += double(w[p]) * rows[p * stride + d];
        EXPECT_NEAR(want[d], ref, 1e-4 * (1 + std::fabs(ref)));
      }
      for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
        if (!runtime::supports_isa(level)) continue;
        std::vector<float> got(static_cast<size_t>(dim) + 1, -1.0f);
        weighted_sum({w.data(), n, rows.data(), stride, got.data(), dim}, level);
        for (int64_t d = 0; d < dim; ++d)
          ASSERT_EQ(std::bit_cast<uint32_t>(got[d]), std::bit_cast<uint32_t>(want[d]))
              << runtime::isa_name(level) << " dim " << dim << " n " << n << " d " << d;
        EXPECT_EQ(got[dim], -1.0f) << "wrote past the end";
      }
    }
}

// The product rounds before the add: a case where a fused multiply-add would differ.
TEST(WeightedSum, ProductIsRoundedBeforeTheAddOnX86) {
#if defined(__x86_64__)
  // a * a = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11: the sum is 0 rounded, 2^-24 fused.
  const float a = 1.0f + 0x1p-12f;
  const std::vector<float> w = {1.0f, a};
  const std::vector<float> rows = {-(1.0f + 0x1p-11f), a};
  for (IsaLevel level : {IsaLevel::kScalar, IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512}) {
    if (!runtime::supports_isa(level)) continue;
    float out = 5.0f;
    weighted_sum({w.data(), 2, rows.data(), 1, &out, 1}, level);
    EXPECT_EQ(out, 0.0f) << runtime::isa_name(level);
  }
#endif
}

}  // namespace
}  // namespace trit::kernels
