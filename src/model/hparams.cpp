// HParams from GGUF metadata, validated where they enter.
#include "model/hparams.h"

#include <array>
#include <cmath>

#include "gguf/reader.h"
#include "runtime/error.h"

namespace trit::model {
namespace {

using kernels::FfnActivation;
using kernels::RopeStyle;

constexpr std::array<ArchTraits, 6> kArchs = {{
    {"bitnet", true, FfnActivation::kSilu, RopeStyle::kNeox},
    {"bitnet-b1.58", true, FfnActivation::kReluSqr, RopeStyle::kNeox},
    {"bitnet-25", true, FfnActivation::kReluSqr, RopeStyle::kNeox},
    {"llama", false, FfnActivation::kSilu, RopeStyle::kNorm},
    {"qwen3", false, FfnActivation::kSilu, RopeStyle::kNeox, /*qk_norm=*/true},
    {"gemma3", false, FfnActivation::kGeluTanh, RopeStyle::kNeox, /*qk_norm=*/true, /*post_norms=*/true,
     /*embd_scale=*/true, /*swa_pattern=*/6},
}};

int64_t positive(const gguf::Reader& r, const std::string& key, int64_t value) {
  if (value <= 0 || value > (int64_t{1} << 32))
    trit::fail("{}: metadata key '{}' is {}, expected a positive size", r.name(), key, value);
  return value;
}

}  // namespace

const ArchTraits* find_arch(const std::string& name) {
  for (const auto& a : kArchs)
    if (name == a.name) return &a;
  return nullptr;
}

std::string known_arch_names() {
  std::string out;
  for (const auto& a : kArchs) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

HParams HParams::from_gguf(const gguf::Reader& r) {
  HParams h;
  h.arch = r.get_string("general.architecture");
  const ArchTraits* traits = find_arch(h.arch);
  if (!traits)
    trit::fail("{}: architecture '{}' is not supported (trit runs: {})", r.name(), h.arch, known_arch_names());
  h.traits = *traits;
  const std::string p = h.arch + ".";
  auto get = [&](const char* key) { return positive(r, p + key, r.get_int(p + key)); };

  h.n_embd = get("embedding_length");
  h.n_layer = get("block_count");
  h.n_head = get("attention.head_count");
  h.n_head_kv = r.find_int(p + "attention.head_count_kv") ? get("attention.head_count_kv") : h.n_head;
  h.n_ff = get("feed_forward_length");
  h.n_ctx_train = r.find_int(p + "context_length") ? get("context_length") : 2048;
  if (r.find_int(p + "attention.key_length")) {
    h.head_dim = get("attention.key_length");
    if (r.find_int(p + "attention.value_length") && get("attention.value_length") != h.head_dim)
      trit::fail("{}: attention.key_length and attention.value_length differ; trit needs them equal", r.name());
  } else {
    if (h.n_embd % h.n_head != 0)
      trit::fail("{}: embedding_length {} is not a multiple of attention.head_count {}", r.name(), h.n_embd, h.n_head);
    h.head_dim = h.n_embd / h.n_head;
  }
  if (h.n_head % h.n_head_kv != 0)
    trit::fail("{}: attention.head_count {} is not a multiple of attention.head_count_kv {}", r.name(), h.n_head,
               h.n_head_kv);

  if (auto eps = r.find_float(p + "attention.layer_norm_rms_epsilon")) h.rms_eps = static_cast<float>(*eps);
  if (!(h.rms_eps > 0.0f && h.rms_eps < 1.0f))
    trit::fail("{}: {}attention.layer_norm_rms_epsilon is {}, expected a small positive number", r.name(), p,
               h.rms_eps);

  h.rope.style = traits->rope_style;
  h.rope.n_rot = r.find_int(p + "rope.dimension_count") ? get("rope.dimension_count") : h.head_dim;
  if (h.rope.n_rot > h.head_dim || h.rope.n_rot % 2 != 0)
    trit::fail("{}: {}rope.dimension_count {} must be even and at most the head size {}", r.name(), p, h.rope.n_rot,
               h.head_dim);
  h.rope.freq_base = static_cast<float>(r.find_float(p + "rope.freq_base").value_or(10000.0));
  if (!(h.rope.freq_base > 1.0f)) trit::fail("{}: {}rope.freq_base is {}, expected > 1", r.name(), p, h.rope.freq_base);
  if (auto type = r.find_string(p + "rope.scaling.type"); type && *type != "none") {
    if (*type != "linear") trit::fail("{}: rope scaling type '{}' is not supported (only linear)", r.name(), *type);
    const double factor = r.get_float(p + "rope.scaling.factor");
    if (!(factor > 0.0)) trit::fail("{}: {}rope.scaling.factor is {}, expected > 0", r.name(), p, factor);
    h.rope.freq_scale = static_cast<float>(1.0 / factor);
  }

  // The FFN activation: the architecture's default, or <arch>.hidden_activation where a file says so
  // (llama.cpp's proposed fix for 2B-4T files written as "bitnet").
  h.ffn_act = traits->ffn_act;
  if (auto act = r.find_string(p + "hidden_activation")) {
    if (*act == "silu")
      h.ffn_act = FfnActivation::kSilu;
    else if (*act == "relu2" || *act == "relu_sqr")
      h.ffn_act = FfnActivation::kReluSqr;
    else if (*act == "gelu" || *act == "gelu_pytorch_tanh")
      h.ffn_act = FfnActivation::kGeluTanh;
    else
      trit::fail("{}: {}hidden_activation '{}' is not supported (silu, relu2, gelu)", r.name(), p, *act);
  }

  // Attention scale (Gemma 3: 1/sqrt(query_pre_attn_scalar), which is head_dim in the released models),
  // sliding window, pooling.
  if (auto s = r.find_float(p + "attention.query_pre_attn_scalar")) {
    if (!(*s > 0.0)) trit::fail("{}: {}attention.query_pre_attn_scalar is {}, expected > 0", r.name(), p, *s);
    h.attn_scale = static_cast<float>(1.0 / std::sqrt(*s));
  }
  if (auto swa = r.find_int(p + "attention.sliding_window"); swa && *swa > 0 && traits->swa_pattern > 0) {
    h.n_swa = positive(r, p + "attention.sliding_window", *swa);
    h.rope_freq_base_swa = static_cast<float>(r.find_float(p + "rope.freq_base_swa").value_or(10000.0));
  }
  if (auto pool = r.find_int(p + "pooling_type")) {
    if (*pool < 0 || *pool > 3)
      trit::fail("{}: {}pooling_type {} is not supported (0 none, 1 mean, 2 cls, 3 last)", r.name(), p, *pool);
    h.pooling = static_cast<Pooling>(*pool);
  }

  // The vocabulary size: the token list is the authority, <arch>.vocab_size must agree when present.
  if (const auto* tokens = r.find_array("tokenizer.ggml.tokens"))
    h.n_vocab = static_cast<int64_t>(tokens->items.size());
  if (auto n = r.find_int(p + "vocab_size")) {
    if (h.n_vocab && *n != h.n_vocab)
      trit::fail("{}: {}vocab_size is {} but tokenizer.ggml.tokens has {} entries", r.name(), p, *n, h.n_vocab);
    h.n_vocab = positive(r, p + "vocab_size", *n);
  }
  return h;
}

}  // namespace trit::model
