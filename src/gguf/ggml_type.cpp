// The ggml type table and tensor size rules.
#include "gguf/ggml_type.h"

#include <fmt/format.h>

#include <array>

namespace trit::gguf {

namespace {

struct Entry {
  uint32_t id;
  GgmlTypeTraits traits;
};

// Block sizes and byte sizes from ggml.c's type_traits (llama.cpp) and bitnet.cpp's fork.
constexpr std::array kTypes = {
    Entry{0, {"f32", 1, 4}},         Entry{1, {"f16", 1, 2}},         Entry{2, {"q4_0", 32, 18}},
    Entry{3, {"q4_1", 32, 20}},      Entry{6, {"q5_0", 32, 22}},      Entry{7, {"q5_1", 32, 24}},
    Entry{8, {"q8_0", 32, 34}},      Entry{9, {"q8_1", 32, 36}},      Entry{10, {"q2_K", 256, 84}},
    Entry{11, {"q3_K", 256, 110}},   Entry{12, {"q4_K", 256, 144}},   Entry{13, {"q5_K", 256, 176}},
    Entry{14, {"q6_K", 256, 210}},   Entry{15, {"q8_K", 256, 292}},   Entry{16, {"iq2_xxs", 256, 66}},
    Entry{17, {"iq2_xs", 256, 74}},  Entry{18, {"iq3_xxs", 256, 98}}, Entry{19, {"iq1_s", 256, 50}},
    Entry{20, {"iq4_nl", 32, 18}},   Entry{21, {"iq3_s", 256, 110}},  Entry{22, {"iq2_s", 256, 82}},
    Entry{23, {"iq4_xs", 256, 136}}, Entry{24, {"i8", 1, 1}},         Entry{25, {"i16", 1, 2}},
    Entry{26, {"i32", 1, 4}},        Entry{27, {"i64", 1, 8}},        Entry{28, {"f64", 1, 8}},
    Entry{29, {"iq1_m", 256, 56}},   Entry{30, {"bf16", 1, 2}},       Entry{34, {"tq1_0", 256, 54}},
    Entry{35, {"tq2_0", 256, 66}},   Entry{36, {"i2_s", 1, 1}},       Entry{37, {"i8_s", 1, 1}},
    Entry{38, {"tl1", 1, 1}},        Entry{39, {"tl2", 1, 1}},
};

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id) {
  for (const auto& e : kTypes)
    if (e.id == type_id) return e.traits;
  return std::nullopt;
}

std::string type_name(uint32_t type_id) {
  if (auto t = ggml_type_traits(type_id)) return std::string(t->name);
  return fmt::format("type {}", type_id);
}

std::optional<uint64_t> row_n_bytes(uint32_t type_id, uint64_t n) {
  auto t = ggml_type_traits(type_id);
  if (!t) return std::nullopt;
  auto type = static_cast<GgmlType>(type_id);
  if (type == GgmlType::I2_S || type == GgmlType::TL1 || type == GgmlType::TL2 || type == GgmlType::I8_S)
    return std::nullopt;
  if (n % t->block_size != 0) return std::nullopt;
  uint64_t bytes = 0;
  if (!checked_mul(n / t->block_size, t->type_size, bytes)) return std::nullopt;
  return bytes;
}

std::optional<uint64_t> tensor_n_bytes(uint32_t type_id, std::span<const uint64_t> shape) {
  auto t = ggml_type_traits(type_id);
  if (!t) return std::nullopt;
  uint64_t n_elements = 1;
  for (uint64_t d : shape)
    if (!checked_mul(n_elements, d, n_elements)) return std::nullopt;
  const uint64_t ne0 = shape.empty() ? 1 : shape[0];
  const uint64_t n_rows = ne0 == 0 ? 0 : n_elements / ne0;
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::I2_S:
    case GgmlType::TL1:
      // ggml_nbytes in bitnet.cpp's fork: 4 codes per byte, then 32 bytes holding the float scale.
      if (n_elements % 4 != 0) return std::nullopt;
      return n_elements / 4 + 32;
    case GgmlType::TL2: {
      // ggml_nbytes in bitnet.cpp's fork: the first ne0-256 columns in 3-weight groups of 5 bits,
      // the last 256 in 2-weight groups of 4 bits, padded to 32 bytes, then 32 bytes of scale.
      if (ne0 < 256) return std::nullopt;
      uint64_t n = (ne0 - 256) * n_rows / 3 * 5 / 8 + 256 * n_rows / 2 * 4 / 8;
      if (n % 32 != 0) n += 32 - n % 32;
      return n + 32;
    }
    case GgmlType::I8_S:
      return std::nullopt;
    default: {
      auto row = row_n_bytes(type_id, ne0);
      if (!row) return std::nullopt;
      uint64_t bytes = 0;
      if (!checked_mul(*row, n_rows, bytes)) return std::nullopt;
      return bytes;
    }
  }
}

}  // namespace trit::gguf
