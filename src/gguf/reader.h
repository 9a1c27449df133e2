// Reading GGUF v2/v3 files: memory-mapped, validated in full up front, tensors as zero-copy views.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/value.h"
#include "runtime/huge_buffer.h"
#include "runtime/mapped_file.h"

namespace trit::gguf {

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> shape;    // ggml order: shape[0] (ne0) is the innermost, contiguous dimension
  uint32_t type_id = 0;           // ggml type id (GgmlType), validated as known
  uint64_t offset = 0;            // from the start of the data section, as stored
  uint64_t n_bytes = 0;           // tensor_n_bytes(type_id, shape)
  std::span<const uint8_t> data;  // view into the mapped file; valid while the Reader lives

  GgmlType type() const { return static_cast<GgmlType>(type_id); }
  uint64_t n_elements() const;
};

class Reader {
 public:
  // Maps and parses a file. Every malformation (bad magic or version, truncation, string or array
  // lengths past the end, unknown value or tensor types, duplicate keys or tensor names, offsets
  // misaligned or out of range, overflowing dimension products, overlapping tensors) throws
  // trit::Error naming the file, the field and the byte offset.
  static Reader open(const std::string& path);
  // Parses bytes already in memory (tests, fuzzing); `name` stands for the file in messages.
  // The bytes must outlive the Reader.
  static Reader from_bytes(std::span<const uint8_t> bytes, std::string name);

  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  ~Reader();

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section
  uint64_t file_size() const { return bytes_.size(); }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;

  // Typed getters: throw trit::Error "<file>: metadata key 'llama.block_count' is missing" or
  // "... has type string, expected an integer" when absent or of the wrong type.
  std::string get_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;   // any integer type
  double get_float(std::string_view key) const;  // float or integer
  bool get_bool(std::string_view key) const;
  const Array& get_array(std::string_view key) const;
  // Optional variants: nullopt when absent, still an error when present with the wrong type.
  std::optional<std::string> find_string(std::string_view key) const;
  std::optional<int64_t> find_int(std::string_view key) const;
  std::optional<double> find_float(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;
  const Array* find_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  // Reads the whole data section into anonymous memory in huge pages (runtime/huge_buffer.h) and
  // points every tensor's data there, leaving the mapping untouched: the fast kernels stream weights
  // about twice as fast from huge pages. Throws trit::Error naming the file on a read error.
  void load_data_into_memory(bool show_progress);
  bool data_in_memory() const { return data_buffer_ != nullptr; }
  // After load_data_into_memory: gives the memory of a tensor whose bytes are no longer needed (a
  // ternary tensor repacked at load) back to the system; its data view becomes empty.
  void release_tensor_data(const std::string& name);
  const TensorInfo* find_tensor(std::string_view name) const;
  // Throws "<file>: tensor 'x' is missing".
  const TensorInfo& tensor(std::string_view name) const;

 private:
  Reader() = default;
  void parse();

  std::unique_ptr<runtime::MappedFile> file_;         // null when parsing caller-owned bytes
  std::unique_ptr<runtime::HugeBuffer> data_buffer_;  // when load_data_into_memory was called
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
};

}  // namespace trit::gguf
