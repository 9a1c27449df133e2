// TQ2_0 (llama.cpp): blocks of 256 ternary weights, 64 bytes of 2-bit codes then an f16 scale.
// Layout: docs/formats.md#tq2_0 (block_tq2_0 in ggml-common.h, (de)quantize_row_tq2_0 in ggml-quants.c).
#include <cstring>

#include "runtime/assert.h"
#include "tensor/codec.h"
#include "tensor/families.h"

namespace trit::tensor {

namespace {
// Weight i of a block (0..255) lives in 32-byte half h = i / 128, byte h * 32 + i % 32, bits 2 * ((i % 128) / 32).
constexpr int64_t kCodeBytes = 64;
}  // namespace

// Values are code - 1, so the unused code 3 comes out as 2 (llama.cpp's dequantiser does the same);
// callers that need ternary values check.
void unpack_row_tq2_0(const uint8_t* src, int8_t* values, float* scales, int64_t n) {
  TRIT_ASSERT(n % kTq2_0BlockSize == 0);
  for (int64_t b = 0; b < n / kTq2_0BlockSize; ++b) {
    const uint8_t* block = src + b * kTq2_0BlockBytes;
    int8_t* v = values + b * kTq2_0BlockSize;
    for (int64_t i = 0; i < kTq2_0BlockSize; ++i) {
      const uint8_t byte = block[(i / 128) * 32 + i % 32];
      v[i] = static_cast<int8_t>(((byte >> (2 * ((i % 128) / 32))) & 3) - 1);
    }
    uint16_t d_bits = 0;
    std::memcpy(&d_bits, block + kCodeBytes, 2);
    scales[b] = f16_to_f32(d_bits);
  }
}

void pack_row_tq2_0(const int8_t* values, const float* scales, uint8_t* out, int64_t n) {
  TRIT_ASSERT(n % kTq2_0BlockSize == 0);
  for (int64_t b = 0; b < n / kTq2_0BlockSize; ++b) {
    uint8_t* block = out + b * kTq2_0BlockBytes;
    const int8_t* v = values + b * kTq2_0BlockSize;
    std::memset(block, 0, kCodeBytes);
    for (int64_t i = 0; i < kTq2_0BlockSize; ++i) {
      TRIT_ASSERT(v[i] >= -1 && v[i] <= 1);
      block[(i / 128) * 32 + i % 32] |= static_cast<uint8_t>((v[i] + 1) << (2 * ((i % 128) / 32)));
    }
    const uint16_t d_bits = f32_to_f16(scales[b]);
    std::memcpy(block + kCodeBytes, &d_bits, 2);
  }
}

}  // namespace trit::tensor
