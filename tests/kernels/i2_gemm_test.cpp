// Every I2 kernel level against the reference BitLinear (kernels/bitlinear.h) on random shapes with
// odd row counts, padded columns, odd block counts and token tails: results must be bit-identical.
#include "kernels/i2_gemm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kernels/bitlinear.h"
#include "kernels/i2_matrix.h"
#include "runtime/cpu_features.h"
#include "tensor/codec.h"

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

tensor::TernaryMatrix random_ternary(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(-1, 1);
  tensor::TernaryMatrix m{rows, cols, cols, std::vector<int8_t>(rows * cols), std::vector<float>(rows, 0.0371f)};
  for (auto& v : m.values) v = static_cast<int8_t>(d(rng));
  return m;
}

std::vector<IsaLevel> available_levels() {
  std::vector<IsaLevel> levels = {IsaLevel::kScalar};
  for (IsaLevel l : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon})
    if (runtime::supports_isa(l)) levels.push_back(l);
  return levels;
}

// The reference: per token quantisation and the TernaryMatrix mat-vec.
std::vector<float> reference_bitlinear(const tensor::TernaryMatrix& m, const std::vector<float>& x, int64_t n_tokens) {
  std::vector<float> y(n_tokens * m.rows);
  std::vector<int8_t> q(m.cols);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float s = quantize_activations(x.data() + t * m.cols, m.cols, q.data());
    ternary_matvec(m, q.data(), s, y.data() + t * m.rows, 0, m.rows);
  }
  return y;
}

std::vector<float> fast_bitlinear(const I2Matrix& w, const std::vector<float>& x, int64_t n_tokens, IsaLevel level) {
  Q8Activations a;
  a.quantize(x.data(), n_tokens, w.cols, level);
  std::vector<float> y(n_tokens * w.rows, -1.0f);
  i2_gemm(w, a, y.data(), 0, w.rows, level);
  return y;
}

TEST(I2Gemm, EveryLevelMatchesTheReferenceExactly) {
  std::mt19937 rng(123);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int64_t rows : {1, 3, 4, 5, 17, 64})
    for (int64_t cols : {100, 128, 256, 300, 384, 640, 2560})
      for (int64_t n_tokens : {1, 2, 3, 5, 9}) {
        const auto m = random_ternary(rows, cols, rng);
        const I2Matrix w = i2_pack(m);
        std::vector<float> x(n_tokens * cols);
        for (auto& v : x) v = normal(rng);
        x[0] = 40.0f;  // an outlier, as real activations have
        const auto want = reference_bitlinear(m, x, n_tokens);
        for (IsaLevel level : available_levels()) {
          const auto got = fast_bitlinear(w, x, n_tokens, level);
          for (int64_t i = 0; i < n_tokens * rows; ++i)
            ASSERT_EQ(got[i], want[i]) << runtime::isa_name(level) << " rows " << rows << " cols " << cols << " tokens "
                                       << n_tokens << " at " << i;
        }
      }
}

TEST(I2Gemm, LongBatchesCrossTokenBlocks) {
  // Long prompt batches: many 4 x 4 row-token tiles, then a token tail.
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t rows : {8, 13})
    for (int64_t cols : {256, 384}) {
      const auto m = random_ternary(rows, cols, rng);
      const I2Matrix w = i2_pack(m);
      const int64_t n_tokens = 70;
      std::vector<float> x(n_tokens * cols);
      for (auto& v : x) v = normal(rng);
      const auto want = reference_bitlinear(m, x, n_tokens);
      for (IsaLevel level : available_levels()) {
        ASSERT_EQ(fast_bitlinear(w, x, n_tokens, level), want)
            << runtime::isa_name(level) << " rows " << rows << " cols " << cols;
      }
    }
}

// The AVX-VNNI kernel against the scalar kernel on the same quantised activations: column tails (padding
// inside a block), odd block counts (a block without a pair), row counts that are not a multiple of the
// 4-row tiles, row ranges starting inside a tile, and every batch size from 1 to 20 tokens (token tails of
// the 6-token register tile, both sides of the small-batch prefetch switch).
TEST(I2Gemm, AvxVnniMatchesScalarOnTailsAndBatches) {
  if (!runtime::supports_isa(IsaLevel::kAvxVnni)) GTEST_SKIP() << "CPU lacks AVX-VNNI: " << runtime::describe_cpu();
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  for (int64_t cols : {1, 100, 128, 200, 256, 384, 520, 640, 1000, 2560})
    for (int64_t rows : {1, 2, 3, 4, 5, 7, 9, 14}) {
      const auto m = random_ternary(rows, cols, rng);
      const I2Matrix w = i2_pack(m);
      for (int64_t n_tokens = 1; n_tokens <= 20; ++n_tokens) {
        if (cols >= 1000 && n_tokens % 3 != 0 && n_tokens > 2) continue;  // keep the test fast
        std::vector<float> x(n_tokens * cols);
        for (auto& v : x) v = normal(rng);
        Q8Activations a;
        a.quantize(x.data(), n_tokens, cols, IsaLevel::kAvxVnni);
        std::vector<float> want(n_tokens * rows, -1.0f), got(n_tokens * rows, -1.0f);
        i2_gemm_scalar(w, a, want.data(), 0, rows);
        const int64_t begin = rows > 4 ? 1 : 0;  // a range starting inside a tile
        i2_gemm(w, a, got.data(), 0, begin, IsaLevel::kAvxVnni);
        i2_gemm(w, a, got.data(), begin, rows, IsaLevel::kAvxVnni);
        ASSERT_EQ(got, want) << "rows " << rows << " cols " << cols << " tokens " << n_tokens;
      }
    }
}

TEST(I2Gemm, AvxVnniIsExactAtTheExtremes) {
  // All weights +1 (code 2, the top bit of each masked plane) or -1 against activations of one sign at
  // full scale: the largest sums the int32 lanes carry.
  if (!runtime::supports_isa(IsaLevel::kAvxVnni)) GTEST_SKIP() << "CPU lacks AVX-VNNI: " << runtime::describe_cpu();
  for (int8_t value : {int8_t{1}, int8_t{-1}})
    for (float sign : {1.0f, -1.0f})
      for (int64_t n_tokens : {1, 7}) {
        const int64_t rows = 6, cols = 6912 * 2 + 128;
        tensor::TernaryMatrix m{rows, cols, cols, std::vector<int8_t>(rows * cols, value),
                                std::vector<float>(rows, 0.5f)};
        const I2Matrix w = i2_pack(m);
        std::vector<float> x(n_tokens * cols, 3.0f * sign);
        Q8Activations a;
        a.quantize(x.data(), n_tokens, cols, IsaLevel::kAvxVnni);
        std::vector<float> want(n_tokens * rows), got(n_tokens * rows);
        i2_gemm_scalar(w, a, want.data(), 0, rows);
        i2_gemm(w, a, got.data(), 0, rows, IsaLevel::kAvxVnni);
        EXPECT_EQ(got, want) << int{value} << " " << sign << " " << n_tokens;
      }
}

TEST(Q8Activations, BuffersStartOnCacheLines) {
  // The kernels read them with 64-byte loads; a buffer off a line splits every one of them.
  std::vector<float> x(300 * 3, 0.5f);
  for (IsaLevel level : available_levels()) {
    Q8Activations a;
    for (int64_t n_tokens : {1, 3}) {  // the second call regrows the buffers
      a.quantize(x.data(), n_tokens, 300, level);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(a.q.data()) % 64, 0u) << runtime::isa_name(level);
      if (!a.q_pairs.empty()) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(a.q_pairs.data()) % 64, 0u);
      }
    }
  }
}

TEST(I2Gemm, RowRangesWriteOnlyTheirRows) {
  std::mt19937 rng(5);
  const auto m = random_ternary(9, 256, rng);
  const I2Matrix w = i2_pack(m);
  std::vector<float> x(256, 1.5f);
  for (IsaLevel level : available_levels()) {
    Q8Activations a;
    a.quantize(x.data(), 1, 256, level);
    std::vector<float> y(9, -7.0f);
    i2_gemm(w, a, y.data(), 2, 7, level);
    for (int64_t r = 0; r < 9; ++r) EXPECT_EQ(y[r] == -7.0f, r < 2 || r >= 7) << runtime::isa_name(level) << r;
  }
}

TEST(I2Matrix, InPlaceI2SViewEqualsRepack) {
  std::mt19937 rng(9);
  const auto m = random_ternary(6, 384, rng);
  const auto bytes = tensor::pack_ternary(static_cast<uint32_t>(gguf::GgmlType::I2_S), m);
  const I2Matrix view = i2_view_i2s(bytes, 6, 384);
  const I2Matrix packed = i2_pack(m);
  EXPECT_EQ(view.scale, packed.scale);
  EXPECT_EQ(0, std::memcmp(view.data, packed.data, 6 * 384 / 4));
  I2Matrix moved = std::move(const_cast<I2Matrix&>(packed));
  EXPECT_EQ(moved.data, moved.owned.data());
}

TEST(I2Matrix, SingleScaleIgnoresAllZeroGroups) {
  tensor::TernaryMatrix m{1, 512, 256, std::vector<int8_t>(512, 0), {0.5f, 0.25f}};
  float s = 0;
  EXPECT_TRUE(has_single_scale(m, &s));  // both groups all zero
  m.values[0] = 1;
  EXPECT_TRUE(has_single_scale(m, &s));
  EXPECT_EQ(s, 0.5f);
  m.values[300] = -1;
  EXPECT_FALSE(has_single_scale(m, &s));
}

}  // namespace
}  // namespace trit::kernels
