// Absmean ternarisation on small matrices worked out by hand.
#include "tensor/ternary.h"

#include <gtest/gtest.h>

#include <vector>

namespace trit::tensor {
namespace {

TEST(TernarizeAbsmean, MatchesHandExampleWithTiesToEven) {
  // mean|W| = 4 / 8 = 0.5, so W / scale = 2W: 0.5 -> 0 (tie to even), 3.5 -> 4 -> 1, -1.5 -> -2 -> -1,
  // 0.5 -> 0, 1 -> 1.
  const std::vector<float> w = {0.25f, 1.75f, 0.0f, 0.0f, -0.75f, 0.25f, 0.5f, 0.5f};
  const TernaryMatrix m = ternarize_absmean(w, 2, 4);
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.cols, 4);
  EXPECT_EQ(m.group_size, 4);
  EXPECT_EQ(m.values, (std::vector<int8_t>{0, 1, 0, 0, -1, 0, 1, 1}));
  EXPECT_EQ(m.scales, (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(m.weight(1, 0), -0.5f);
}

TEST(TernarizeAbsmean, ClampsLargeWeightsAndZerosSmallOnes) {
  // mean = (0.5 + 1.5 + 0 + 2 + 0.2 + 0.2) / 6 = 0.7333; W / mean = 0.68, -2.05, 0, 2.73, -0.27, 0.27.
  const std::vector<float> w = {0.5f, -1.5f, 0.0f, 2.0f, -0.2f, 0.2f};
  const TernaryMatrix m = ternarize_absmean(w, 2, 3);
  EXPECT_EQ(m.values, (std::vector<int8_t>{1, -1, 0, 1, 0, 0}));
  EXPECT_NEAR(m.scales[0], 4.4f / 6.0f, 1e-6f);
}

TEST(TernarizeAbsmean, GuardsTinyMeansWithEpsilon) {
  // mean|W| = 1e-7 < 1e-5: the scale is clamped to 1e-5, so W / scale = 0.01 -> 0.
  const std::vector<float> w = {1e-7f, -1e-7f};
  const TernaryMatrix m = ternarize_absmean(w, 1, 2);
  EXPECT_EQ(m.values, (std::vector<int8_t>{0, 0}));
  EXPECT_NEAR(m.scales[0], 1e-5f, 1e-11f);
  const std::vector<float> zeros(6, 0.0f);
  const TernaryMatrix z = ternarize_absmean(zeros, 2, 3);
  EXPECT_EQ(z.values, std::vector<int8_t>(6, 0));
}

}  // namespace
}  // namespace trit::tensor
