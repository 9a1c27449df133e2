// I2_S: one hand-packed block, packing round trips, and malformed tensors.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "make_tensor.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::tensor {
namespace {

using test_util::id;
using test_util::make_tensor;

constexpr uint32_t kI2S = static_cast<uint32_t>(gguf::GgmlType::I2_S);

TernaryMatrix random_ternary(int64_t rows, int64_t cols, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-1, 1);
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(static_cast<size_t>(rows * cols));
  for (auto& v : m.values) v = static_cast<int8_t>(d(rng));
  m.scales.assign(static_cast<size_t>(rows), scale);
  return m;
}

// One 128-weight block as a 64 x 2 tensor. Codes 0/1/2 = -1/0/+1; weight j in byte j % 32 at
// bits 6 - 2 * (j / 32). Every byte is 0x55 (four zeros) except:
//   byte 0  = 0x92 = 10 01 00 10: weight 0 = +1, weight 32 = 0, weight 64 = -1, weight 96 = +1
//   byte 31 = 0x06 = 00 00 01 10: weight 31 = -1, weight 63 = -1, weight 95 = 0, weight 127 = +1
// then the scale 0.25f (0x3e800000, little-endian) and 28 bytes of padding.
std::vector<uint8_t> hand_block() {
  std::vector<uint8_t> b(32, 0x55);
  b[0] = 0x92;
  b[31] = 0x06;
  for (uint8_t x : {0x00, 0x00, 0x80, 0x3e}) b.push_back(x);
  b.resize(64, 0);
  return b;
}

TEST(I2S, DequantMatchesHandPackedBlock) {
  const auto bytes = hand_block();
  const auto t = make_tensor(kI2S, {64, 2}, bytes, "blk.0.ffn_up.weight");
  const std::vector<float> w = dequantize(t);
  ASSERT_EQ(w.size(), 128u);
  std::vector<float> expect(128, 0.0f);
  expect[0] = 0.25f;
  expect[64] = -0.25f;
  expect[96] = 0.25f;
  expect[31] = -0.25f;
  expect[63] = -0.25f;
  expect[127] = 0.25f;
  EXPECT_EQ(w, expect);

  const TernaryMatrix m = unpack_ternary(t);
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.cols, 64);
  EXPECT_EQ(m.group_size, 64);
  EXPECT_EQ(m.scales, (std::vector<float>{0.25f, 0.25f}));
  EXPECT_EQ(m.values[64 + 32], 1);  // row 1, column 32 = weight 96
  // Packing the decoded matrix gives the same bytes back (padding zeroed).
  EXPECT_EQ(pack_ternary(kI2S, m), bytes);
}

TEST(I2S, PackUnpackRoundTripsRandomMatrices) {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 128}, {2, 64}, {3, 256}, {7, 384}, {5, 2560}, {128, 1}};
  uint32_t seed = 1;
  for (auto [rows, cols] : shapes) {
    const TernaryMatrix m = random_ternary(rows, cols, 0.0371f, seed++);
    const auto bytes = pack_ternary(kI2S, m);
    const std::vector<uint64_t> shape = {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)};
    ASSERT_EQ(bytes.size(), *gguf::tensor_n_bytes(kI2S, shape));
    const TernaryMatrix back = unpack_ternary(make_tensor(kI2S, shape, bytes));
    EXPECT_EQ(back.values, m.values) << rows << "x" << cols;
    EXPECT_EQ(back.scales, m.scales);
    EXPECT_EQ(back.group_size, cols);
  }
}

// FNV-1a of what quantize_to_i2_s in microsoft/BitNet utils/convert-hf-to-gguf-bitnet.py (16da220; the
// same layout as quantize_i2_s in src/ggml-bitnet-mad.cpp at c82b5e6) writes for a 64-bit-LCG ternary
// matrix (value = (state >> 33) % 3 - 1, seeded rows * 1000 + cols) with scale 0.5.
TEST(I2S, PackMatchesBitnetConverterBytes) {
  struct Golden {
    int64_t rows, cols;
    uint64_t fnv;
  };
  for (const auto& g : {Golden{2, 128, 0x9b8adbae8a57407eull}, Golden{3, 256, 0xd6d6b6971a7f98ffull},
                        Golden{5, 384, 0x111f0ce683916338ull}}) {
    uint64_t state = static_cast<uint64_t>(g.rows * 1000 + g.cols);
    TernaryMatrix m;
    m.rows = g.rows;
    m.cols = g.cols;
    m.group_size = g.cols;
    for (int64_t i = 0; i < g.rows * g.cols; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      m.values.push_back(static_cast<int8_t>(static_cast<int>((state >> 33) % 3) - 1));
    }
    m.scales.assign(static_cast<size_t>(g.rows), 0.5f);
    const auto bytes = pack_ternary(kI2S, m);
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
    EXPECT_EQ(h, g.fnv) << g.rows << "x" << g.cols;
  }
}

TEST(I2S, RejectsUnusedCodeAndShortData) {
  auto bytes = hand_block();
  bytes[5] = 0xd5;  // 11 01 01 01: weight 5 has code 3
  EXPECT_THROW(dequantize(make_tensor(kI2S, {64, 2}, bytes)), Error);
  auto short_bytes = hand_block();
  short_bytes.resize(40);
  try {
    unpack_ternary(make_tensor(kI2S, {64, 2}, short_bytes, "blk.3.attn_q.weight"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.3.attn_q.weight"), std::string::npos) << e.what();
  }
  // 100 weights: tensor_n_bytes accepts (a multiple of 4), but the layout holds whole 128-blocks.
  std::vector<uint8_t> odd(100 / 4 + 32, 0x55);
  EXPECT_THROW(unpack_ternary(make_tensor(kI2S, {50, 2}, odd)), Error);
}

}  // namespace
}  // namespace trit::tensor
