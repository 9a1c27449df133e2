// Q6_K (llama.cpp's default type for the token embedding and output of its quantised files): 256-weight
// super-blocks of 210 bytes: ql[128] low 4 bits, qh[64] high 2 bits, 16 int8 sub-block scales, f16 d;
// w = d * scale[sub-block] * (q - 32). Layout: docs/formats.md#q6_k (block_q6_K in ggml-common.h).
#include <cstring>

#include "runtime/assert.h"
#include "tensor/codec.h"
#include "tensor/families.h"

namespace trit::tensor {

void dequantize_row_q6_k(const uint8_t* src, float* out, int64_t n) {
  TRIT_ASSERT(n % kQ6_KBlockSize == 0);
  for (int64_t b = 0; b < n / kQ6_KBlockSize; ++b) {
    const uint8_t* block = src + b * kQ6_KBlockBytes;
    const uint8_t* ql = block;
    const uint8_t* qh = block + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(block + 192);
    uint16_t d_bits = 0;
    std::memcpy(&d_bits, block + 208, 2);
    const float d = f16_to_f32(d_bits);
    float* y = out + b * kQ6_KBlockSize;
    // Two halves of 128 weights; in each, byte l of ql/qh carries weights l, l+32, l+64, l+96.
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[s]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[s + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[s + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[s + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace trit::tensor
