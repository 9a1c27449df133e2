// F16 / BF16 conversions: exact edge cases worked out by hand, exhaustive round trips, and a
// comparison against the compiler's own _Float16 conversion where it has one.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "make_tensor.h"
#include "tensor/codec.h"

namespace trit::tensor {
namespace {

using test_util::id;
using test_util::make_tensor;

float from_bits(uint32_t b) { return std::bit_cast<float>(b); }

TEST(F16, DecodesHandPickedValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);                  // largest finite
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));                          // signalling-NaN pattern stays a NaN
  EXPECT_EQ(std::bit_cast<uint32_t>(f16_to_f32(0x8000)), 0x80000000u);  // -0
}

TEST(F16, EncodesWithRoundToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10: goes to 1.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between mantissas 1 (odd) and 2: goes to 2.
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above a halfway point rounds up.
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  // Overflow: 65519 rounds down to 65504, 65520 (halfway, odd mantissa) up to inf.
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  const uint16_t nan = f32_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  EXPECT_NE(f32_to_f16(from_bits(0x7f800001u)) & 0x03ff, 0);  // a NaN whose payload sits in low bits
}

TEST(F16, EncodesSubnormalsWithRoundToNearestEven) {
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // halfway to 0 (even)
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 units: ties to even 2
  EXPECT_EQ(f32_to_f16(std::ldexp(5.0f, -25)), 0x0002);  // 2.5 units: ties to even 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -30)), 0x8000);
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03ff);
  // 1023.5 units: ties to even 1024, which is the smallest normal.
  EXPECT_EQ(f32_to_f16(std::ldexp(2047.0f, -25)), 0x0400);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);
}

TEST(F16, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
  }
}

// GCC 12 defines __FLT16_MAX__ on AArch64 but has no _Float16 in C++ there.
#if defined(__FLT16_MAX__) && (!defined(__aarch64__) || defined(__clang__) || __GNUC__ >= 13)
TEST(F16, EncoderMatchesCompilerFloat16OnRandomFloats) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float f = from_bits(static_cast<uint32_t>(rng()));
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t bits = 0;
    std::memcpy(&bits, &h, 2);
    ASSERT_EQ(f32_to_f16(f), bits) << f;
  }
  // Values near the f16 range, where random bit patterns are rare.
  std::uniform_real_distribution<float> near(-70000.0f, 70000.0f);
  std::uniform_real_distribution<float> tiny(-1e-4f, 1e-4f);
  for (int i = 0; i < 100000; ++i) {
    for (float f : {near(rng), tiny(rng)}) {
      const _Float16 h = static_cast<_Float16>(f);
      uint16_t bits = 0;
      std::memcpy(&bits, &h, 2);
      ASSERT_EQ(f32_to_f16(f), bits) << f;
    }
  }
}
#endif

TEST(BF16, ConvertsWithRoundToNearestEven) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000u)), 0x3f80);  // halfway, even stays
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000u)), 0x3f82);  // halfway, odd rounds up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001u)), 0x3f81);  // above halfway
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);  // largest float rounds to inf
  EXPECT_EQ(f32_to_bf16(from_bits(0x00000001u)), 0x0000);  // float subnormal to zero
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000u)), 0x0000);  // halfway, even
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000u)), 0x0002);  // subnormal halfway, odd rounds up
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7f800001u)))));  // payload only in low bits
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BF16, EveryBfloatRoundTripsExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h) << h;
  }
}

TEST(F16, QuantizeDequantizeErrorWithinHalfUlp) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const std::vector<uint64_t> shape = {64, 5};
  std::vector<float> x(320);
  for (float& v : x) v = dist(rng);
  for (auto type : {gguf::GgmlType::F16, gguf::GgmlType::BF16, gguf::GgmlType::F32}) {
    const auto bytes = quantize(id(type), x, shape);
    ASSERT_EQ(bytes.size(), *gguf::tensor_n_bytes(id(type), shape));
    const auto y = dequantize(make_tensor(id(type), shape, bytes));
    ASSERT_EQ(y.size(), x.size());
    // Relative half-ulp: 2^-11 for f16 (normal range), 2^-8 for bf16, exact for f32.
    const float rel = type == gguf::GgmlType::F16    ? std::ldexp(1.0f, -11)
                      : type == gguf::GgmlType::BF16 ? std::ldexp(1.0f, -8)
                                                     : 0.0f;
    for (size_t i = 0; i < x.size(); ++i) EXPECT_LE(std::fabs(x[i] - y[i]), rel * std::fabs(x[i])) << i;
  }
}

TEST(F16, DequantizeRowReadsLittleEndianHalves) {
  const std::vector<uint8_t> row = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c};
  float out[3];
  dequantize_row(id(gguf::GgmlType::F16), row.data(), out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_TRUE(std::isinf(out[2]));
  const std::vector<uint8_t> brow = {0x80, 0x3f, 0x40, 0xc0};
  dequantize_row(id(gguf::GgmlType::BF16), brow.data(), out, 2);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
}

}  // namespace
}  // namespace trit::tensor
