// Dispatch from ggml type ids to each type family's reference decoder and encoder.
#include "tensor/codec.h"

#include <cstring>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/families.h"

namespace trit::tensor {

namespace {

using gguf::GgmlType;

// Rows and columns of a tensor read as a matrix: ne0 columns, every other dimension flattened into rows.
struct Dims {
  int64_t rows;
  int64_t cols;
};

Dims dims_of(std::span<const uint64_t> shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  const uint64_t cols = shape.empty() ? 1 : shape[0];
  return {cols == 0 ? 0 : static_cast<int64_t>(n / cols), static_cast<int64_t>(cols)};
}

bool is_row_blocked(uint32_t type_id) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q8_0:
    case GgmlType::Q6_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0:
      return true;
    default:
      return false;
  }
}

// The tensor's bytes, checked against the size its type and shape need.
std::span<const uint8_t> checked_data(const gguf::TensorInfo& t) {
  const auto need = gguf::tensor_n_bytes(t.type_id, t.shape);
  if (!need) fail("tensor '{}': shape does not fit type {}", t.name, gguf::type_name(t.type_id));
  if (t.data.size() < *need)
    fail("tensor '{}': type {} needs {} bytes, it has {}", t.name, gguf::type_name(t.type_id), *need, t.data.size());
  return t.data.first(*need);
}

void check_ternary_values(const TernaryMatrix& m, const gguf::TensorInfo& t) {
  for (size_t i = 0; i < m.values.size(); ++i)
    if (m.values[i] < -1 || m.values[i] > 1)
      fail("tensor '{}': {} weight {} has the unused code for {}", t.name, gguf::type_name(t.type_id), i,
           static_cast<int>(m.values[i]));
}

// TQ1_0 / TQ2_0 rows to the reference form (one scale per 256-weight block).
TernaryMatrix unpack_tq(const gguf::TensorInfo& t, std::span<const uint8_t> data, Dims d) {
  const uint64_t row_bytes = *gguf::row_n_bytes(t.type_id, static_cast<uint64_t>(d.cols));
  TernaryMatrix m;
  m.rows = d.rows;
  m.cols = d.cols;
  m.group_size = 256;
  m.values.resize(static_cast<size_t>(d.rows * d.cols));
  m.scales.resize(static_cast<size_t>(d.rows * (d.cols / 256)));
  const bool tq1 = t.type() == GgmlType::TQ1_0;
  for (int64_t r = 0; r < d.rows; ++r) {
    const uint8_t* row = data.data() + r * row_bytes;
    int8_t* values = m.values.data() + r * d.cols;
    float* scales = m.scales.data() + r * (d.cols / 256);
    if (tq1)
      unpack_row_tq1_0(row, values, scales, d.cols);
    else
      unpack_row_tq2_0(row, values, scales, d.cols);
  }
  check_ternary_values(m, t);
  return m;
}

}  // namespace

bool is_supported(uint32_t type_id) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q8_0:
    case GgmlType::Q6_K:
      return true;
    default:
      return is_ternary(type_id);
  }
}

bool is_encodable(uint32_t type_id) {
  return is_supported(type_id) && static_cast<GgmlType>(type_id) != GgmlType::Q6_K;
}

bool is_ternary(uint32_t type_id) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0:
    case GgmlType::I2_S:
    case GgmlType::TL1:
    case GgmlType::TL2:
      return true;
    default:
      return false;
  }
}

void dequantize_row(uint32_t type_id, const uint8_t* row, float* out, int64_t n) {
  TRIT_ASSERT_MSG(is_row_blocked(type_id), "dequantize_row: type without a row layout");
  TRIT_ASSERT(gguf::row_n_bytes(type_id, static_cast<uint64_t>(n)).has_value());
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::F32:
      std::memcpy(out, row, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      return dequantize_row_f16(row, out, n);
    case GgmlType::BF16:
      return dequantize_row_bf16(row, out, n);
    case GgmlType::Q8_0:
      return dequantize_row_q8_0(row, out, n);
    case GgmlType::Q6_K:
      return dequantize_row_q6_k(row, out, n);
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: {
      // Stack-sized per block: decode block by block to keep this allocation-free.
      const bool tq1 = static_cast<GgmlType>(type_id) == GgmlType::TQ1_0;
      const int64_t block_bytes = tq1 ? kTq1_0BlockBytes : kTq2_0BlockBytes;
      int8_t values[256];
      for (int64_t b = 0; b < n / 256; ++b) {
        float scale = 0;
        if (tq1)
          unpack_row_tq1_0(row + b * block_bytes, values, &scale, 256);
        else
          unpack_row_tq2_0(row + b * block_bytes, values, &scale, 256);
        for (int64_t i = 0; i < 256; ++i) out[b * 256 + i] = static_cast<float>(values[i]) * scale;
      }
      return;
    }
    default:
      TRIT_ASSERT(false);
  }
}

std::vector<float> dequantize(const gguf::TensorInfo& tensor) {
  if (!is_supported(tensor.type_id))
    fail("tensor '{}': trit cannot decode type {}", tensor.name, gguf::type_name(tensor.type_id));
  const auto data = checked_data(tensor);
  const Dims d = dims_of(tensor.shape);
  std::vector<float> out(static_cast<size_t>(d.rows * d.cols));
  if (is_row_blocked(tensor.type_id)) {
    const uint64_t row_bytes = *gguf::row_n_bytes(tensor.type_id, static_cast<uint64_t>(d.cols));
    for (int64_t r = 0; r < d.rows; ++r)
      dequantize_row(tensor.type_id, data.data() + r * row_bytes, out.data() + r * d.cols, d.cols);
    return out;
  }
  const TernaryMatrix m = unpack_ternary(tensor);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c) out[static_cast<size_t>(r * m.cols + c)] = m.weight(r, c);
  return out;
}

TernaryMatrix unpack_ternary(const gguf::TensorInfo& tensor) {
  if (!is_ternary(tensor.type_id))
    fail("tensor '{}': type {} is not a ternary type", tensor.name, gguf::type_name(tensor.type_id));
  const auto data = checked_data(tensor);
  const Dims d = dims_of(tensor.shape);
  const std::string what = fmt::format("tensor '{}'", tensor.name);
  switch (tensor.type()) {
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0:
      return unpack_tq(tensor, data, d);
    case GgmlType::I2_S:
      return unpack_i2_s(data, d.rows, d.cols, what);
    case GgmlType::TL1:
    case GgmlType::TL2: {
      const auto config = default_lut_config(tensor.type_id, d.rows, d.cols);
      if (!config)
        fail(
            "tensor '{}': {} tiling depends on the bitnet.cpp kernel configuration, and none is known for a {} x {} "
            "weight",
            tensor.name, gguf::type_name(tensor.type_id), d.rows, d.cols);
      return unpack_ternary(tensor, *config);
    }
    default:
      TRIT_ASSERT(false);
      return {};
  }
}

std::vector<uint8_t> quantize(uint32_t type_id, std::span<const float> data, std::span<const uint64_t> shape) {
  const Dims d = dims_of(shape);
  TRIT_ASSERT(static_cast<int64_t>(data.size()) == d.rows * d.cols);
  const auto row_bytes = gguf::row_n_bytes(type_id, static_cast<uint64_t>(d.cols));
  TRIT_ASSERT_MSG(row_bytes.has_value(), "quantize: shape does not fit the type");
  std::vector<uint8_t> out(static_cast<size_t>(*row_bytes * static_cast<uint64_t>(d.rows)));
  for (int64_t r = 0; r < d.rows; ++r) {
    const float* src = data.data() + r * d.cols;
    uint8_t* dst = out.data() + r * static_cast<int64_t>(*row_bytes);
    switch (static_cast<GgmlType>(type_id)) {
      case GgmlType::F32:
        std::memcpy(dst, src, static_cast<size_t>(d.cols) * sizeof(float));
        break;
      case GgmlType::F16:
        quantize_row_f16(src, dst, d.cols);
        break;
      case GgmlType::BF16:
        quantize_row_bf16(src, dst, d.cols);
        break;
      case GgmlType::Q8_0:
        quantize_row_q8_0(src, dst, d.cols);
        break;
      default:
        TRIT_ASSERT_MSG(false, "quantize: not a float type (ternary types go through pack_ternary)");
    }
  }
  return out;
}

std::vector<uint8_t> pack_ternary(uint32_t type_id, const TernaryMatrix& m) {
  TRIT_ASSERT(m.group_size > 0 && m.cols % m.group_size == 0);
  TRIT_ASSERT(static_cast<int64_t>(m.values.size()) == m.rows * m.cols);
  TRIT_ASSERT(static_cast<int64_t>(m.scales.size()) == m.rows * m.groups_per_row());
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: {
      // One scale per 256-weight block: groups of 256 or of any multiple of 256 (a per-tensor scale
      // is repeated in every block).
      TRIT_ASSERT_MSG(m.cols % 256 == 0 && m.group_size % 256 == 0, "tq1_0/tq2_0 need 256-weight blocks");
      const bool tq1 = static_cast<GgmlType>(type_id) == GgmlType::TQ1_0;
      const int64_t block_bytes = tq1 ? kTq1_0BlockBytes : kTq2_0BlockBytes;
      const int64_t blocks_per_row = m.cols / 256;
      std::vector<uint8_t> out(static_cast<size_t>(m.rows * blocks_per_row * block_bytes));
      for (int64_t r = 0; r < m.rows; ++r) {
        for (int64_t b = 0; b < blocks_per_row; ++b) {
          const float scale = m.scale(r, b * 256);
          const int8_t* values = m.values.data() + r * m.cols + b * 256;
          uint8_t* dst = out.data() + (r * blocks_per_row + b) * block_bytes;
          if (tq1)
            pack_row_tq1_0(values, &scale, dst, 256);
          else
            pack_row_tq2_0(values, &scale, dst, 256);
        }
      }
      return out;
    }
    case GgmlType::I2_S:
      return pack_i2_s(m);
    case GgmlType::TL1:
    case GgmlType::TL2: {
      const auto config = default_lut_config(type_id, m.rows, m.cols);
      TRIT_ASSERT_MSG(config.has_value(), "pack_ternary: no default TL1/TL2 kernel configuration for this shape");
      return pack_ternary(type_id, m, *config);
    }
    default:
      TRIT_ASSERT_MSG(false, "pack_ternary: not a ternary type");
      return {};
  }
}

std::optional<LutKernelConfig> default_lut_config(uint32_t type_id, int64_t rows, int64_t cols) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::TL1:
      return default_tl1_config(rows, cols);
    case GgmlType::TL2:
      return default_tl2_config(rows, cols);
    default:
      return std::nullopt;
  }
}

TernaryMatrix unpack_ternary(const gguf::TensorInfo& tensor, const LutKernelConfig& config) {
  if (tensor.type() != GgmlType::TL1 && tensor.type() != GgmlType::TL2)
    fail("tensor '{}': type {} has no kernel configuration (only tl1 and tl2 do)", tensor.name,
         gguf::type_name(tensor.type_id));
  const auto data = checked_data(tensor);
  const Dims d = dims_of(tensor.shape);
  const std::string what = fmt::format("tensor '{}'", tensor.name);
  return tensor.type() == GgmlType::TL1 ? unpack_tl1(data, d.rows, d.cols, config, what)
                                        : unpack_tl2(data, d.rows, d.cols, config, what);
}

std::vector<uint8_t> pack_ternary(uint32_t type_id, const TernaryMatrix& m, const LutKernelConfig& config) {
  TRIT_ASSERT(static_cast<int64_t>(m.values.size()) == m.rows * m.cols);
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::TL1:
      return pack_tl1(m, config);
    case GgmlType::TL2:
      return pack_tl2(m, config);
    default:
      TRIT_ASSERT_MSG(false, "pack_ternary: only tl1 and tl2 take a kernel configuration");
      return {};
  }
}

}  // namespace trit::tensor
