// convert_hf: config.json -> metadata, tokenizer files -> tokenizer section, then the tensor table
// checked against the checkpoint, then each tensor read from the mapped safetensors, ternarised or
// unpacked, encoded and written in turn.
#include "convert/hf_convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "convert/hf_folder.h"
#include "convert/safetensors.h"
#include "gguf/writer.h"
#include "model/metadata.h"
#include "runtime/assert.h"
#include "runtime/error.h"
#include "runtime/progress.h"
#include "tensor/codec.h"

namespace trit::convert {
namespace {

using gguf::GgmlType;

constexpr uint32_t kF32 = static_cast<uint32_t>(GgmlType::F32);

struct Planned {
  std::string gguf_name;
  std::string hf_name;
  std::vector<uint64_t> shape;  // ggml order
  uint32_t type_id;
  enum Kind { kEmbedding, kNorm, kLinear } kind;
  int64_t permute_heads = 0;  // > 0: Q/K rows reordered for NORM RoPE
  bool add_one = false;       // Gemma norm: w + 1
};

std::string where(const StTensor& t) { return fmt::format("{}: tensor '{}'", t.file ? *t.file : "", t.name); }

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// The checkpoint's scale of a packed weight: <name minus ".weight">.weight_scale, one number.
float weight_scale(const Checkpoint& ckpt, const std::string& weight_name) {
  const std::string name = weight_name.substr(0, weight_name.size() - std::string(".weight").size()) + ".weight_scale";
  const StTensor* s = ckpt.find(name);
  if (!s) fail("{}: packed weight '{}' has no '{}' beside it", ckpt.dir().string(), weight_name, name);
  if (s->n_elements() != 1)
    fail("{}: '{}' has {} elements; trit reads one scale per tensor", ckpt.dir().string(), name, s->n_elements());
  float v = 0;
  read_floats(*s, 0, 1, &v);
  if (!(std::isfinite(v) && v > 0.0f)) fail("{}: '{}' is {}, expected a positive number", ckpt.dir().string(), name, v);
  return v;
}

tensor::TernaryMatrix load_linear(const Checkpoint& ckpt, const HfModel& m, const Planned& p) {
  const StTensor& t = ckpt.get(p.hf_name);
  const int64_t cols = static_cast<int64_t>(p.shape[0]), rows = static_cast<int64_t>(p.shape[1]);
  tensor::TernaryMatrix out;
  if (t.dtype == "U8" || t.dtype == "I8") {
    if (m.encoding == LinearEncoding::kFloat)
      fail("{} is packed ({}) while the first layer's weights are float", where(t), t.dtype);
    if (rows % 4 != 0 || t.shape != std::vector<int64_t>{rows / 4, cols})
      fail("{} has shape {}; packed 4 per byte, a {} x {} weight needs [{}, {}]", where(t), shape_str(t.shape), rows,
           cols, rows / 4, cols);
    const float ws = weight_scale(ckpt, p.hf_name);
    out.rows = rows;
    out.cols = cols;
    out.group_size = cols;
    out.values = unpack_hf_ternary(t.data, rows, cols, where(t));
    const float scale = m.encoding == LinearEncoding::kPackedMultiply ? ws : 1.0f / ws;
    out.scales.assign(static_cast<size_t>(rows), scale);
  } else {
    if (!t.is_float()) fail("{} has dtype {}, expected F32, F16, BF16 or packed U8", where(t), t.dtype);
    if (t.shape != std::vector<int64_t>{rows, cols})
      fail("{} has shape {}, but config.json makes it [{}, {}]", where(t), shape_str(t.shape), rows, cols);
    const std::vector<float> w = read_floats(t);
    out = ternarize_weights(w, rows, cols);
  }
  if (p.permute_heads > 0) permute_qk_rows(out, p.permute_heads);
  return out;
}

void check_vector(const StTensor& t, int64_t n) {
  if (!t.is_float()) fail("{} has dtype {}, expected F32, F16 or BF16", where(t), t.dtype);
  if (t.shape != std::vector<int64_t>{n})
    fail("{} has shape {}, but config.json makes it [{}]", where(t), shape_str(t.shape), n);
}

}  // namespace

std::vector<int8_t> unpack_hf_ternary(std::span<const uint8_t> packed, int64_t rows, int64_t cols,
                                      const std::string& what) {
  TRIT_ASSERT(rows % 4 == 0 && static_cast<int64_t>(packed.size()) == rows / 4 * cols);
  const int64_t pr = rows / 4;
  std::vector<int8_t> v(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const int shift = static_cast<int>(2 * (r / pr));
    const uint8_t* src = packed.data() + (r % pr) * cols;
    int8_t* dst = v.data() + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const int code = (src[c] >> shift) & 3;
      if (code == 3) fail("{}: row {} column {} holds the unused 2-bit code 3 (not a ternary value)", what, r, c);
      dst[c] = static_cast<int8_t>(code - 1);
    }
  }
  return v;
}

tensor::TernaryMatrix ternarize_weights(std::span<const float> w, int64_t rows, int64_t cols) {
  float level = 0.0f;
  bool ternary = true;
  for (float x : w) {
    if (x == 0.0f) continue;
    const float a = std::fabs(x);
    if (level == 0.0f) level = a;
    if (a != level) {
      ternary = false;
      break;
    }
  }
  if (!ternary || level == 0.0f || !std::isfinite(level)) return tensor::ternarize_absmean(w, rows, cols);
  tensor::TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = cols;
  m.values.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) m.values[i] = static_cast<int8_t>(w[i] > 0.0f ? 1 : (w[i] < 0.0f ? -1 : 0));
  m.scales.assign(static_cast<size_t>(rows), level);
  return m;
}

void permute_qk_rows(tensor::TernaryMatrix& m, int64_t n_heads) {
  TRIT_ASSERT(n_heads > 0 && m.rows % n_heads == 0 && (m.rows / n_heads) % 2 == 0);
  const int64_t hd = m.rows / n_heads, half = hd / 2;
  std::vector<int8_t> out(m.values.size());
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t dst = h * hd + 2 * i + j, src = h * hd + j * half + i;
        std::memcpy(out.data() + dst * m.cols, m.values.data() + src * m.cols, static_cast<size_t>(m.cols));
      }
  m.values = std::move(out);
  // Per-tensor scales (the only kind a checkpoint has) need no reordering.
}

ConvertSummary convert_hf(const ConvertOptions& o) {
  const std::string dir_name = o.hf_dir.string();
  if (!tensor::is_encodable(o.type_id)) fail("type {} cannot be written", gguf::type_name(o.type_id));
  if (o.embed_type_id != static_cast<uint32_t>(GgmlType::F16) &&
      o.embed_type_id != static_cast<uint32_t>(GgmlType::BF16) &&
      o.embed_type_id != static_cast<uint32_t>(GgmlType::Q8_0) && o.embed_type_id != kF32)
    fail("embedding type {} is not supported (f16, bf16, q8_0, f32)", gguf::type_name(o.embed_type_id));

  const Checkpoint ckpt = Checkpoint::open(o.hf_dir);
  // Tensor names start with "model." (transformers' *ForCausalLM), or not (sentence-transformers' saved
  // base models, as the embedding models are).
  std::string pre = "model.";
  if (!ckpt.find("model.layers.0.self_attn.q_proj.weight") && ckpt.find("layers.0.self_attn.q_proj.weight")) pre = "";
  const StTensor* q0 = ckpt.find(pre + "layers.0.self_attn.q_proj.weight");
  if (!q0)
    fail("{}: the checkpoint has no 'model.layers.0.self_attn.q_proj.weight'; not a llama-style model", dir_name);
  const HfModel m = read_hf_model(o.hf_dir, q0->dtype, o.arch_override);
  if (m.embedding && !ckpt.find(pre + "layers.0.self_attn.q_proj.norm.weight"))
    fail(
        "{}: a {} checkpoint without per-projection norms ('{}layers.0.self_attn.q_proj.norm.weight') is an ordinary "
        "model, not a BitNet embedding one; ternarising it would destroy it",
        dir_name, m.hf_arch, pre);
  tokenizer::Vocab vocab = load_hf_vocab(o.hf_dir, m.n_vocab);
  if (m.gguf_arch == "qwen3") {
    // As bitnet.cpp's converter: the sentence end the model was trained to pool is <|endoftext|>, appended.
    for (int32_t id = 0; id < vocab.n_tokens(); ++id)
      if (vocab.tokens[static_cast<size_t>(id)] == "<|endoftext|>") vocab.eos_id = id;
    vocab.add_eos = true;
  }

  // The tensor table.
  std::vector<Planned> plan;
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  plan.push_back({"token_embd.weight",
                  pre + "embed_tokens.weight",
                  {u(m.n_embd), u(m.n_vocab)},
                  o.embed_type_id,
                  Planned::kEmbedding});
  plan.push_back(
      {"output_norm.weight", pre + "norm.weight", {u(m.n_embd)}, kF32, Planned::kNorm, 0, m.gguf_arch == "gemma3"});
  if (!m.tied && !m.embedding) {  // embedding models need no output layer (bitnet.cpp skips it too)
    if (!ckpt.find("lm_head.weight"))
      fail("{}: config.json sets tie_word_embeddings false but the checkpoint has no 'lm_head.weight'", dir_name);
    plan.push_back(
        {"output.weight", "lm_head.weight", {u(m.n_embd), u(m.n_vocab)}, o.embed_type_id, Planned::kEmbedding});
  }
  const auto layer = m.layer_tensors();
  for (int64_t i = 0; i < m.n_layer; ++i) {
    for (const auto& t : layer) {
      Planned p{fmt::format("blk.{}.{}", i, t.gguf),
                fmt::format("{}layers.{}.{}", pre, i, t.hf),
                {},
                kF32,
                t.linear ? Planned::kLinear : Planned::kNorm};
      p.add_one = t.add_one;
      if (t.linear) {
        p.shape = {u(t.cols), u(t.rows)};
        p.type_id = o.type_id;
        if (t.permute_qk) p.permute_heads = t.permute_heads;
      } else {
        p.shape = {u(t.cols)};
      }
      plan.push_back(std::move(p));
    }
  }

  // Every tensor present; nothing in the checkpoint left over (biases, extra layers: another model).
  std::set<std::string> used;
  for (const auto& p : plan) {
    if (!ckpt.find(p.hf_name))
      fail("{}: the checkpoint has no tensor '{}' (needed for {} of a {} model with {} layers)", dir_name, p.hf_name,
           p.gguf_name, m.hf_arch, m.n_layer);
    used.insert(p.hf_name);
    if (p.kind == Planned::kLinear && m.encoding != LinearEncoding::kFloat)
      used.insert(p.hf_name.substr(0, p.hf_name.size() - 7) + ".weight_scale");
  }
  std::vector<std::string> unused;
  for (const auto& name : ckpt.names()) {
    if (used.count(name)) continue;
    if (name.ends_with(".rotary_emb.inv_freq") || ((m.tied || m.embedding) && name == "lm_head.weight")) continue;
    unused.push_back(name);
  }
  if (!unused.empty())
    fail(
        "{}: the checkpoint has {} tensor(s) a {} model does not use, e.g. '{}' (a different architecture or more "
        "layers than config.json's num_hidden_layers {}?)",
        dir_name, unused.size(), m.hf_arch, unused.front(), m.n_layer);

  // Types the shapes can be stored in.
  for (const auto& p : plan) {
    const bool lut =
        p.type_id == static_cast<uint32_t>(GgmlType::TL1) || p.type_id == static_cast<uint32_t>(GgmlType::TL2);
    if (lut &&
        !tensor::default_lut_config(p.type_id, static_cast<int64_t>(p.shape[1]), static_cast<int64_t>(p.shape[0])))
      fail(
          "{}: tensor '{}' ({} x {}) cannot be stored as {}: bitnet.cpp's lookup-table kernels are generated per "
          "matrix shape and none is known for this one; use i2_s",
          dir_name, p.gguf_name, p.shape[1], p.shape[0], gguf::type_name(p.type_id));
    const bool tq =
        p.type_id == static_cast<uint32_t>(GgmlType::TQ1_0) || p.type_id == static_cast<uint32_t>(GgmlType::TQ2_0);
    if (!gguf::tensor_n_bytes(p.type_id, p.shape) || (tq && p.shape[0] % 256 != 0))
      fail("{}: tensor '{}' (rows of {}) cannot be stored as {}: {}", dir_name, p.gguf_name, p.shape[0],
           gguf::type_name(p.type_id),
           p.type_id == static_cast<uint32_t>(GgmlType::I2_S) ? "i2_s needs a multiple of 128 weights"
                                                              : "rows do not fill whole blocks");
  }

  gguf::Writer w(o.out_path);
  const std::string a = m.gguf_arch + ".";
  auto u32 = [](int64_t v) { return gguf::Value(static_cast<uint32_t>(v)); };
  model::write_arch_metadata(w, {.arch = m.gguf_arch,
                                 .name = m.name,
                                 .file_type = o.type_id,
                                 .n_vocab = m.n_vocab,
                                 .n_ctx = m.n_ctx,
                                 .n_embd = m.n_embd,
                                 .n_layer = m.n_layer,
                                 .n_ff = m.n_ff,
                                 .n_head = m.n_head,
                                 .n_head_kv = m.n_head_kv,
                                 .head_dim = m.head_dim,
                                 .rope_base = m.rope_theta,
                                 .rms_eps = m.rms_eps});
  if (m.rope_linear_factor) {
    w.add(a + "rope.scaling.type", gguf::Value(std::string("linear")));
    w.add(a + "rope.scaling.factor", gguf::Value(static_cast<float>(*m.rope_linear_factor)));
  }
  const bool default_act = m.gguf_arch == "gemma3" || (m.gguf_arch == "bitnet-b1.58") == (m.hidden_act == "relu2");
  if (!default_act) w.add(a + "hidden_activation", gguf::Value(m.hidden_act));
  if (m.embedding) w.add(a + "pooling_type", u32(m.pooling));
  if (m.sliding_window) {
    w.add(a + "attention.sliding_window", u32(*m.sliding_window));
    w.add(a + "rope.freq_base_swa", gguf::Value(static_cast<float>(m.rope_local_base)));
  }
  if (m.query_pre_attn_scalar)
    w.add(a + "attention.query_pre_attn_scalar", gguf::Value(static_cast<float>(*m.query_pre_attn_scalar)));
  vocab.write_gguf(w);
  for (const auto& p : plan) w.add_tensor(p.gguf_name, p.shape, p.type_id);

  runtime::ProgressBar progress("converting", w.total_data_bytes(), runtime::ProgressBar::Unit::kBytes,
                                !o.show_progress);
  ConvertSummary summary{m, static_cast<int64_t>(plan.size()), 0};
  for (const auto& p : plan) {
    const StTensor& t = ckpt.get(p.hf_name);
    if (p.kind == Planned::kEmbedding) {
      const int64_t cols = static_cast<int64_t>(p.shape[0]), rows = static_cast<int64_t>(p.shape[1]);
      if (!t.is_float()) fail("{} has dtype {}, expected F32, F16 or BF16", where(t), t.dtype);
      if (t.shape != std::vector<int64_t>{rows, cols})
        fail("{} has shape {}, but config.json (vocab_size, hidden_size) makes it [{}, {}]", where(t),
             shape_str(t.shape), rows, cols);
      // Row by row: a 128k x 4k embedding never exists as floats all at once.
      std::vector<float> row(static_cast<size_t>(cols));
      const uint64_t row_shape[] = {static_cast<uint64_t>(cols)};
      for (int64_t r = 0; r < rows; ++r) {
        read_floats(t, r * cols, cols, row.data());
        const auto bytes = tensor::quantize(p.type_id, row, row_shape);
        w.write_tensor_data(bytes);
        progress.add(bytes.size());
        summary.n_bytes += bytes.size();
        if ((r + 1) % 4096 == 0) release_pages(t);
      }
      release_pages(t);
      continue;
    }
    std::vector<uint8_t> bytes;
    if (p.kind == Planned::kNorm) {
      check_vector(t, static_cast<int64_t>(p.shape[0]));
      std::vector<float> v = read_floats(t);
      if (p.add_one)
        for (float& x : v) x += 1.0f;
      bytes = tensor::quantize(kF32, v, p.shape);
    } else {
      const tensor::TernaryMatrix tm = load_linear(ckpt, m, p);
      if (tensor::is_ternary(p.type_id)) {
        bytes = tensor::pack_ternary(p.type_id, tm);
      } else {
        std::vector<float> f(tm.values.size());
        for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(tm.values[i]) * tm.scales[0];
        bytes = tensor::quantize(p.type_id, f, p.shape);
      }
    }
    w.write_tensor_data(bytes);
    progress.add(bytes.size());
    summary.n_bytes += bytes.size();
    release_pages(t);
  }
  w.finish();
  progress.finish();
  return summary;
}

}  // namespace trit::convert
