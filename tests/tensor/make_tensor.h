// Test helper: a gguf::TensorInfo over bytes the test owns, as the reader would hand it out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/reader.h"

namespace trit::tensor::test_util {

inline gguf::TensorInfo make_tensor(uint32_t type_id, std::vector<uint64_t> shape, const std::vector<uint8_t>& bytes,
                                    std::string name = "t") {
  gguf::TensorInfo t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.type_id = type_id;
  t.n_bytes = bytes.size();
  t.data = std::span<const uint8_t>(bytes.data(), bytes.size());
  return t;
}

inline uint32_t id(gguf::GgmlType type) { return static_cast<uint32_t>(type); }

}  // namespace trit::tensor::test_util
