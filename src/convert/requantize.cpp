// requantize: plan every tensor's conversion (and check it can be done) first, then stream the tensors
// one at a time from the mapped input into gguf::Writer. Ternary tensors go through the exact reference
// form (codes + scales), never through floats.
#include "convert/requantize.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "runtime/assert.h"
#include "runtime/error.h"
#include "runtime/progress.h"
#include "tensor/codec.h"
#include "tensor/ternary.h"

namespace trit::convert {

namespace {

using gguf::GgmlType;

constexpr uint32_t id(GgmlType t) { return static_cast<uint32_t>(t); }

constexpr GgmlType kTernaryTargets[] = {GgmlType::I2_S, GgmlType::TQ1_0, GgmlType::TQ2_0};
constexpr GgmlType kFloatTargets[] = {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::F32};

constexpr char kFileTypeKey[] = "general.file_type";
constexpr char kEmbeddingName[] = "token_embd.weight";
constexpr char kOutputName[] = "output.weight";
// Floats decoded per chunk when converting a float tensor row by row (64 MiB of floats).
constexpr int64_t kChunkElements = int64_t{16} << 20;

template <size_t N>
uint32_t parse_type(std::string_view name, std::string_view what, const GgmlType (&choices)[N]) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string known;
  for (GgmlType t : choices) {
    if (gguf::type_name(id(t)) == lower) return id(t);
    known += (known.empty() ? "" : ", ") + gguf::type_name(id(t));
  }
  trit::fail("{}: unknown type '{}' (choose one of: {})", what, name, known);
}

std::string shape_string(const gguf::TensorInfo& t) {
  // Rows x columns, as the docs write weight matrices (ggml ne1 x ne0).
  if (t.shape.size() == 2) return fmt::format("{} x {}", t.shape[1], t.shape[0]);
  return fmt::format("[{}]", fmt::join(t.shape, ", "));
}

bool is_linear_weight(const gguf::TensorInfo& t) {
  // The BitLinear weights of the transformer blocks (attn_q/k/v/output, ffn_gate/up/down): every 2-D
  // "blk.N.*.weight" (norms are 1-D).
  const std::string_view n = t.name;
  return t.shape.size() == 2 && n.starts_with("blk.") && n.ends_with(".weight");
}

enum class Action {
  kCopy,       // bytes as they are
  kRepack,     // ternary -> ternary, exactly
  kTernarise,  // float linear weight -> absmean ternary
  kRecode,     // any decodable type -> a float type (embedding, output)
};

struct Step {
  const gguf::TensorInfo* in;
  uint32_t out_type;
  Action action;
};

int64_t rows_of(const gguf::TensorInfo& t) { return t.shape.size() < 2 ? 1 : static_cast<int64_t>(t.shape[1]); }
int64_t cols_of(const gguf::TensorInfo& t) { return static_cast<int64_t>(t.shape[0]); }

// Why `out_type` cannot hold tensor t ("" when it can), in words for the error message.
std::string shape_problem(const gguf::TensorInfo& t, uint32_t out_type) {
  const auto traits = gguf::ggml_type_traits(out_type);
  if (out_type == id(GgmlType::I2_S)) {
    if (t.n_elements() % 128 != 0)
      return fmt::format("i2_s packs whole 128-weight blocks and the tensor has {} weights", t.n_elements());
    return "";
  }
  if (t.shape.empty() || t.shape[0] % traits->block_size != 0)
    return fmt::format("its rows of {} weights are not a whole number of {}'s {}-weight blocks",
                       t.shape.empty() ? 0 : t.shape[0], traits->name, traits->block_size);
  return "";
}

Step plan_step(const gguf::TensorInfo& t, const RequantizeOptions& o, const std::string& file) {
  const bool ternary_in = tensor::is_ternary(t.type_id);
  Step s{&t, t.type_id, Action::kCopy};
  std::optional<uint32_t> float_target;
  if (t.name == kEmbeddingName) float_target = o.embed_type;
  if (t.name == kOutputName) float_target = o.output_type;
  if (t.name == kEmbeddingName || t.name == kOutputName) {
    if (float_target && *float_target != t.type_id) s = {&t, *float_target, Action::kRecode};
  } else if (ternary_in) {
    if (t.type_id != o.ternary_type) s = {&t, o.ternary_type, Action::kRepack};
  } else if (is_linear_weight(t)) {
    s = {&t, o.ternary_type, Action::kTernarise};
  }
  if (s.action == Action::kCopy) return s;

  if (!tensor::is_supported(t.type_id))
    trit::fail("{}: tensor '{}' ({}) has type {}, which trit cannot decode, so it cannot be converted to {}", file,
               t.name, shape_string(t), gguf::type_name(t.type_id), gguf::type_name(s.out_type));
  if ((s.action == Action::kRepack || s.action == Action::kTernarise) && t.shape.size() != 2)
    trit::fail("{}: tensor '{}' has shape {}; a ternary weight must be a matrix", file, t.name, shape_string(t));
  if (ternary_in && (t.type_id == id(GgmlType::TL1) || t.type_id == id(GgmlType::TL2)) &&
      !tensor::default_lut_config(t.type_id, rows_of(t), cols_of(t)))
    trit::fail(
        "{}: tensor '{}' ({}) is {}, whose tiling bitnet.cpp generates per shape and does not record in the file; "
        "no kernel configuration is known for this shape",
        file, t.name, shape_string(t), gguf::type_name(t.type_id));
  if (const std::string why = shape_problem(t, s.out_type); !why.empty())
    trit::fail("{}: tensor '{}' ({}) cannot be stored as {}: {}", file, t.name, shape_string(t),
               gguf::type_name(s.out_type), why);
  return s;
}

// The one scale of a ternary matrix whose groups (blocks) may carry separate scales, ignoring groups
// whose codes are all zero (their scale multiplies nothing; llama.cpp's quantiser writes 0 there).
// nullopt when two groups with codes disagree.
std::optional<float> common_scale(const tensor::TernaryMatrix& m, float& first, float& other) {
  std::optional<float> scale;
  const int64_t groups = m.groups_per_row();
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const int8_t* v = m.values.data() + r * m.cols + g * m.group_size;
      if (std::all_of(v, v + m.group_size, [](int8_t x) { return x == 0; })) continue;
      const float s = m.scales[static_cast<size_t>(r * groups + g)];
      if (!scale) {
        scale = first = s;
      } else if (s != *scale) {
        other = s;
        return std::nullopt;
      }
    }
  }
  if (!scale) scale = m.scales.empty() ? 0.0f : m.scales[0];  // all codes zero
  return scale;
}

// A float weight that already holds ternarised values {-s, 0, +s} (what bitnet.cpp's converter writes
// with --outtype f32/f16, and what its llama-quantize expects) in the reference form with scale s, exactly;
// nullopt for anything else (latent weights, to be ternarised with absmean).
std::optional<tensor::TernaryMatrix> exact_ternary(const std::vector<float>& w, int64_t rows, int64_t cols) {
  float s = 0.0f;
  for (float x : w) s = std::max(s, std::fabs(x));
  if (!(s > 0.0f) || !std::isfinite(s)) return std::nullopt;
  tensor::TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == s) {
      m.values[i] = 1;
    } else if (w[i] == -s) {
      m.values[i] = -1;
    } else if (w[i] == 0.0f) {
      m.values[i] = 0;
    } else {
      return std::nullopt;
    }
  }
  m.scales.assign(static_cast<size_t>(rows), s);
  return m;
}

// Packs the reference form into a ternary target type, exactly where the type can hold it.
std::vector<uint8_t> pack(const tensor::TernaryMatrix& m, uint32_t out_type, const gguf::TensorInfo& t,
                          const std::string& file, RequantizeSummary& summary) {
  if (out_type == id(GgmlType::I2_S)) {
    if (m.group_size == m.cols) return tensor::pack_ternary(out_type, m);
    float first = 0.0f, other = 0.0f;
    const auto scale = common_scale(m, first, other);
    if (!scale)
      trit::fail(
          "{}: tensor '{}' ({}, {}) has blocks with different scales ({} and {}); i2_s holds one scale per tensor, "
          "so it cannot be converted exactly (tq1_0 and tq2_0 can hold it)",
          file, t.name, shape_string(t), gguf::type_name(t.type_id), first, other);
    tensor::TernaryMatrix one;
    one.rows = m.rows;
    one.cols = m.cols;
    one.group_size = m.cols;
    one.values = m.values;
    one.scales.assign(static_cast<size_t>(m.rows), *scale);
    return tensor::pack_ternary(out_type, one);
  }
  // tq1_0 / tq2_0: f16 block scales. A per-tensor float32 scale is rounded once (the codes are exact).
  if (m.group_size == m.cols && !m.scales.empty() && tensor::f16_to_f32(tensor::f32_to_f16(m.scales[0])) != m.scales[0])
    ++summary.n_scale_rounded;
  return tensor::pack_ternary(out_type, m);
}

// A view of rows [r0, r0 + n) of a row-blocked tensor, for chunked decoding.
gguf::TensorInfo row_slice(const gguf::TensorInfo& t, int64_t r0, int64_t n, uint64_t row_bytes) {
  gguf::TensorInfo s;
  s.name = t.name;
  s.type_id = t.type_id;
  s.shape = {t.shape[0], static_cast<uint64_t>(n)};
  s.n_bytes = row_bytes * static_cast<uint64_t>(n);
  s.data = t.data.subspan(static_cast<size_t>(r0) * row_bytes, static_cast<size_t>(s.n_bytes));
  return s;
}

// Done with a tensor's bytes in the mapped input: drop its pages from this process (the mapping is
// read-only, so they are re-read from the file if ever touched again). Keeps the resident set at about
// one tensor however large the model.
void drop_pages(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(bytes.data()) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(bytes.data() + bytes.size());
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice only: failure is harmless
}

}  // namespace

uint32_t parse_ternary_type(std::string_view name, std::string_view what) {
  return parse_type(name, what, kTernaryTargets);
}

uint32_t parse_float_type(std::string_view name, std::string_view what) {
  return parse_type(name, what, kFloatTargets);
}

uint32_t llama_file_type(uint32_t linear_type_id) {
  switch (static_cast<GgmlType>(linear_type_id)) {
    case GgmlType::F32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case GgmlType::F16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::Q8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case GgmlType::BF16:
      return 32;  // LLAMA_FTYPE_MOSTLY_BF16
    case GgmlType::TQ1_0:
      return 36;  // LLAMA_FTYPE_MOSTLY_TQ1_0
    case GgmlType::TQ2_0:
      return 37;  // LLAMA_FTYPE_MOSTLY_TQ2_0
    case GgmlType::I2_S:
      return 40;  // bitnet.cpp's utils/convert-hf-to-gguf-bitnet.py: "LLAMA_FTYPE_MOSTLY_I2_S"
    default:
      return linear_type_id;  // TL1 / TL2: bitnet.cpp's converter writes the ggml type id
  }
}

RequantizeSummary requantize(const RequantizeOptions& o) {
  TRIT_ASSERT(tensor::is_ternary(o.ternary_type));
  std::error_code ec;
  if (std::filesystem::exists(o.output) && std::filesystem::equivalent(o.input, o.output, ec))
    trit::fail("{}: the output file is the input file; write to another path", o.output);

  const gguf::Reader in = gguf::Reader::open(o.input);
  const std::string& file = in.name();

  // 1. Plan and check every tensor before writing anything.
  std::vector<Step> steps;
  steps.reserve(in.tensors().size());
  for (const auto& t : in.tensors()) steps.push_back(plan_step(t, o, file));

  // 2. Metadata, with general.file_type following the linear weights' new type.
  gguf::Writer w(o.output, in.alignment());
  bool has_file_type = false;
  for (const auto& [key, value] : in.metadata()) {
    if (key == kFileTypeKey) {
      w.add(key, gguf::Value(llama_file_type(o.ternary_type)));
      has_file_type = true;
    } else {
      w.add(key, value);
    }
  }
  if (!has_file_type) w.add(kFileTypeKey, gguf::Value(llama_file_type(o.ternary_type)));
  for (const auto& s : steps) w.add_tensor(s.in->name, s.in->shape, s.out_type);

  // 3. The tensors, one at a time.
  RequantizeSummary summary;
  summary.output_type_unused = o.output_type.has_value() && in.find_tensor(kOutputName) == nullptr;
  runtime::ProgressBar progress("quantizing", w.total_data_bytes(), runtime::ProgressBar::Unit::kBytes,
                                !o.show_progress);
  auto write = [&](std::span<const uint8_t> bytes) {
    w.write_tensor_data(bytes);
    summary.n_bytes_out += bytes.size();
    progress.add(bytes.size());
  };
  for (const auto& s : steps) {
    const gguf::TensorInfo& t = *s.in;
    summary.n_bytes_in += t.n_bytes;
    switch (s.action) {
      case Action::kCopy: {
        constexpr size_t kChunk = size_t{64} << 20;
        for (size_t off = 0; off < t.data.size(); off += kChunk) {
          const auto chunk = t.data.subspan(off, std::min(kChunk, t.data.size() - off));
          write(chunk);
          drop_pages(chunk);
        }
        ++summary.n_copied;
        break;
      }
      case Action::kRepack:
        write(pack(tensor::unpack_ternary(t), s.out_type, t, file, summary));
        ++summary.n_repacked;
        break;
      case Action::kTernarise: {
        const auto w = tensor::dequantize(t);
        if (auto exact = exact_ternary(w, rows_of(t), cols_of(t))) {
          write(pack(*exact, s.out_type, t, file, summary));
          ++summary.n_float_exact;
        } else {
          write(pack(tensor::ternarize_absmean(w, rows_of(t), cols_of(t)), s.out_type, t, file, summary));
          ++summary.n_ternarised;
        }
        break;
      }
      case Action::kRecode: {
        const auto row_bytes = gguf::row_n_bytes(t.type_id, t.shape[0]);
        if (!row_bytes || t.shape.size() > 2) {  // whole-tensor layouts: decode at once
          write(tensor::quantize(s.out_type, tensor::dequantize(t), t.shape));
        } else {
          const int64_t rows = rows_of(t), cols = cols_of(t);
          const int64_t chunk_rows = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(cols, 1));
          for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
            const int64_t n = std::min(chunk_rows, rows - r0);
            const uint64_t shape[] = {static_cast<uint64_t>(cols), static_cast<uint64_t>(n)};
            const auto slice = row_slice(t, r0, n, *row_bytes);
            write(tensor::quantize(s.out_type, tensor::dequantize(slice), shape));
            drop_pages(slice.data);
          }
        }
        ++summary.n_recoded;
        break;
      }
    }
    drop_pages(t.data);
  }
  w.finish();
  progress.finish();
  return summary;
}

}  // namespace trit::convert
