// I2Matrix: in-place views of I2_S tensors and repacking of everything else.
#include "kernels/i2_matrix.h"

#include <cstring>

#include "runtime/assert.h"

namespace trit::kernels {

I2Matrix& I2Matrix::operator=(I2Matrix&& o) noexcept {
  rows = o.rows;
  cols = o.cols;
  padded_cols = o.padded_cols;
  scale = o.scale;
  const bool was_owned = o.data == o.owned.data() && !o.owned.empty();
  owned = std::move(o.owned);
  data = was_owned ? owned.data() : o.data;
  o.data = nullptr;
  return *this;
}

bool i2s_usable_in_place(int64_t rows, int64_t cols) { return rows > 0 && cols > 0 && cols % 128 == 0; }

I2Matrix i2_view_i2s(std::span<const uint8_t> bytes, int64_t rows, int64_t cols) {
  TRIT_ASSERT(i2s_usable_in_place(rows, cols));
  TRIT_ASSERT(static_cast<int64_t>(bytes.size()) >= rows * cols / 4 + 4);
  I2Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.padded_cols = cols;
  m.data = bytes.data();
  std::memcpy(&m.scale, bytes.data() + rows * cols / 4, sizeof(float));
  return m;
}

bool has_single_scale(const tensor::TernaryMatrix& m, float* scale) {
  const int64_t n_groups = m.groups_per_row();
  float s = 0.0f;
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t g = 0; g < n_groups; ++g) {
      const float gs = m.scales[r * n_groups + g];
      if (gs == s) continue;
      bool all_zero = true;
      for (int64_t c = g * m.group_size; c < (g + 1) * m.group_size && all_zero; ++c)
        all_zero = m.values[r * m.cols + c] == 0;
      if (all_zero) continue;  // an all-zero group's scale does not matter
      if (s != 0.0f) return false;
      s = gs;
    }
  *scale = s;
  return true;
}

int64_t i2_packed_bytes(int64_t rows, int64_t cols) { return rows * ((cols + 127) / 128 * 128) / 4; }

I2Matrix i2_pack_into(const tensor::TernaryMatrix& m, float scale, uint8_t* dst) {
  I2Matrix out;
  out.rows = m.rows;
  out.cols = m.cols;
  out.padded_cols = (m.cols + 127) / 128 * 128;
  out.scale = scale;
  std::memset(dst, 0, static_cast<size_t>(i2_packed_bytes(m.rows, m.cols)));
  for (int64_t r = 0; r < m.rows; ++r) {
    uint8_t* row = dst + r * out.row_bytes();
    for (int64_t c = 0; c < out.padded_cols; ++c) {
      const int code = c < m.cols ? m.values[r * m.cols + c] + 1 : 1;
      const int64_t j = c % 128;
      row[(c / 128) * 32 + j % 32] |= static_cast<uint8_t>(code << (6 - 2 * (j / 32)));
    }
  }
  out.data = dst;
  return out;
}

I2Matrix i2_pack(const tensor::TernaryMatrix& m) {
  float scale = 0.0f;
  TRIT_ASSERT_MSG(has_single_scale(m, &scale), "i2_pack needs one scale for the whole matrix");
  std::vector<uint8_t> bytes(static_cast<size_t>(i2_packed_bytes(m.rows, m.cols)));
  I2Matrix out = i2_pack_into(m, scale, bytes.data());
  out.owned = std::move(bytes);
  out.data = out.owned.data();
  return out;
}

}  // namespace trit::kernels
