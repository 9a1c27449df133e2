// Ternary weights in the plain reference form every packed layout unpacks to and packs from.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace trit::tensor {

// A weight matrix W[rows][cols] (rows = output features = ggml ne1, cols = input features = ne0)
// whose entries are values[r * cols + c] in {-1, 0, +1} times a scale shared by a group of
// group_size consecutive columns in a row:
//   W[r][c] = values[r * cols + c] * scales[r * (cols / group_size) + c / group_size]
// I2_S/TL1/TL2 have one scale per tensor (every entry of scales equal, group_size = cols);
// TQ1_0/TQ2_0 have one per 256-weight block (group_size = 256).
struct TernaryMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t group_size = 0;
  std::vector<int8_t> values;
  std::vector<float> scales;

  int64_t groups_per_row() const { return cols / group_size; }
  float scale(int64_t r, int64_t c) const { return scales[r * groups_per_row() + c / group_size]; }
  float weight(int64_t r, int64_t c) const { return static_cast<float>(values[r * cols + c]) * scale(r, c); }
};

// BitLinear weight quantisation (absmean): scale = mean|W| over the whole matrix,
// values = clamp(round(W / scale), -1, 1), one scale for the tensor (group_size = cols).
TernaryMatrix ternarize_absmean(std::span<const float> w, int64_t rows, int64_t cols);

}  // namespace trit::tensor
