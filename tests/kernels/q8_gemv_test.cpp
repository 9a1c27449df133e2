// The Q8_0 mat-vec: every level bit-identical to the reference order, close to float64 on the
// dequantised operands.
#include "kernels/q8_gemv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gguf/ggml_type.h"
#include "tensor/codec.h"

namespace trit::kernels {
namespace {

using runtime::IsaLevel;

TEST(Q8Gemv, EveryLevelIsBitIdenticalAndAccurate) {
  std::mt19937 rng(8);
  std::normal_distribution<float> normal;
  for (int64_t cols : {32, 64, 96, 2560})
    for (int64_t rows : {1, 5}) {
      std::vector<float> wf(rows * cols), x(cols);
      for (auto& v : wf) v = normal(rng);
      for (auto& v : x) v = normal(rng);
      const uint64_t shape[] = {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)};
      const auto w = tensor::quantize(static_cast<uint32_t>(gguf::GgmlType::Q8_0), wf, shape);
      Q8_0Activations a;
      a.quantize(x.data(), cols);
      std::vector<float> want(rows);
      q8_gemv_scalar({w.data(), cols, a.q.data(), a.d.data(), want.data(), 0, rows});
      // Against float64 on the dequantised weights and activations.
      std::vector<float> wd(rows * cols);
      for (int64_t r = 0; r < rows; ++r)
        tensor::dequantize_row(static_cast<uint32_t>(gguf::GgmlType::Q8_0), w.data() + r * (cols / 32) * 34,
                               wd.data() + r * cols, cols);
      for (int64_t r = 0; r < rows; ++r) {
        double ref = 0, mag = 0;
        for (int64_t c = 0; c < cols; ++c) {
          const double xv = double(a.q[c]) * a.d[c / 32];
          ref += double(wd[r * cols + c]) * xv;
          mag += std::fabs(double(wd[r * cols + c]) * xv);
        }
        EXPECT_NEAR(want[r], ref, 1e-5 * mag + 1e-6);
      }
      for (IsaLevel level : {IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon}) {
        if (!runtime::supports_isa(level)) continue;
        std::vector<float> got(rows, -1.0f);
        q8_gemv({w.data(), cols, a.q.data(), a.d.data(), got.data(), 0, rows}, level);
        for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(got[r], want[r]) << runtime::isa_name(level) << " cols " << cols;
      }
    }
}

TEST(Q8Activations, BlockScalesAndRounding) {
  std::vector<float> x(64, 0.0f);
  x[0] = 127.0f;
  x[1] = -63.5f;  // d = 1: rounds away from zero to -64
  x[32] = 0.5f;   // second block: d = 0.5/127
  Q8_0Activations a;
  a.quantize(x.data(), 64);
  EXPECT_FLOAT_EQ(a.d[0], 1.0f);
  EXPECT_EQ(a.q[0], 127);
  EXPECT_EQ(a.q[1], -64);
  EXPECT_EQ(a.q[32], 127);
  EXPECT_EQ(a.q[33], 0);
}

}  // namespace
}  // namespace trit::kernels
