// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {...}}, then the data (offsets relative to its start).
#include "convert/safetensors.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::convert {

using Json = nlohmann::json;

int64_t StTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t st_dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "U8" || dtype == "I8" || dtype == "BOOL") return 1;
  return 0;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto f = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  f->map_ = runtime::MappedFile::open(path);
  const auto bytes = f->map_.bytes();
  if (bytes.size() < 8)
    fail("{}: not a safetensors file ({} bytes, too short for the header length)", path, bytes.size());
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > bytes.size() - 8 || header_len > (uint64_t{100} << 20))
    fail("{}: not a safetensors file (header length {} does not fit the file of {} bytes)", path, header_len,
         bytes.size());
  Json header;
  try {
    header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<ptrdiff_t>(header_len));
  } catch (const Json::exception& e) {
    fail("{}: the safetensors header is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object()) fail("{}: the safetensors header is not a JSON object", path);
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = bytes.size() - data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_object())
        for (auto m = it->begin(); m != it->end(); ++m)
          if (m->is_string()) f->metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    const Json& e = *it;
    StTensor t;
    t.name = it.key();
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      fail("{}: tensor '{}' has a malformed header entry (needs dtype, shape, data_offsets)", path, t.name);
    t.dtype = e["dtype"].get<std::string>();
    const size_t elem = st_dtype_size(t.dtype);
    if (elem == 0) fail("{}: tensor '{}' has dtype '{}', which trit does not read", path, t.name, t.dtype);
    for (const Json& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        fail("{}: tensor '{}' has a malformed shape {}", path, t.name, e["shape"].dump());
      t.shape.push_back(d.get<int64_t>());
    }
    const Json& off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail("{}: tensor '{}' has malformed data_offsets", path, t.name);
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail("{}: tensor '{}' data [{}, {}) lies outside the file's {} data bytes", path, t.name, begin, end, data_size);
    if (end - begin != static_cast<uint64_t>(t.n_elements()) * elem)
      fail("{}: tensor '{}' holds {} bytes but its shape {} of {} needs {}", path, t.name, end - begin,
           e["shape"].dump(), t.dtype, static_cast<uint64_t>(t.n_elements()) * elem);
    t.data = bytes.subspan(data_start + begin, end - begin);
    f->tensors_.push_back(std::move(t));
  }
  for (auto& t : f->tensors_) t.file = &f->map_.path();
  return f;
}

Checkpoint Checkpoint::open(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  Checkpoint c;
  c.dir_ = dir;
  if (!fs::is_directory(dir)) fail("{}: not a folder", dir.string());
  std::vector<fs::path> files;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    std::ifstream in(index);
    Json j;
    try {
      j = Json::parse(in);
    } catch (const Json::exception& e) {
      fail("{}: not valid JSON: {}", index.string(), e.what());
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) fail("{}: no \"weight_map\" object", index.string());
    std::set<std::string> shards;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it->is_string()) fail("{}: weight_map entry '{}' is not a file name", index.string(), it.key());
      shards.insert(it->get<std::string>());
    }
    for (const auto& s : shards) {
      if (!fs::exists(dir / s)) fail("{}: names shard '{}', which is not in the folder", index.string(), s);
      files.push_back(dir / s);
    }
  } else if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") files.push_back(e.path());
    std::sort(files.begin(), files.end());
  }
  if (files.empty())
    fail(
        "{}: no safetensors weights (model.safetensors or model.safetensors.index.json); PyTorch .bin checkpoints "
        "are not read, convert them to safetensors first",
        dir.string());
  for (const auto& p : files) c.files_.push_back(SafetensorsFile::open(p.string()));
  for (const auto& f : c.files_)
    for (const auto& t : f->tensors()) {
      auto [it, inserted] = c.index_.emplace(t.name, &t);
      if (!inserted)
        fail("{}: tensor '{}' appears in both {} and {}", dir.string(), t.name, *it->second->file, f->path());
    }
  return c;
}

const StTensor* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const StTensor& Checkpoint::get(const std::string& name) const {
  if (const StTensor* t = find(name)) return *t;
  fail("{}: the checkpoint has no tensor '{}'", dir_.string(), name);
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : index_) out.push_back(name);
  return out;
}

void read_floats(const StTensor& t, int64_t begin, int64_t n, float* out) {
  TRIT_ASSERT(begin >= 0 && n >= 0 && begin + n <= t.n_elements());
  const uint8_t* p = t.data.data();
  if (t.dtype == "F32") {
    std::memcpy(out, p + begin * 4, static_cast<size_t>(n) * 4);
  } else if (t.dtype == "F16" || t.dtype == "BF16") {
    const bool bf = t.dtype == "BF16";
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + (begin + i) * 2, 2);
      out[i] = bf ? tensor::bf16_to_f32(h) : tensor::f16_to_f32(h);
    }
  } else {
    fail("{}: tensor '{}' has dtype {}, expected F32, F16 or BF16", t.file ? *t.file : "", t.name, t.dtype);
  }
}

std::vector<float> read_floats(const StTensor& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  read_floats(t, 0, t.n_elements(), v.data());
  return v;
}

void release_pages(const StTensor& t) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(t.data.data());
  const uintptr_t first = (begin + page - 1) / page * page, last = (begin + t.data.size()) / page * page;
  // Only whole pages inside the tensor: its neighbours may still be in use.
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void write_safetensors(const std::string& path, const std::vector<StTensorData>& tensors) {
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h += ' ';
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("{}: cannot create the file", path);
  const uint64_t len = h.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& t : tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  if (!out) fail("{}: write failed", path);
}

}  // namespace trit::convert
