// The F16 / F32 mat-vecs with the fold in registers and the row blocks (8, 4, 1 rows, tails in double):
// every level bit-identical to the reference order at every row count, width and stride, as attention
// over the f16 KV cache uses them (Q·K: cols = head_dim; P·V: cols = keys, rows = head_dim, strided).
#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <vector>

#include "kernels/f16_gemv.h"
#include "tensor/codec.h"

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

TEST(F16GemvRows, EveryLevelIsBitIdenticalForEveryRowBlockAndTail) {
  std::mt19937 rng(21);
  std::normal_distribution<float> normal;
  for (int64_t cols : {1, 8, 15, 63, 64, 65, 100, 127, 128, 160, 191, 200})
    for (int64_t rows : {1, 3, 4, 5, 8, 9, 12, 13, 16, 21, 128})
      for (int64_t pad : {int64_t{0}, int64_t{9}}) {
        const int64_t ld = pad ? cols + pad : 0, stride = cols + pad;
        std::vector<uint16_t> w(static_cast<size_t>(rows * stride));
        std::vector<float> x(static_cast<size_t>(cols));
        for (auto& v : w) v = tensor::f32_to_f16(normal(rng));
        for (auto& v : x) v = normal(rng);
        std::vector<float> want(static_cast<size_t>(rows));
        f16_gemv_scalar({w.data(), cols, x.data(), want.data(), 0, rows, ld});
        for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
          if (!runtime::supports_isa(level)) continue;
          std::vector<float> got(static_cast<size_t>(rows) + 1, -1.0f);
          f16_gemv({w.data(), cols, x.data(), got.data(), 0, rows, ld}, level);
          for (int64_t r = 0; r < rows; ++r)
            ASSERT_EQ(std::bit_cast<uint32_t>(got[r]), std::bit_cast<uint32_t>(want[r]))
                << runtime::isa_name(level) << " cols " << cols << " rows " << rows << " row " << r;
          EXPECT_EQ(got[rows], -1.0f) << "wrote past the end";
        }
      }
}

TEST(F16GemvRows, RowRangeInsideTheMatrix) {
  std::mt19937 rng(22);
  std::normal_distribution<float> normal;
  const int64_t rows = 40, cols = 150;
  std::vector<uint16_t> w(static_cast<size_t>(rows * cols));
  std::vector<float> x(static_cast<size_t>(cols));
  for (auto& v : w) v = tensor::f32_to_f16(normal(rng));
  for (auto& v : x) v = normal(rng);
  std::vector<float> want(static_cast<size_t>(rows), -2.0f);
  f16_gemv_scalar({w.data(), cols, x.data(), want.data(), 3, 30});
  for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
    if (!runtime::supports_isa(level)) continue;
    std::vector<float> got(static_cast<size_t>(rows), -2.0f);
    f16_gemv({w.data(), cols, x.data(), got.data(), 3, 30}, level);
    for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(got[r], want[r]) << runtime::isa_name(level) << " row " << r;
  }
}

TEST(F32GemvRows, EveryLevelIsBitIdenticalForEveryRowBlock) {
  std::mt19937 rng(23);
  std::normal_distribution<float> normal;
  for (int64_t cols : {1, 64, 65, 128, 130})
    for (int64_t rows : {1, 4, 5, 8, 11, 33}) {
      const int64_t ld = cols + 3;
      std::vector<float> w(static_cast<size_t>(rows * ld)), x(static_cast<size_t>(cols));
      for (auto& v : w) v = normal(rng);
      for (auto& v : x) v = normal(rng);
      std::vector<float> want(static_cast<size_t>(rows));
      f32_gemv_scalar({w.data(), cols, x.data(), want.data(), 0, rows, ld});
      for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
        if (!runtime::supports_isa(level)) continue;
        std::vector<float> got(static_cast<size_t>(rows), -1.0f);
        f32_gemv({w.data(), cols, x.data(), got.data(), 0, rows, ld}, level);
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(std::bit_cast<uint32_t>(got[r]), std::bit_cast<uint32_t>(want[r]))
              << runtime::isa_name(level) << " cols " << cols << " rows " << rows;
      }
    }
}

}  // namespace
}  // namespace trit::kernels
