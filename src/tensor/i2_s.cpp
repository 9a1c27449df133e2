// I2_S (bitnet.cpp, x86 layout): 2-bit codes in 128-weight blocks of 32 bytes, then one float32 scale.
// Layout and citations: docs/formats.md#i2_s.
#include <cstring>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/families.h"

namespace trit::tensor {

namespace {

// quantize_i2_s in bitnet.cpp (src/ggml-bitnet-mad.cpp, c82b5e6): 128 consecutive weights of the
// flattened row-major tensor share 32 bytes; weight j sits in byte j % 32 at bits 6 - 2 * (j / 32).
constexpr int64_t kBlock = 128;
constexpr int64_t kBlockBytes = 32;
constexpr int64_t kTrailerBytes = 32;  // the float32 scale, padded to 32 bytes

// Code 0/1/2 = -1/0/+1; the kernels compute code * x - sum(x), so code 3 would mean +2.
constexpr int8_t kCodeToValue[4] = {-1, 0, 1, 2};

}  // namespace

float single_scale(const TernaryMatrix& m) {
  TRIT_ASSERT(!m.scales.empty());
  for (float s : m.scales) TRIT_ASSERT_MSG(s == m.scales[0], "layout holds one scale per tensor");
  return m.scales[0];
}

TernaryMatrix unpack_i2_s(std::span<const uint8_t> data, int64_t rows, int64_t cols, std::string_view what) {
  const int64_t n = rows * cols;
  if (n % kBlock != 0) fail("{}: i2_s holds whole 128-weight blocks, but the tensor has {} weights", what, n);
  const uint64_t need = static_cast<uint64_t>(n / 4 + kTrailerBytes);
  if (data.size() < need) fail("{}: i2_s needs {} bytes, the tensor has {}", what, need, data.size());
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(static_cast<size_t>(n));
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const uint8_t* block = data.data() + b * kBlockBytes;
    for (int64_t j = 0; j < kBlock; ++j) {
      const int code = (block[j % 32] >> (6 - 2 * (j / 32))) & 3;
      if (code == 3) fail("{}: i2_s weight {} has the unused code 3", what, b * kBlock + j);
      m.values[static_cast<size_t>(b * kBlock + j)] = kCodeToValue[code];
    }
  }
  float scale = 0;
  std::memcpy(&scale, data.data() + n / 4, sizeof scale);
  m.scales.assign(static_cast<size_t>(rows), scale);
  return m;
}

std::vector<uint8_t> pack_i2_s(const TernaryMatrix& m) {
  const int64_t n = m.rows * m.cols;
  TRIT_ASSERT_MSG(n % kBlock == 0, "i2_s packs whole 128-weight blocks");
  const float scale = single_scale(m);
  std::vector<uint8_t> out(static_cast<size_t>(n / 4 + kTrailerBytes), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int8_t v = m.values[static_cast<size_t>(i)];
    TRIT_ASSERT(v >= -1 && v <= 1);
    const int64_t j = i % kBlock;
    out[static_cast<size_t>((i / kBlock) * kBlockBytes + j % 32)] |=
        static_cast<uint8_t>((v + 1) << (6 - 2 * (j / 32)));
  }
  std::memcpy(out.data() + n / 4, &scale, sizeof scale);
  return out;
}

}  // namespace trit::tensor
