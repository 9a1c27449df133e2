// Per-type decoders and encoders behind codec.h's dispatch (one .cpp per type family).
// Internal to src/tensor: callers outside the layer use codec.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/codec.h"
#include "tensor/ternary.h"

namespace trit::tensor {

// F16 / BF16 rows (f16.cpp holds the scalar conversions; these loop over them).
void dequantize_row_f16(const uint8_t* src, float* out, int64_t n);
void dequantize_row_bf16(const uint8_t* src, float* out, int64_t n);
void quantize_row_f16(const float* src, uint8_t* out, int64_t n);
void quantize_row_bf16(const float* src, uint8_t* out, int64_t n);

// Q6_K: 256-weight super-blocks of 210 bytes (q6_k.cpp); decode only.
inline constexpr int64_t kQ6_KBlockSize = 256;
inline constexpr int64_t kQ6_KBlockBytes = 210;
void dequantize_row_q6_k(const uint8_t* src, float* out, int64_t n);

// Q8_0: blocks of 32 weights, f16 scale + 32 int8 (q8_0.cpp).
inline constexpr int64_t kQ8_0BlockSize = 32;
inline constexpr int64_t kQ8_0BlockBytes = 34;
void dequantize_row_q8_0(const uint8_t* src, float* out, int64_t n);
void quantize_row_q8_0(const float* src, uint8_t* out, int64_t n);

// TQ2_0: blocks of 256 weights, 64 bytes of 2-bit codes + f16 scale (tq2_0.cpp).
inline constexpr int64_t kTq2_0BlockSize = 256;
inline constexpr int64_t kTq2_0BlockBytes = 66;
// Codes in {-1, 0, 1} and the block's scale, for every block of a row of n weights.
void unpack_row_tq2_0(const uint8_t* src, int8_t* values, float* scales, int64_t n);
void pack_row_tq2_0(const int8_t* values, const float* scales, uint8_t* out, int64_t n);

// TQ1_0: blocks of 256 weights, 48 bytes base-3 + 4 bytes base-3 + f16 scale (tq1_0.cpp).
inline constexpr int64_t kTq1_0BlockSize = 256;
inline constexpr int64_t kTq1_0BlockBytes = 54;
void unpack_row_tq1_0(const uint8_t* src, int8_t* values, float* scales, int64_t n);
void pack_row_tq1_0(const int8_t* values, const float* scales, uint8_t* out, int64_t n);

// I2_S: whole-tensor layout (i2_s.cpp). `what` names the tensor in error messages.
TernaryMatrix unpack_i2_s(std::span<const uint8_t> data, int64_t rows, int64_t cols, std::string_view what);
std::vector<uint8_t> pack_i2_s(const TernaryMatrix& m);

// TL1 / TL2: whole-tensor lookup-table layouts (tl1.cpp, tl2.cpp) under a kernel configuration.
// *_config_problem: why the configuration cannot tile a rows x cols weight, or "" when it can.
std::optional<LutKernelConfig> default_tl1_config(int64_t rows, int64_t cols);
std::string tl1_config_problem(int64_t rows, int64_t cols, const LutKernelConfig& config);
TernaryMatrix unpack_tl1(std::span<const uint8_t> data, int64_t rows, int64_t cols, const LutKernelConfig& config,
                         std::string_view what);
std::vector<uint8_t> pack_tl1(const TernaryMatrix& m, const LutKernelConfig& config);
std::optional<LutKernelConfig> default_tl2_config(int64_t rows, int64_t cols);
std::string tl2_config_problem(int64_t rows, int64_t cols, const LutKernelConfig& config);
TernaryMatrix unpack_tl2(std::span<const uint8_t> data, int64_t rows, int64_t cols, const LutKernelConfig& config,
                         std::string_view what);
std::vector<uint8_t> pack_tl2(const TernaryMatrix& m, const LutKernelConfig& config);

// The one scale of a per-tensor-scaled matrix; asserts they are all equal.
float single_scale(const TernaryMatrix& m);

}  // namespace trit::tensor
