// IEEE binary16 and bfloat16 <-> float32, bit-exact, round to nearest even (NaN, inf and subnormals kept).
#include <bit>
#include <cstdint>
#include <cstring>

#include "tensor/codec.h"
#include "tensor/families.h"

namespace trit::tensor {

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits = 0;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN with its payload kept
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal: value = mant * 2^-24. Normalise the mantissa.
    int e = -14;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= 0x3ffu;
    bits = sign | (static_cast<uint32_t>(e + 127) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t exp = (bits >> 23) & 0xffu;
  const uint32_t mant = bits & 0x7fffffu;
  if (exp == 0xff) {
    if (mant == 0) return sign | 0x7c00u;  // inf
    // NaN: keep the top payload bits, force quiet so the result stays a NaN.
    return static_cast<uint16_t>(sign | 0x7c00u | 0x200u | (mant >> 13));
  }
  const int e = static_cast<int>(exp) - 127;  // unbiased exponent
  if (e > 15) return sign | 0x7c00u;          // overflows to inf
  if (e >= -14) {
    // Normal half: drop 13 mantissa bits with round to nearest even; a carry may bump the exponent
    // (and up to inf), which the plain addition handles.
    uint32_t half = (static_cast<uint32_t>(e + 15) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  if (e < -25) return sign;  // below half the smallest subnormal: rounds to zero
  // Subnormal half: value = m * 2^-24 with m = full mantissa (with hidden bit) >> shift.
  const uint32_t full = mant | 0x800000u;
  const int shift = -e - 14 + 13;  // 14..24
  uint32_t half = full >> shift;
  const uint32_t rest = full & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (half & 1u))) ++half;  // may carry into the smallest normal
  return static_cast<uint16_t>(sign | half);
}

float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);  // nearest even; overflow carries into inf
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

}  // namespace trit::tensor

namespace trit::tensor {

// Rows of little-endian 16-bit values; memcpy keeps unaligned tensor data legal.
void dequantize_row_f16(const uint8_t* src, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h = 0;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = f16_to_f32(h);
  }
}

void dequantize_row_bf16(const uint8_t* src, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h = 0;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = bf16_to_f32(h);
  }
}

void quantize_row_f16(const float* src, uint8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_f16(src[i]);
    std::memcpy(out + 2 * i, &h, 2);
  }
}

void quantize_row_bf16(const float* src, uint8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_bf16(src[i]);
    std::memcpy(out + 2 * i, &h, 2);
  }
}

}  // namespace trit::tensor
