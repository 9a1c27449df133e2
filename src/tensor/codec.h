// Every tensor type's reference decoder and encoder: bytes as stored in GGUF <-> floats / ternary.
// These are the plain, obviously-correct versions every fast kernel is tested against.
// Byte layouts: docs/formats.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/reader.h"
#include "tensor/ternary.h"

namespace trit::tensor {

// F32, F16, BF16, Q8_0, Q6_K and the ternary types TQ1_0, TQ2_0, I2_S, TL1, TL2.
bool is_supported(uint32_t type_id);
// TQ1_0, TQ2_0, I2_S, TL1, TL2.
bool is_ternary(uint32_t type_id);
// Types trit can also write (quantize / pack_ternary): every supported type except Q6_K (decode only).
bool is_encodable(uint32_t type_id);

// Whole tensor to floats (n_elements of them, ggml order). Throws trit::Error naming the tensor for
// types trit cannot decode.
std::vector<float> dequantize(const gguf::TensorInfo& tensor);

// One row of a row-blocked type (F32, F16, BF16, Q8_0, TQ1_0, TQ2_0) to floats; `row` points at the
// row's first byte and holds row_n_bytes(type, n). Used for embedding lookups.
void dequantize_row(uint32_t type_id, const uint8_t* row, float* out, int64_t n);

// A 2-D ternary tensor (shape {cols, rows}) to the reference form. Throws trit::Error for
// non-ternary types or shapes the layout cannot hold.
TernaryMatrix unpack_ternary(const gguf::TensorInfo& tensor);

// TL1 and TL2 tile their codes for bitnet.cpp's generated lookup-table kernels; the tiling comes from
// the kernel configuration (include/kernel_config.ini, written by utils/codegen_tl1.py / codegen_tl2.py)
// and is not recorded in the file. See docs/formats.md#tl1.
struct LutKernelConfig {
  int64_t tile_rows = 0;   // BM: rows per tile
  int64_t tile_cols = 0;   // BK: columns per tile
  int64_t block_rows = 0;  // bm ("bmm" in kernel_config.ini): rows per SIMD block, 32 or 64 (TL2: 32)
};
// The configuration bitnet.cpp's setup_env.py generates for a weight of this shape (rows = ne1,
// cols = ne0) in the models it knows, or nullopt.
std::optional<LutKernelConfig> default_lut_config(uint32_t type_id, int64_t rows, int64_t cols);
// unpack_ternary / pack_ternary for TL1 and TL2 with an explicit kernel configuration (the overloads
// without one use default_lut_config and throw trit::Error for shapes it does not know).
TernaryMatrix unpack_ternary(const gguf::TensorInfo& tensor, const LutKernelConfig& config);
std::vector<uint8_t> pack_ternary(uint32_t type_id, const TernaryMatrix& m, const LutKernelConfig& config);

// Encoders, for writers (gen-dummy, quantize, convert) and round-trip tests.
// Float types: F32, F16, BF16, Q8_0 from floats (shape in ggml order).
std::vector<uint8_t> quantize(uint32_t type_id, std::span<const float> data, std::span<const uint64_t> shape);
// Ternary types from the reference form. I2_S/TL1/TL2 need one scale for the whole tensor;
// TQ1_0/TQ2_0 take group_size 256 (or a per-tensor scale, repeated per block).
std::vector<uint8_t> pack_ternary(uint32_t type_id, const TernaryMatrix& m);

// Half-precision conversions (IEEE binary16 and bfloat16), round to nearest even.
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace trit::tensor
