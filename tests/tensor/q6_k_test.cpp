// Q6_K decoding against a block written by hand and against a per-weight restatement of the layout.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "gguf/ggml_type.h"
#include "tensor/codec.h"

namespace trit::tensor {
namespace {

constexpr uint32_t kQ6K = static_cast<uint32_t>(gguf::GgmlType::Q6_K);

TEST(Q6K, HandWrittenBlock) {
  uint8_t block[210] = {};
  // d = 0.5 (f16 0x3800); sub-block scales 1..16.
  block[208] = 0x00;
  block[209] = 0x38;
  for (int i = 0; i < 16; ++i) block[192 + i] = static_cast<uint8_t>(i + 1);
  // Weight 0: low nibble of ql[0] = 5, bits 0-1 of qh[0] = 2 -> q = 5 | 2 << 4 = 37 -> 37 - 32 = 5;
  // scale index 0 (=1): w = 0.5 * 1 * 5 = 2.5.
  block[0] = 0x05;
  block[128] = 0x02;
  // Weight 64 (third group of the first half): high nibble of ql[0] = 0 here... set it to 0xF and
  // qh[0] bits 4-5 = 3 -> q = 15 | 48 = 63 -> 31; scale index 0 + 4 (=5): w = 0.5 * 5 * 31 = 77.5.
  block[0] |= 0xF0;
  block[128] |= 3 << 4;
  // Weight 255: second half (ql += 64, qh += 32, sc += 8), l = 31, fourth group: high nibble of
  // ql[64 + 31 + 32] = 0, qh[128 + 32 + 31] bits 6-7 = 0 -> q = 0 -> -32; scale 8 + 1 + 6 = 15 (=16):
  // w = 0.5 * 16 * -32 = -256.
  float out[256];
  dequantize_row(kQ6K, block, out, 256);
  EXPECT_FLOAT_EQ(out[0], 2.5f);
  EXPECT_FLOAT_EQ(out[64], 77.5f);
  EXPECT_FLOAT_EQ(out[255], -256.0f);
  EXPECT_FLOAT_EQ(out[1], 0.5f * 1 * -32);  // an all-zero weight: q = 0 -> -32
}

TEST(Q6K, EveryWeightFollowsTheLayout) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> row(2 * 210);
  for (auto& b : row) b = static_cast<uint8_t>(byte(rng));
  for (int blk = 0; blk < 2; ++blk) {  // a sane scale: d = 1/64
    row[blk * 210 + 208] = 0x00;
    row[blk * 210 + 209] = 0x24;
  }
  std::vector<float> out(512);
  dequantize_row(kQ6K, row.data(), out.data(), 512);
  for (int j = 0; j < 512; ++j) {
    const uint8_t* b = row.data() + (j / 256) * 210;
    const int w = j % 256, half = w / 128, within = w % 128, g = within / 32, l = within % 32;
    const uint8_t qlb = b[half * 64 + l + (g & 1) * 32];
    const int low = g >= 2 ? qlb >> 4 : qlb & 0xF;
    const int high = (b[128 + half * 32 + l] >> (2 * g)) & 3;
    const int scale = static_cast<int8_t>(b[192 + half * 8 + l / 16 + 2 * g]);
    EXPECT_FLOAT_EQ(out[j], (1.0f / 64) * static_cast<float>(scale) * static_cast<float>((low | high << 4) - 32)) << j;
  }
}

TEST(Q6K, IsDecodeOnly) {
  EXPECT_TRUE(is_supported(kQ6K));
  EXPECT_FALSE(is_encodable(kQ6K));
  EXPECT_FALSE(is_ternary(kQ6K));
}

}  // namespace
}  // namespace trit::tensor
