// write_arch_metadata: one place for the keys every model file carries.
#include "model/metadata.h"

namespace trit::model {

void write_arch_metadata(gguf::Writer& w, const ArchMetadata& m) {
  const std::string p = m.arch + ".";
  auto u32 = [](int64_t v) { return gguf::Value(static_cast<uint32_t>(v)); };
  w.add("general.architecture", gguf::Value(m.arch));
  w.add("general.name", gguf::Value(m.name));
  w.add("general.file_type", gguf::Value(m.file_type));
  w.add(p + "vocab_size", u32(m.n_vocab));
  w.add(p + "context_length", u32(m.n_ctx));
  w.add(p + "embedding_length", u32(m.n_embd));
  w.add(p + "block_count", u32(m.n_layer));
  w.add(p + "feed_forward_length", u32(m.n_ff));
  w.add(p + "rope.dimension_count", u32(m.head_dim));
  w.add(p + "rope.freq_base", gguf::Value(static_cast<float>(m.rope_base)));
  w.add(p + "attention.head_count", u32(m.n_head));
  w.add(p + "attention.head_count_kv", u32(m.n_head_kv));
  w.add(p + "attention.layer_norm_rms_epsilon", gguf::Value(static_cast<float>(m.rms_eps)));
  if (m.head_dim * m.n_head != m.n_embd) {
    w.add(p + "attention.key_length", u32(m.head_dim));
    w.add(p + "attention.value_length", u32(m.head_dim));
  }
}

}  // namespace trit::model
