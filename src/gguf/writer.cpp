// gguf::Writer: streams a GGUF v3 file (layout in ggml's docs/gguf.md): header, metadata and tensor table,
// then each tensor's bytes padded with zeros to the alignment.
#include "gguf/writer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "gguf/ggml_type.h"
#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit::gguf {

namespace {
constexpr uint64_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT
constexpr char kAlignmentKey[] = "general.alignment";

uint64_t pad_to(uint64_t n, uint64_t alignment) { return (alignment - n % alignment) % alignment; }
}  // namespace

Writer::Writer(std::string path, uint64_t alignment) : path_(std::move(path)), alignment_(alignment) {
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > UINT32_MAX)
    fail("{}: GGUF alignment {} is not a power of two that fits 32 bits", path_, alignment_);
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) fail("{}: cannot create the file: {}", path_, std::strerror(errno));
}

Writer::~Writer() {
  if (file_) std::fclose(file_);
  if (!finished_) std::remove(path_.c_str());
}

void Writer::add(std::string key, Value value) {
  TRIT_ASSERT_MSG(!header_written_, "metadata added after tensor data");
  for (const auto& [k, v] : metadata_)
    if (k == key) fail("{}: metadata key '{}' added twice", path_, key);
  if (key == kAlignmentKey) {
    const auto* a = std::get_if<uint32_t>(&value.storage());
    if (!a || *a != alignment_)
      fail("{}: metadata key '{}' must be the u32 {} the writer was created with", path_, key, alignment_);
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void Writer::add_tensor(std::string name, std::vector<uint64_t> shape, uint32_t type_id) {
  TRIT_ASSERT_MSG(!header_written_, "tensor added after tensor data");
  if (shape.size() > 4) fail("{}: tensor '{}' has {} dimensions; at most 4 are allowed", path_, name, shape.size());
  for (const auto& t : tensors_)
    if (t.name == name) fail("{}: tensor '{}' added twice", path_, name);
  if (!ggml_type_traits(type_id)) fail("{}: tensor '{}' has unknown type id {}", path_, name, type_id);
  const auto n_bytes = tensor_n_bytes(type_id, shape);
  if (!n_bytes)
    fail("{}: tensor '{}' has shape [{}] that type {} cannot hold", path_, name, fmt::join(shape, ", "),
         type_name(type_id));
  uint64_t offset = 0;
  if (!tensors_.empty()) {
    const auto& prev = tensors_.back();
    offset = prev.offset + prev.n_bytes + pad_to(prev.n_bytes, alignment_);
  }
  tensors_.push_back(PendingTensor{std::move(name), std::move(shape), type_id, *n_bytes, offset});
}

uint64_t Writer::total_data_bytes() const {
  if (tensors_.empty()) return 0;
  const auto& last = tensors_.back();
  return last.offset + last.n_bytes + pad_to(last.n_bytes, alignment_);
}

void Writer::write_raw(const void* data, size_t n) {
  if (n == 0) return;
  if (std::fwrite(data, 1, n, file_) != n) fail("{}: write failed: {}", path_, std::strerror(errno));
}

namespace {

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));  // GGUF is little-endian, as are trit's hosts
}

void put_string(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

void put_value(std::string& out, const Value& value, const std::string& path, const std::string& key) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          put_string(out, x);
        } else if constexpr (std::is_same_v<T, Array>) {
          put<uint32_t>(out, static_cast<uint32_t>(x.element_type));
          put<uint64_t>(out, x.items.size());
          for (const Value& item : x.items) {
            if (item.type() != x.element_type)
              fail("{}: metadata key '{}' is an array of {} holding an item of type {}", path, key,
                   value_type_name(x.element_type), value_type_name(item.type()));
            put_value(out, item, path, key);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          put<uint8_t>(out, x ? 1 : 0);
        } else {
          put<T>(out, x);
        }
      },
      value.storage());
}

}  // namespace

void Writer::write_header() {
  TRIT_ASSERT(!header_written_);
  header_written_ = true;
  if (alignment_ != kDefaultAlignment &&
      std::none_of(metadata_.begin(), metadata_.end(), [](const auto& kv) { return kv.first == kAlignmentKey; }))
    metadata_.emplace_back(kAlignmentKey, Value(static_cast<uint32_t>(alignment_)));

  std::string out;
  out.append("GGUF", 4);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    put_string(out, key);
    put<uint32_t>(out, static_cast<uint32_t>(value.type()));
    put_value(out, value, path_, key);
  }
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.shape.size()));
    for (uint64_t d : t.shape) put<uint64_t>(out, d);
    put<uint32_t>(out, t.type_id);
    put<uint64_t>(out, t.offset);
  }
  out.append(pad_to(out.size(), alignment_), '\0');
  write_raw(out.data(), out.size());
  // Tensors of zero bytes take no data; skip past them.
  while (current_tensor_ < tensors_.size() && tensors_[current_tensor_].n_bytes == 0) ++current_tensor_;
}

void Writer::write_tensor_data(std::span<const uint8_t> bytes) {
  TRIT_ASSERT_MSG(!finished_, "tensor data written after finish()");
  if (!header_written_) write_header();
  if (bytes.empty()) return;
  if (current_tensor_ >= tensors_.size())
    fail("{}: {} bytes of tensor data written after the last tensor was complete", path_, bytes.size());
  const PendingTensor& t = tensors_[current_tensor_];
  if (bytes.size() > t.n_bytes - current_written_)
    fail("{}: tensor '{}' holds {} bytes, but {} were written to it", path_, t.name, t.n_bytes,
         current_written_ + bytes.size());
  write_raw(bytes.data(), bytes.size());
  current_written_ += bytes.size();
  data_written_ += bytes.size();
  if (current_written_ == t.n_bytes) {
    static constexpr std::array<uint8_t, 256> kZeros{};
    uint64_t pad = pad_to(t.n_bytes, alignment_);
    while (pad > 0) {
      const size_t n = std::min<uint64_t>(pad, kZeros.size());
      write_raw(kZeros.data(), n);
      pad -= n;
    }
    data_written_ += pad_to(t.n_bytes, alignment_);
    current_written_ = 0;
    ++current_tensor_;
    while (current_tensor_ < tensors_.size() && tensors_[current_tensor_].n_bytes == 0) ++current_tensor_;
  }
}

void Writer::finish() {
  TRIT_ASSERT_MSG(!finished_, "finish() called twice");
  if (!header_written_) write_header();
  if (current_tensor_ < tensors_.size()) {
    const PendingTensor& t = tensors_[current_tensor_];
    fail("{}: finished with tensor '{}' incomplete ({} of {} bytes written; {} of {} tensors complete)", path_, t.name,
         current_written_, t.n_bytes, current_tensor_, tensors_.size());
  }
  TRIT_ASSERT(data_written_ == total_data_bytes());
  std::FILE* f = file_;
  file_ = nullptr;
  const bool flushed = std::fflush(f) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (!flushed || !closed) fail("{}: write failed: {}", path_, std::strerror(flushed ? errno : flush_errno));
  finished_ = true;
}

}  // namespace trit::gguf
