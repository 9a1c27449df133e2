// Tensor element types as GGUF stores them: ggml type ids, names, block sizes and byte sizes.
// The ids are part of the file format (ggml.h in llama.cpp; 36-39 in bitnet.cpp's llama.cpp fork).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace trit::gguf {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,  // llama.cpp ternary: 1.6875 bits per weight
  TQ2_0 = 35,  // llama.cpp ternary: 2.0625 bits per weight
  I2_S = 36,   // bitnet.cpp: 2-bit codes, one float scale per tensor (docs/formats.md#i2_s)
  I8_S = 37,   // bitnet.cpp: int8 activations (never stored in files)
  TL1 = 38,    // bitnet.cpp: ARM lookup-table layout
  TL2 = 39,    // bitnet.cpp: x86 lookup-table layout
};

struct GgmlTypeTraits {
  std::string_view name;  // as ggml names it: "f32", "q8_0", "i2_s", ...
  uint32_t block_size;    // elements per block along the row (ne[0])
  uint32_t type_size;     // bytes per block
};

// Traits of a known type id, or nullopt for ids trit does not know.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id);

// "i2_s", or "type 99" for an unknown id.
std::string type_name(uint32_t type_id);

// Bytes that a tensor of this type and shape (ne[0] innermost, ggml order) occupies in a GGUF file,
// including the per-tensor trailers of bitnet.cpp's types (I2_S: packed codes + 32 bytes holding the
// scale). nullopt when the shape does not fit the type (a row not a whole number of blocks) or the
// product overflows 64 bits.
std::optional<uint64_t> tensor_n_bytes(uint32_t type_id, std::span<const uint64_t> shape);

// Bytes in one row of n elements for row-blocked types; nullopt for types without a row layout
// (I2_S, TL1, TL2 pack a whole tensor) or n not a whole number of blocks.
std::optional<uint64_t> row_n_bytes(uint32_t type_id, uint64_t n);

}  // namespace trit::gguf
