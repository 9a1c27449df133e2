// Writing GGUF v3 files, streaming: metadata and the tensor table first, then each tensor's bytes
// in order, so a 100B-parameter file never needs its weights in memory at once.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "gguf/value.h"

namespace trit::gguf {

class Writer {
 public:
  // Creates (truncates) the file. Throws trit::Error naming the path on I/O failure.
  explicit Writer(std::string path, uint64_t alignment = 32);
  ~Writer();  // closes; a file left unfinished is removed
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // 1. Metadata, in the order added (general.alignment is written for a non-default alignment).
  void add(std::string key, Value value);
  // 2. The tensor table: name, shape (ggml order, ne0 first), type; sizes follow from tensor_n_bytes.
  void add_tensor(std::string name, std::vector<uint64_t> shape, uint32_t type_id);
  // 3. Header + table are written on the first write_tensor_data call.
  //    Tensor data in table order; each tensor may come in several chunks, which must add up to its size.
  void write_tensor_data(std::span<const uint8_t> bytes);
  // 4. Checks that every tensor was written in full, flushes, closes.
  void finish();

  const std::string& path() const { return path_; }
  uint64_t total_data_bytes() const;  // sum of padded tensor sizes, known after the table is complete

 private:
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> shape;
    uint32_t type_id;
    uint64_t n_bytes;
    uint64_t offset;
  };
  void write_header();
  void write_raw(const void* data, size_t n);

  std::string path_;
  uint64_t alignment_;
  std::FILE* file_ = nullptr;
  bool header_written_ = false;
  bool finished_ = false;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
  size_t current_tensor_ = 0;
  uint64_t current_written_ = 0;
  uint64_t data_written_ = 0;
};

}  // namespace trit::gguf
