// RoPE with a token's angles computed once (rope_angles + rope_heads): bit-identical to rope() head by head.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/rope.h"

namespace trit::kernels {
namespace {

void expect_table_matches_rope(const RopeParams& p, int64_t head_dim, int64_t n_heads, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n_heads * head_dim));
  for (auto& v : x) v = normal(rng);
  const int64_t half = p.n_rot / 2;
  std::vector<float> cos(static_cast<size_t>(half)), sin(static_cast<size_t>(half));
  for (int64_t pos : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{128}, int64_t{4095}, int64_t{100000}}) {
    std::vector<float> want = x, got = x;
    for (int64_t h = 0; h < n_heads; ++h) rope(want.data() + h * head_dim, pos, p);
    rope_angles(pos, p, cos.data(), sin.data());
    rope_heads(got.data(), n_heads, head_dim, cos.data(), sin.data(), p);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
          << "pos " << pos << " element " << i << " n_rot " << p.n_rot << " head_dim " << head_dim;
  }
}

TEST(RopeTable, BothStylesMatchPerHeadRopeBitForBit) {
  for (RopeStyle style : {RopeStyle::kNorm, RopeStyle::kNeox}) {
    expect_table_matches_rope({.n_rot = 128, .freq_base = 500000.0f, .style = style}, 128, 20, 1);
    expect_table_matches_rope({.n_rot = 64, .freq_base = 10000.0f, .style = style}, 64, 3, 2);
  }
}

TEST(RopeTable, ScaledAndPartialRotationsMatchPerHeadRope) {
  // n_rot < head_dim leaves the rest of each head alone; n_rot / 2 odd; linear scaling.
  for (RopeStyle style : {RopeStyle::kNorm, RopeStyle::kNeox}) {
    expect_table_matches_rope({.n_rot = 32, .freq_base = 10000.0f, .freq_scale = 0.25f, .style = style}, 80, 4, 3);
    expect_table_matches_rope({.n_rot = 6, .freq_base = 1000000.0f, .style = style}, 10, 5, 4);
    expect_table_matches_rope({.n_rot = 2, .freq_base = 10000.0f, .style = style}, 8, 2, 5);
  }
}

TEST(RopeTable, FreqFactorsMatchPerHeadRope) {
  std::vector<float> factors(32);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.37f * static_cast<float>(i);
  for (RopeStyle style : {RopeStyle::kNorm, RopeStyle::kNeox})
    expect_table_matches_rope({.n_rot = 64, .freq_base = 500000.0f, .style = style, .freq_factors = factors.data()}, 96,
                              6, 6);
}

TEST(RopeTable, PositionZeroIsTheIdentity) {
  const RopeParams p{.n_rot = 8, .style = RopeStyle::kNeox};
  std::vector<float> c(4), s(4);
  rope_angles(0, p, c.data(), s.data());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c[i], 1.0f);
    EXPECT_EQ(s[i], 0.0f);
  }
}

}  // namespace
}  // namespace trit::kernels
