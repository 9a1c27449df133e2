// Rows of half-precision values to float and back (round to nearest even), with F16C where the CPU
// has it (FCVT on NEON): the f16 KV cache converts every key and value it reads.
#pragma once

#include <cstdint>

#include "runtime/cpu_features.h"

namespace trit::kernels {

void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n, runtime::IsaLevel isa);
void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n, runtime::IsaLevel isa);

void f16_to_f32_row_f16c(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16_row_f16c(const float* src, uint16_t* dst, int64_t n);
void f16_to_f32_row_neon(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16_row_neon(const float* src, uint16_t* dst, int64_t n);

}  // namespace trit::kernels
