// TL1 (bitnet.cpp's ARM lookup-table layout): 4-bit indices of weight pairs, tiled for the generated
// kernels, then one float32 scale. Repacking to and from the reference form; docs/formats.md#tl1.
#include <array>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/families.h"

namespace trit::tensor {

namespace {

// setup_env.py's codegen_tl1.py arguments per model (they write include/kernel_config.ini, which
// utils/convert-hf-to-gguf-bitnet.py reads): {rows (M), cols (K), BM, BK, bm}.
// The Llama3-8B set is also used for the Falcon3 models; BitNet-b1.58-2B-4T reuses the 3B set.
struct Preset {
  int64_t rows, cols;
  LutKernelConfig config;
};
constexpr std::array kPresets = {
    // bitnet_b1_58-large
    Preset{1536, 4096, {256, 128, 32}},
    Preset{1536, 1536, {128, 64, 64}},
    Preset{4096, 1536, {256, 128, 32}},
    // bitnet_b1_58-3B (and BitNet-b1.58-2B-4T)
    Preset{3200, 8640, {160, 64, 32}},
    Preset{3200, 3200, {320, 128, 64}},
    Preset{8640, 3200, {320, 64, 32}},
    // Llama3-8B-1.58-100B-tokens (and Falcon3)
    Preset{14336, 4096, {256, 128, 32}},
    Preset{4096, 14336, {128, 64, 64}},
    Preset{1024, 4096, {256, 128, 32}},
    Preset{4096, 4096, {128, 64, 64}},
};

// Calls fn(byte_offset, row, col) for every code byte, in file order. The byte holds columns
// col..col+3 of the row: high nibble 3 w[col] + w[col+1] + 4, low nibble 3 w[col+2] + w[col+3] + 4.
// The loop nest is process_tl1's reshape/transpose chain in convert-hf-to-gguf-bitnet.py, outermost
// first: row tile (BM), column tile (BK), row block (bm) in the tile, column group (by = 256 / bm) in the
// tile, 16-row slice of the block, 4-column step in the group, row in the slice.
template <typename Fn>
void for_each_byte(int64_t rows, int64_t cols, const LutKernelConfig& c, Fn&& fn) {
  const int64_t by = 256 / c.block_rows;
  int64_t offset = 0;
  for (int64_t a = 0; a < rows / c.tile_rows; ++a)
    for (int64_t b = 0; b < cols / c.tile_cols; ++b)
      for (int64_t blk = 0; blk < c.tile_rows / c.block_rows; ++blk)
        for (int64_t d = 0; d < c.tile_cols / by; ++d)
          for (int64_t e = 0; e < c.block_rows / 16; ++e)
            for (int64_t g = 0; g < by / 4; ++g)
              for (int64_t f = 0; f < 16; ++f)
                fn(offset++, a * c.tile_rows + blk * c.block_rows + e * 16 + f, b * c.tile_cols + d * by + 4 * g);
}

}  // namespace

std::optional<LutKernelConfig> default_tl1_config(int64_t rows, int64_t cols) {
  for (const auto& p : kPresets)
    if (p.rows == rows && p.cols == cols) return p.config;
  return std::nullopt;
}

std::string tl1_config_problem(int64_t rows, int64_t cols, const LutKernelConfig& c) {
  if (c.block_rows != 32 && c.block_rows != 64) return fmt::format("bm = {} is not 32 or 64", c.block_rows);
  if (c.tile_rows <= 0 || c.tile_rows % c.block_rows != 0)
    return fmt::format("BM = {} is not a multiple of bm = {}", c.tile_rows, c.block_rows);
  const int64_t by = 256 / c.block_rows;
  if (c.tile_cols <= 0 || c.tile_cols % by != 0)
    return fmt::format("BK = {} is not a multiple of 256 / bm = {}", c.tile_cols, by);
  if (rows % c.tile_rows != 0) return fmt::format("{} rows are not a multiple of BM = {}", rows, c.tile_rows);
  if (cols % c.tile_cols != 0) return fmt::format("{} columns are not a multiple of BK = {}", cols, c.tile_cols);
  return "";
}

TernaryMatrix unpack_tl1(std::span<const uint8_t> data, int64_t rows, int64_t cols, const LutKernelConfig& config,
                         std::string_view what) {
  if (auto problem = tl1_config_problem(rows, cols, config); !problem.empty())
    fail("{}: tl1 kernel configuration BM={} BK={} bm={} does not fit {} x {}: {}", what, config.tile_rows,
         config.tile_cols, config.block_rows, rows, cols, problem);
  const int64_t n = rows * cols;
  const uint64_t need = static_cast<uint64_t>(n / 4 + 4);
  if (data.size() < need) fail("{}: tl1 needs {} bytes, the tensor has {}", what, need, data.size());
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(static_cast<size_t>(n));
  for_each_byte(rows, cols, config, [&](int64_t offset, int64_t r, int64_t c) {
    const uint8_t byte = data[static_cast<size_t>(offset)];
    int8_t* v = m.values.data() + r * cols + c;
    for (int half = 0; half < 2; ++half) {
      const int index = half == 0 ? byte >> 4 : byte & 0xf;
      if (index > 8) fail("{}: tl1 byte {} holds the unused index {}", what, offset, index);
      v[2 * half] = static_cast<int8_t>(index / 3 - 1);
      v[2 * half + 1] = static_cast<int8_t>(index % 3 - 1);
    }
  });
  // The generated ggml_bitnet_transform_tensor reads the scale right after the codes.
  float scale = 0;
  std::memcpy(&scale, data.data() + n / 4, sizeof scale);
  m.scales.assign(static_cast<size_t>(rows), scale);
  return m;
}

std::vector<uint8_t> pack_tl1(const TernaryMatrix& m, const LutKernelConfig& config) {
  TRIT_ASSERT_MSG(tl1_config_problem(m.rows, m.cols, config).empty(), "tl1 configuration does not fit the matrix");
  const float scale = single_scale(m);
  const int64_t n = m.rows * m.cols;
  std::vector<uint8_t> out(static_cast<size_t>(n / 4 + 32), 0);
  for_each_byte(m.rows, m.cols, config, [&](int64_t offset, int64_t r, int64_t c) {
    const int8_t* v = m.values.data() + r * m.cols + c;
    for (int i = 0; i < 4; ++i) TRIT_ASSERT(v[i] >= -1 && v[i] <= 1);
    const int hi = 3 * v[0] + v[1] + 4;
    const int lo = 3 * v[2] + v[3] + 4;
    out[static_cast<size_t>(offset)] = static_cast<uint8_t>((hi << 4) | lo);
  });
  std::memcpy(out.data() + n / 4, &scale, sizeof scale);
  return out;
}

}  // namespace trit::tensor
