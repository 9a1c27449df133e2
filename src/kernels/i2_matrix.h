// Ternary weights in the layout the fast kernels read: each row padded to whole 128-weight blocks in
// bitnet.cpp's I2_S block layout (byte p of a block holds weights p, 32+p, 64+p, 96+p in bits 7-6,
// 5-4, 3-2, 1-0; codes 0/1/2 = -1/0/+1), one float scale for the matrix. An I2_S tensor whose rows are
// whole blocks is used in place, straight from the mapped file; anything else is repacked at load.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tensor/ternary.h"

namespace trit::kernels {

struct I2Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t padded_cols = 0;  // cols rounded up to 128; padding weights are 0
  float scale = 1.0f;
  const uint8_t* data = nullptr;  // rows * padded_cols / 4 bytes
  std::vector<uint8_t> owned;     // the bytes when repacked (data points here)

  int64_t row_bytes() const { return padded_cols / 4; }
  const uint8_t* row(int64_t r) const { return data + r * row_bytes(); }

  I2Matrix() = default;
  I2Matrix(I2Matrix&& o) noexcept { *this = std::move(o); }
  I2Matrix& operator=(I2Matrix&& o) noexcept;
  I2Matrix(const I2Matrix&) = delete;
  I2Matrix& operator=(const I2Matrix&) = delete;
};

// True when an I2_S tensor's bytes can be used in place (rows of whole 128-weight blocks).
bool i2s_usable_in_place(int64_t rows, int64_t cols);
// A view of I2_S bytes (n/4 codes then the float scale), which must outlive the view.
I2Matrix i2_view_i2s(std::span<const uint8_t> bytes, int64_t rows, int64_t cols);
// Repacks the reference form; needs one scale for the whole matrix (TRIT_ASSERT).
I2Matrix i2_pack(const tensor::TernaryMatrix& m);
// The same into caller memory of i2_packed_bytes(rows, cols) bytes (which must outlive the view), with
// the matrix's single scale as has_single_scale found it.
int64_t i2_packed_bytes(int64_t rows, int64_t cols);
I2Matrix i2_pack_into(const tensor::TernaryMatrix& m, float scale, uint8_t* dst);
// True when every group of `m` has the same scale (or is all zeros), so it fits an I2Matrix.
bool has_single_scale(const tensor::TernaryMatrix& m, float* scale);

}  // namespace trit::kernels
