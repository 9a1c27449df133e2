// export_gguf: metadata as model/dummy.cpp writes a bitnet-b1.58 file, then each tensor in layout order.
#include "train/train_export.h"

#include "gguf/ggml_type.h"
#include "gguf/writer.h"
#include "model/metadata.h"
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
  model::write_arch_metadata(w, {.arch = "bitnet-b1.58",
                                 .name = o.name,
                                 .file_type = o.type_id,
                                 .n_vocab = c.n_vocab,
                                 .n_ctx = c.n_ctx,
                                 .n_embd = c.n_embd,
                                 .n_layer = c.n_layer,
                                 .n_ff = c.n_ff,
                                 .n_head = c.n_head,
                                 .n_head_kv = c.n_head_kv,
                                 .head_dim = c.head_dim(),
                                 .rope_base = c.rope_base,
                                 .rms_eps = c.rms_eps});
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
