// pool_embedding: every pooling type over hand-computable rows (output_norm applied to the rows the
// pooling reads), and the L2 normalisation.
#include "model/pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace trit::model {
namespace {

HParams params(Pooling pooling) {
  HParams h;
  h.n_embd = 4;
  h.rms_eps = 0.0f;
  h.pooling = pooling;
  return h;
}

// Rows whose RMSNorm is easy: each row is c * (1, -1, 1, -1) with rms c, so norm(row) = (1, -1, 1, -1)
// times the gain; the third row differs in direction.
const std::vector<float> kRows = {2, -2, 2, -2, 0.5f, -0.5f, 0.5f, -0.5f, 3, 3, 3, 3};
const std::vector<float> kGain = {1, 2, 3, 4};

std::vector<float> pool(Pooling p, int64_t n_tokens, bool normalize) {
  std::vector<float> out(4);
  pool_embedding(params(p), kGain, kRows.data(), n_tokens, normalize, out.data());
  return out;
}

TEST(PoolEmbedding, LastAndNoneTakeTheLastRowNormed) {
  EXPECT_EQ(pool(Pooling::kLast, 3, false), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(pool(Pooling::kNone, 3, false), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(pool(Pooling::kLast, 2, false), (std::vector<float>{1, -2, 3, -4}));
}

TEST(PoolEmbedding, ClsTakesTheFirstRowNormed) {
  EXPECT_EQ(pool(Pooling::kCls, 3, false), (std::vector<float>{1, -2, 3, -4}));
}

TEST(PoolEmbedding, MeanAveragesTheNormedRows) {
  // (2 * (1, -2, 3, -4) + (1, 2, 3, 4)) / 3
  const std::vector<float> got = pool(Pooling::kMean, 3, false);
  const std::vector<double> want = {1.0, -2.0 / 3, 3.0, -4.0 / 3};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST(PoolEmbedding, NormalizeDividesByTheL2Norm) {
  const std::vector<float> got = pool(Pooling::kLast, 3, true);
  const double n = std::sqrt(30.0);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(got[i], (i + 1) / n, 1e-7) << i;
  // An all-zero vector stays zero (no division by zero).
  const std::vector<float> zeros(8, 0.0f), gain(4, 1.0f);
  std::vector<float> out(4, 7.0f);
  HParams h = params(Pooling::kMean);
  h.rms_eps = 1e-6f;
  pool_embedding(h, gain, zeros.data(), 2, true, out.data());
  EXPECT_EQ(out, std::vector<float>(4, 0.0f));
}

}  // namespace
}  // namespace trit::model
