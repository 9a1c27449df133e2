// TL2 (bitnet.cpp's x86 lookup-table layout): weight triples as 4-bit magnitudes plus sign bits, a tail
// of weight pairs as 4-bit indices, tiled for the generated kernels, then one float32 scale.
// Repacking to and from the reference form; docs/formats.md#tl2.
#include <array>
#include <cstring>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/families.h"

namespace trit::tensor {

namespace {

// setup_env.py's codegen_tl2.py arguments per model (see tl1.cpp): {rows (M), cols (K), BM, BK, bm}.
struct Preset {
  int64_t rows, cols;
  LutKernelConfig config;
};
constexpr std::array kPresets = {
    // bitnet_b1_58-large
    Preset{1536, 4096, {256, 96, 32}},
    Preset{1536, 1536, {128, 192, 32}},
    Preset{4096, 1536, {256, 96, 32}},
    // bitnet_b1_58-3B (and BitNet-b1.58-2B-4T)
    Preset{3200, 8640, {160, 96, 32}},
    Preset{3200, 3200, {320, 96, 32}},
    Preset{8640, 3200, {320, 96, 32}},
    // Llama3-8B-1.58-100B-tokens (and Falcon3)
    Preset{14336, 4096, {256, 96, 32}},
    Preset{4096, 14336, {128, 96, 32}},
    Preset{1024, 4096, {256, 96, 32}},
    Preset{4096, 4096, {128, 96, 32}},
};

constexpr int64_t kBlockRows = 32;  // bm: TL2 kernels only exist for 32
constexpr int64_t kTailTileCols = 32;

// preprocess_*_weights_tl2 reorder each 32-byte row block as 8-byte groups 0, 2, 1, 3.
int64_t row_in_block(int64_t q) {
  constexpr int64_t kGroup[4] = {0, 2, 1, 3};
  return kGroup[q / 8] * 8 + q % 8;
}

// Bytes of codes before padding: 5/24 byte per weight in the three-column part, 1/4 in the tail.
struct Split {
  int64_t three_cols;    // columns in whole BK tiles, packed as triples
  int64_t two_cols;      // cols % BK, packed as pairs
  int64_t index_bytes;   // rows * three_cols / 6: two 4-bit magnitudes a byte
  int64_t sign_bytes;    // rows * three_cols / 24: one bit a triple
  int64_t tail_bytes;    // rows * two_cols / 4: two 4-bit pair indices a byte
  int64_t padded_bytes;  // ggml_nbytes' code size: (K-256)*M/3*5/8 + 256*M/2*4/8, rounded up to 32
};

Split split_of(int64_t rows, int64_t cols, const LutKernelConfig& c) {
  Split s;
  s.two_cols = cols % c.tile_cols;
  s.three_cols = cols - s.two_cols;
  s.index_bytes = rows * s.three_cols / 6;
  s.sign_bytes = rows * s.three_cols / 24;
  s.tail_bytes = rows * s.two_cols / 4;
  s.padded_bytes = (cols - 256) * rows / 3 * 5 / 8 + 256 * rows / 2 * 4 / 8;
  if (s.padded_bytes % 32 != 0) s.padded_bytes += 32 - s.padded_bytes % 32;
  return s;
}

// The loop nests below follow preprocess_three_weights_tl2 / preprocess_two_weights_tl2 in
// utils/convert-hf-to-gguf-bitnet.py, outermost first.

// Magnitude bytes: row tile, column tile, 32-row block, 6-column group, byte in block. The byte holds
// |9 w0 + 3 w1 + w2| of columns col..col+2 (high nibble) and col+3..col+5 (low nibble).
template <typename Fn>
void for_each_index_byte(int64_t rows, const Split& s, const LutKernelConfig& c, Fn&& fn) {
  int64_t offset = 0;
  for (int64_t a = 0; a < rows / c.tile_rows; ++a)
    for (int64_t b = 0; b < s.three_cols / c.tile_cols; ++b)
      for (int64_t blk = 0; blk < c.tile_rows / kBlockRows; ++blk)
        for (int64_t d = 0; d < c.tile_cols / 6; ++d)
          for (int64_t q = 0; q < kBlockRows; ++q)
            fn(offset++, a * c.tile_rows + blk * kBlockRows + row_in_block(q), b * c.tile_cols + 6 * d);
}

// Sign words (after all magnitude bytes): row tile, column tile, 32-row block, 24-column group, then
// 16 little-endian uint16 words j; bit 15 - i of word j is set when triple (col + 3 (i / 2)) of row
// (block + 16 (i % 2) + j) is negative.
template <typename Fn>
void for_each_sign_bit(int64_t rows, const Split& s, const LutKernelConfig& c, Fn&& fn) {
  int64_t word = 0;
  for (int64_t a = 0; a < rows / c.tile_rows; ++a)
    for (int64_t b = 0; b < s.three_cols / c.tile_cols; ++b)
      for (int64_t blk = 0; blk < c.tile_rows / kBlockRows; ++blk)
        for (int64_t d = 0; d < c.tile_cols / 24; ++d, word += 16)
          for (int64_t j = 0; j < 16; ++j)
            for (int64_t i = 0; i < 16; ++i)
              fn(s.index_bytes + 2 * (word + j), 15 - i, a * c.tile_rows + blk * kBlockRows + 16 * (i % 2) + j,
                 b * c.tile_cols + 24 * d + 3 * (i / 2));
}

// Tail bytes (after the signs): row tile, 32-column tile of the tail, 32-row block, 4-column group,
// byte in block. The byte holds 3 w0 + w1 + 4 of columns col, col+1 (high nibble) and col+2, col+3 (low).
template <typename Fn>
void for_each_tail_byte(int64_t rows, const Split& s, const LutKernelConfig& c, Fn&& fn) {
  int64_t offset = s.index_bytes + s.sign_bytes;
  for (int64_t a = 0; a < rows / c.tile_rows; ++a)
    for (int64_t b = 0; b < s.two_cols / kTailTileCols; ++b)
      for (int64_t blk = 0; blk < c.tile_rows / kBlockRows; ++blk)
        for (int64_t d = 0; d < kTailTileCols / 4; ++d)
          for (int64_t q = 0; q < kBlockRows; ++q)
            fn(offset++, a * c.tile_rows + blk * kBlockRows + row_in_block(q),
               s.three_cols + b * kTailTileCols + 4 * d);
}

int triple_code(const int8_t* v) { return 9 * v[0] + 3 * v[1] + v[2]; }

}  // namespace

std::optional<LutKernelConfig> default_tl2_config(int64_t rows, int64_t cols) {
  for (const auto& p : kPresets)
    if (p.rows == rows && p.cols == cols) return p.config;
  return std::nullopt;
}

std::string tl2_config_problem(int64_t rows, int64_t cols, const LutKernelConfig& c) {
  if (c.block_rows != kBlockRows) return fmt::format("bm = {} is not 32", c.block_rows);
  if (c.tile_rows <= 0 || c.tile_rows % kBlockRows != 0)
    return fmt::format("BM = {} is not a multiple of 32", c.tile_rows);
  if (c.tile_cols <= 0 || c.tile_cols % 24 != 0) return fmt::format("BK = {} is not a multiple of 24", c.tile_cols);
  if (rows % c.tile_rows != 0) return fmt::format("{} rows are not a multiple of BM = {}", rows, c.tile_rows);
  if (cols < 256) return fmt::format("{} columns are fewer than 256", cols);
  const int64_t tail = cols % c.tile_cols;
  if (tail % kTailTileCols != 0 || tail > 256)
    return fmt::format("{} columns leave a tail of {} past the last BK = {} tile (needs a multiple of 32, at most 256)",
                       cols, tail, c.tile_cols);
  return "";
}

TernaryMatrix unpack_tl2(std::span<const uint8_t> data, int64_t rows, int64_t cols, const LutKernelConfig& config,
                         std::string_view what) {
  if (auto problem = tl2_config_problem(rows, cols, config); !problem.empty())
    fail("{}: tl2 kernel configuration BM={} BK={} bm={} does not fit {} x {}: {}", what, config.tile_rows,
         config.tile_cols, config.block_rows, rows, cols, problem);
  const Split s = split_of(rows, cols, config);
  const uint64_t need = static_cast<uint64_t>(s.padded_bytes + 4);
  if (data.size() < need) fail("{}: tl2 needs {} bytes, the tensor has {}", what, need, data.size());
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(static_cast<size_t>(rows * cols));
  for_each_index_byte(rows, s, config, [&](int64_t offset, int64_t r, int64_t c) {
    const uint8_t byte = data[static_cast<size_t>(offset)];
    int8_t* v = m.values.data() + r * cols + c;
    for (int half = 0; half < 2; ++half) {
      const int magnitude = half == 0 ? byte >> 4 : byte & 0xf;
      if (magnitude > 13) fail("{}: tl2 byte {} holds the unused magnitude {}", what, offset, magnitude);
      // Balanced ternary digits of the (still unsigned) magnitude; the sign pass below flips them.
      const int u = magnitude + 13;
      v[3 * half] = static_cast<int8_t>(u / 9 - 1);
      v[3 * half + 1] = static_cast<int8_t>(u / 3 % 3 - 1);
      v[3 * half + 2] = static_cast<int8_t>(u % 3 - 1);
    }
  });
  for_each_sign_bit(rows, s, config, [&](int64_t offset, int64_t bit, int64_t r, int64_t c) {
    const uint16_t word =
        static_cast<uint16_t>(data[static_cast<size_t>(offset)] | (data[static_cast<size_t>(offset) + 1] << 8));
    if ((word >> bit) & 1) {
      int8_t* v = m.values.data() + r * cols + c;
      for (int i = 0; i < 3; ++i) v[i] = static_cast<int8_t>(-v[i]);
    }
  });
  for_each_tail_byte(rows, s, config, [&](int64_t offset, int64_t r, int64_t c) {
    const uint8_t byte = data[static_cast<size_t>(offset)];
    int8_t* v = m.values.data() + r * cols + c;
    for (int half = 0; half < 2; ++half) {
      const int index = half == 0 ? byte >> 4 : byte & 0xf;
      if (index > 8) fail("{}: tl2 byte {} holds the unused index {}", what, offset, index);
      v[2 * half] = static_cast<int8_t>(index / 3 - 1);
      v[2 * half + 1] = static_cast<int8_t>(index % 3 - 1);
    }
  });
  // The generated ggml_bitnet_transform_tensor reads the scale after the padded code bytes.
  float scale = 0;
  std::memcpy(&scale, data.data() + s.padded_bytes, sizeof scale);
  m.scales.assign(static_cast<size_t>(rows), scale);
  return m;
}

std::vector<uint8_t> pack_tl2(const TernaryMatrix& m, const LutKernelConfig& config) {
  TRIT_ASSERT_MSG(tl2_config_problem(m.rows, m.cols, config).empty(), "tl2 configuration does not fit the matrix");
  const float scale = single_scale(m);
  for (int8_t v : m.values) TRIT_ASSERT(v >= -1 && v <= 1);
  const Split s = split_of(m.rows, m.cols, config);
  TRIT_ASSERT(s.index_bytes + s.sign_bytes + s.tail_bytes <= s.padded_bytes);
  std::vector<uint8_t> out(static_cast<size_t>(s.padded_bytes + 32), 0);
  for_each_index_byte(m.rows, s, config, [&](int64_t offset, int64_t r, int64_t c) {
    const int8_t* v = m.values.data() + r * m.cols + c;
    const int hi = triple_code(v);
    const int lo = triple_code(v + 3);
    out[static_cast<size_t>(offset)] = static_cast<uint8_t>(((hi < 0 ? -hi : hi) << 4) | (lo < 0 ? -lo : lo));
  });
  for_each_sign_bit(m.rows, s, config, [&](int64_t offset, int64_t bit, int64_t r, int64_t c) {
    if (triple_code(m.values.data() + r * m.cols + c) < 0)
      out[static_cast<size_t>(offset + bit / 8)] |= static_cast<uint8_t>(1u << (bit % 8));
  });
  for_each_tail_byte(m.rows, s, config, [&](int64_t offset, int64_t r, int64_t c) {
    const int8_t* v = m.values.data() + r * m.cols + c;
    out[static_cast<size_t>(offset)] = static_cast<uint8_t>(((3 * v[0] + v[1] + 4) << 4) | (3 * v[2] + v[3] + 4));
  });
  std::memcpy(out.data() + s.padded_bytes, &scale, sizeof scale);
  return out;
}

}  // namespace trit::tensor
