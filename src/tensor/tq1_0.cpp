// TQ1_0 (llama.cpp): blocks of 256 ternary weights packed 5 (and 4) trits per byte, then an f16 scale.
// Layout: docs/formats.md#tq1_0 (block_tq1_0 in ggml-common.h, (de)quantize_row_tq1_0 in ggml-quants.c).
#include <cstring>

#include "runtime/assert.h"
#include "tensor/codec.h"
#include "tensor/families.h"

namespace trit::tensor {

namespace {

// A block: qs[48] then qh[4] then d (f16).
//   qs[0..31]:  byte m holds weights m + 32 k (k = 0..4), weights 0..159
//   qs[32..47]: byte 32 + m holds weights 160 + m + 16 k (k = 0..4), weights 160..239
//   qh[0..3]:   byte j holds weights 240 + j + 4 k (k = 0..3) and a fifth trit that is always 0
// Each byte holds the base-3 number t0 t1 t2 t3 t4 (t0 most significant, t = value + 1) as the
// fixed-point fraction ceil(number * 256 / 243); trit k is read back as ((byte * 3^k) mod 256) * 3 >> 8.
constexpr int64_t kQsBytes = 48;
constexpr int64_t kQhBytes = 4;
constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};

int8_t trit(uint8_t byte, int k) {
  const uint8_t q = static_cast<uint8_t>(byte * kPow3[k]);
  return static_cast<int8_t>(((static_cast<uint16_t>(q) * 3) >> 8) - 1);
}

uint8_t encode(const int8_t* v, int64_t stride, int count) {
  uint32_t q = 0;
  for (int k = 0; k < 5; ++k) {
    q *= 3;
    if (k < count) {
      TRIT_ASSERT(v[k * stride] >= -1 && v[k * stride] <= 1);
      q += static_cast<uint32_t>(v[k * stride] + 1);
    }
  }
  return static_cast<uint8_t>((q * 256 + 242) / 243);
}

// Where weight i of a block lives: byte index into the 52 code bytes, and trit position.
void locate(int64_t i, int64_t& byte, int& k) {
  if (i < 160) {
    byte = i % 32;
    k = static_cast<int>(i / 32);
  } else if (i < 240) {
    byte = 32 + (i - 160) % 16;
    k = static_cast<int>((i - 160) / 16);
  } else {
    byte = kQsBytes + (i - 240) % 4;
    k = static_cast<int>((i - 240) / 4);
  }
}

}  // namespace

void unpack_row_tq1_0(const uint8_t* src, int8_t* values, float* scales, int64_t n) {
  TRIT_ASSERT(n % kTq1_0BlockSize == 0);
  for (int64_t b = 0; b < n / kTq1_0BlockSize; ++b) {
    const uint8_t* block = src + b * kTq1_0BlockBytes;
    for (int64_t i = 0; i < kTq1_0BlockSize; ++i) {
      int64_t byte = 0;
      int k = 0;
      locate(i, byte, k);
      values[b * kTq1_0BlockSize + i] = trit(block[byte], k);
    }
    uint16_t d_bits = 0;
    std::memcpy(&d_bits, block + kQsBytes + kQhBytes, 2);
    scales[b] = f16_to_f32(d_bits);
  }
}

void pack_row_tq1_0(const int8_t* values, const float* scales, uint8_t* out, int64_t n) {
  TRIT_ASSERT(n % kTq1_0BlockSize == 0);
  for (int64_t b = 0; b < n / kTq1_0BlockSize; ++b) {
    uint8_t* block = out + b * kTq1_0BlockBytes;
    const int8_t* v = values + b * kTq1_0BlockSize;
    for (int64_t m = 0; m < 32; ++m) block[m] = encode(v + m, 32, 5);
    for (int64_t m = 0; m < 16; ++m) block[32 + m] = encode(v + 160 + m, 16, 5);
    for (int64_t j = 0; j < kQhBytes; ++j) block[kQsBytes + j] = encode(v + 240 + j, 4, 4);
    const uint16_t d_bits = f32_to_f16(scales[b]);
    std::memcpy(block + kQsBytes + kQhBytes, &d_bits, 2);
  }
}

}  // namespace trit::tensor
