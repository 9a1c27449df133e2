// export_gguf: metadata as model/dummy.cpp writes a bitnet-b1.58 file, then each tensor in layout order.
#include "train/train_export.h"

#include "gguf/ggml_type.h"
#include "gguf/writer.h"
#include "runtime/error.h"
#include "tensor/codec.h"
#include "tensor/ternary.h"

namespace trit::train {

void export_gguf(const ExportOptions& o, const ParamLayout& layout, std::span<const float> params,
                 const tokenizer::Vocab& vocab) {
  const ModelConfig& c = layout.config;
  if (vocab.n_tokens() != c.n_vocab)
    trit::fail("{}: the tokenizer has {} tokens, the model {}", o.path, vocab.n_tokens(), c.n_vocab);
  if (!tensor::is_ternary(o.type_id) || o.type_id == static_cast<uint32_t>(gguf::GgmlType::TL1) ||
      o.type_id == static_cast<uint32_t>(gguf::GgmlType::TL2))
    trit::fail("--type {}: trained models are written as i2_s, tq2_0 or tq1_0", gguf::type_name(o.type_id));
  gguf::Writer w(o.path);
  const std::string arch = "bitnet-b1.58";
  const std::string p = arch + ".";
  auto u32 = [](int64_t v) { return gguf::Value(static_cast<uint32_t>(v)); };
  w.add("general.architecture", gguf::Value(arch));
  w.add("general.name", gguf::Value(o.name));
  w.add("general.file_type", gguf::Value(o.type_id));
  w.add(p + "vocab_size", u32(c.n_vocab));
  w.add(p + "context_length", u32(c.n_ctx));
  w.add(p + "embedding_length", u32(c.n_embd));
  w.add(p + "block_count", u32(c.n_layer));
  w.add(p + "feed_forward_length", u32(c.n_ff));
  w.add(p + "rope.dimension_count", u32(c.head_dim()));
  w.add(p + "rope.freq_base", gguf::Value(c.rope_base));
  w.add(p + "attention.head_count", u32(c.n_head));
  w.add(p + "attention.head_count_kv", u32(c.n_head_kv));
  w.add(p + "attention.layer_norm_rms_epsilon", gguf::Value(c.rms_eps));
  vocab.write_gguf(w);

  auto type_of = [&](const ParamInfo& t) -> uint32_t {
    switch (t.kind) {
      case ParamKind::kEmbedding:
        return static_cast<uint32_t>(gguf::GgmlType::F16);
      case ParamKind::kNorm:
        return static_cast<uint32_t>(gguf::GgmlType::F32);
      case ParamKind::kLinear:
        return o.type_id;
    }
    return 0;
  };
  auto shape_of = [](const ParamInfo& t) {
    return t.kind == ParamKind::kNorm
               ? std::vector<uint64_t>{static_cast<uint64_t>(t.cols)}
               : std::vector<uint64_t>{static_cast<uint64_t>(t.cols), static_cast<uint64_t>(t.rows)};
  };
  for (const ParamInfo& t : layout.tensors) {
    if (!gguf::tensor_n_bytes(type_of(t), shape_of(t)))
      trit::fail("{}: tensor '{}' ({} x {}) does not fill whole {} blocks", o.path, t.name, t.rows, t.cols,
                 gguf::type_name(type_of(t)));
    w.add_tensor(t.name, shape_of(t), type_of(t));
  }
  for (const ParamInfo& t : layout.tensors) {
    const std::span<const float> data = params.subspan(t.offset, t.size());
    if (t.kind == ParamKind::kLinear) {
      tensor::TernaryMatrix m = tensor::ternarize_absmean(data, t.rows, t.cols);
      if (o.type_id != static_cast<uint32_t>(gguf::GgmlType::I2_S)) {  // TQ types: one scale per 256-weight block
        m.group_size = 256;
        m.scales.assign(static_cast<size_t>(t.rows * t.cols / 256), m.scales[0]);
      }
      w.write_tensor_data(tensor::pack_ternary(o.type_id, m));
    } else {
      w.write_tensor_data(tensor::quantize(type_of(t), data, shape_of(t)));
    }
  }
  w.finish();
}

}  // namespace trit::train
