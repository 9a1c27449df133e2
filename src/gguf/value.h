// GGUF metadata values: the thirteen value types, arrays of any of them (nested arrays too).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace trit::gguf {

// Value type ids as stored in the file (gguf.md in ggml).
enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

std::string_view value_type_name(ValueType type);  // "u32", "string", "array", ...

class Value;

struct Array {
  ValueType element_type = ValueType::UINT8;
  std::vector<Value> items;
};

class Value {
 public:
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
                               Array, uint64_t, int64_t, double>;

  Value() : storage_(uint8_t{0}) {}
  template <typename T>
  explicit Value(T v) : storage_(std::move(v)) {}

  // The variant index order above matches ValueType ids, so the type is the index.
  ValueType type() const { return static_cast<ValueType>(storage_.index()); }
  const Storage& storage() const { return storage_; }

  bool is_integer() const;  // any of the eight integer types (not bool)
  bool is_float() const;    // FLOAT32 or FLOAT64

  // Accessors return nullopt-like failure through bool; the Reader's typed getters turn that into
  // errors that name the file and key.
  const std::string* as_string() const { return std::get_if<std::string>(&storage_); }
  const Array* as_array() const { return std::get_if<Array>(&storage_); }
  const bool* as_bool() const { return std::get_if<bool>(&storage_); }
  // Integer of any width, if it fits int64_t (uint64 values above INT64_MAX do not).
  bool to_int64(int64_t& out) const;
  // FLOAT32/FLOAT64, or any integer converted.
  bool to_double(double& out) const;

  // A short human-readable rendering for `trit inspect`: strings quoted and cut at max_chars,
  // arrays as "[type; n] first, items, ...".
  std::string to_display_string(size_t max_chars = 60) const;

 private:
  Storage storage_;
};

}  // namespace trit::gguf
