// config.json -> HfModel: the architecture table and the size checks.
#include "convert/hf_arch.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace trit::convert {
namespace {

using Json = nlohmann::json;

struct HfArch {
  const char* hf_name;
  const char* gguf_arch;
  const char* what;           // for messages
  const char* attn_sub_norm;  // HF name of the norm before o_proj, or nullptr
  const char* ffn_sub_norm;   // HF name of the norm before down_proj, or nullptr
  bool permute_qk;            // ggml NORM RoPE pairing needs Q/K rows reordered
  bool needs_bitnet_quant;    // float weights are only ternary-trained when config says quant_method bitnet
  const char* default_act;
};

// 1bitLLM's BitnetForCausalLM is written as llama.cpp / bitnet.cpp do ("bitnet", the only BitNet
// architecture bitnet.cpp's llama.cpp loads); Microsoft's 2B-4T as bitnet.cpp's newer converter does.
constexpr HfArch kArchs[] = {
    {"BitnetForCausalLM", "bitnet", "1bitLLM bitnet_b1_58-large / -3B", "self_attn.inner_attn_ln.weight",
     "mlp.ffn_layernorm.weight", false, false, "silu"},
    {"BitNetForCausalLM", "bitnet-b1.58", "microsoft/bitnet-b1.58-2B-4T (packed or -bf16)",
     "self_attn.attn_sub_norm.weight", "mlp.ffn_sub_norm.weight", false, false, "relu2"},
    {"LlamaForCausalLM", "llama", "Llama3-8B-1.58-100B-tokens, Falcon3-*-1.58bit", nullptr, nullptr, true, true,
     "silu"},
    // The BitNet embedding models, found by config.json's model_type (as bitnet.cpp's converter does) when
    // their architectures entry is not one of these.
    {"Qwen3ForCausalLM", "qwen3", "microsoft/bitnet-embedding-0.6b (model_type qwen3)", nullptr, nullptr, false, false,
     "silu"},
    {"Qwen3Model", "qwen3", "bitnet-embedding-0.6b", nullptr, nullptr, false, false, "silu"},
    {"Gemma3ForCausalLM", "gemma3", "microsoft/bitnet-embedding-270m (model_type gemma3_text)", nullptr, nullptr, false,
     false, "gelu"},
    {"Gemma3TextModel", "gemma3", "bitnet-embedding-270m", nullptr, nullptr, false, false, "gelu"},
};

const HfArch* find_by_model_type(const std::string& model_type) {
  for (const auto& a : kArchs)
    if ((model_type == "qwen3" && std::string(a.gguf_arch) == "qwen3") ||
        (model_type == "gemma3_text" && std::string(a.gguf_arch) == "gemma3"))
      return &a;
  return nullptr;
}

const HfArch* find_hf_arch(const std::string& name) {
  for (const auto& a : kArchs)
    if (name == a.hf_name) return &a;
  return nullptr;
}

// sentence-transformers' pooling module (modules.json -> <path>/config.json) as llama.cpp's
// pooling_type; last-token pooling (the embedding models' own) when the folder says nothing.
int64_t read_pooling(const std::filesystem::path& dir) {
  std::ifstream in(dir / "modules.json");
  if (!in) return 3;
  Json modules;
  try {
    modules = Json::parse(in);
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", (dir / "modules.json").string(), e.what());
  }
  if (!modules.is_array()) return 3;
  for (const auto& mod : modules) {
    if (!mod.is_object() || !mod.value("type", std::string()).ends_with("Pooling")) continue;
    std::ifstream pin(dir / mod.value("path", std::string()) / "config.json");
    if (!pin) return 3;
    Json p;
    try {
      p = Json::parse(pin);
    } catch (const Json::exception& e) {
      fail("{}: pooling config is not valid JSON: {}", dir.string(), e.what());
    }
    if (p.value("pooling_mode_mean_tokens", false)) return 1;
    if (p.value("pooling_mode_cls_token", false)) return 2;
    if (p.value("pooling_mode_lasttoken", false)) return 3;
    fail("{}: the pooling module asks for a pooling trit does not run (mean, cls, lasttoken)", dir.string());
  }
  return 3;
}

}  // namespace

std::string known_hf_archs() {
  std::string out;
  for (const auto& a : kArchs) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", a.hf_name, a.what);
  return out;
}

bool is_embedding_arch(const std::string& gguf_arch) { return gguf_arch == "qwen3" || gguf_arch == "gemma3"; }

std::vector<LayerTensor> HfModel::layer_tensors() const {
  const int64_t q = n_head * head_dim, kv = n_head_kv * head_dim;
  std::vector<LayerTensor> t;
  if (embedding) {
    // bitnet.cpp's convert-bitnet-embedding-to-gguf.py names; Gemma's own norms get + 1, the
    // BitLinear input norms (<proj>.norm.weight) do not.
    const bool gemma = gguf_arch == "gemma3";
    auto norm = [&](const char* hf, const char* gg, int64_t n, bool gemma_norm) {
      t.push_back({hf, gg, false, 1, n, false, 0, gemma && gemma_norm});
    };
    auto proj = [&](const std::string& hf, const std::string& gg, int64_t rows, int64_t cols) {
      t.push_back({hf + ".weight", gg + ".weight", true, rows, cols, false});
      t.push_back({hf + ".norm.weight", gg + "_norm_in.weight", false, 1, cols, false});
    };
    norm("input_layernorm.weight", "attn_norm.weight", n_embd, true);
    proj("self_attn.q_proj", "attn_q", q, n_embd);
    proj("self_attn.k_proj", "attn_k", kv, n_embd);
    proj("self_attn.v_proj", "attn_v", kv, n_embd);
    proj("self_attn.o_proj", "attn_output", n_embd, q);
    norm("self_attn.q_norm.weight", "attn_q_norm.weight", head_dim, true);
    norm("self_attn.k_norm.weight", "attn_k_norm.weight", head_dim, true);
    if (gemma) {
      norm("post_attention_layernorm.weight", "post_attention_norm.weight", n_embd, true);
      norm("pre_feedforward_layernorm.weight", "ffn_norm.weight", n_embd, true);
      norm("post_feedforward_layernorm.weight", "post_ffw_norm.weight", n_embd, true);
    } else {
      norm("post_attention_layernorm.weight", "ffn_norm.weight", n_embd, false);
    }
    proj("mlp.gate_proj", "ffn_gate", n_ff, n_embd);
    proj("mlp.up_proj", "ffn_up", n_ff, n_embd);
    proj("mlp.down_proj", "ffn_down", n_embd, n_ff);
    return t;
  }
  const HfArch* a = find_hf_arch(hf_arch);
  t.push_back({"input_layernorm.weight", "attn_norm.weight", false, 1, n_embd, false});
  t.push_back({"self_attn.q_proj.weight", "attn_q.weight", true, q, n_embd, a->permute_qk, n_head});
  t.push_back({"self_attn.k_proj.weight", "attn_k.weight", true, kv, n_embd, a->permute_qk, n_head_kv});
  t.push_back({"self_attn.v_proj.weight", "attn_v.weight", true, kv, n_embd, false});
  t.push_back({"self_attn.o_proj.weight", "attn_output.weight", true, n_embd, q, false});
  if (a->attn_sub_norm) t.push_back({a->attn_sub_norm, "attn_sub_norm.weight", false, 1, q, false});
  t.push_back({"post_attention_layernorm.weight", "ffn_norm.weight", false, 1, n_embd, false});
  t.push_back({"mlp.gate_proj.weight", "ffn_gate.weight", true, n_ff, n_embd, false});
  t.push_back({"mlp.up_proj.weight", "ffn_up.weight", true, n_ff, n_embd, false});
  t.push_back({"mlp.down_proj.weight", "ffn_down.weight", true, n_embd, n_ff, false});
  if (a->ffn_sub_norm) t.push_back({a->ffn_sub_norm, "ffn_sub_norm.weight", false, 1, n_ff, false});
  return t;
}

HfModel read_hf_model(const std::filesystem::path& dir, const std::string& q_proj_dtype,
                      const std::string& arch_override) {
  const auto path = (dir / "config.json").string();
  std::ifstream in(path);
  if (!in) fail("{}: cannot read the file (is {} a Hugging Face model folder?)", path, dir.string());
  Json c;
  try {
    c = Json::parse(in);
  } catch (const Json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
  if (!c.is_object()) fail("{}: not a JSON object", path);

  HfModel m;
  if (!arch_override.empty()) {
    m.hf_arch = arch_override;
  } else {
    if (!c.contains("architectures") || !c["architectures"].is_array() || c["architectures"].empty() ||
        !c["architectures"][0].is_string())
      fail("{}: no \"architectures\" list (pass --arch to name one: {})", path, known_hf_archs());
    m.hf_arch = c["architectures"][0].get<std::string>();
  }
  const HfArch* a = find_hf_arch(m.hf_arch);
  if (!a && arch_override.empty() && c.contains("model_type") && c["model_type"].is_string())
    a = find_by_model_type(c["model_type"].get<std::string>());
  if (!a) fail("{}: architecture '{}' is not supported (trit converts: {})", path, m.hf_arch, known_hf_archs());
  m.hf_arch = a->hf_name;
  m.gguf_arch = a->gguf_arch;
  m.embedding = is_embedding_arch(m.gguf_arch);

  auto get_int = [&](const char* key, std::optional<int64_t> fallback = std::nullopt) -> int64_t {
    auto it = c.find(key);
    if (it == c.end() || it->is_null()) {
      if (fallback) return *fallback;
      fail("{}: missing \"{}\"", path, key);
    }
    if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (int64_t{1} << 31))
      fail("{}: \"{}\" is {}, expected a positive integer", path, key, it->dump());
    return it->get<int64_t>();
  };
  auto get_float = [&](const char* key, double fallback) -> double {
    auto it = c.find(key);
    if (it == c.end() || it->is_null()) return fallback;
    if (!it->is_number()) fail("{}: \"{}\" is {}, expected a number", path, key, it->dump());
    return it->get<double>();
  };

  m.n_vocab = get_int("vocab_size");
  m.n_embd = get_int("hidden_size");
  m.n_ff = get_int("intermediate_size");
  m.n_layer = get_int("num_hidden_layers");
  m.n_head = get_int("num_attention_heads");
  m.n_head_kv = get_int("num_key_value_heads", m.n_head);
  m.n_ctx = get_int("max_position_embeddings", 2048);
  if (c.contains("head_dim") && !c["head_dim"].is_null()) {
    m.head_dim = get_int("head_dim");
  } else {
    if (m.n_embd % m.n_head != 0)
      fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", path, m.n_embd, m.n_head);
    m.head_dim = m.n_embd / m.n_head;
  }
  if (m.n_head % m.n_head_kv != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", path, m.n_head, m.n_head_kv);
  if (m.head_dim % 2 != 0) fail("{}: the head size {} is odd; RoPE needs it even", path, m.head_dim);
  m.rope_theta = get_float("rope_theta", 10000.0);
  m.rms_eps = get_float("rms_norm_eps", 1e-5);
  if (!(m.rope_theta > 1.0)) fail("{}: rope_theta is {}, expected > 1", path, m.rope_theta);
  if (!(m.rms_eps > 0.0 && m.rms_eps < 1.0))
    fail("{}: rms_norm_eps is {}, expected a small positive number", path, m.rms_eps);

  if (auto it = c.find("rope_scaling"); it != c.end() && !it->is_null()) {
    if (!it->is_object()) fail("{}: rope_scaling is {}, expected an object or null", path, it->dump());
    std::string type = it->value("rope_type", it->value("type", std::string("default")));
    if (type == "linear") {
      const double f = it->value("factor", 0.0);
      if (!(f > 0.0)) fail("{}: rope_scaling.factor is {}, expected > 0", path, f);
      if (f != 1.0) m.rope_linear_factor = f;
    } else if (type != "default") {
      fail("{}: rope_scaling type '{}' is not supported (trit converts linear scaling only)", path, type);
    }
  }

  bool tie_default = m.gguf_arch != "llama";
  m.tied = c.value("tie_word_embeddings", tie_default);

  // Name: _name_or_path, else the folder.
  m.name = c.value("_name_or_path", std::string());
  if (m.name.empty()) m.name = dir.filename().string();
  if (m.name.empty()) m.name = dir.parent_path().filename().string();

  // Weight encoding: packed uint8 tensors carry a weight_scale; transformers' AutoBitLinear
  // multiplies by it, BitLinear (the default linear_class) divides by it.
  std::string quant_method, linear_class = "bitlinear", mode;
  if (auto it = c.find("quantization_config"); it != c.end() && it->is_object()) {
    quant_method = it->value("quant_method", std::string());
    linear_class = it->value("linear_class", std::string("bitlinear"));
    mode = it->value("quantization_mode", std::string("offline"));
  }
  if (!quant_method.empty() && quant_method != "bitnet")
    fail("{}: quantization_config.quant_method is '{}'; trit converts BitNet b1.58 checkpoints (\"bitnet\" or none)",
         path, quant_method);
  if (q_proj_dtype == "U8" || q_proj_dtype == "I8") {
    if (linear_class == "autobitlinear")
      m.encoding = LinearEncoding::kPackedMultiply;
    else if (linear_class == "bitlinear")
      m.encoding = LinearEncoding::kPackedDivide;
    else
      fail("{}: quantization_config.linear_class '{}' is not known (bitlinear, autobitlinear)", path, linear_class);
  } else if (q_proj_dtype == "F32" || q_proj_dtype == "F16" || q_proj_dtype == "BF16") {
    if (a->needs_bitnet_quant && quant_method != "bitnet")
      fail(
          "{}: a {} checkpoint with float weights and no quantization_config {{\"quant_method\": \"bitnet\"}} is an "
          "ordinary model, not a BitNet b1.58 one; ternarising it would destroy it",
          path, m.hf_arch);
    m.encoding = LinearEncoding::kFloat;
  } else {
    fail("{}: model.layers.0.self_attn.q_proj.weight has dtype '{}'; trit reads F32, F16, BF16 or packed U8", path,
         q_proj_dtype);
  }
  m.hidden_act = a->default_act;
  if (auto it = c.find("hidden_act"); it != c.end() && it->is_string()) {
    const std::string act = it->get<std::string>();
    // 1bitLLM's config says "relu" while its graph (in llama.cpp and bitnet.cpp) uses SiLU: keep the
    // architecture's activation there.
    if (m.gguf_arch == "gemma3") {
      // Gemma 3's config names its activation hidden_activation (read below); hidden_act is legacy.
    } else if (m.gguf_arch != "bitnet") {
      if (act != "silu" && act != "relu2") fail("{}: hidden_act '{}' is not supported (silu, relu2)", path, act);
      m.hidden_act = act;
    }
  }
  if (m.embedding) m.pooling = read_pooling(dir);
  if (m.gguf_arch == "gemma3") {
    const std::string act = c.value("hidden_activation", std::string("gelu_pytorch_tanh"));
    if (act != "gelu_pytorch_tanh" && act != "gelu")
      fail("{}: hidden_activation '{}' is not supported for Gemma 3 (gelu_pytorch_tanh)", path, act);
    if (auto it = c.find("query_pre_attn_scalar"); it != c.end() && it->is_number()) {
      if (!(it->get<double>() > 0.0)) fail("{}: query_pre_attn_scalar is {}, expected > 0", path, it->dump());
      m.query_pre_attn_scalar = it->get<double>();
    }
    // Sliding-window layers: llama.cpp's pattern (every 6th layer global), with their own RoPE base.
    if (auto it = c.find("sliding_window");
        it != c.end() && it->is_number_integer() && it->get<int64_t>() > 0 && it->get<int64_t>() < m.n_ctx) {
      if (auto lt = c.find("layer_types"); lt != c.end() && lt->is_array()) {
        for (size_t i = 0; i < lt->size(); ++i)
          if (((*lt)[i] == "sliding_attention") != ((i + 1) % 6 != 0))
            fail("{}: layer_types[{}] is {}; trit runs Gemma 3's pattern of 5 sliding-window layers then 1 global",
                 path, i, (*lt)[i].dump());
      }
      m.sliding_window = it->get<int64_t>();
      m.rope_local_base = get_float("rope_local_base_freq", 10000.0);
    }
  }
  return m;
}

}  // namespace trit::convert
