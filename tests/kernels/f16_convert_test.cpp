// The f16 row conversions: every level bit-identical to the scalar codec (tensor/codec.h) on every half
// value (NaNs aside: hardware quiets signalling NaNs) and on floats across the half range, with tails.
#include "kernels/f16_convert.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "tensor/codec.h"

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

std::vector<IsaLevel> fast_levels() {
  std::vector<IsaLevel> levels;
  for (IsaLevel l : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon})
    if (runtime::supports_isa(l)) levels.push_back(l);
  return levels;
}

TEST(F16Convert, EveryHalfWidensExactlyAtEveryLevel) {
  std::vector<uint16_t> h;
  for (uint32_t i = 0; i < 65536; ++i)
    if (!std::isnan(tensor::f16_to_f32(static_cast<uint16_t>(i)))) h.push_back(static_cast<uint16_t>(i));
  for (IsaLevel level : fast_levels())
    for (int64_t n : {int64_t(h.size()), int64_t{13}}) {  // 13: one vector step and a tail
      std::vector<float> got(n);
      f16_to_f32_row(h.data(), got.data(), n, level);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(tensor::f16_to_f32(h[i])))
            << runtime::isa_name(level) << " half 0x" << std::hex << h[i];
    }
}

TEST(F16Convert, FloatsRoundToNearestEvenAtEveryLevel) {
  std::mt19937 rng(11);
  std::vector<float> x;
  // Random bit patterns over the exponents a half can reach (normals, subnormals, overflow, ties).
  std::uniform_int_distribution<uint32_t> mant(0, 0x7fffff), exp(127 - 27, 127 + 17), sign(0, 1);
  for (int i = 0; i < 100000; ++i) x.push_back(std::bit_cast<float>(sign(rng) << 31 | exp(rng) << 23 | mant(rng)));
  for (float v : {0.0f, -0.0f, 65504.0f, 65520.0f, 1e-8f, 2.9802322e-8f, INFINITY, -INFINITY}) x.push_back(v);
  x.push_back(std::bit_cast<float>(0x3f801000u));  // a tie between two halves (rounds to even)
  x.push_back(std::bit_cast<float>(0x3f803000u));
  for (IsaLevel level : fast_levels())
    for (int64_t n : {int64_t(x.size()), int64_t{11}}) {
      std::vector<uint16_t> got(n);
      f32_to_f16_row(x.data(), got.data(), n, level);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], tensor::f32_to_f16(x[i])) << runtime::isa_name(level) << " float " << x[i];
    }
}

}  // namespace
}  // namespace trit::kernels
