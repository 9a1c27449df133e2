// TL1 / TL2: packing matches bitnet.cpp's converter byte for byte, round trips, hand-checked bytes,
// and configurations that do not fit.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>

#include "make_tensor.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::tensor {
namespace {

using test_util::make_tensor;

constexpr uint32_t kTl1 = static_cast<uint32_t>(gguf::GgmlType::TL1);
constexpr uint32_t kTl2 = static_cast<uint32_t>(gguf::GgmlType::TL2);

// A deterministic ternary matrix: a 64-bit LCG, value = (state >> 33) % 3 - 1, seed rows * 1000 + cols.
TernaryMatrix lcg_matrix(int64_t rows, int64_t cols, float scale) {
  uint64_t state = static_cast<uint64_t>(rows * 1000 + cols);
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  for (int64_t i = 0; i < rows * cols; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    m.values.push_back(static_cast<int8_t>(static_cast<int>((state >> 33) % 3) - 1));
  }
  m.scales.assign(static_cast<size_t>(rows), scale);
  return m;
}

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

struct Golden {
  uint32_t type;
  int64_t rows, cols;
  LutKernelConfig config;
  size_t code_bytes;  // what the converter's preprocess_weights_tl* returns
  uint64_t fnv;       // FNV-1a of those bytes
};

// From running process_tl1 / preprocess_weights_tl1 / preprocess_weights_tl2 of
// microsoft/BitNet utils/convert-hf-to-gguf-bitnet.py (identical at c82b5e6 and 16da220) on lcg_matrix
// with a kernel_config.ini holding the configuration.
const Golden kGolden[] = {
    {kTl1, 64, 128, {64, 64, 32}, 2048, 0xe0d7e0ebdbee0348ull},
    {kTl1, 128, 256, {128, 128, 64}, 8192, 0x05a09ce47f5c7eeaull},
    {kTl1, 96, 64, {32, 32, 32}, 1536, 0x2da94803bee733c6ull},
    {kTl1, 320, 128, {160, 64, 32}, 10240, 0xdb0338c6610c4155ull},
    {kTl2, 32, 288, {32, 96, 32}, 2261, 0x902a3af5ef3cbcf7ull},
    {kTl2, 64, 320, {64, 96, 32}, 4949, 0x4e32541f4d315f82ull},
    {kTl2, 64, 416, {32, 192, 32}, 6229, 0x970eef9b54872a7full},
    {kTl2, 32, 352, {32, 96, 32}, 2688, 0xc5be9082e502237full},
    {kTl2, 32, 256, {32, 96, 32}, 2048, 0xefc2e19a5560e8c8ull},
    {kTl2, 64, 480, {64, 96, 32}, 7082, 0x64cac01d6d81cd0bull},
};

TEST(TL, PackMatchesBitnetConverterBytes) {
  for (const auto& g : kGolden) {
    const TernaryMatrix m = lcg_matrix(g.rows, g.cols, 0.5f);
    const auto bytes = pack_ternary(g.type, m, g.config);
    const std::vector<uint64_t> shape = {static_cast<uint64_t>(g.cols), static_cast<uint64_t>(g.rows)};
    ASSERT_EQ(bytes.size(), *gguf::tensor_n_bytes(g.type, shape));
    ASSERT_GE(bytes.size(), g.code_bytes + 32);
    EXPECT_EQ(fnv1a(bytes.data(), g.code_bytes), g.fnv) << gguf::type_name(g.type) << " " << g.rows << "x" << g.cols;

    const TernaryMatrix back = unpack_ternary(make_tensor(g.type, shape, bytes), g.config);
    EXPECT_EQ(back.values, m.values) << gguf::type_name(g.type) << " " << g.rows << "x" << g.cols;
    EXPECT_EQ(back.scales, m.scales);
  }
}

TEST(TL, RoundTripsPresetShapesWithDefaultConfig) {
  // bitnet_b1_58-large's attention shape, at both types, through the configuration-free entry points.
  for (uint32_t type : {kTl1, kTl2}) {
    const TernaryMatrix m = lcg_matrix(1536, 1536, 0.0123f);
    ASSERT_TRUE(default_lut_config(type, 1536, 1536).has_value());
    const auto bytes = pack_ternary(type, m);
    const auto t = make_tensor(type, {1536, 1536}, bytes);
    EXPECT_EQ(unpack_ternary(t).values, m.values);
    const auto w = dequantize(t);
    EXPECT_EQ(w[7], m.weight(0, 7));
    EXPECT_EQ(w[1536 * 1535 + 11], m.weight(1535, 11));
  }
}

TEST(TL1, HandCheckedFirstBytesAndScale) {
  // BM = bm = 32, BK = 32 (by = 8) on a 32 x 32 matrix: byte f (f < 16) holds row f, columns 0..3;
  // byte 16 + f holds row f, columns 4..7; byte 32 + f holds row 16 + f, columns 0..3.
  TernaryMatrix m;
  m.rows = 32;
  m.cols = 32;
  m.group_size = 32;
  m.values.assign(32 * 32, 0);
  m.scales.assign(32, 0.75f);
  // Row 0, columns 0..3 = +1, -1, 0, +1: high nibble 3 - 1 + 4 = 6, low 0 + 1 + 4 = 5.
  m.values[0] = 1;
  m.values[1] = -1;
  m.values[3] = 1;
  // Row 1, columns 4..7 = -1, -1, +1, +1: high 0, low 8.
  m.values[32 + 4] = -1;
  m.values[32 + 5] = -1;
  m.values[32 + 6] = 1;
  m.values[32 + 7] = 1;
  // Row 17, columns 0..3 = 0, 0, -1, 0: high 4, low 1.
  m.values[17 * 32 + 2] = -1;
  const LutKernelConfig config{32, 32, 32};
  const auto bytes = pack_ternary(kTl1, m, config);
  ASSERT_EQ(bytes.size(), 32u * 32 / 4 + 32);
  EXPECT_EQ(bytes[0], 0x65);
  EXPECT_EQ(bytes[1], 0x44);   // row 1, columns 0..3: all zero
  EXPECT_EQ(bytes[17], 0x08);  // row 1, columns 4..7
  EXPECT_EQ(bytes[33], 0x41);  // row 17, columns 0..3
  float scale = 0;
  std::memcpy(&scale, bytes.data() + 256, 4);
  EXPECT_EQ(scale, 0.75f);
}

TEST(TL2, HandCheckedMagnitudeAndSignBits) {
  // BM = 32, BK = 96 on 32 x 288 (no tail). Row 0, columns 0..5 = (+1, 0, -1), (-1, -1, 0):
  // 9 + 0 - 1 = 8 and -9 - 3 + 0 = -12 -> byte 0 = 0x8c (row_in_block(0) = 0), sign of the second triple
  // (triple 1 = i / 2 with i = 2 (row 0: i % 2 = 0, j = 0)) is bit 15 - 2 = 13 of word 0.
  TernaryMatrix m;
  m.rows = 32;
  m.cols = 288;
  m.group_size = 288;
  m.values.assign(32 * 288, 0);
  m.scales.assign(32, 1.0f);
  for (int c = 0; c < 6; ++c) m.values[c] = static_cast<int8_t>(std::array<int, 6>{1, 0, -1, -1, -1, 0}[c]);
  // Row 8 sits at byte 16 of its block (8-byte groups reordered 0, 2, 1, 3): columns 0..2 = (0, 0, -1).
  m.values[8 * 288 + 2] = -1;
  const auto bytes = pack_ternary(kTl2, m, LutKernelConfig{32, 96, 32});
  EXPECT_EQ(bytes[0], 0x8c);
  EXPECT_EQ(bytes[16], 0x10);
  const size_t signs = 32 * 288 / 6;
  // Word 0 (row 0): triple 1 negative -> bit 13 (byte 1, bit 5). Word 8 (row 8): triple 0 (i = 0) -> bit 15.
  EXPECT_EQ(bytes[signs + 0], 0x00);
  EXPECT_EQ(bytes[signs + 1], 0x20);
  EXPECT_EQ(bytes[signs + 17], 0x80);
}

TEST(TL, RejectsConfigurationsThatDoNotFit) {
  const std::vector<uint8_t> bytes(64 * 128 / 4 + 32, 0x44);
  const auto t = make_tensor(kTl1, {128, 64}, bytes, "blk.0.attn_q.weight");
  EXPECT_THROW(unpack_ternary(t, LutKernelConfig{48, 64, 32}), Error);  // 64 rows not a multiple of 48
  EXPECT_THROW(unpack_ternary(t, LutKernelConfig{64, 64, 16}), Error);  // bm must be 32 or 64
  EXPECT_NO_THROW(unpack_ternary(t, LutKernelConfig{64, 64, 32}));
  try {
    unpack_ternary(t);  // 64 x 128 is no preset shape
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
  std::vector<uint8_t> bad = bytes;
  bad[3] = 0x9f;  // indices 9 and 15 are unused
  EXPECT_THROW(unpack_ternary(make_tensor(kTl1, {128, 64}, bad), LutKernelConfig{64, 64, 32}), Error);
}

}  // namespace
}  // namespace trit::tensor
