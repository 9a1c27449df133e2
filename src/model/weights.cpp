// Weight binding: each tensor found by its GGUF name, shape-checked, decoded to the reference form.
#include "model/weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "gguf/reader.h"
#include "kernels/i2_matrix.h"
#include "runtime/assert.h"
#include "runtime/error.h"
#include "runtime/progress.h"
#include "tensor/codec.h"

namespace trit::model {

void Embedding::row(int32_t id, float* out) const {
  if (row_bytes) {
    tensor::dequantize_row(tensor->type_id, tensor->data.data() + static_cast<uint64_t>(id) * row_bytes, out, n_embd);
  } else {
    std::copy_n(decoded.data() + static_cast<int64_t>(id) * n_embd, n_embd, out);
  }
}

namespace {

class Binder {
 public:
  Binder(gguf::Reader& reader, bool show_progress, runtime::HugeBuffer& arena)
      : r_(reader),
        progress_("loading", reader.tensors().size(), runtime::ProgressBar::Unit::kCount, !show_progress),
        arena_(arena) {}

  // Bytes of huge-page memory the repacked ternary tensors need (each slice 64-byte aligned).
  static uint64_t repacked_bytes(const gguf::Reader& r) {
    uint64_t n = 0;
    for (const auto& t : r.tensors())
      if (tensor::is_ternary(t.type_id) && t.shape.size() == 2 && !in_place(t))
        n += (static_cast<uint64_t>(
                  kernels::i2_packed_bytes(static_cast<int64_t>(t.shape[1]), static_cast<int64_t>(t.shape[0]))) +
              63) /
             64 * 64;
    return n;
  }
  static bool in_place(const gguf::TensorInfo& t) {
    return t.type() == gguf::GgmlType::I2_S && t.shape.size() == 2 &&
           kernels::i2s_usable_in_place(static_cast<int64_t>(t.shape[1]), static_cast<int64_t>(t.shape[0]));
  }

  const gguf::TensorInfo& expect(const std::string& name, std::vector<uint64_t> shape) {
    const gguf::TensorInfo& t = r_.tensor(name);
    if (t.shape != shape)
      trit::fail("{}: tensor '{}' has shape [{}], expected [{}]", r_.name(), name, fmt::join(t.shape, ", "),
                 fmt::join(shape, ", "));
    if (!tensor::is_supported(t.type_id))
      trit::fail("{}: tensor '{}' has type {}, which trit cannot decode", r_.name(), name, gguf::type_name(t.type_id));
    return t;
  }

  std::vector<float> vector(const std::string& name, int64_t n) {
    auto v = tensor::dequantize(expect(name, {static_cast<uint64_t>(n)}));
    progress_.add(1);
    return v;
  }

  Linear linear(const std::string& base, int64_t rows, int64_t cols, bool to_q8 = false) {
    Linear l;
    l.name = base + ".weight";
    l.rows = rows;
    l.cols = cols;
    bind(l, expect(l.name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)}), to_q8);
    progress_.add(1);
    if (const auto* s = r_.find_tensor(base + ".scale")) {
      if (s->n_elements() != 1) trit::fail("{}: tensor '{}' must hold one value", r_.name(), s->name);
      l.out_scale = tensor::dequantize(*s)[0];
      progress_.add(1);
    }
    return l;
  }

  // The weight form for the tensor's type (linear.h). Q6_K weights, and float ones when to_q8, are
  // quantised to Q8_0 row by row (no float copy of the whole matrix).
  void bind(Linear& l, const gguf::TensorInfo& t, bool to_q8 = false) {
    using gguf::GgmlType;
    const bool float_type = t.type() == GgmlType::F16 || t.type() == GgmlType::F32 || t.type() == GgmlType::BF16;
    if ((t.type() == GgmlType::Q6_K || (to_q8 && float_type)) && l.cols % 32 == 0) {
      const uint64_t row_bytes = *gguf::row_n_bytes(t.type_id, static_cast<uint64_t>(l.cols));
      const int64_t q8_row_bytes = l.cols / 32 * 34;
      l.q8_owned = runtime::HugeBuffer(static_cast<size_t>(l.rows * q8_row_bytes));
      std::vector<float> row(static_cast<size_t>(l.cols));
      const uint64_t shape[] = {static_cast<uint64_t>(l.cols)};
      for (int64_t r = 0; r < l.rows; ++r) {
        tensor::dequantize_row(t.type_id, t.data.data() + static_cast<uint64_t>(r) * row_bytes, row.data(), l.cols);
        const auto q = tensor::quantize(static_cast<uint32_t>(GgmlType::Q8_0), row, shape);
        std::copy(q.begin(), q.end(), l.q8_owned.data() + r * q8_row_bytes);
      }
      l.kind = Linear::Kind::kQ8;
      l.q8 = l.q8_owned.data();
    } else if (in_place(t)) {
      l.kind = Linear::Kind::kI2;
      l.i2 = kernels::i2_view_i2s(t.data, l.rows, l.cols);
    } else if (tensor::is_ternary(t.type_id)) {
      tensor::TernaryMatrix m = tensor::unpack_ternary(t);
      r_.release_tensor_data(t.name);  // repacked below: the loaded bytes are not needed any more
      float scale = 0.0f;
      if (kernels::has_single_scale(m, &scale)) {
        const uint64_t n = (static_cast<uint64_t>(kernels::i2_packed_bytes(l.rows, l.cols)) + 63) / 64 * 64;
        TRIT_ASSERT(arena_used_ + n <= arena_.size());
        l.kind = Linear::Kind::kI2;
        l.i2 = kernels::i2_pack_into(m, scale, arena_.data() + arena_used_);
        arena_used_ += n;
      } else {
        l.kind = Linear::Kind::kTernaryRef;
        l.ternary = std::move(m);
      }
    } else if (t.type() == GgmlType::F16) {
      l.kind = Linear::Kind::kF16;
      l.f16 = reinterpret_cast<const uint16_t*>(t.data.data());
    } else if (t.type() == GgmlType::Q8_0) {
      l.kind = Linear::Kind::kQ8;
      l.q8 = t.data.data();
    } else if (t.type() == GgmlType::F32) {
      l.kind = Linear::Kind::kF32;
      l.f32 = reinterpret_cast<const float*>(t.data.data());
    } else {
      l.kind = Linear::Kind::kF32;
      l.dense = tensor::dequantize(t);
      l.f32 = l.dense.data();
    }
  }

  Embedding embedding(const std::string& name, int64_t rows, int64_t cols) {
    Embedding e;
    e.tensor = &expect(name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)});
    e.n_embd = cols;
    if (auto rb = gguf::row_n_bytes(e.tensor->type_id, static_cast<uint64_t>(cols))) {
      e.row_bytes = *rb;
    } else {
      e.decoded = tensor::dequantize(*e.tensor);
    }
    progress_.add(1);
    return e;
  }

  void finish() { progress_.finish(); }

 private:
  gguf::Reader& r_;
  runtime::ProgressBar progress_;
  runtime::HugeBuffer& arena_;
  uint64_t arena_used_ = 0;
};

}  // namespace

int64_t Weights::bytes_per_token() const {
  int64_t n = output.weight_bytes();
  for (const LayerWeights& l : layers)
    for (const Linear* lin : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      n += lin->weight_bytes();
  return n;
}

Weights Weights::load(gguf::Reader& r, const HParams& h, bool show_progress, bool output_q8) {
  Weights w;
  w.repacked = runtime::HugeBuffer(Binder::repacked_bytes(r));
  Binder b(r, show_progress, w.repacked);
  w.token_embd = b.embedding("token_embd.weight", h.n_vocab, h.n_embd);
  w.output_norm = b.vector("output_norm.weight", h.n_embd);
  if (r.find_tensor("output.weight")) {
    w.output = b.linear("output", h.n_vocab, h.n_embd, output_q8);
  } else {
    // Tied: the embedding matrix is also the output projection.
    w.output.name = "token_embd.weight";
    w.output.rows = h.n_vocab;
    w.output.cols = h.n_embd;
    if (w.token_embd.decoded.empty()) {
      b.bind(w.output, *w.token_embd.tensor, output_q8);
    } else {
      w.output.kind = Linear::Kind::kF32;
      w.output.f32 = w.token_embd.decoded.data();
    }
  }
  if (r.find_tensor("rope_freqs.weight")) w.rope_freqs = b.vector("rope_freqs.weight", h.rope.n_rot / 2);

  w.layers.resize(static_cast<size_t>(h.n_layer));
  for (int64_t i = 0; i < h.n_layer; ++i) {
    LayerWeights& l = w.layers[i];
    const std::string p = fmt::format("blk.{}.", i);
    l.attn_norm = b.vector(p + "attn_norm.weight", h.n_embd);
    l.wq = b.linear(p + "attn_q", h.n_embd_q(), h.n_embd);
    l.wk = b.linear(p + "attn_k", h.n_embd_kv(), h.n_embd);
    l.wv = b.linear(p + "attn_v", h.n_embd_kv(), h.n_embd);
    l.wo = b.linear(p + "attn_output", h.n_embd, h.n_embd_q());
    l.ffn_norm = b.vector(p + "ffn_norm.weight", h.n_embd);
    l.ffn_gate = b.linear(p + "ffn_gate", h.n_ff, h.n_embd);
    l.ffn_up = b.linear(p + "ffn_up", h.n_ff, h.n_embd);
    l.ffn_down = b.linear(p + "ffn_down", h.n_embd, h.n_ff);
    if (h.traits.sub_norms) {
      l.attn_sub_norm = b.vector(p + "attn_sub_norm.weight", h.n_embd_q());
      l.ffn_sub_norm = b.vector(p + "ffn_sub_norm.weight", h.n_ff);
    }
    if (h.traits.qk_norm) {
      l.attn_q_norm = b.vector(p + "attn_q_norm.weight", h.head_dim);
      l.attn_k_norm = b.vector(p + "attn_k_norm.weight", h.head_dim);
    }
    if (h.traits.post_norms) {
      l.post_attn_norm = b.vector(p + "post_attention_norm.weight", h.n_embd);
      l.post_ffw_norm = b.vector(p + "post_ffw_norm.weight", h.n_embd);
    }
    // The embedding models' per-projection input norms: all seven or none.
    if (r.find_tensor(p + "attn_q_norm_in.weight")) {
      l.q_norm_in = b.vector(p + "attn_q_norm_in.weight", h.n_embd);
      l.k_norm_in = b.vector(p + "attn_k_norm_in.weight", h.n_embd);
      l.v_norm_in = b.vector(p + "attn_v_norm_in.weight", h.n_embd);
      l.o_norm_in = b.vector(p + "attn_output_norm_in.weight", h.n_embd_q());
      l.gate_norm_in = b.vector(p + "ffn_gate_norm_in.weight", h.n_embd);
      l.up_norm_in = b.vector(p + "ffn_up_norm_in.weight", h.n_embd);
      l.down_norm_in = b.vector(p + "ffn_down_norm_in.weight", h.n_ff);
    }
  }
  b.finish();
  return w;
}

}  // namespace trit::model
