// gguf::Reader: parses and validates a whole GGUF v2/v3 file up front (layout in ggml's docs/gguf.md),
// so that every later use of its metadata and tensor views can trust them.
#include "gguf/reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "runtime/assert.h"
#include "runtime/error.h"
#include "runtime/progress.h"

namespace trit::gguf {

namespace {

constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;         // arrays of arrays nest at most this deep
constexpr uint64_t kMinKvBytes = 13;      // empty key (8) + value type (4) + one-byte value
constexpr uint64_t kMinTensorBytes = 24;  // empty name (8) + n_dims (4) + type (4) + offset (8)
constexpr char kAlignmentKey[] = "general.alignment";

// Bytes a scalar of this type occupies, 0 for strings and arrays.
uint64_t scalar_n_bytes(ValueType type) {
  switch (type) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
      return 8;
    case ValueType::STRING:
    case ValueType::ARRAY:
      return 0;
  }
  return 0;
}

// The fewest bytes one value of this type can occupy: a bound on element counts before allocating.
uint64_t min_value_n_bytes(ValueType type) {
  if (type == ValueType::STRING) return 8;     // length
  if (type == ValueType::ARRAY) return 4 + 8;  // element type + count
  return scalar_n_bytes(type);
}

bool known_value_type(uint32_t id) { return id <= static_cast<uint32_t>(ValueType::FLOAT64); }

// Reads little-endian fields from the bytes, failing with the file, field and byte offset on truncation.
class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return bytes_.size() - pos_; }
  const std::string& file() const { return file_; }

  // Fails unless n more bytes are there; describe() names the field (built only on failure).
  template <typename Describe>
  void need(uint64_t n, Describe&& describe) const {
    if (n > left())
      fail("{}: file truncated at byte {} while reading {} ({} bytes needed, {} left)", file_, pos_, describe(), n,
           left());
  }

  template <typename T, typename Describe>
  T read(Describe&& describe) {
    need(sizeof(T), describe);
    T v;
    // GGUF is little-endian; trit runs on little-endian hosts (x86-64, AArch64).
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  template <typename Describe>
  std::string read_string(Describe&& describe) {
    const uint64_t at = pos_;
    const auto n = read<uint64_t>([&] { return fmt::format("the length of {}", describe()); });
    if (n > left())
      fail("{}: {} at byte {} has length {}, past the end of the file ({} bytes, {} left)", file_, describe(), at, n,
           bytes_.size(), left());
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& file_;
  uint64_t pos_ = 0;
};

// Reads one value of a known type; `key` names the metadata key in messages.
Value read_value(Parser& p, ValueType type, const std::string& key, int depth);

template <typename T>
Value read_scalar(Parser& p, const std::string& key) {
  return Value(p.read<T>([&] { return fmt::format("the value of metadata key '{}'", key); }));
}

Value read_array(Parser& p, const std::string& key, int depth) {
  const uint64_t at = p.pos();
  if (depth >= kMaxArrayDepth)
    fail("{}: metadata key '{}' nests arrays deeper than {} levels (byte {})", p.file(), key, kMaxArrayDepth, at);
  const auto type_id = p.read<uint32_t>([&] { return fmt::format("the element type of metadata key '{}'", key); });
  if (!known_value_type(type_id))
    fail("{}: metadata key '{}' is an array of unknown value type id {} (byte {})", p.file(), key, type_id, at);
  const auto count = p.read<uint64_t>([&] { return fmt::format("the length of array '{}'", key); });
  const auto type = static_cast<ValueType>(type_id);
  // Bound the count by the bytes left before reserving anything: a count of 2^60 must not allocate.
  const uint64_t min_bytes = min_value_n_bytes(type);
  if (min_bytes > 0 && count > p.left() / min_bytes)
    fail("{}: array '{}' at byte {} claims {} items of type {}, past the end of the file ({} bytes left)", p.file(),
         key, at, count, value_type_name(type), p.left());
  Array array;
  array.element_type = type;
  array.items.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (type == ValueType::STRING) {
      array.items.emplace_back(p.read_string([&] { return fmt::format("item {} of array '{}'", i, key); }));
    } else {
      array.items.push_back(read_value(p, type, key, depth + 1));
    }
  }
  return Value(std::move(array));
}

Value read_value(Parser& p, ValueType type, const std::string& key, int depth) {
  switch (type) {
    case ValueType::UINT8:
      return read_scalar<uint8_t>(p, key);
    case ValueType::INT8:
      return read_scalar<int8_t>(p, key);
    case ValueType::UINT16:
      return read_scalar<uint16_t>(p, key);
    case ValueType::INT16:
      return read_scalar<int16_t>(p, key);
    case ValueType::UINT32:
      return read_scalar<uint32_t>(p, key);
    case ValueType::INT32:
      return read_scalar<int32_t>(p, key);
    case ValueType::FLOAT32:
      return read_scalar<float>(p, key);
    case ValueType::BOOL: {
      const uint64_t at = p.pos();
      const auto b = p.read<uint8_t>([&] { return fmt::format("the value of metadata key '{}'", key); });
      if (b > 1) fail("{}: metadata key '{}' has bool value {} at byte {} (expected 0 or 1)", p.file(), key, b, at);
      return Value(b != 0);
    }
    case ValueType::STRING:
      return Value(p.read_string([&] { return fmt::format("the value of metadata key '{}'", key); }));
    case ValueType::ARRAY:
      return read_array(p, key, depth);
    case ValueType::UINT64:
      return read_scalar<uint64_t>(p, key);
    case ValueType::INT64:
      return read_scalar<int64_t>(p, key);
    case ValueType::FLOAT64:
      return read_scalar<double>(p, key);
  }
  TRIT_ASSERT_MSG(false, "value type checked by the caller");
  return {};
}

std::string shape_string(const std::vector<uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

[[noreturn]] void fail_wrong_type(const std::string& file, std::string_view key, const Value& v,
                                  std::string_view expected) {
  fail("{}: metadata key '{}' has type {}, expected {}", file, key, value_type_name(v.type()), expected);
}

}  // namespace

uint64_t TensorInfo::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // validated by the Reader not to overflow
  return n;
}

Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

Reader Reader::open(const std::string& path) {
  Reader r;
  r.file_ = std::make_unique<runtime::MappedFile>(runtime::MappedFile::open(path));
  r.bytes_ = r.file_->bytes();
  r.name_ = path;
  r.parse();
  return r;
}

void Reader::load_data_into_memory(bool show_progress) {
  if (data_buffer_) return;
  // Each tensor gets its own 64-byte-aligned place (a file only promises general.alignment, 32 for
  // bitnet.cpp's): the kernels' 64-byte loads then never straddle two cache lines.
  constexpr uint64_t kAlign = 64;
  std::vector<size_t> order(tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
  std::vector<uint64_t> place(tensors_.size());
  uint64_t size = 0, total = 0;
  for (size_t i : order) {
    place[i] = (size + kAlign - 1) / kAlign * kAlign;
    size = place[i] + tensors_[i].n_bytes;
    total += tensors_[i].n_bytes;
  }
  if (size == 0) return;
  auto buffer = std::make_unique<runtime::HugeBuffer>(size);
  runtime::ProgressBar progress("reading", total, runtime::ProgressBar::Unit::kBytes, !show_progress);
  constexpr uint64_t kChunk = uint64_t{64} << 20;
  int fd = -1;
  if (file_) {
    fd = ::open(file_->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("{}: cannot open for reading: {}", name_, std::strerror(errno));
  }
  uint64_t done_total = 0;
  for (size_t i : order) {
    const TensorInfo& t = tensors_[i];
    uint8_t* dst = buffer->data() + place[i];
    if (fd < 0) {
      std::memcpy(dst, bytes_.data() + data_offset_ + t.offset, t.n_bytes);
    } else {
      for (uint64_t done = 0; done < t.n_bytes;) {
        const ssize_t n = ::pread(fd, dst + done, std::min(kChunk, t.n_bytes - done),
                                  static_cast<off_t>(data_offset_ + t.offset + done));
        if (n <= 0) {
          const std::string why = n < 0 ? std::strerror(errno) : "unexpected end of file";
          ::close(fd);
          fail("{}: reading tensor '{}' at byte {} failed: {}", name_, t.name, data_offset_ + t.offset + done, why);
        }
        done += static_cast<uint64_t>(n);
        progress.set(done_total + done);
      }
    }
    done_total += t.n_bytes;
    progress.set(done_total);
  }
  if (fd >= 0) ::close(fd);
  progress.finish();
  for (size_t i = 0; i < tensors_.size(); ++i)
    tensors_[i].data = std::span<const uint8_t>(buffer->data() + place[i], tensors_[i].n_bytes);
  data_buffer_ = std::move(buffer);
}

void Reader::release_tensor_data(const std::string& name) {
  if (!data_buffer_) return;
  for (TensorInfo& t : tensors_) {
    if (t.name != name || t.data.empty()) continue;
    // Only whole pages inside the tensor: neighbours sharing a page keep their bytes.
    constexpr uintptr_t kPage = 4096;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data.data()) + kPage - 1) / kPage * kPage;
    const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data.data()) + t.data.size()) / kPage * kPage;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    t.data = {};
  }
}

Reader Reader::from_bytes(std::span<const uint8_t> bytes, std::string name) {
  Reader r;
  r.bytes_ = bytes;
  r.name_ = std::move(name);
  r.parse();
  return r;
}

void Reader::parse() {
  Parser p(bytes_, name_);
  const std::string& file = name_;

  // Header: magic, version, tensor count, metadata count (u64 counts since v2).
  p.need(4, [] { return "the magic"; });
  if (std::memcmp(bytes_.data(), "GGUF", 4) != 0) {
    std::string seen;
    for (int i = 0; i < 4; ++i) {
      const auto c = bytes_[i];
      seen += (c >= 0x20 && c < 0x7f) ? fmt::format("{}", static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
    }
    fail("{}: not a GGUF file: bad magic \"{}\" at byte 0 (expected \"GGUF\")", file, seen);
  }
  p.read<uint32_t>([] { return "the magic"; });
  version_ = p.read<uint32_t>([] { return "the version"; });
  if (version_ == 1)
    fail(
        "{}: GGUF version 1 (byte 4) is not supported; trit reads versions 2 and 3 (re-convert the file with a "
        "current llama.cpp)",
        file);
  if (version_ != 2 && version_ != 3) {
    const uint32_t swapped = __builtin_bswap32(version_);
    fail("{}: GGUF version {} (byte 4) is not supported; trit reads versions 2 and 3{}", file, version_,
         (swapped == 2 || swapped == 3) ? " (this looks like a big-endian file)" : "");
  }
  const uint64_t n_tensors_at = p.pos();
  const auto n_tensors = p.read<uint64_t>([] { return "the tensor count"; });
  const uint64_t n_kv_at = p.pos();
  const auto n_kv = p.read<uint64_t>([] { return "the metadata count"; });
  if (n_kv > p.left() / kMinKvBytes)
    fail("{}: metadata count {} (byte {}) is more than the file can hold ({} bytes left); is it truncated?", file, n_kv,
         n_kv_at, p.left());
  if (n_tensors > p.left() / kMinTensorBytes)
    fail("{}: tensor count {} (byte {}) is more than the file can hold ({} bytes left); is it truncated?", file,
         n_tensors, n_tensors_at, p.left());

  // Metadata.
  std::unordered_set<std::string> keys;
  metadata_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = p.pos();
    std::string key = p.read_string([&] { return fmt::format("the key of metadata entry {}", i); });
    if (!keys.insert(key).second) fail("{}: duplicate metadata key '{}' at byte {}", file, key, at);
    const uint64_t type_at = p.pos();
    const auto type_id = p.read<uint32_t>([&] { return fmt::format("the value type of metadata key '{}'", key); });
    if (!known_value_type(type_id))
      fail("{}: metadata key '{}' has unknown value type id {} (byte {})", file, key, type_id, type_at);
    Value value = read_value(p, static_cast<ValueType>(type_id), key, 0);
    if (key == kAlignmentKey) {
      const auto* a = std::get_if<uint32_t>(&value.storage());
      if (!a)
        fail("{}: metadata key '{}' (byte {}) has type {}, expected u32", file, key, at, value_type_name(value.type()));
      if (*a == 0 || (*a & (*a - 1)) != 0)
        fail("{}: metadata key '{}' (byte {}) is {}, expected a non-zero power of two", file, key, at, *a);
      alignment_ = *a;
    }
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  // Tensor table.
  std::unordered_set<std::string> names;
  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = p.pos();
    TensorInfo t;
    t.name = p.read_string([&] { return fmt::format("the name of tensor {}", i); });
    if (!names.insert(t.name).second) fail("{}: duplicate tensor name '{}' at byte {}", file, t.name, at);
    const uint64_t dims_at = p.pos();
    const auto n_dims =
        p.read<uint32_t>([&] { return fmt::format("the number of dimensions of tensor '{}'", t.name); });
    if (n_dims > kMaxDims)
      fail("{}: tensor '{}' has {} dimensions (byte {}); at most {} are allowed", file, t.name, n_dims, dims_at,
           kMaxDims);
    t.shape.resize(n_dims);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      t.shape[d] = p.read<uint64_t>([&] { return fmt::format("dimension {} of tensor '{}'", d, t.name); });
      // ggml keeps dimensions and element counts in int64_t.
      if (__builtin_mul_overflow(n_elements, t.shape[d], &n_elements) ||
          n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("{}: tensor '{}' has shape {} whose element count overflows 64 bits (byte {})", file, t.name,
             shape_string(t.shape), dims_at);
    }
    const uint64_t type_at = p.pos();
    t.type_id = p.read<uint32_t>([&] { return fmt::format("the type of tensor '{}'", t.name); });
    const auto traits = ggml_type_traits(t.type_id);
    if (!traits) fail("{}: tensor '{}' has unknown type id {} (byte {})", file, t.name, t.type_id, type_at);
    const auto n_bytes = tensor_n_bytes(t.type_id, t.shape);
    if (!n_bytes)
      fail("{}: tensor '{}' has shape {} that type {} cannot hold (block size {}) (byte {})", file, t.name,
           shape_string(t.shape), traits->name, traits->block_size, dims_at);
    t.n_bytes = *n_bytes;
    t.offset = p.read<uint64_t>([&] { return fmt::format("the data offset of tensor '{}'", t.name); });
    tensors_.push_back(std::move(t));
  }

  // Data section: starts at the header's end rounded up to the alignment.
  const uint64_t header_end = p.pos();
  data_offset_ = header_end + (alignment_ - header_end % alignment_) % alignment_;

  const uint64_t size = bytes_.size();
  for (TensorInfo& t : tensors_) {
    if (t.offset % alignment_ != 0)
      fail("{}: tensor '{}' has data offset {}, not a multiple of the alignment {}", file, t.name, t.offset,
           alignment_);
    uint64_t start = 0, end = 0;
    if (__builtin_add_overflow(data_offset_, t.offset, &start) || __builtin_add_overflow(start, t.n_bytes, &end) ||
        end > size)
      fail("{}: tensor '{}' (offset {}, {} bytes) ends past the end of the file ({} bytes; data starts at byte {})",
           file, t.name, t.offset, t.n_bytes, size, data_offset_);
    t.data = bytes_.subspan(start, t.n_bytes);
  }

  // Tensors must not share bytes.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(tensors_.size());
  for (const TensorInfo& t : tensors_)
    if (t.n_bytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.n_bytes)
      fail("{}: tensor '{}' (data offset {}) overlaps tensor '{}' (data offset {}, {} bytes)", file, cur.name,
           cur.offset, prev.name, prev.offset, prev.n_bytes);
  }
}

const Value* Reader::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_)
    if (k == key) return &v;
  return nullptr;
}

std::optional<std::string> Reader::find_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  const std::string* s = v->as_string();
  if (!s) fail_wrong_type(name_, key, *v, "a string");
  return *s;
}

std::optional<int64_t> Reader::find_int(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail_wrong_type(name_, key, *v, "an integer");
  int64_t out = 0;
  if (!v->to_int64(out))
    fail("{}: metadata key '{}' has value {}, too large for a 64-bit signed integer", name_, key,
         v->to_display_string());
  return out;
}

std::optional<double> Reader::find_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  double out = 0;
  if (!v->to_double(out)) fail_wrong_type(name_, key, *v, "a number");
  return out;
}

std::optional<bool> Reader::find_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  const bool* b = v->as_bool();
  if (!b) fail_wrong_type(name_, key, *v, "a bool");
  return *b;
}

const Array* Reader::find_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return nullptr;
  const Array* a = v->as_array();
  if (!a) fail_wrong_type(name_, key, *v, "an array");
  return a;
}

namespace {
template <typename T>
T required(std::optional<T> v, const std::string& file, std::string_view key) {
  if (!v) fail("{}: metadata key '{}' is missing", file, key);
  return *std::move(v);
}
}  // namespace

std::string Reader::get_string(std::string_view key) const { return required(find_string(key), name_, key); }
int64_t Reader::get_int(std::string_view key) const { return required(find_int(key), name_, key); }
double Reader::get_float(std::string_view key) const { return required(find_float(key), name_, key); }
bool Reader::get_bool(std::string_view key) const { return required(find_bool(key), name_, key); }

const Array& Reader::get_array(std::string_view key) const {
  const Array* a = find_array(key);
  if (!a) fail("{}: metadata key '{}' is missing", name_, key);
  return *a;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo& Reader::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) fail("{}: tensor '{}' is missing", name_, name);
  return *t;
}

}  // namespace trit::gguf
