// Reading Hugging Face safetensors checkpoints in place (memory-mapped): one file, or the shards a
// model.safetensors.index.json names. Also a small writer, for tests that build checkpoints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/mapped_file.h"

namespace trit::convert {

// One tensor of a safetensors file: shape in PyTorch order (outermost first), bytes in place.
struct StTensor {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "U8", "I8", ... as the header spells it
  std::vector<int64_t> shape;  // row-major, outermost first
  std::span<const uint8_t> data;
  const std::string* file = nullptr;  // the path, for messages

  int64_t n_elements() const;
  bool is_float() const { return dtype == "F32" || dtype == "F16" || dtype == "BF16"; }
};

// Bytes per element of a safetensors dtype; 0 for names trit does not know.
size_t st_dtype_size(const std::string& dtype);

class SafetensorsFile {
 public:
  // Maps the file and validates its header (JSON, dtypes, offsets inside the file, sizes matching
  // shapes); throws trit::Error naming the file and tensor.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return map_.path(); }
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  runtime::MappedFile map_;
  std::vector<StTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint folder: model.safetensors.index.json's shards, else model.safetensors,
// else every *.safetensors file. Names must be unique across shards.
class Checkpoint {
 public:
  static Checkpoint open(const std::filesystem::path& dir);

  const StTensor* find(const std::string& name) const;
  // Throws trit::Error naming the folder and the tensor.
  const StTensor& get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::filesystem::path& dir() const { return dir_; }
  size_t n_files() const { return files_.size(); }

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StTensor*> index_;
};

// Elements [begin, begin + n) of a float tensor (F32/F16/BF16) as float; throws trit::Error for
// other dtypes, naming the tensor.
void read_floats(const StTensor& t, int64_t begin, int64_t n, float* out);
std::vector<float> read_floats(const StTensor& t);

// Drops the tensor's pages from this process's memory (they stay in the page cache and are read
// again if touched), so a conversion's resident size stays near one tensor, not the checkpoint.
void release_pages(const StTensor& t);

// For tests: writes a safetensors file (header keys sorted, data 8-byte aligned as the reference does).
struct StTensorData {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void write_safetensors(const std::string& path, const std::vector<StTensorData>& tensors);

}  // namespace trit::convert
