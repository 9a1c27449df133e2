// Q8_0 (llama.cpp): blocks of 32 weights, an f16 scale d then 32 int8 quants; w = d * q.
// Layout: docs/formats.md#q8_0 (block_q8_0 in ggml-common.h, quantize_row_q8_0_ref in ggml-quants.c).
#include <cmath>
#include <cstring>

#include "runtime/assert.h"
#include "tensor/codec.h"
#include "tensor/families.h"

namespace trit::tensor {

void dequantize_row_q8_0(const uint8_t* src, float* out, int64_t n) {
  TRIT_ASSERT(n % kQ8_0BlockSize == 0);
  for (int64_t b = 0; b < n / kQ8_0BlockSize; ++b) {
    const uint8_t* block = src + b * kQ8_0BlockBytes;
    uint16_t d_bits = 0;
    std::memcpy(&d_bits, block, 2);
    const float d = f16_to_f32(d_bits);
    for (int64_t j = 0; j < kQ8_0BlockSize; ++j)
      out[b * kQ8_0BlockSize + j] = static_cast<float>(static_cast<int8_t>(block[2 + j])) * d;
  }
}

// As llama.cpp's reference quantiser: d = max|x| / 127, q = round-half-away(x / d) (so |q| <= 127).
void quantize_row_q8_0(const float* src, uint8_t* out, int64_t n) {
  TRIT_ASSERT(n % kQ8_0BlockSize == 0);
  for (int64_t b = 0; b < n / kQ8_0BlockSize; ++b) {
    const float* x = src + b * kQ8_0BlockSize;
    uint8_t* block = out + b * kQ8_0BlockBytes;
    float amax = 0.0f;
    for (int64_t j = 0; j < kQ8_0BlockSize; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t d_bits = f32_to_f16(d);
    std::memcpy(block, &d_bits, 2);
    for (int64_t j = 0; j < kQ8_0BlockSize; ++j)
      block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
  }
}

}  // namespace trit::tensor
