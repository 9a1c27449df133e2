// TQ1_0 and TQ2_0: one hand-packed block each, packing round trips, and the unused TQ2_0 code.
#include <gtest/gtest.h>

#include <random>

#include "make_tensor.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::tensor {
namespace {

using test_util::id;
using test_util::make_tensor;

constexpr uint32_t kTq1 = static_cast<uint32_t>(gguf::GgmlType::TQ1_0);
constexpr uint32_t kTq2 = static_cast<uint32_t>(gguf::GgmlType::TQ2_0);

// TQ2_0 block: 64 code bytes then f16 d. Weight i sits in byte (i / 128) * 32 + i % 32 at bits
// 2 * ((i % 128) / 32), code = value + 1. All bytes 0x55 (zeros) except:
//   byte 0  = 0x1a = 00 01 10 10: weight 0 = +1, weight 32 = +1, weight 64 = 0, weight 96 = -1
//   byte 32 = 0x08 = 00 00 10 00: weight 128 = -1, weight 160 = +1, weight 192 = -1, weight 224 = -1
// d = f16 0x4000 = 2.0.
std::vector<uint8_t> tq2_hand_block() {
  std::vector<uint8_t> b(64, 0x55);
  b[0] = 0x1a;
  b[32] = 0x08;
  b.push_back(0x00);
  b.push_back(0x40);
  return b;
}

TEST(TQ2_0, DequantMatchesHandPackedBlock) {
  const auto bytes = tq2_hand_block();
  std::vector<float> expect(256, 0.0f);
  expect[0] = 2.0f;
  expect[32] = 2.0f;
  expect[96] = -2.0f;
  expect[128] = -2.0f;
  expect[160] = 2.0f;
  expect[192] = -2.0f;
  expect[224] = -2.0f;
  EXPECT_EQ(dequantize(make_tensor(kTq2, {256}, bytes)), expect);
  const TernaryMatrix m = unpack_ternary(make_tensor(kTq2, {256}, bytes));
  EXPECT_EQ(m.group_size, 256);
  EXPECT_EQ(m.scales, std::vector<float>{2.0f});
  EXPECT_EQ(pack_ternary(kTq2, m), bytes);
}

// TQ1_0 block: qs[48], qh[4], d. A byte holds trits t0..t4 (t = value + 1, t0 most significant) as
// ceil((81 t0 + 27 t1 + 9 t2 + 3 t3 + t4) * 256 / 243).
//   qs[0] holds weights 0, 32, 64, 96, 128 = +1, -1, 0, 0, +1: t = 2 0 1 1 2 -> 176 -> ceil(185.4) = 186
//   qs[32] holds weights 160, 176, 192, 208, 224 = all -1: 0 -> 0
//   qh[0] holds weights 240, 244, 248, 252 (+ a 0 trit) = +1, 0, -1, +1: t = 2 1 0 2 0 -> 195 -> 206
//   other qs bytes: all zeros, t = 1 1 1 1 1 -> 121 -> ceil(127.5) = 128
//   other qh bytes: t = 1 1 1 1 0 -> 120 -> ceil(126.4) = 127
// d = f16 0x3400 = 0.25.
std::vector<uint8_t> tq1_hand_block() {
  std::vector<uint8_t> b(48, 128);
  b[0] = 186;
  b[32] = 0;
  for (uint8_t x : {206, 127, 127, 127}) b.push_back(x);
  b.push_back(0x00);
  b.push_back(0x34);
  return b;
}

TEST(TQ1_0, DequantMatchesHandPackedBlock) {
  const auto bytes = tq1_hand_block();
  ASSERT_EQ(bytes.size(), 54u);
  std::vector<float> expect(256, 0.0f);
  expect[0] = 0.25f;
  expect[32] = -0.25f;
  expect[128] = 0.25f;
  for (int i : {160, 176, 192, 208, 224}) expect[i] = -0.25f;
  expect[240] = 0.25f;
  expect[248] = -0.25f;
  expect[252] = 0.25f;
  EXPECT_EQ(dequantize(make_tensor(kTq1, {256}, bytes)), expect);
  float row[256];
  dequantize_row(kTq1, bytes.data(), row, 256);
  EXPECT_EQ(std::vector<float>(row, row + 256), expect);
  const TernaryMatrix m = unpack_ternary(make_tensor(kTq1, {256}, bytes));
  EXPECT_EQ(pack_ternary(kTq1, m), bytes);
}

TernaryMatrix random_blocked(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-1, 1);
  std::uniform_int_distribution<int> e(-8, 4);
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = 256;
  m.values.resize(static_cast<size_t>(rows * cols));
  for (auto& v : m.values) v = static_cast<int8_t>(d(rng));
  // Scales exactly representable in f16, so the round trip is exact.
  for (int64_t i = 0; i < rows * cols / 256; ++i) m.scales.push_back(std::ldexp(1.0f + d(rng) * 0.25f, e(rng)));
  return m;
}

TEST(TQ, PackUnpackRoundTripsRandomMatrices) {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 256}, {3, 512}, {5, 2560}, {2, 256 * 9}};
  uint32_t seed = 11;
  for (uint32_t type : {kTq1, kTq2}) {
    for (auto [rows, cols] : shapes) {
      const TernaryMatrix m = random_blocked(rows, cols, seed++);
      const std::vector<uint64_t> shape = {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)};
      const auto bytes = pack_ternary(type, m);
      ASSERT_EQ(bytes.size(), *gguf::tensor_n_bytes(type, shape));
      const auto t = make_tensor(type, shape, bytes);
      const TernaryMatrix back = unpack_ternary(t);
      EXPECT_EQ(back.values, m.values) << type << " " << rows << "x" << cols;
      EXPECT_EQ(back.scales, m.scales);
      const auto w = dequantize(t);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; c += 37) ASSERT_EQ(w[r * cols + c], m.weight(r, c));
    }
  }
}

// FNV-1a of the bytes llama.cpp's gguf-py (gguf/quants.py, c392e5094) writes for 0.5 * lcg_values:
// a 64-bit LCG, value = (state >> 33) % 3 - 1, seeded rows * 1000 + cols (as tests/tensor/tl_test.cpp).
TEST(TQ, PackMatchesGgufPyBytes) {
  struct Golden {
    uint32_t type;
    int64_t rows, cols;
    uint64_t fnv;
  };
  const Golden golden[] = {
      {kTq1, 1, 256, 0x445047de021bdb93ull},
      {kTq1, 3, 512, 0x00350e2482902254ull},
      {kTq2, 1, 256, 0x81a192ed2311d135ull},
      {kTq2, 3, 512, 0x3bb1b61a6b16644eull},
  };
  for (const auto& g : golden) {
    uint64_t state = static_cast<uint64_t>(g.rows * 1000 + g.cols);
    TernaryMatrix m;
    m.rows = g.rows;
    m.cols = g.cols;
    m.group_size = 256;
    for (int64_t i = 0; i < g.rows * g.cols; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      m.values.push_back(static_cast<int8_t>(static_cast<int>((state >> 33) % 3) - 1));
    }
    m.scales.assign(static_cast<size_t>(g.rows * g.cols / 256), 0.5f);
    const auto bytes = pack_ternary(g.type, m);
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
    EXPECT_EQ(h, g.fnv) << gguf::type_name(g.type) << " " << g.rows << "x" << g.cols;
  }
}

TEST(TQ, PacksPerTensorScaleIntoEveryBlock) {
  TernaryMatrix m = random_blocked(2, 512, 5);
  m.group_size = 512;
  m.scales = {0.5f, 0.5f};
  const TernaryMatrix back = unpack_ternary(make_tensor(kTq2, {512, 2}, pack_ternary(kTq2, m)));
  EXPECT_EQ(back.scales, (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(back.values, m.values);
}

TEST(TQ2_0, UnusedCodeDequantizesAsTwoButIsNotTernary) {
  auto bytes = tq2_hand_block();
  bytes[1] = 0x57;                                                  // weight 1 gets code 3
  EXPECT_EQ(dequantize(make_tensor(kTq2, {256}, bytes))[1], 4.0f);  // (3 - 1) * d, as llama.cpp reads it
  EXPECT_THROW(unpack_ternary(make_tensor(kTq2, {256}, bytes)), Error);
}

}  // namespace
}  // namespace trit::tensor
