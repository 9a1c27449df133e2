// The F16 mat-vec: every level bit-identical to the reference order, and close to a float64 sum.
#include "kernels/f16_gemv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tensor/codec.h"

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

TEST(F16Gemv, EveryLevelIsBitIdenticalAndAccurate) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (int64_t cols : {1, 15, 16, 17, 100, 2560})
    for (int64_t rows : {1, 7}) {
      std::vector<uint16_t> w(rows * cols);
      std::vector<float> x(cols);
      for (auto& v : w) v = tensor::f32_to_f16(normal(rng));
      for (auto& v : x) v = normal(rng);
      std::vector<float> want(rows);
      f16_gemv_scalar({w.data(), cols, x.data(), want.data(), 0, rows});
      for (int64_t r = 0; r < rows; ++r) {
        double ref = 0, mag = 0;
        for (int64_t c = 0; c < cols; ++c) {
          ref += double(tensor::f16_to_f32(w[r * cols + c])) * x[c];
          mag += std::fabs(double(tensor::f16_to_f32(w[r * cols + c])) * x[c]);
        }
        EXPECT_NEAR(want[r], ref, 1e-5 * mag + 1e-6);
      }
      for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
        if (!runtime::supports_isa(level)) continue;
        std::vector<float> got(rows, -1.0f);
        f16_gemv({w.data(), cols, x.data(), got.data(), 0, rows}, level);
        for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(got[r], want[r]) << runtime::isa_name(level) << " cols " << cols;
      }
    }
}

TEST(F32Gemv, EveryLevelIsBitIdenticalWithStridedRows) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  for (int64_t cols : {1, 63, 64, 65, 128, 300})
    for (int64_t ld : {int64_t{0}, cols + 7}) {
      const int64_t rows = 5, stride = ld ? ld : cols;
      std::vector<float> w(rows * stride), x(cols);
      for (auto& v : w) v = normal(rng);
      for (auto& v : x) v = normal(rng);
      std::vector<float> want(rows);
      f32_gemv_scalar({w.data(), cols, x.data(), want.data(), 0, rows, ld});
      for (int64_t r = 0; r < rows; ++r) {
        double ref = 0;
        for (int64_t c = 0; c < cols; ++c) ref += double(w[r * stride + c]) * x[c];
        EXPECT_NEAR(want[r], ref, 1e-4 * (1 + std::fabs(ref)));
      }
      for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
        if (!runtime::supports_isa(level)) continue;
        std::vector<float> got(rows, -1.0f);
        f32_gemv({w.data(), cols, x.data(), got.data(), 0, rows, ld}, level);
        for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(got[r], want[r]) << runtime::isa_name(level) << " cols " << cols;
      }
    }
}

}  // namespace
}  // namespace trit::kernels
