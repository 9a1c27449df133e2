// Q8_0: a hand-written block and the quantiser's error bound.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "make_tensor.h"
#include "tensor/codec.h"

namespace trit::tensor {
namespace {

using test_util::id;
using test_util::make_tensor;

constexpr uint32_t kQ8 = static_cast<uint32_t>(gguf::GgmlType::Q8_0);

TEST(Q8_0, DequantMatchesHandWrittenBlock) {
  // d = f16 0x3800 = 0.5 (little-endian 00 38), then 32 int8 quants: 1, -1, 127, -128, 0, 2, rest 0.
  std::vector<uint8_t> block = {0x00, 0x38, 0x01, 0xff, 0x7f, 0x80, 0x00, 0x02};
  block.resize(34, 0);
  std::vector<float> expect(32, 0.0f);
  expect[0] = 0.5f;
  expect[1] = -0.5f;
  expect[2] = 63.5f;
  expect[3] = -64.0f;
  expect[5] = 1.0f;
  EXPECT_EQ(dequantize(make_tensor(kQ8, {32}, block)), expect);
  float row[32];
  dequantize_row(kQ8, block.data(), row, 32);
  EXPECT_EQ(std::vector<float>(row, row + 32), expect);
}

TEST(Q8_0, QuantizesHandExampleExactly) {
  // max|x| = 127 -> d = 1, q = round-half-away(x): 2.5 -> 3, -2.5 -> -3, 0.4 -> 0.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.4f;
  const std::vector<uint64_t> shape = {32};
  const auto bytes = quantize(kQ8, x, shape);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes[0], 0x00);  // d = 1.0 = f16 0x3c00
  EXPECT_EQ(bytes[1], 0x3c);
  EXPECT_EQ(static_cast<int8_t>(bytes[2]), 127);
  EXPECT_EQ(static_cast<int8_t>(bytes[3]), 3);
  EXPECT_EQ(static_cast<int8_t>(bytes[4]), -3);
  EXPECT_EQ(static_cast<int8_t>(bytes[5]), 0);
}

TEST(Q8_0, QuantizeDequantizeErrorBounded) {
  // |x - q d16| <= d / 2 + 127 |d - d16| <= d (1/2 + 127 * 2^-11), d = max|x| / 127 per block.
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::vector<uint64_t> shape = {96, 7};
  std::vector<float> x(96 * 7);
  for (float& v : x) v = dist(rng);
  x[5] = 0.0f;
  std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block: d = 0, exact zeros back
  const auto bytes = quantize(kQ8, x, shape);
  ASSERT_EQ(bytes.size(), *gguf::tensor_n_bytes(kQ8, shape));
  const auto y = dequantize(make_tensor(kQ8, shape, bytes));
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float bound = amax / 127.0f * (0.5f + 127.0f / 2048.0f) + 1e-7f;
    for (size_t j = 0; j < 32; ++j) EXPECT_LE(std::fabs(x[b * 32 + j] - y[b * 32 + j]), bound) << b << " " << j;
  }
  for (size_t j = 32; j < 64; ++j) EXPECT_EQ(y[j], 0.0f);
}

}  // namespace
}  // namespace trit::tensor
